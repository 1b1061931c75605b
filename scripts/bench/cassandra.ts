/**
 * Cassandra benchmark: round trips per single-state conditional write, counted as CQL
 * request frames on the wire (every driver connection goes through a counting TCP relay),
 * and the latency of the adapter's conditional write next to the raw driver sending the
 * equivalent LWT on the same server, in one run.
 *
 * Then contention: 8 and 16 clients (each its own driver connection, as separate processes
 * would be) appending with `"any"` to one stream, under the retry policy of 0.1 ("before":
 * 10 ms doubling to 1 s, up to 100 batches) and the current defaults ("after": the first
 * re-send at once, then 5 ms doubling to 200 ms, up to 64 batches). That policy is the only
 * change on the `"any"` append path, so both sides run this adapter, configured. Trials of
 * every (clients, policy) pair run in a shuffled order, interleaved, so machine load hits
 * all alike. No test asserts these times.
 *
 * Run: `set -a; . .services/cassandra/env; set +a; node --import tsx scripts/bench/cassandra.ts [contention]`
 * (with `contention`, only the contention part runs).
 */
import { createServer, connect, type Socket } from "node:net";
import { Buffer } from "node:buffer";
import cassandra from "cassandra-driver";
import { type CassandraClient, cassandraEventStore, type CassandraEventStoreOptions, cassandraStorage } from "../../adapters/cassandra/mod.ts";

const contactPoints = process.env.CASSANDRA_CONTACT_POINTS;
if (contactPoints === undefined) {
  console.log("SKIP cassandra bench: CASSANDRA_CONTACT_POINTS is not set (start it with scripts/services/cassandra.sh start)");
  process.exit(0);
}
const [serverHost, serverPort] = contactPoints.split(",")[0]!.split(":") as [string, string];
const localDataCenter = process.env.CASSANDRA_DC ?? "datacenter1";
const keyspace = "quark_bench";
const ROUNDS = 9;
const WRITES_PER_ROUND = 200;
const value = crypto.getRandomValues(new Uint8Array(64));
const contentionOnly = process.argv.includes("contention");

// Native protocol v4 opcodes of requests (the driver does not speak v5).
const OPCODES: Record<number, string> = {
  0x01: "STARTUP", 0x05: "OPTIONS", 0x07: "QUERY", 0x09: "PREPARE", 0x0a: "EXECUTE", 0x0b: "REGISTER", 0x0d: "BATCH",
};
const frames = new Map<string, number>();
const countFrom = () => {
  let pending = Buffer.alloc(0);
  return (chunk: Buffer) => {
    pending = Buffer.concat([pending, chunk]);
    while (pending.length >= 9) {
      const length = pending.readInt32BE(5);
      if (pending.length < 9 + length) return;
      const name = OPCODES[pending[4]!] ?? `0x${pending[4]!.toString(16)}`;
      frames.set(name, (frames.get(name) ?? 0) + 1);
      pending = pending.subarray(9 + length);
    }
  };
};
const relay = createServer((inbound: Socket) => {
  const outbound = connect(Number(serverPort), serverHost);
  const count = countFrom();
  inbound.on("data", (chunk: Buffer) => {
    count(chunk);
    outbound.write(chunk);
  });
  outbound.on("data", (chunk: Buffer) => inbound.write(chunk));
  inbound.on("close", () => outbound.destroy());
  outbound.on("close", () => inbound.destroy());
  inbound.on("error", () => outbound.destroy());
  outbound.on("error", () => inbound.destroy());
});
await new Promise<void>((resolve) => relay.listen(0, "127.0.0.1", resolve));
const relayPort = (relay.address() as { port: number }).port;

// Peers are discovered at the server's own address; translate it back to the relay.
// The typings declare AddressTranslator as an interface; the driver wants an instance of its class.
const Translator = (cassandra.policies.addressResolution as unknown as { AddressTranslator: new () => Record<string, unknown> })
  .AddressTranslator;
const translator = new Translator();
translator.translate = (_address: string, _port: number, callback: (endpoint: string) => void) =>
  callback(`127.0.0.1:${relayPort}`);
const client = new cassandra.Client({
  contactPoints: [`127.0.0.1:${relayPort}`],
  localDataCenter,
  policies: { addressResolution: translator as never },
});
await client.connect();
const db = client as unknown as CassandraClient;
const storage = cassandraStorage({ client: db, keyspace, createSchema: true });
await storage.ensureSchema();

if (!contentionOnly) await singleWriter();
await contention();
await storage.close();
await client.shutdown();
relay.close();

async function singleWriter() {
  const requestCount = () => [...frames].filter(([name]) => name !== "OPTIONS").reduce((sum, [, count]) => sum + count, 0);
  const run = crypto.randomUUID().slice(0, 8);
  const actorType = `bench-${run}`;
  const buffer = Buffer.from(value);
  const lwt = { prepare: true, consistency: cassandra.types.consistencies.localQuorum, serialConsistency: cassandra.types.consistencies.serial };

  async function adapterRound(key: { actorType: string; actorId: string; stateName: string }, etag: string) {
    for (let index = 0; index < WRITES_PER_ROUND; index++) {
      const next = crypto.randomUUID();
      await storage.write({ key, value, etag: next, expectedEtag: etag });
      etag = next;
    }
    return etag;
  }

  // The plain LWT a hand-written client would send: check the etag, bump a revision it tracks.
  const rawUpdate = `UPDATE ${keyspace}.quark_state SET value = ?, etag = ?, revision = ? WHERE actor_type = ? AND actor_id = ? AND state_name = ? IF etag = ?`;
  async function rawRound(actorId: string, state: { etag: string; revision: number }): Promise<{ etag: string; revision: number }> {
    for (let index = 0; index < WRITES_PER_ROUND; index++) {
      const next = crypto.randomUUID();
      const result = await client.execute(rawUpdate, [buffer, next, String(state.revision + 1), actorType, actorId, "s", state.etag], lwt);
      if (!result.wasApplied()) throw new Error("raw LWT missed");
      state = { etag: next, revision: state.revision + 1 };
    }
    return state;
  }

  // The adapter's exact statement sent by hand: what USING TTL and the revision condition cost on the server.
  const sameStatement = `UPDATE ${keyspace}.quark_state USING TTL ? SET value = ?, etag = ?, revision = ? ` +
    `WHERE actor_type = ? AND actor_id = ? AND state_name = ? IF etag = ? AND revision = ?`;
  async function sameStatementRound(actorId: string, state: { etag: string; revision: number }): Promise<{ etag: string; revision: number }> {
    for (let index = 0; index < WRITES_PER_ROUND; index++) {
      const next = crypto.randomUUID();
      const result = await client.execute(sameStatement, [
        0, buffer, next, String(state.revision + 1), actorType, actorId, "s",
        state.etag, String(state.revision),
      ], lwt);
      if (!result.wasApplied()) throw new Error("raw same-statement LWT missed");
      state = { etag: next, revision: state.revision + 1 };
    }
    return state;
  }

  async function timed(body: () => Promise<unknown>): Promise<number> {
    const started = performance.now();
    await body();
    return (performance.now() - started) / WRITES_PER_ROUND;
  }
  const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

  async function counted<T>(body: () => Promise<T>): Promise<{ result: T; requests: number; detail: string }> {
    frames.clear();
    const result = await body();
    const detail = [...frames].filter(([name]) => name !== "OPTIONS").map(([name, count]) => `${name} ${count}`).join(", ");
    return { result, requests: requestCount(), detail };
  }

  // Round trips of the other write shapes, each counted once on a fresh key.
  const createKey = { actorType, actorId: "create", stateName: "s" };
  const cold = cassandraStorage({ client: db, keyspace, revisionCacheSize: 0 });
  // Prepare every statement once, so the counts below are the steady state.
  const warmKey = { actorType, actorId: "warm", stateName: "s" };
  const warm = await storage.write({ key: warmKey, value, etag: crypto.randomUUID(), expectedEtag: null });
  await cold.write({ key: warmKey, value, etag: crypto.randomUUID(), expectedEtag: warm.etag });
  const create = await counted(() => storage.write({ key: createKey, value, etag: crypto.randomUUID(), expectedEtag: null }));
  const coldUpdate = await counted(() =>
    cold.write({ key: createKey, value, etag: crypto.randomUUID(), expectedEtag: create.result.etag })
  );
  const conflict = await counted(() =>
    storage.write({ key: createKey, value, etag: crypto.randomUUID(), expectedEtag: create.result.etag }).catch((error) => error)
  );

  const adapterKey = { actorType, actorId: "adapter", stateName: "s" };
  let adapterEtag: string = (await storage.write({ key: adapterKey, value, etag: crypto.randomUUID(), expectedEtag: null })).etag;
  type RowState = { etag: string; revision: number };
  let rawState: RowState = { etag: crypto.randomUUID(), revision: 1 };
  let sameState: RowState = { etag: crypto.randomUUID(), revision: 1 };
  for (const [actorId, state] of [["raw", rawState], ["same", sameState]] as const) {
    await client.execute(
      `INSERT INTO ${keyspace}.quark_state (actor_type, actor_id, state_name, value, etag, revision) VALUES (?, ?, ?, ?, ?, ?)`,
      [actorType, actorId, "s", buffer, state.etag, String(state.revision)],
      { prepare: true },
    );
  }

  // Warm up every path (JIT, prepared statements), then count one adapter round exactly.
  adapterEtag = await adapterRound(adapterKey, adapterEtag);
  rawState = await rawRound("raw", rawState);
  sameState = await sameStatementRound("same", sameState);
  const update = await counted(() => adapterRound(adapterKey, adapterEtag));
  adapterEtag = update.result;

  const adapterTimes: number[] = [];
  const rawTimes: number[] = [];
  const sameTimes: number[] = [];
  const contenders: Array<() => Promise<void>> = [
    async () => void adapterTimes.push(await timed(async () => (adapterEtag = await adapterRound(adapterKey, adapterEtag)))),
    async () => void rawTimes.push(await timed(async () => (rawState = await rawRound("raw", rawState)))),
    async () => void sameTimes.push(await timed(async () => (sameState = await sameStatementRound("same", sameState)))),
  ];
  // Rotate who goes first each round, so no path always runs right after another's garbage.
  for (let round = 0; round < ROUNDS; round++) {
    for (let index = 0; index < contenders.length; index++) await contenders[(round + index) % contenders.length]!();
  }

  const version = (await client.execute("SELECT release_version FROM system.local")).rows[0]?.release_version;
  const adapterMs = median(adapterTimes);
  const rawMs = median(rawTimes);
  const sameMs = median(sameTimes);
  console.log(`cassandra bench: Apache Cassandra ${version}, one node, ${process.release.name} ${process.version}`);
  console.log(`  conditional update (etag known), requests per write: ${(update.requests / WRITES_PER_ROUND).toFixed(2)} (${update.detail} over ${WRITES_PER_ROUND} writes)`);
  console.log(`  create-only write, requests: ${create.requests} (${create.detail}: list-index row, then the LWT)`);
  console.log(`  update with a cold revision cache, requests: ${coldUpdate.requests} (${coldUpdate.detail}: serial read, then the LWT)`);
  console.log(`  refused update (conflict), requests: ${conflict.requests} (${conflict.detail}); ${(conflict.result as Error).name}`);
  console.log(`  latency per conditional write, median of ${ROUNDS} rounds of ${WRITES_PER_ROUND}:`);
  console.log(`    adapter write                              ${adapterMs.toFixed(3)} ms`);
  console.log(`    raw driver, plain UPDATE … IF etag = ?     ${rawMs.toFixed(3)} ms`);
  console.log(`    raw driver, the adapter's exact statement  ${sameMs.toFixed(3)} ms`);
  console.log(`  ratio adapter / raw plain LWT: ${(adapterMs / rawMs).toFixed(2)}`);
  console.log(`  ratio adapter / raw same statement: ${(adapterMs / sameMs).toFixed(2)}`);
  await cold.close();
}

/** One "any" appender policy under test. */
interface Policy {
  readonly label: string;
  readonly options: Partial<CassandraEventStoreOptions>;
}

async function contention() {
  const POLICIES: readonly Policy[] = [
    { label: "before (0.1)", options: { lwtBackoffMs: 10, lwtMaxBackoffMs: 1000, maxAnyAppendAttempts: 100 } },
    { label: "after", options: {} },
  ];
  const CLIENTS = [8, 16];
  const TRIALS = 5;
  const APPENDS = 10;
  // Own connections, straight to the server: the counting relay would be one more hop for all.
  const clients = await Promise.all(Array.from({ length: Math.max(...CLIENTS) }, async () => {
    const own = new cassandra.Client({ contactPoints: [contactPoints!.split(",")[0]!], localDataCenter });
    await own.connect();
    return own;
  }));
  await cassandraEventStore({ client: db, keyspace }).ensureSchema();
  const trials = CLIENTS.flatMap((count) => POLICIES.flatMap((policy) => Array.from({ length: TRIALS }, () => ({ count, policy }))));
  for (let index = trials.length - 1; index > 0; index--) {
    const other = Math.floor(Math.random() * (index + 1));
    [trials[index], trials[other]] = [trials[other]!, trials[index]!];
  }
  const results = new Map<string, { latencies: number[]; walls: number[]; contention: number; other: number }>();
  for (const { count, policy } of trials) {
    const stream = `contend-${crypto.randomUUID()}`;
    const stores = clients.slice(0, count).map((own) =>
      cassandraEventStore({ client: own as unknown as CassandraClient, keyspace, ...policy.options })
    );
    const entry = results.get(`${count}|${policy.label}`) ?? { latencies: [], walls: [], contention: 0, other: 0 };
    results.set(`${count}|${policy.label}`, entry);
    const began = performance.now();
    await Promise.all(stores.map(async (store, appender) => {
      for (let round = 0; round < APPENDS; round++) {
        const started = performance.now();
        try {
          await store.append(stream, [{ type: "E", data: Uint8Array.of(appender, round) }], "any");
          entry.latencies.push(performance.now() - started);
        } catch (error) {
          if ((error as { code?: string }).code === "CONTENTION") entry.contention++;
          else if (entry.other++ === 0) console.error(`  unexpected: ${String(error)}`);
        }
      }
    }));
    entry.walls.push(performance.now() - began);
  }
  const quantile = (values: number[], q: number) => {
    const sorted = [...values].sort((a, b) => a - b);
    return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
  };
  console.log(`contention: "any" appends to one stream, ${APPENDS} per client, ${TRIALS} trials per row, shuffled`);
  console.log("  clients  policy        p50 ms   p90 ms   p99 ms   max ms   trial wall ms (median)  ContentionError  other errors");
  for (const count of CLIENTS) {
    for (const policy of POLICIES) {
      const entry = results.get(`${count}|${policy.label}`)!;
      const cells = [0.5, 0.9, 0.99, 1].map((q) => quantile(entry.latencies, q).toFixed(0).padStart(7));
      console.log(
        `  ${String(count).padStart(7)}  ${policy.label.padEnd(12)} ${cells.join("  ")}  ${quantile(entry.walls, 0.5).toFixed(0).padStart(22)}  ${
          String(entry.contention).padStart(15)
        }  ${String(entry.other).padStart(12)}`,
      );
    }
  }
  await Promise.all(clients.map((own) => own.shutdown()));
}

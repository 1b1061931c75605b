/**
 * The projections suite of `npm run bench` (issue 15): how fast the global order reads, and
 * how far behind a projection follows, on PostgreSQL and Upstash, next to Emmett's processors
 * on the same PostgreSQL.
 *
 * Timed cases, interleaved by the runner with every other case in a random order per cycle,
 * each sample reading a log of READ_EVENTS events in pages of PAGE_SIZE (ops/s = events/s):
 * - PostgreSQL: `readAll` of the adapter, the raw driver running the adapter's very page
 *   statement, and the raw driver running the minimal sequential scan
 *   (`SELECT * … WHERE position > $1 ORDER BY position LIMIT $2`);
 * - Upstash: `readAll` of the adapter, and the raw client sending the adapter's READ_ALL
 *   script: the least that reads these keys (a sorted-set range, then one `LINDEX` per event).
 *
 * Lag and projection throughput are measured after the timed cycles (they run in the
 * background, which would disturb the other cases), in rounds that visit every side in a new
 * random order, and land under "Counted, not timed":
 * - lag: one writer appends WRITE_BATCH events every WRITE_EVERY_MS to fresh streams while a
 *   projector folds a per-stream sum; lag is the time from an append's acknowledgement until
 *   the commit of the projector's batch that covers it returns (the earliest moment a
 *   `position()` read could see it, without a poller's sampling error). Appends of the first
 *   WARM_MS of a window are not counted, so both sides are past their start-up backoff;
 * - catch-up: BACKLOG events are appended first, then a fresh projector starts before them;
 *   events per second from its first commit to the one that covers the last event.
 *
 * Each window and catch-up then checks every document of the read model against the sums
 * its writer appended.
 *
 * Both sides use batches of BATCH_SIZE, a poll interval of POLL_MS and at most MAX_POLL_MS
 * between polls (Emmett's puller caps its wait at 1 s; `maxPollIntervalMs` is set to match).
 * What could not be aligned is named in docs/benchmarks.md.
 *
 * Run alone: `npm run bench -- --only projections` (`--no-write` leaves the docs alone;
 * `QUARK_BENCH_LAG_ROUNDS` sets the lag rounds, default 5). It needs POSTGRES_URL for the
 * PostgreSQL and Emmett sides and UPSTASH_REDIS_REST_URL for the Upstash side; each side
 * writes to tables or a key prefix of its own and removes them when the run ends.
 */
import postgres from "postgres";
import { Redis } from "@upstash/redis";
import * as v from "valibot";
import {
  getPostgreSQLEventStore,
  pongoSingleStreamProjection,
  postgreSQLEventStoreConsumer,
  postgreSQLProjection,
  type PostgreSQLProjectionDefinition,
} from "@event-driven-io/emmett-postgresql";
import { postgresEventStore, postgresStorage, type PostgresJsClient } from "../../adapters/postgres/mod.ts";
import { upstashEventStore, upstashStorage } from "../../adapters/upstash/mod.ts";
import { postgresDialect } from "../../adapters/_sql/postgres_dialect.ts";
import { positionCounterTable, resolveTables } from "../../adapters/_sql/dialect.ts";
import { READ_ALL } from "../../adapters/upstash/_scripts.ts";
import { locateGlobalOrder } from "../../adapters/upstash/_keys.ts";
import { eventBinding } from "../../src/events/aggregate.ts";
import { createCodec, createProjector, defineProjection, type EventStore, type StateStorage } from "../../mod.ts";
import { quantile, shuffle, type BenchCase, type BenchRatio, type BenchSuite, type OpenSuite } from "./_harness.ts";

const READ_EVENTS = 5_000;
const PAGE_SIZE = 500;
const READ_STREAMS = 50;
const BATCH_SIZE = 100;
const POLL_MS = 50;
const MAX_POLL_MS = 1_000;
const WRITE_BATCH = 10;
const WRITE_EVERY_MS = 50;
const WRITE_STREAMS = 10;
const WINDOW_MS = 3_000;
const WARM_MS = 500;
const ROUNDS = Number(process.env.QUARK_BENCH_LAG_ROUNDS ?? 5);
const BACKLOG = 2_000;
const CATCH_UP_TIMEOUT_MS = 120_000;

const deposited = v.object({ type: v.literal("Deposited"), amount: v.number() });
const ledger = { actorType: "bench-ledger", events: deposited } as const;
const sumState = v.object({ sum: v.number(), count: v.number() });
type Sum = v.InferOutput<typeof sumState>;
const codec = createCodec();

/** The read model both sides build: a sum and a count per stream. */
const sums = (name: string) => defineProjection(name, {
  from: [ledger],
  state: sumState,
  initial: { sum: 0, count: 0 },
  key: (_event, info) => info.actorId,
  apply: (doc, event) => ({ sum: doc.sum + event.amount, count: doc.count + 1 }),
});

/** One projection runtime under test, with the store its writer appends to. */
interface Side {
  readonly name: string;
  /** Appends `count` deposits to `stream`; resolves at the acknowledgement with the last position. */
  append(stream: string, count: number): Promise<bigint>;
  /** The last position stored now. */
  last(): Promise<bigint>;
  /** Starts a fresh projector after `from`; `onCommit` hears each committed batch's last position. */
  follow(from: bigint, onCommit: (position: bigint) => void): Promise<Follower>;
}

/** A running projector of one side. */
interface Follower {
  /** The read model's document for `stream`, as the projector committed it. */
  read(stream: string): Promise<Sum | undefined>;
  stop(): Promise<void>;
}

const shortId = () => crypto.randomUUID().slice(0, 8);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Our side: a store and a storage, appends encoded as an event-sourced actor encodes them. */
function quarkSide(name: string, eventStore: EventStore, storage: StateStorage): Side {
  const versions = new Map<string, number>();
  let lastAppended = 0n;
  return {
    name,
    async append(stream, count) {
      const version = versions.get(stream) ?? 0;
      const events = await Promise.all(Array.from({ length: count }, async (_, index) => ({
        type: "Deposited",
        data: await codec.encode({ type: "Deposited", amount: index + 1 }, 1, eventBinding(stream, version + index + 1)),
      })));
      const result = await eventStore.append(stream, events, version === 0 ? "no_stream" : version);
      versions.set(stream, result.nextVersion);
      lastAppended = result.lastPosition!;
      return lastAppended;
    },
    last: () => Promise.resolve(lastAppended),
    async follow(from, onCommit) {
      const projector = createProjector(sums(`bench-sums-${shortId()}`), { eventStore, storage: observeCommits(storage, onCommit), codec, batchSize: BATCH_SIZE, from });
      const subscription = projector.start({ pollIntervalMs: POLL_MS, maxPollIntervalMs: MAX_POLL_MS });
      return { read: (stream) => projector.read(stream.slice(stream.indexOf("/") + 1)), stop: () => subscription.stop() };
    },
  };
}

/**
 * The storage as the projector sees it, telling `onCommit` the checkpoint of every
 * `transact` that returned. A projector's commit writes its checkpoint (the batch's last
 * position, as decimal text) under a state name ending in `:checkpoint`.
 */
function observeCommits(storage: StateStorage, onCommit: (position: bigint) => void): StateStorage {
  const decoder = new TextDecoder();
  return new Proxy(storage, {
    get(target, property) {
      if (property !== "transact") {
        const value = Reflect.get(target, property, target);
        return typeof value === "function" ? value.bind(target) : value;
      }
      return async (operations: Parameters<StateStorage["transact"]>[0]) => {
        const result = await target.transact(operations);
        const checkpoint = operations.find((operation) => operation.kind === "write" && operation.key.stateName.endsWith(":checkpoint"));
        if (checkpoint?.kind === "write") onCommit(BigInt(decoder.decode(checkpoint.value)));
        return result;
      };
    },
  });
}

// A type name of its own: other runs may append to the same Emmett tables meanwhile.
const DEPOSITED = "ProjectionBenchDeposited";
type DepositedEvent = { type: typeof DEPOSITED; data: { amount: number } };

/** How one Emmett read model is defined and read back. */
interface EmmettReadModel {
  readonly name: string;
  readonly projection: PostgreSQLProjectionDefinition<DepositedEvent>;
  read(stream: string): Promise<Sum | undefined>;
}

/**
 * Emmett's sides: its event store, and per window a consumer with one projector of the
 * per-stream sum, kept either as pongo documents (read, evolve, write: the closest to our
 * documents) or as one SQL upsert per event (Emmett's leanest read model).
 */
function emmettSides(url: string, sql: postgres.Sql, tableSuffix: string): { sides: Side[]; tables: string[]; close(): Promise<void> } {
  const store = getPostgreSQLEventStore(url, { connectionOptions: { pooled: true } } as never);
  const documents = `bench_sums_${tableSuffix}`;
  const upserts = `bench_sql_sums_${tableSuffix}`;
  const ready = (async () => {
    await store.schema.migrate();
    await sql`CREATE TABLE IF NOT EXISTS ${sql(upserts)} (_id text PRIMARY KEY, sum bigint NOT NULL, count bigint NOT NULL)`;
  })();
  const models: EmmettReadModel[] = [
    {
      name: "emmett postgres, pongo documents",
      projection: pongoSingleStreamProjection<Sum, DepositedEvent>({
        collectionName: documents,
        canHandle: [DEPOSITED],
        initialState: () => ({ sum: 0, count: 0 }),
        evolve: (doc: Sum, event: DepositedEvent) => ({ sum: doc.sum + event.data.amount, count: doc.count + 1 }),
      }),
      async read(stream) {
        const [row] = await sql`SELECT data FROM ${sql(documents)} WHERE _id = ${stream}`;
        return row === undefined ? undefined : { sum: Number(row.data.sum), count: Number(row.data.count) };
      },
    },
    {
      name: "emmett postgres, SQL upsert",
      projection: postgreSQLProjection<DepositedEvent>({
        name: upserts,
        canHandle: [DEPOSITED],
        async handle(events, context) {
          for (const event of events) {
            await context.connection.client.query(
              `INSERT INTO "${upserts}" AS t (_id, sum, count) VALUES ($1, $2, 1) ON CONFLICT (_id) DO UPDATE SET sum = t.sum + excluded.sum, count = t.count + 1`,
              [event.metadata.streamName, event.data.amount],
            );
          }
        },
      }),
      async read(stream) {
        const [row] = await sql`SELECT sum, count FROM ${sql(upserts)} WHERE _id = ${stream}`;
        return row === undefined ? undefined : { sum: Number(row.sum), count: Number(row.count) };
      },
    },
  ];
  const side = (model: EmmettReadModel): Side => ({
    name: model.name,
    async append(stream, count) {
      await ready;
      const events = Array.from({ length: count }, (_, index): DepositedEvent => ({ type: DEPOSITED, data: { amount: index + 1 } }));
      return (await store.appendToStream(stream, events)).lastEventGlobalPosition;
    },
    async last() {
      await ready;
      const [row] = await sql`SELECT coalesce(max(global_position), 0)::text AS last FROM emt_messages`;
      return BigInt(row!.last as string);
    },
    async follow(from, onCommit) {
      const consumer = postgreSQLEventStoreConsumer({ connectionString: url, pulling: { batchSize: BATCH_SIZE, pullingFrequencyInMs: POLL_MS } });
      const processor = consumer.projector<DepositedEvent>({ processorId: `bench-sums-${shortId()}`, projection: model.projection, startFrom: { lastCheckpoint: from } });
      // The processor commits each batch in one transaction, checkpoint included, before
      // `handle` returns.
      const handle = processor.handle;
      processor.handle = async (messages, context) => {
        const result = await handle(messages, context);
        if (messages.length > 0) onCommit(messages.at(-1)!.metadata.globalPosition);
        return result;
      };
      const running = consumer.start();
      return {
        read: model.read,
        async stop() {
          await consumer.close();
          await running;
        },
      };
    },
  });
  return { sides: models.map(side), tables: [documents, upserts], close: () => store.close() };
}

/** What one follower committed when: the lags of acknowledged appends, and waits for a position. */
function commitWatcher() {
  let committed = -1n;
  let committedAt = 0;
  let first: { position: bigint; at: number } | undefined;
  const waiters: { target: bigint; resolve: () => void }[] = [];
  const lags: number[] = [];
  const pending: { position: bigint; at: number }[] = [];
  return {
    lags,
    onCommit(position: bigint) {
      const now = performance.now();
      if (position <= committed) return;
      committed = position;
      committedAt = now;
      first ??= { position, at: now };
      while (pending.length > 0 && pending[0]!.position <= position) lags.push(now - pending.shift()!.at);
      for (const waiter of waiters.filter((entry) => entry.target <= position)) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve();
      }
    },
    /** An acknowledged append; a commit that covered it before the writer resumed counts as 0. */
    onAck(position: bigint, at: number, counted: boolean) {
      if (!counted) return;
      if (position <= committed) lags.push(Math.max(0, committedAt - at));
      else pending.push({ position, at });
    },
    /** Events per second from the first commit to the last: start-up and the first batch left out. */
    rateAfterFirstCommit(): number {
      return Number(committed - first!.position) / ((committedAt - first!.at) / 1000);
    },
    reached(target: bigint): Promise<void> {
      if (target <= committed) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no commit reached position ${target} within ${CATCH_UP_TIMEOUT_MS} ms (last ${committed})`)), CATCH_UP_TIMEOUT_MS);
        waiters.push({ target, resolve: () => (clearTimeout(timer), resolve()) });
      });
    },
  };
}

/** Each append adds deposits of 1 to WRITE_BATCH to one stream. */
async function checkReadModel(follower: Follower, appendsPerStream: Map<string, number>): Promise<void> {
  for (const [stream, appends] of appendsPerStream) {
    const expected = { sum: appends * WRITE_BATCH * (WRITE_BATCH + 1) / 2, count: appends * WRITE_BATCH };
    const document = await follower.read(stream);
    if (document?.sum !== expected.sum || document.count !== expected.count) {
      throw new Error(`the read model of ${stream} is ${JSON.stringify(document)}, expected ${JSON.stringify(expected)}`);
    }
  }
}

/** Makes `count` appends of WRITE_BATCH deposits over WRITE_STREAMS fresh streams in turn; `before` paces them. */
async function write(side: Side, count: number, before: (index: number) => Promise<void>, after: (index: number, position: bigint) => void) {
  const round = shortId();
  const appendsPerStream = new Map<string, number>();
  let last = await side.last();
  for (let index = 0; index < count; index++) {
    await before(index);
    const stream = `bench-ledger/${round}-${index % WRITE_STREAMS}`;
    last = await side.append(stream, WRITE_BATCH);
    appendsPerStream.set(stream, (appendsPerStream.get(stream) ?? 0) + 1);
    after(index, last);
  }
  return { last, appendsPerStream };
}

/** One lag window: the writer appends at a steady pace while a fresh projector follows. */
async function lagWindow(side: Side): Promise<number[]> {
  const watcher = commitWatcher();
  const follower = await side.follow(await side.last(), watcher.onCommit);
  const started = performance.now();
  try {
    const written = await write(side, Math.ceil(WINDOW_MS / WRITE_EVERY_MS), async (index) => {
      const wait = started + index * WRITE_EVERY_MS - performance.now();
      if (wait > 0) await sleep(wait);
    }, (index, position) => watcher.onAck(position, performance.now(), index * WRITE_EVERY_MS >= WARM_MS));
    await watcher.reached(written.last);
    await checkReadModel(follower, written.appendsPerStream);
  } finally {
    await follower.stop();
  }
  return watcher.lags;
}

/**
 * Appends a backlog, then follows it with a fresh projector: events per second between its
 * first and its last commit, so that neither side's start-up (Emmett registers its projection
 * and takes a processor lock) counts.
 */
async function catchUp(side: Side): Promise<number> {
  const from = await side.last();
  const written = await write(side, BACKLOG / WRITE_BATCH, () => Promise.resolve(), () => {});
  const watcher = commitWatcher();
  const follower = await side.follow(from, watcher.onCommit);
  try {
    await watcher.reached(written.last);
    await checkReadModel(follower, written.appendsPerStream);
    return watcher.rateAfterFirstCommit();
  } finally {
    await follower.stop();
  }
}

const ms = (value: number) => `${value.toFixed(1)} ms`;

/** The log the readAll cases read: READ_EVENTS events over READ_STREAMS streams. */
async function fillReadLog(side: Side): Promise<void> {
  for (let stream = 0; stream < READ_STREAMS; stream++) {
    for (let done = 0; done < READ_EVENTS / READ_STREAMS; done += 100) await side.append(`bench-ledger/read-${stream}`, 100);
  }
}

/** The adapter's `readAll` over the whole log, in pages of PAGE_SIZE. */
function readAllCase(name: string, eventStore: EventStore): BenchCase {
  return {
    name,
    ops: READ_EVENTS,
    async sample() {
      let count = 0;
      for await (const _event of eventStore.readAll({ pageSize: PAGE_SIZE })) count++;
      if (count !== READ_EVENTS) throw new Error(`readAll read ${count} events, expected ${READ_EVENTS}`);
    },
  };
}

/** Pages through the whole log by hand: `page(after)` reads one page and names its last position. */
async function scanLog(page: (after: string) => Promise<{ count: number; last: string }>): Promise<void> {
  let count = 0;
  for (let after = "0"; ;) {
    const read = await page(after);
    count += read.count;
    if (read.count < PAGE_SIZE) break;
    after = read.last;
  }
  if (count !== READ_EVENTS) throw new Error(`a raw scan read ${count} events, expected ${READ_EVENTS}`);
}

/** Every side, ROUNDS times, in a new random order per round. */
async function lagFacts(sides: readonly Side[]): Promise<Record<string, string>> {
  const lags = new Map<string, number[]>(sides.map((side) => [side.name, []]));
  const rates = new Map<string, number[]>(sides.map((side) => [side.name, []]));
  for (let round = 1; round <= ROUNDS; round++) {
    process.stderr.write(`projection lag round ${round}/${ROUNDS}\r`);
    for (const side of shuffle([...sides])) {
      lags.get(side.name)!.push(...await lagWindow(side));
      rates.get(side.name)!.push(await catchUp(side));
    }
  }
  process.stderr.write("\n");
  const facts: Record<string, string> = {};
  const pace = `${WRITE_BATCH} events every ${WRITE_EVERY_MS} ms = ${Math.round(WRITE_BATCH * 1000 / WRITE_EVERY_MS)} events/s`;
  for (const side of sides) {
    const measured = lags.get(side.name)!.sort((a, b) => a - b);
    const rate = quantile(rates.get(side.name)!.sort((a, b) => a - b), 0.5);
    facts[`${side.name}: projection lag p50 / p99 / max, writer at ${pace}`] = `${ms(quantile(measured, 0.5))} / ${ms(quantile(measured, 0.99))} / ${ms(measured.at(-1)!)} (${measured.length} appends)`;
    facts[`${side.name}: projection catch-up of ${BACKLOG.toLocaleString("en")} events`] = `${Math.round(rate).toLocaleString("en")} events/s (median of ${ROUNDS})`;
  }
  facts["projection settings"] = `batches of ${BATCH_SIZE} events, poll interval ${POLL_MS} ms, longest wait ${MAX_POLL_MS} ms; per-stream sum over ${WRITE_STREAMS} fresh streams per window; ${ROUNDS} rounds of a ${WINDOW_MS} ms window (first ${WARM_MS} ms not counted) and a catch-up per side`;
  return facts;
}

interface BackendParts {
  readonly cases: BenchCase[];
  readonly ratios: BenchRatio[];
  readonly sides: Side[];
  readonly close: () => Promise<void>;
}

async function openPostgres(url: string): Promise<BackendParts> {
  const sql = postgres(url, { max: 10, onnotice: () => {} });
  const suffix = shortId();
  const tables = resolveTables({ eventsTable: `bench_proj_events_${suffix}`, snapshotsTable: `bench_proj_snapshots_${suffix}`, stateTable: `bench_proj_state_${suffix}` }, 48);
  const client = sql as unknown as PostgresJsClient;
  const eventStore = postgresEventStore({ client, eventsTable: tables.events, snapshotsTable: tables.snapshots });
  const storage = postgresStorage({ client, stateTable: tables.state });
  await eventStore.ensureSchema();
  await storage.ensureSchema();
  const side = quarkSide("quark postgres", eventStore, storage);
  await fillReadLog(side);
  const emmett = emmettSides(url, sql, suffix);
  const raw = (text: string, params: unknown[]) => sql.unsafe(text, params as never[], { prepare: true }).values() as Promise<unknown[][]>;
  const minimal = `SELECT * FROM "${tables.events}" WHERE position > $1 ORDER BY position LIMIT $2`;
  // Both statements' rows end with the position, as text.
  const rawPage = async (text: string, params: unknown[]) => {
    const rows = await raw(text, params);
    return { count: rows.length, last: String(rows.at(-1)?.at(-1)) };
  };
  return {
    cases: [
      readAllCase("postgres readAll adapter", eventStore),
      {
        name: "postgres raw same statement",
        ops: READ_EVENTS,
        sample: () => scanLog((after) => {
          const statement = postgresDialect.readAllEvents(tables, BigInt(after), PAGE_SIZE);
          return rawPage(statement.text, statement.params as unknown[]);
        }),
      },
      { name: "postgres raw minimal scan", ops: READ_EVENTS, sample: () => scanLog((after) => rawPage(minimal, [after, PAGE_SIZE])) },
    ],
    ratios: [
      { label: "projections: postgres readAll, adapter / raw minimal scan", of: "postgres readAll adapter", to: "postgres raw minimal scan" },
      { label: "projections: postgres readAll, adapter / raw same statement", of: "postgres readAll adapter", to: "postgres raw same statement" },
    ],
    sides: [side, ...emmett.sides],
    async close() {
      await emmett.close();
      await sql.unsafe([tables.events, tables.snapshots, positionCounterTable(tables), tables.state, ...emmett.tables].map((table) => `DROP TABLE IF EXISTS "${table}";`).join(" "));
      // Emmett's tables are shared: remove only what this suite wrote (its event type, its streams).
      await sql`DELETE FROM emt_messages WHERE message_type = ${DEPOSITED}`;
      await sql`DELETE FROM emt_streams WHERE stream_id LIKE 'bench-ledger/%'`;
      await sql`DELETE FROM emt_processors WHERE processor_id LIKE 'bench-sums-%'`;
      await sql`DELETE FROM emt_projections WHERE name LIKE 'bench_%sums_%'`;
      await sql.end({ timeout: 5 });
    },
  };
}

async function openUpstash(url: string, token: string): Promise<BackendParts> {
  const client = new Redis({ url, token, automaticDeserialization: false, enableTelemetry: false, enableAutoPipelining: false });
  const prefix = `quark-bench-proj-${shortId()}`;
  const eventStore = upstashEventStore({ client, keyPrefix: prefix });
  const storage = upstashStorage({ client, keyPrefix: prefix });
  const side = quarkSide("quark upstash", eventStore, storage);
  await fillReadLog(side);
  const global = locateGlobalOrder(prefix);
  const readAllSha = await client.scriptLoad(READ_ALL.source);
  return {
    cases: [
      readAllCase("upstash readAll adapter", eventStore),
      {
        name: "upstash raw same script",
        ops: READ_EVENTS,
        sample: () => scanLog(async (after) => {
          const reply = await client.evalsha(readAllSha, [global.log], [after, String(PAGE_SIZE), global.streamBase]) as string[];
          // Replies alternate member and event; an event is `~[position,createdAt,…]`.
          const item = reply.at(-1) ?? "";
          return { count: reply.length / 2, last: item.slice(2, item.indexOf(",")) };
        }),
      },
    ],
    ratios: [{ label: "projections: upstash readAll, adapter / raw same script", of: "upstash readAll adapter", to: "upstash raw same script" }],
    sides: [side],
    async close() {
      await storage.close();
      let cursor = "0";
      do {
        const [next, keys] = await client.scan(cursor, { match: `${prefix}*`, count: 1000 });
        cursor = String(next);
        if (keys.length > 0) await client.del(...keys);
      } while (cursor !== "0");
    },
  };
}

export const open: OpenSuite = async (env) => {
  const parts: BackendParts[] = [];
  const skipped: string[] = [];
  if (env.POSTGRES_URL) parts.push(await openPostgres(env.POSTGRES_URL));
  else skipped.push("POSTGRES_URL is not set");
  if (env.UPSTASH_REDIS_REST_URL && env.UPSTASH_REDIS_REST_TOKEN) parts.push(await openUpstash(env.UPSTASH_REDIS_REST_URL, env.UPSTASH_REDIS_REST_TOKEN));
  else skipped.push("UPSTASH_REDIS_REST_URL is not set");
  if (parts.length === 0) return `${skipped.join("; ")} (start them with scripts/services/<name>.sh start)`;
  const suite: BenchSuite = {
    name: "projections",
    cases: parts.flatMap((part) => part.cases),
    ratios: parts.flatMap((part) => part.ratios),
    facts: () => lagFacts(parts.flatMap((part) => part.sides)),
    close: async () => void await Promise.all(parts.map((part) => part.close())),
  };
  return suite;
};

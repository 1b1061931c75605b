/**
 * SQL benchmark, for postgres (postgres.js), neon (HTTP `neon()`) and pglite, each on its own
 * server in one run:
 *
 * - round trips per single-state conditional write, counted for real: postgres through a
 *   counting TCP relay in front of the server (a round trip is a client send that follows a
 *   server reply), neon by wrapping the driver's `fetch`, pglite (no network) by counting the
 *   statements handed to PGlite;
 * - the adapter's latency next to the raw driver running the very same statement (the text
 *   and parameters the shared dialect builds), and next to a minimal hand-written
 *   `UPDATE … WHERE etag = $n` as the floor.
 *
 * Run: `set -a; . .services/postgres/env; . .services/neon-http/env; set +a;
 *       node --import tsx scripts/bench/sql.ts`
 */
import { createServer, connect, type AddressInfo, type Socket } from "node:net";
import postgres from "postgres";
import { neon, neonConfig } from "@neondatabase/serverless";
import { PGlite } from "@electric-sql/pglite";
import { postgresStorage, type PostgresJsClient } from "../../adapters/postgres/mod.ts";
import { neonStorage } from "../../adapters/neon/mod.ts";
import { pgliteStorage, type PGliteClient } from "../../adapters/pglite/mod.ts";
import { postgresDialect } from "../../adapters/_sql/postgres_dialect.ts";
import { resolveTables } from "../../adapters/_sql/dialect.ts";
import { byteaHex } from "../../adapters/_sql/executor.ts";
import type { SqlStateStorage } from "../../adapters/_sql/storage.ts";
import type { StateKey } from "../../src/storage/types.ts";

const ROUNDS = 5;
const WRITES_PER_ROUND = 200;
const value = crypto.getRandomValues(new Uint8Array(64));
const tables = resolveTables({}, 48);
const MINIMAL_UPDATE = `UPDATE "quark_state" SET value = $1, etag = $2, revision = revision + 1 WHERE actor_type = $3 AND actor_id = $4 AND state_name = $5 AND etag = $6`;

type Raw = (text: string, params: unknown[]) => Promise<unknown>;

interface Target {
  readonly name: string;
  readonly storage: SqlStateStorage;
  readonly raw: Raw;
  /** Bytes as the raw driver takes them. */
  readonly bytes: (bytes: Uint8Array) => unknown;
  readonly roundTrips: () => number;
  readonly unit: string;
  readonly close: () => Promise<void>;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

function freshKey(): StateKey {
  return { actorType: "bench", actorId: crypto.randomUUID(), stateName: "s" };
}

async function adapterWrites(storage: SqlStateStorage, count: number): Promise<number[]> {
  const key = freshKey();
  let etag = (await storage.write({ key, value, etag: crypto.randomUUID(), expectedEtag: null })).etag;
  const times: number[] = [];
  for (let i = 0; i < count; i++) {
    const started = performance.now();
    etag = (await storage.write({ key, value, etag: crypto.randomUUID(), expectedEtag: etag })).etag;
    times.push(performance.now() - started);
  }
  return times;
}

// The raw driver runs exactly the statement the adapter sends, outside the adapter.
async function rawSameStatement(target: Target, count: number): Promise<number[]> {
  const key = freshKey();
  let etag = (await target.storage.write({ key, value, etag: crypto.randomUUID(), expectedEtag: null })).etag;
  const times: number[] = [];
  for (let i = 0; i < count; i++) {
    const next = crypto.randomUUID();
    const statement = postgresDialect.writeState(tables, { key, value, etag: next, expectedEtag: etag });
    const params = statement.params.map((param) => (param instanceof Uint8Array ? target.bytes(param) : param));
    const started = performance.now();
    await target.raw(statement.text, params);
    times.push(performance.now() - started);
    etag = next;
  }
  return times;
}

async function rawMinimal(target: Target, count: number): Promise<number[]> {
  const key = freshKey();
  let etag = (await target.storage.write({ key, value, etag: crypto.randomUUID(), expectedEtag: null })).etag;
  const times: number[] = [];
  for (let i = 0; i < count; i++) {
    const next = crypto.randomUUID();
    const started = performance.now();
    await target.raw(MINIMAL_UPDATE, [target.bytes(value), next, key.actorType, key.actorId, key.stateName, etag]);
    times.push(performance.now() - started);
    etag = next;
  }
  return times;
}

/** A TCP relay that counts round trips: each client send that follows a server reply. */
async function countingRelay(host: string, port: number): Promise<{ port: number; roundTrips: () => number; close: () => void }> {
  let roundTrips = 0;
  const sockets = new Set<Socket>();
  const server = createServer((client) => {
    const upstream = connect({ host, port });
    let lastFromServer = true;
    sockets.add(client).add(upstream);
    client.on("data", (chunk) => {
      if (lastFromServer) roundTrips++;
      lastFromServer = false;
      upstream.write(chunk);
    });
    upstream.on("data", (chunk) => {
      lastFromServer = true;
      client.write(chunk);
    });
    client.on("close", () => upstream.destroy());
    upstream.on("close", () => client.destroy());
    client.on("error", () => upstream.destroy());
    upstream.on("error", () => client.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as AddressInfo).port,
    roundTrips: () => roundTrips,
    close: () => {
      for (const socket of sockets) socket.destroy();
      server.close();
    },
  };
}

async function postgresTarget(url: string): Promise<Target> {
  const parsed = new URL(url);
  const relay = await countingRelay(parsed.hostname, Number(parsed.port || 5432));
  parsed.hostname = "127.0.0.1";
  parsed.port = String(relay.port);
  // One connection for both sides, so both reuse the same prepared statements and socket.
  const sql = postgres(parsed.toString(), { max: 1, onnotice: () => {} });
  const storage = postgresStorage({ client: sql as unknown as PostgresJsClient });
  await storage.ensureSchema();
  return {
    name: "postgres (postgres.js)",
    storage,
    // Prepared, as the adapter does, so both sides pay the same protocol cost.
    raw: (text, params) => sql.unsafe(text, params as never[], { prepare: true }).values(),
    bytes: (bytes) => bytes,
    roundTrips: relay.roundTrips,
    unit: "TCP round trips",
    close: async () => {
      await sql.end({ timeout: 1 });
      relay.close();
    },
  };
}

async function neonTarget(url: string, endpoint: string): Promise<Target> {
  let fetches = 0;
  neonConfig.fetchEndpoint = endpoint;
  neonConfig.fetchFunction = (input: string, init: RequestInit) => {
    fetches++;
    return fetch(input, init);
  };
  const sql = neon(url);
  const storage = neonStorage({ sql: sql as never });
  await storage.ensureSchema();
  return {
    name: "neon (HTTP neon(), local bridge)",
    storage,
    raw: (text, params) => sql.query(text, params, { arrayMode: true }),
    bytes: (bytes) => byteaHex(bytes),
    roundTrips: () => fetches,
    unit: "HTTP requests",
    close: async () => {},
  };
}

async function pgliteTarget(): Promise<Target> {
  const db = new PGlite();
  let statements = 0;
  const client = db as unknown as PGliteClient;
  const counted: PGliteClient = {
    query: (text, params, options) => {
      statements++;
      return client.query(text, params, options);
    },
    transaction: (callback) => client.transaction(callback),
    close: async () => {},
  };
  const storage = pgliteStorage({ client: counted });
  await storage.ensureSchema();
  return {
    name: "pglite (in-process, in-memory)",
    storage,
    raw: (text, params) => db.query(text, params, { rowMode: "array" }),
    bytes: (bytes) => bytes,
    roundTrips: () => statements,
    unit: "statements (no network)",
    close: () => db.close(),
  };
}

async function measure(target: Target): Promise<void> {
  // Warm-up: connections open, statements get prepared, the JIT settles.
  await adapterWrites(target.storage, 50);
  await rawSameStatement(target, 50);
  await rawMinimal(target, 50);

  const before = target.roundTrips();
  const counted = 100;
  await adapterWrites(target.storage, counted);
  // adapterWrites also makes one create-only write to start its chain.
  const perWrite = (target.roundTrips() - before) / (counted + 1);

  const adapter: number[] = [];
  const same: number[] = [];
  const minimal: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    adapter.push(...await adapterWrites(target.storage, WRITES_PER_ROUND));
    same.push(...await rawSameStatement(target, WRITES_PER_ROUND));
    minimal.push(...await rawMinimal(target, WRITES_PER_ROUND));
  }
  const a = median(adapter);
  const s = median(same);
  const m = median(minimal);
  console.log(`\n${target.name}`);
  console.log(`  ${target.unit} per single-state conditional write: ${perWrite.toFixed(2)}`);
  console.log(`  median latency: adapter ${a.toFixed(3)} ms, raw driver same statement ${s.toFixed(3)} ms, raw minimal UPDATE ${m.toFixed(3)} ms`);
  console.log(`  ratio adapter / raw same statement: ${(a / s).toFixed(2)}; adapter / raw minimal UPDATE: ${(a / m).toFixed(2)}`);
}

const postgresUrl = process.env.POSTGRES_URL;
const neonUrl = process.env.NEON_URL;
const neonEndpoint = process.env.NEON_HTTP_ENDPOINT;

console.log(`SQL benchmark: ${ROUNDS} rounds x ${WRITES_PER_ROUND} sequential conditional writes of ${value.length} bytes per side, interleaved`);
const targets: Array<() => Promise<Target>> = [];
if (postgresUrl) targets.push(() => postgresTarget(postgresUrl));
else console.log("SKIP postgres: POSTGRES_URL is not set (start it with scripts/services/postgres.sh start)");
if (neonUrl && neonEndpoint) targets.push(() => neonTarget(neonUrl, neonEndpoint));
else console.log("SKIP neon: NEON_HTTP_ENDPOINT is not set (start it with scripts/services/neon-http.sh start)");
targets.push(pgliteTarget);

for (const open of targets) {
  const target = await open();
  try {
    await measure(target);
  } finally {
    await target.storage.close();
    await target.close();
  }
}

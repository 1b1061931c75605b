/**
 * SQL suites of `npm run bench`, for PostgreSQL (postgres.js), Neon (HTTP `neon()` on the local
 * bridge) and PGlite, each next to its raw driver:
 *
 * - the adapter's conditional write, the raw driver running the very same statement (the text
 *   and parameters the shared dialect builds), and a minimal hand-written
 *   `UPDATE … WHERE etag = $n` as the floor;
 * - an actor call that saves, against the raw write, one caller and 16 callers at once;
 * - writes of 1 KB, 100 KB and 1 MB through the adapter and through the raw statement;
 * - round trips per write, counted for real: postgres through a counting TCP relay in front of
 *   the server (a round trip is a client send that follows a server reply), neon by wrapping
 *   the driver's `fetch`, PGlite (no
 *   network) by counting the statements handed to it.
 *
 * The runner interleaves every case in a random order per cycle, so neither side always pays
 * for the other's heavier operation just before it (the fixed order this file used to have).
 */
import postgres from "postgres";
import { PGlite } from "@electric-sql/pglite";
import { postgresStorage, type PostgresJsClient } from "../../adapters/postgres/mod.ts";
import { pgliteStorage, type PGliteClient } from "../../adapters/pglite/mod.ts";
import { preparedRunner } from "../../adapters/pglite/_prepared.ts";
import { neon, neonConfig } from "@neondatabase/serverless";
import { neonStorage } from "../../adapters/neon/mod.ts";
import { byteaHex, type SqlParam } from "../../adapters/_sql/executor.ts";
import { postgresDialect } from "../../adapters/_sql/postgres_dialect.ts";
import { resolveTables } from "../../adapters/_sql/dialect.ts";
import type { SqlStateStorage } from "../../adapters/_sql/storage.ts";
import { createActorSystem } from "../../mod.ts";
import type { StateKey } from "../../src/storage/types.ts";
import { BenchNote, concurrently, type BenchCase, type BenchSuite, type OpenSuite } from "./_harness.ts";
import { countingRelay } from "./_relay.ts";

const CALLERS = 16;
const PER_CALLER = 4;
const tables = resolveTables({}, 48);
const MINIMAL_UPDATE = `UPDATE "quark_state" SET value = $1, etag = $2, revision = revision + 1 WHERE actor_type = $3 AND actor_id = $4 AND state_name = $5 AND etag = $6`;
const SIZES = [["64 B", 64], ["1 KB", 1_024], ["100 KB", 100 * 1_024], ["1 MB", 1_024 * 1_024]] as const;

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

// Incompressible bytes, so TOAST compression flatters neither side.
function noise(bytes: number): Uint8Array {
  const out = new Uint8Array(bytes);
  for (let offset = 0; offset < bytes; offset += 65_536) crypto.getRandomValues(out.subarray(offset, offset + 65_536));
  return out;
}

function freshKey(): StateKey {
  return { actorType: "bench", actorId: crypto.randomUUID(), stateName: "s" };
}

// A chain of conditional writes on one key, each expecting the etag the previous one left.
async function chain(storage: SqlStateStorage, value: Uint8Array) {
  const key = freshKey();
  let etag = (await storage.write({ key, value, etag: crypto.randomUUID(), expectedEtag: null })).etag;
  return {
    adapter: async () => {
      etag = (await storage.write({ key, value, etag: crypto.randomUUID(), expectedEtag: etag })).etag;
    },
    // The raw driver runs exactly the statement the adapter sends, outside the adapter.
    raw: async (target: Target) => {
      const next = crypto.randomUUID();
      const statement = postgresDialect.writeState(tables, { key, value, etag: next, expectedEtag: etag });
      await target.raw(statement.text, statement.params.map((param) => (param instanceof Uint8Array ? target.bytes(param) : param)));
      etag = next;
    },
    minimal: async (target: Target) => {
      const next = crypto.randomUUID();
      await target.raw(MINIMAL_UPDATE, [target.bytes(value), next, key.actorType, key.actorId, key.stateName, etag]);
      etag = next;
    },
  };
}


async function sqlSuite(target: Target): Promise<BenchSuite> {
  const value = noise(64);
  const single = await chain(target.storage, value);
  const callers = await Promise.all(Array.from({ length: CALLERS }, () => chain(target.storage, value)));
  const system = createActorSystem({ storage: target.storage });
  const one = system.actor(BenchNote, crypto.randomUUID());
  const many = Array.from({ length: CALLERS }, () => system.actor(BenchNote, crypto.randomUUID()));
  await Promise.all([one.bump(), ...many.map((actor) => actor.bump())]);
  const sized: BenchCase[] = [];
  for (const [label, bytes] of SIZES.slice(1)) {
    const sizedChain = await chain(target.storage, noise(bytes));
    sized.push({ name: `adapter write ${label}`, ops: 1, sample: sizedChain.adapter });
    sized.push({ name: `raw same statement ${label}`, ops: 1, sample: () => sizedChain.raw(target) });
  }
  return {
    name: target.name,
    cases: [
      { name: "adapter write", ops: 1, sample: single.adapter },
      { name: "raw same statement", ops: 1, sample: () => single.raw(target) },
      { name: "raw minimal UPDATE", ops: 1, sample: () => single.minimal(target) },
      { name: "actor save", ops: 1, sample: () => one.bump() },
      { name: `raw same statement, ${CALLERS} callers`, ops: CALLERS * PER_CALLER, sample: () => concurrently(CALLERS, PER_CALLER, (caller) => callers[caller]!.raw(target)) },
      { name: `actor save, ${CALLERS} callers`, ops: CALLERS * PER_CALLER, sample: () => concurrently(CALLERS, PER_CALLER, (caller) => many[caller]!.bump()) },
      ...sized,
    ],
    ratios: [
      { label: `${target.name}: actor save / raw same statement (p50)`, of: "actor save", to: "raw same statement", target: "≤ 1.15" },
      { label: `${target.name}: ${CALLERS} callers, actor save / raw (time per op)`, of: `actor save, ${CALLERS} callers`, to: `raw same statement, ${CALLERS} callers`, target: "≤ 1.11 (≥ 0.90× throughput)" },
      { label: `${target.name}: adapter write / raw same statement`, of: "adapter write", to: "raw same statement" },
      { label: `${target.name}: adapter statement / minimal UPDATE`, of: "raw same statement", to: "raw minimal UPDATE", target: "≤ 1.10" },
      ...SIZES.slice(1).map(([label]) => ({ label: `${target.name}: ${label} write, adapter / raw`, of: `adapter write ${label}`, to: `raw same statement ${label}` })),
    ],
    facts: async () => {
      const before = target.roundTrips();
      for (let index = 0; index < 20; index++) await single.adapter();
      const afterWrites = target.roundTrips();
      for (let index = 0; index < 20; index++) await one.bump();
      return {
        [`${target.unit} per adapter write`]: ((afterWrites - before) / 20).toFixed(2),
        [`${target.unit} per actor save`]: ((target.roundTrips() - afterWrites) / 20).toFixed(2),
      };
    },
    close: async () => {
      await system.shutdown();
      await target.storage.close();
      await target.close();
    },
  };
}

async function postgresTarget(url: string): Promise<Target> {
  const parsed = new URL(url);
  const relay = await countingRelay(parsed.hostname, Number(parsed.port || 5432));
  parsed.hostname = "127.0.0.1";
  parsed.port = String(relay.port);
  // One pool for both sides, so both reuse the same prepared statements and sockets.
  const sql = postgres(parsed.toString(), { max: CALLERS, onnotice: () => {} });
  const storage = postgresStorage({ client: sql as unknown as PostgresJsClient });
  await storage.ensureSchema();
  return {
    name: "postgres",
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
    name: "neon",
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
  let calls = 0;
  // The adapter gets PGlite itself, behind a proxy that counts the calls into it, so it
  // prepares its statements as it does for users. Methods run on PGlite, whose private
  // fields a proxy as `this` could not reach.
  const counted = new Proxy(db, {
    get(target, property) {
      const member = Reflect.get(target, property, target);
      if (typeof member !== "function") return member;
      const method = member.bind(target);
      return property === "query" || property === "execProtocol" ? (...args: unknown[]) => (calls++, method(...args)) : method;
    },
  });
  const storage = pgliteStorage({ client: counted as unknown as PGliteClient });
  await storage.ensureSchema();
  // Both raw statements prepared too, as the adapter sends its own.
  const prepared = preparedRunner(db, await import("@electric-sql/pglite"))!;
  return {
    name: "pglite",
    storage,
    raw: (text, params) => prepared(text, params as SqlParam[]),
    bytes: (bytes) => bytes,
    roundTrips: () => calls,
    unit: "calls into PGlite (no network)",
    close: () => db.close(),
  };
}


/** The PostgreSQL suite, when `POSTGRES_URL` is set. */
export const openPostgres: OpenSuite = async (env) => {
  if (!env.POSTGRES_URL) return "POSTGRES_URL is not set (start it with scripts/services/postgres.sh start)";
  return sqlSuite(await postgresTarget(env.POSTGRES_URL));
};

/** The Neon suite (HTTP `neon()`, on the local bridge), when `NEON_URL` and `NEON_HTTP_ENDPOINT` are set. */
export const openNeon: OpenSuite = async (env) => {
  if (!env.NEON_URL || !env.NEON_HTTP_ENDPOINT) return "NEON_HTTP_ENDPOINT is not set (start it with scripts/services/neon-http.sh start)";
  return sqlSuite(await neonTarget(env.NEON_URL, env.NEON_HTTP_ENDPOINT));
};

/** The PGlite suite, in process. */
export const openPglite: OpenSuite = async () => sqlSuite(await pgliteTarget());

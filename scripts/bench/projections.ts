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
 * Then, under "Counted, not timed", the lag and catch-up rate of our projector on both
 * backends next to Emmett's processors on the same PostgreSQL (`projection_lag.ts`, over the
 * sides of `projection_sides.ts`). What could not be aligned is named in docs/benchmarks.md.
 *
 * Run alone: `npm run bench -- --only projections` (`--no-write` leaves the docs alone;
 * `QUARK_BENCH_LAG_ROUNDS` sets the lag rounds, default 5). It needs POSTGRES_URL for the
 * PostgreSQL and Emmett sides and UPSTASH_REDIS_REST_URL for the Upstash side; each side
 * writes to tables or a key prefix of its own and removes them when the run ends.
 */
import postgres from "postgres";
import { Redis } from "@upstash/redis";
import { deleteKeysWithPrefix } from "./_upstash_cleanup.ts";
import { postgresEventStore, postgresStorage, type PostgresJsClient } from "../../adapters/postgres/mod.ts";
import { upstashEventStore, upstashStorage } from "../../adapters/upstash/mod.ts";
import { postgresDialect } from "../../adapters/_sql/postgres_dialect.ts";
import { positionCounterTable, resolveTables } from "../../adapters/_sql/dialect.ts";
import { READ_ALL } from "../../adapters/upstash/_scripts.ts";
import { locateGlobalOrder } from "../../adapters/upstash/_keys.ts";
import type { EventStore } from "../../mod.ts";
import type { BenchCase, BenchRatio, BenchSuite, OpenSuite } from "./_harness.ts";
import { emmettSides, quarkSide, shortId, type Side } from "./projection_sides.ts";
import { lagFacts } from "./projection_lag.ts";

const READ_EVENTS = 5_000;
const PAGE_SIZE = 500;
const READ_STREAMS = 50;

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
      await sql.unsafe([tables.events, tables.snapshots, positionCounterTable(tables), tables.state].map((table) => `DROP TABLE IF EXISTS "${table}";`).join(" "));
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
      await deleteKeysWithPrefix(client, prefix);
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

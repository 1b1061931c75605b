/**
 * Global positions benchmark, on PostgreSQL (postgres.js): what the position counter costs an
 * append, and how fast `readAll` reads. Side by side, in one run, in random interleaved order:
 *
 * - appends per second of one event each, by 1 and 16 concurrent appenders, each on a stream
 *   of its own (so every wait is the counter's, not a stream's):
 *   - `before`: the append statement of format 0.1 (kept below, as text: no positions);
 *   - `after`: the adapter itself (`store.append`), which takes positions from the counter row;
 *   - `raw-after`: the raw driver running the very statement the adapter sends now;
 *   - `minimal`: a hand-written `INSERT … VALUES` of the row with a known version;
 * - `readAll` events per second over the whole table, pages of 500: the adapter next to the
 *   raw driver paging with the very statement the adapter sends.
 *
 * Run: `set -a; . .services/postgres/env; set +a; node --import tsx scripts/bench/positions.ts`
 * (`QUARK_BENCH_MS=2000` sets the length of one append measurement). PostgreSQL here runs with
 * `fsync=off` and `synchronous_commit=off`; compare the rows with each other, not with a
 * production server, where a commit waits for its WAL flush with the counter row locked.
 */
import postgres from "postgres";
import { postgresEventStore, type PostgresJsClient } from "../../adapters/postgres/mod.ts";
import { postgresDialect } from "../../adapters/_sql/postgres_dialect.ts";
import { positionCounterTable, resolveTables } from "../../adapters/_sql/dialect.ts";
import type { SqlParam } from "../../adapters/_sql/executor.ts";

const MEASURE_MS = Number(process.env.QUARK_BENCH_MS ?? 1500);
const ROUNDS = 3;
const CLIENTS = [1, 16];
const PAGE_SIZE = 500;
const EVENTS_TABLE = "bench_positions_events";
const tables = resolveTables({ eventsTable: EVENTS_TABLE, snapshotsTable: `${EVENTS_TABLE}_snapshots` }, 48);
const data = crypto.getRandomValues(new Uint8Array(64));

const url = process.env.POSTGRES_URL;
if (url === undefined) {
  console.log("POSTGRES_URL is not set (start it with scripts/services/postgres.sh start)");
  process.exit(0);
}
const sql = postgres(url, { max: 20, onnotice: () => {} });
const raw = (text: string, params: readonly SqlParam[]) => sql.unsafe(text, params as never[], { prepare: true }).values() as Promise<unknown[][]>;
const drop = () => sql.unsafe([EVENTS_TABLE, tables.snapshots, positionCounterTable(tables)].map((table) => `DROP TABLE IF EXISTS "${table}";`).join(" "));
await drop();
const store = postgresEventStore({ client: sql as unknown as PostgresJsClient, eventsTable: tables.events, snapshotsTable: tables.snapshots });
await store.ensureSchema();

/** The append of format 0.1, as its dialect built it for one event: no counter, no position. */
const BEFORE = `WITH head AS (SELECT coalesce(max(e.version), 0)::bigint AS version FROM "${EVENTS_TABLE}" AS e WHERE e.stream = $1),
appended AS (
  INSERT INTO "${EVENTS_TABLE}" (stream, version, type, data)
  SELECT $1, head.version + batch.position, batch.type, batch.data
  FROM head, (VALUES (1, $3::text, $4::bytea)) AS batch (position, type, data)
  WHERE ($2::bigint IS NULL OR head.version = $2::bigint)
  RETURNING 1
)
SELECT head.version, (SELECT count(*) FROM appended) FROM head`;
const MINIMAL = `INSERT INTO "${EVENTS_TABLE}" (stream, version, type, data) VALUES ($1, $2, $3, $4)`;

/** Appends the event at `version` (the stream's next) to `stream`. */
type Append = (stream: string, version: number) => Promise<unknown>;

const appends: Record<string, Append> = {
  before: (stream, version) => raw(BEFORE, [stream, version - 1, "Bench", data]),
  after: (stream, version) => store.append(stream, [{ type: "Bench", data }], version - 1),
  "raw-after": (stream, version) => {
    const statement = postgresDialect.appendEvents(tables, stream, [{ type: "Bench", data }], version - 1);
    return raw(statement.text, statement.params);
  },
  minimal: (stream, version) => raw(MINIMAL, [stream, version, "Bench", data]),
};

async function appendRate(append: Append, clients: number): Promise<number> {
  const deadline = performance.now() + MEASURE_MS;
  let count = 0;
  await Promise.all(Array.from({ length: clients }, async () => {
    const stream = `bench-${crypto.randomUUID()}`;
    for (let version = 1; performance.now() < deadline; version++) {
      await append(stream, version);
      count++;
    }
  }));
  return count / (MEASURE_MS / 1000);
}

/** Reads the whole global order a page at a time; returns events per second. */
const readers: Record<string, () => Promise<number>> = {
  adapter: async () => {
    let count = 0;
    for await (const _event of store.readAll({ pageSize: PAGE_SIZE })) count++;
    return count;
  },
  raw: async () => {
    let count = 0;
    let after = 0n;
    while (true) {
      const statement = postgresDialect.readAllEvents(tables, after, PAGE_SIZE);
      const rows = await raw(statement.text, statement.params);
      count += rows.length;
      if (rows.length < PAGE_SIZE) return count;
      after = BigInt(String(rows.at(-1)![6]));
    }
  },
};

function shuffle<T>(items: T[]): T[] {
  for (let index = items.length - 1; index > 0; index--) {
    const other = Math.floor(Math.random() * (index + 1));
    [items[index], items[other]] = [items[other]!, items[index]!];
  }
  return items;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const results = new Map<string, number[]>();
const record = (id: string, value: number) => results.set(id, [...(results.get(id) ?? []), value]);

const appendCells = Object.keys(appends).flatMap((variant) => CLIENTS.map((clients) => ({ variant, clients })));
const appendPlan = shuffle(Array.from({ length: ROUNDS }, () => appendCells).flat());
for (const [index, cell] of appendPlan.entries()) {
  record(`${cell.variant}|${cell.clients}`, await appendRate(appends[cell.variant]!, cell.clients));
  process.stderr.write(`\r${index + 1}/${appendPlan.length} append measurements`);
}
process.stderr.write("\n");

// readAll reads only events with a position: give the rows `before` and `minimal` wrote one.
await postgresEventStore({ client: sql as unknown as PostgresJsClient, eventsTable: tables.events, snapshotsTable: tables.snapshots }).ensureSchema();
const readPlan = shuffle(Array.from({ length: ROUNDS }, () => Object.keys(readers)).flat());
let total = 0;
for (const reader of readPlan) {
  const started = performance.now();
  total = await readers[reader]!();
  record(`read|${reader}`, total / ((performance.now() - started) / 1000));
}

console.log(`\nAppends of one event per second, each appender on its own stream (median of ${ROUNDS} runs of ${MEASURE_MS} ms, interleaved at random)\n`);
console.log(`| statement | ${CLIENTS.map((clients) => `${clients} appender${clients === 1 ? "" : "s"}`).join(" | ")} |`);
console.log(`|---|${CLIENTS.map(() => "---:").join("|")}|`);
for (const variant of Object.keys(appends)) {
  console.log(`| ${variant} | ${CLIENTS.map((clients) => Math.round(median(results.get(`${variant}|${clients}`)!)).toLocaleString("en")).join(" | ")} |`);
}
console.log(`\nreadAll over ${total.toLocaleString("en")} events, pages of ${PAGE_SIZE} (median of ${ROUNDS} runs, interleaved at random)\n`);
console.log("| reader | events/s |\n|---|---:|");
for (const reader of Object.keys(readers)) console.log(`| ${reader} | ${Math.round(median(results.get(`read|${reader}`)!)).toLocaleString("en")} |`);

await drop();
await sql.end({ timeout: 5 });

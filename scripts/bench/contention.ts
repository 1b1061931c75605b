/**
 * Contention benchmark: 8 and 16 clients race conditional writes on one hot key (read the
 * etag, write expecting it, and on a conflict take the stored etag and try again), on
 * PostgreSQL (postgres.js) and PGlite, and counts successful writes per second. Side by side,
 * in one run, in random interleaved order:
 *
 * - `before`: the statement the adapter sent before row locks were taken in one order (kept
 *   below, as text), driven like that adapter: a conflict whose etag the statement could not
 *   tell costs a second statement to read it;
 * - `after`: the adapter itself (`storage.write`), whose conflicts carry the stored etag;
 * - `raw-after`: the raw driver running the very statement the adapter sends now;
 * - `minimal`: a hand-written `UPDATE … WHERE key = … AND etag = …`, plus a read on conflict.
 *
 * Run: `set -a; . .services/postgres/env; set +a; node --import tsx scripts/bench/contention.ts`
 * (`QUARK_BENCH_MS=2000` sets the length of one measurement). PostgreSQL here runs with
 * `synchronous_commit=off`; compare the rows with each other, not with a production server.
 */
import postgres from "postgres";
import { PGlite } from "@electric-sql/pglite";
import { postgresStorage, type PostgresJsClient } from "../../adapters/postgres/mod.ts";
import { pgliteStorage, type PGliteClient } from "../../adapters/pglite/mod.ts";
import { postgresDialect } from "../../adapters/_sql/postgres_dialect.ts";
import { resolveTables } from "../../adapters/_sql/dialect.ts";
import type { SqlStateStorage } from "../../adapters/_sql/storage.ts";
import { isQuarkError } from "../../src/errors.ts";
import type { StateKey } from "../../src/storage/types.ts";

const MEASURE_MS = Number(process.env.QUARK_BENCH_MS ?? 1500);
const ROUNDS = 3;
const CLIENTS = [8, 16];
const value = crypto.getRandomValues(new Uint8Array(64));
const tables = resolveTables({}, 48);

type Raw = (text: string, params: unknown[]) => Promise<unknown[][]>;

/** The conditional write of the previous commit, as its dialect built it. */
function beforeStatement(key: StateKey, etag: string, expected: string): { text: string; params: unknown[] } {
  const alive = "(s.expires_at IS NULL OR s.expires_at > now())";
  const match = "s.actor_type = $1 AND s.actor_id = $2 AND s.state_name = $3";
  const expires = "CASE WHEN $6::float8 IS NULL THEN NULL ELSE now() + $6::float8 * interval '1 millisecond' END";
  const epoch = (column: string) => `floor(extract(epoch FROM ${column}) * 1000)::float8`;
  return {
    text: `WITH applied AS (UPDATE "quark_state" AS s
SET value = $4::bytea, etag = $5::text, revision = s.revision + 1, expires_at = ${expires}, updated_at = now()
WHERE ${match} AND s.etag = $7::text AND ${alive}
RETURNING s.revision, s.expires_at) SELECT o.outcome, o.revision, o.etag, o.expires_ms FROM (SELECT 1) AS one LEFT JOIN (SELECT 'written' AS outcome, a.revision, NULL::text AS etag, ${epoch("a.expires_at")} AS expires_ms FROM applied AS a UNION ALL SELECT CASE WHEN s.etag = $5::text THEN 'retried' WHEN ${alive} THEN 'conflict' ELSE 'absent' END, s.revision, CASE WHEN ${alive} THEN s.etag END, ${epoch("s.expires_at")} FROM "quark_state" AS s WHERE ${match} AND NOT EXISTS (SELECT 1 FROM applied)) AS o ON true`,
    params: [key.actorType, key.actorId, key.stateName, value, etag, null, expected],
  };
}

const MINIMAL = `UPDATE "quark_state" SET value = $1, etag = $2, revision = revision + 1 WHERE actor_type = $3 AND actor_id = $4 AND state_name = $5 AND etag = $6 RETURNING 1`;
const READ_ETAG = `SELECT etag FROM "quark_state" WHERE actor_type = $1 AND actor_id = $2 AND state_name = $3`;

/** One conditional write attempt: the etag now stored, and whether it is this attempt's. */
type Attempt = (key: StateKey, expected: string) => Promise<{ won: boolean; stored: string }>;

function variants(storage: SqlStateStorage, raw: Raw): Record<string, Attempt> {
  const readEtag = async (key: StateKey) => String((await raw(READ_ETAG, [key.actorType, key.actorId, key.stateName]))[0]![0]);
  return {
    before: async (key, expected) => {
      const etag = crypto.randomUUID();
      const { text, params } = beforeStatement(key, etag, expected);
      const row = (await raw(text, params))[0]!;
      if (row[0] === "written" || row[0] === "retried") return { won: true, stored: etag };
      // A stale snapshot reported nothing, or the expected etag itself: the old adapter read again.
      const told = row[2] === null || row[2] === expected ? undefined : String(row[2]);
      return { won: false, stored: told ?? (await readEtag(key)) };
    },
    after: async (key, expected) => {
      const etag = crypto.randomUUID();
      try {
        await storage.write({ key, value, etag, expectedEtag: expected });
        return { won: true, stored: etag };
      } catch (error) {
        if (!isQuarkError(error, "STATE_CONFLICT")) throw error;
        const actual = (error as { actualEtag?: string | null }).actualEtag;
        return { won: false, stored: typeof actual === "string" ? actual : await readEtag(key) };
      }
    },
    "raw-after": async (key, expected) => {
      const etag = crypto.randomUUID();
      const statement = postgresDialect.writeState(tables, { key, value, etag, expectedEtag: expected });
      const row = (await raw(statement.text, [...statement.params]))[0]!;
      return row[0] === "written" ? { won: true, stored: etag } : { won: false, stored: String(row[2]) };
    },
    minimal: async (key, expected) => {
      const etag = crypto.randomUUID();
      const rows = await raw(MINIMAL, [value, etag, key.actorType, key.actorId, key.stateName, expected]);
      return rows.length === 1 ? { won: true, stored: etag } : { won: false, stored: await readEtag(key) };
    },
  };
}

async function measure(storage: SqlStateStorage, attempt: Attempt, clients: number): Promise<number> {
  const key: StateKey = { actorType: "bench-contention", actorId: crypto.randomUUID(), stateName: "s" };
  const first = await storage.write({ key, value, etag: crypto.randomUUID(), expectedEtag: null });
  const deadline = performance.now() + MEASURE_MS;
  let writes = 0;
  await Promise.all(Array.from({ length: clients }, async () => {
    let expected = first.etag;
    while (performance.now() < deadline) {
      const outcome = await attempt(key, expected);
      if (outcome.won) writes++;
      expected = outcome.stored;
    }
  }));
  return writes / (MEASURE_MS / 1000);
}

function shuffle<T>(items: T[]): T[] {
  for (let index = items.length - 1; index > 0; index--) {
    const other = Math.floor(Math.random() * (index + 1));
    [items[index], items[other]] = [items[other]!, items[index]!];
  }
  return items;
}

interface Target {
  readonly name: string;
  readonly storage: SqlStateStorage;
  readonly raw: Raw;
  readonly close: () => Promise<void>;
}

async function targets(): Promise<Target[]> {
  const list: Target[] = [];
  const url = process.env.POSTGRES_URL;
  if (url === undefined) {
    console.log("POSTGRES_URL is not set: PostgreSQL skipped (start it with scripts/services/postgres.sh start)");
  } else {
    const sql = postgres(url, { max: 20, onnotice: () => {} });
    const storage = postgresStorage({ client: sql as unknown as PostgresJsClient });
    await storage.ensureSchema();
    list.push({
      name: "postgres",
      storage,
      raw: (text, params) => sql.unsafe(text, params as never[], { prepare: true }).values() as Promise<unknown[][]>,
      close: () => sql.end({ timeout: 5 }),
    });
  }
  const db = new PGlite();
  const storage = pgliteStorage({ client: db as unknown as PGliteClient });
  await storage.ensureSchema();
  list.push({
    name: "pglite",
    storage,
    raw: async (text, params) => (await db.query(text, params, { rowMode: "array" })).rows as unknown[][],
    close: () => db.close(),
  });
  return list;
}

const all = await targets();
const cells = all.flatMap((target) => Object.keys(variants(target.storage, target.raw)).flatMap((variant) => CLIENTS.map((clients) => ({ target, variant, clients }))));
const results = new Map<string, number[]>();
const plan = shuffle(Array.from({ length: ROUNDS }, () => cells).flat());
for (const [index, cell] of plan.entries()) {
  const rate = await measure(cell.target.storage, variants(cell.target.storage, cell.target.raw)[cell.variant]!, cell.clients);
  const id = `${cell.target.name}|${cell.variant}|${cell.clients}`;
  results.set(id, [...(results.get(id) ?? []), rate]);
  process.stderr.write(`\r${index + 1}/${plan.length} measurements`);
}
process.stderr.write("\n");
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
console.log(`\nSuccessful conditional writes per second on one hot key (median of ${ROUNDS} runs of ${MEASURE_MS} ms, interleaved at random)\n`);
console.log(`| backend | statement | ${CLIENTS.map((clients) => `${clients} clients`).join(" | ")} |`);
console.log(`|---|---|${CLIENTS.map(() => "---:").join("|")}|`);
for (const target of all) {
  for (const variant of Object.keys(variants(target.storage, target.raw))) {
    const row = CLIENTS.map((clients) => Math.round(median(results.get(`${target.name}|${variant}|${clients}`)!)).toLocaleString("en"));
    console.log(`| ${target.name} | ${variant} | ${row.join(" | ")} |`);
  }
}
for (const target of all) await target.close();

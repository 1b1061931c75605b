// How fast `quark copy` moves states from PGlite to postgres, next to a raw driver copy of the
// same rows: `node --import tsx scripts/bench/cli.ts [STATES]` with POSTGRES_URL set (from
// .services/postgres/env). The CLI figure is the whole command as a user runs it: process
// start, opening both databases, counting, copyStates (a read of the target and a create-only
// write per state) and closing. The raw copy opens PGlite, selects every row and inserts them
// into postgres 1,000 at a time, with no checks. Both targets are fresh tables, dropped after.
import { spawnSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import postgres from "postgres";
import { PGlite } from "@electric-sql/pglite";
import { postgresStorage } from "../../adapters/postgres/mod.ts";
import { seedAt } from "../../tests/cli/harness.ts";

const url = process.env.POSTGRES_URL;
if (!url) throw new Error("Set POSTGRES_URL (scripts/services/postgres.sh start; . .services/postgres/env)");
const states = Number(process.argv[2] ?? 10_000);
const root = new URL("../..", import.meta.url).pathname;
const source = join(mkdtempSync(join(tmpdir(), "quark-bench-cli-")), "source");
const suffix = `b${Date.now().toString(36)}`;
const sql = postgres(url, { max: 4, onnotice: () => {} });

function rate(count: number, ms: number): string {
  return `${(ms / 1000).toFixed(1)} s, ${Math.round(count / (ms / 1000))} states/s`;
}

try {
  await seedAt(source, { states, events: 0, streams: 0 });

  const cliStarted = performance.now();
  const run = spawnSync("node", ["--import", "tsx", "cli/bin.ts", "copy", "--to", "tests/cli/target.config.ts", "--config", "tests/cli/fixture.config.ts"], {
    cwd: root,
    encoding: "utf8",
    env: { ...process.env, QUARK_CLI_SOURCE: source, QUARK_CLI_TARGET: `postgres:${suffix}cli`, QUARK_CLI_STREAMS: "0" },
  });
  const cliMs = performance.now() - cliStarted;
  if (run.status !== 0) throw new Error(`quark copy failed: ${run.stderr}`);

  const rawStarted = performance.now();
  const rawTable = `cli_state_${suffix}raw`;
  const target = postgresStorage({ url, stateTable: rawTable, autoCreateSchema: true });
  await target.ensureSchema();
  await target.close();
  const db = new PGlite(source);
  const { rows } = await db.query<Record<string, unknown>>("SELECT * FROM quark_state");
  for (let start = 0; start < rows.length; start += 1000) {
    const batch = rows.slice(start, start + 1000).map((row) => Object.fromEntries(Object.entries(row).map(([column, value]) => [column, value instanceof Uint8Array ? Buffer.from(value) : value])));
    await sql`INSERT INTO ${sql(rawTable)} ${sql(batch)}`;
  }
  await db.close();
  const rawMs = performance.now() - rawStarted;
  const [row] = await sql`SELECT count(*)::int AS count FROM ${sql(rawTable)}`;
  const count = row?.count as number | undefined;
  if (count !== states) throw new Error(`raw copy holds ${count} rows, expected ${states}`);

  console.log(`${states} states, PGlite -> postgres`);
  console.log(`  quark copy (whole command)   ${rate(states, cliMs)}`);
  console.log(`  raw driver copy (no checks)  ${rate(states, rawMs)}`);
} finally {
  for (const table of [`cli_state_${suffix}cli`, `cli_events_${suffix}cli`, `cli_snapshots_${suffix}cli`, `cli_state_${suffix}raw`]) {
    await sql.unsafe(`DROP TABLE IF EXISTS ${table}`);
  }
  await sql.end();
}

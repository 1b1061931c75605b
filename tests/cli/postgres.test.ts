// The `quark` CLI moving a PGlite system to postgres: copy with --verify, and export from PGlite
// then import into postgres with --keep-etags, verified key by key. Runs when POSTGRES_URL is
// set (scripts/services/postgres.sh start); each run uses tables of its own and drops them.
// QUARK_CLI_LARGE=1 uses 10,000 states and 10,000 events.
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import postgres from "postgres";
import { quark, seedAt, SOURCE_CONFIG, TARGET_CONFIG, tempDir, type Counts } from "./harness.ts";

const url = process.env.POSTGRES_URL;
const large = process.env.QUARK_CLI_LARGE === "1";
const counts: Counts = large ? { states: 10_000, events: 10_000, streams: 100 } : { states: 400, events: 400, streams: 4 };
const suffix = `t${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;
const source = join(tempDir(), "source");

after(async () => {
  if (!url) return;
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    for (const target of ["copy", "import"]) {
      for (const table of ["state", "events", "snapshots"]) await sql.unsafe(`DROP TABLE IF EXISTS cli_${table}_${suffix}${target}`);
    }
  } finally {
    await sql.end();
  }
});

test("PGlite to postgres: copy --verify, and export then import --keep-etags, verified", { skip: url ? false : "POSTGRES_URL is not set" }, async () => {
  await seedAt(source, counts);
  const env = (target: string) => ({ source, target, streams: counts.streams });
  const copied = await quark(["copy", "--to", TARGET_CONFIG, "--verify", "--config", SOURCE_CONFIG], env(`postgres:${suffix}copy`));
  assert.equal(copied.code, 0, copied.stdout + copied.stderr);
  assert.match(copied.stderr, new RegExp(`copied ${counts.states} states \\(0 already there\\) and ${counts.events} events of ${counts.streams} streams`));
  assert.match(copied.stderr, new RegExp(`verified ${counts.states} states and ${counts.events} events: source and target match`));

  const out = join(tempDir(), "export.ndjson");
  assert.equal((await quark(["export", "--out", out, "--config", SOURCE_CONFIG], env(""))).code, 0);
  const target = `postgres:${suffix}import`;
  const imported = await quark(["import", out, "--keep-etags", "--config", SOURCE_CONFIG], { ...env(""), source: target });
  assert.equal(imported.code, 0, imported.stderr);
  const verified = await quark(["verify", "--to", TARGET_CONFIG, "--config", SOURCE_CONFIG], env(target));
  assert.equal(verified.code, 0, verified.stdout + verified.stderr);
  const health = await quark(["health", "--config", SOURCE_CONFIG], { ...env(""), source: target });
  assert.match(health.stdout, /storage\s+default\s+postgres\s+ok/);
});

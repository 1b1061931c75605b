// `quark events tail` with no stream, as a subprocess: it prints the last events of the global
// order, then each event appended while it runs, and Ctrl-C ends it with exit code 0. On
// postgres, since a PGlite folder cannot be open in two processes at once. Runs when
// POSTGRES_URL is set; the tables are the test's own and dropped after.
import { after, test } from "node:test";
import assert from "node:assert/strict";
import postgres from "postgres";
import { createCodec } from "../../mod.ts";
import { codec as codecOptions, openStores } from "./fixture.config.ts";
import { quark, seedAt, SOURCE_CONFIG } from "./harness.ts";

const url = process.env.POSTGRES_URL;
const suffix = `tail${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`;
const location = `postgres:${suffix}`;

after(async () => {
  if (!url) return;
  const sql = postgres(url, { max: 1, onnotice: () => {} });
  try {
    for (const table of ["state", "events", "snapshots"]) await sql.unsafe(`DROP TABLE IF EXISTS cli_${table}_${suffix}`);
  } finally {
    await sql.end();
  }
});

test("events tail follows the global order until Ctrl-C, then exits 0", { skip: url ? false : "POSTGRES_URL is not set" }, async () => {
  await seedAt(location, { states: 0, events: 4, streams: 2 });
  const codec = createCodec(codecOptions);
  const stream = "ledger/new";
  const deposits = await Promise.all([1, 2, 3].map(async (version) => ({ type: "Deposited", data: await codec.encode({ type: "Deposited", cents: version * 100 }, 1, `${stream}#${version}`) })));
  const { storage, eventStore } = openStores(location);
  let appended = false;
  const run = await quark(["events", "tail", "--limit", "2", "--interval", "20", "--config", SOURCE_CONFIG], { source: location, streams: "discover" }, (child) => {
    let seen = "";
    child.stdout.on("data", (chunk: Buffer) => {
      seen += String(chunk);
      const lines = seen.split("\n").filter(Boolean);
      // The backlog is printed: append while the tail is polling.
      if (!appended && lines.length >= 2) {
        appended = true;
        void eventStore.append(stream, deposits, "no_stream");
      }
      if (lines.length >= 5) child.kill("SIGINT");
    });
  });
  await Promise.all([storage.close(), eventStore.close()]);
  // Deno's child_process reports a child it signalled as `signal: "SIGINT"` even when the child
  // handled the signal and exited on its own; everywhere else the exit code is the CLI's.
  assert.ok(run.code === 0 || (run.code === null && run.signal === "SIGINT" && process.versions.deno !== undefined), `${run.code} ${run.signal}\n${run.stderr}`);
  const lines = run.stdout.split("\n").filter(Boolean).map((line) => line.split("\t").slice(1).join("\t"));
  assert.deepEqual(lines, [
    'ledger/l1\t1\tDeposited\t{"type":"Deposited","cents":1}',
    'ledger/l1\t2\tDeposited\t{"type":"Deposited","cents":2}',
    'ledger/new\t1\tDeposited\t{"type":"Deposited","cents":100}',
    'ledger/new\t2\tDeposited\t{"type":"Deposited","cents":200}',
    'ledger/new\t3\tDeposited\t{"type":"Deposited","cents":300}',
  ]);
  const positions = run.stdout.split("\n").filter(Boolean).map((line) => BigInt(line.split("\t")[0]!));
  assert.ok(positions.every((position, index) => index === 0 || position > positions[index - 1]!), "positions grow");
});

// The `quark` CLI as a subprocess against PGlite folders: inspect, get, health, export to
// NDJSON and import it back, copy with --verify, resumed after Ctrl-C, dry runs that change
// nothing, and one-line errors for bad input. Output is piped here, so it must be plain lines.
// QUARK_CLI_LARGE=1 uses 10,000 states and 10,000 events (npm run test:cli-large).
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { quark, seedAt, SOURCE_CONFIG, stoppedByInterrupt, streamNames, TARGET_CONFIG, tempDir, whenExists, type Counts } from "./harness.ts";
import { openStores } from "./fixture.config.ts";
import { correlationOf } from "./seed.ts";

const large = process.env.QUARK_CLI_LARGE === "1";
const counts: Counts = large ? { states: 10_000, events: 10_000, streams: 100 } : { states: 600, events: 600, streams: 6 };
const records = counts.states + counts.events + counts.streams;
const source = join(tempDir(), "source");
const seeded = seedAt(source, counts);
const env = (target?: string) => ({ source, target, streams: counts.streams });
const withConfig = (...args: string[]) => [...args, "--config", SOURCE_CONFIG];
// No escape codes or carriage returns: piped output is plain lines.
const assertPlain = (text: string) => assert.doesNotMatch(text, /[\r\x1b]/);

test("ls, get, events tail and health print plain tables and decoded values", async () => {
  await seeded;
  const listed = await quark(withConfig("ls"), env());
  assert.equal(listed.code, 0, listed.stderr);
  assert.match(listed.stdout, new RegExp(`default\\s+account\\s+${counts.states}\\n`));
  assert.match(listed.stdout, new RegExp(`\\nEVENT STORE\\s+STREAM TYPE\\s+STREAMS\\s+EVENTS\\npglite\\s+ledger\\s+${counts.streams}\\s+${counts.events}\\n`));
  const discovered = await quark(withConfig("ls", "--json"), { ...env(), streams: "discover" });
  assert.deepEqual(JSON.parse(discovered.stdout).at(-1), { eventStore: "pglite", streamType: "ledger", streams: counts.streams, events: counts.events }, "found through readAll");
  assertPlain(listed.stdout + listed.stderr);

  const json = await quark(withConfig("ls", "account", "--limit", "5", "--json"), env());
  const rows = JSON.parse(json.stdout) as Array<{ actorId: string; revision: number; etag: string }>;
  assert.equal(rows.length, 5);
  assert.ok(rows.every((row) => row.revision === 1 && row.etag.length === 36));

  const got = await quark(withConfig("get", "account", "a10", "balance", "--json"), env());
  const state = JSON.parse(got.stdout) as { value: unknown; schemaVersion: number; currentVersion: number; validated: boolean };
  assert.deepEqual([state.value, state.schemaVersion, state.currentVersion, state.validated], [{ cents: 10, currency: "EUR" }, 1, 2, true], "upcast from v1");

  const tail = await quark(withConfig("events", "tail", "ledger/l1", "--limit", "2"), env());
  const perStream = counts.events / counts.streams;
  assert.equal(tail.stdout, `${perStream - 1}\tDeposited\t{"type":"Deposited","cents":${perStream - 1}}\n${perStream}\tDeposited\t{"type":"Deposited","cents":${perStream}}\n`);

  const health = await quark(withConfig("health"), env());
  assert.equal(health.code, 0, health.stderr);
  assert.match(health.stdout, /storage\s+default\s+pglite\s+ok/);
  assert.match(health.stdout, /eventStore\s+eventStore\s+pglite\s+ok/);
});

test("export, interrupted and resumed, then import with --keep-etags: verify finds the stores equal", async () => {
  await seeded;
  const work = tempDir();
  const out = join(work, "export.ndjson");
  let exited = false;
  const interrupted = await quark(withConfig("export", "--out", out, "--page-size", "10"), env(), (child) => {
    void whenExists(`${out}.checkpoint`, () => exited).then((found) => found && child.kill("SIGINT"));
  });
  exited = true;
  assert.ok(stoppedByInterrupt(interrupted), `interrupted export exits 130\n${interrupted.stderr}`);

  const resumed = await quark(withConfig("export", "--out", out, "--page-size", "10"), env());
  assert.equal(resumed.code, 0, resumed.stderr);
  assert.match(resumed.stderr, /^resuming .* at \d+ of/m);
  assertPlain(resumed.stderr);
  assert.match(resumed.stderr, new RegExp(`exported ${counts.states} states, ${counts.events} events, ${counts.streams} snapshots`));

  const fresh = join(work, "fresh.ndjson");
  assert.equal((await quark(withConfig("export", "--out", fresh), env())).code, 0);
  const lines = readFileSync(out, "utf8").split("\n").filter(Boolean);
  assert.equal(lines.length, 1 + records, "header plus one line per record, none twice");
  assert.equal(readFileSync(out, "utf8"), readFileSync(fresh, "utf8"), "the resumed export equals an uninterrupted one");

  const target = join(work, "imported");
  const dry = await quark(withConfig("import", out, "--keep-etags", "--dry-run"), { ...env(), source: target });
  assert.equal(dry.code, 0, dry.stderr);
  assert.match(dry.stderr, new RegExp(`would import ${counts.states} states`));
  const imported = await quark(withConfig("import", out, "--keep-etags"), { ...env(), source: target });
  assert.equal(imported.code, 0, imported.stderr);
  assert.match(imported.stderr, new RegExp(`imported ${counts.states} states, ${counts.events} events, ${counts.streams} snapshots`));
  assertPlain(imported.stderr);

  const verified = await quark(withConfig("verify", "--to", TARGET_CONFIG), env(target));
  assert.equal(verified.code, 0, verified.stdout + verified.stderr);
  assert.match(verified.stderr, new RegExp(`verified ${counts.states} states and ${counts.events} events: source and target match`));
});

test("import without --keep-etags gives fresh etags, and a dry run writes nothing", async () => {
  await seeded;
  const work = tempDir();
  const out = join(work, "export.ndjson");
  assert.equal((await quark(withConfig("export", "--out", out), env())).code, 0);
  const fresh = join(work, "fresh-etags");
  assert.equal((await quark(withConfig("import", out), { ...env(), source: fresh })).code, 0);
  const { storage } = openStores(fresh);
  const { storage: original } = openStores(source);
  try {
    const key = { actorType: "account", actorId: "a3", stateName: "balance" };
    const [copied, was] = [await storage.read(key), await original.read(key)];
    assert.ok(copied && was);
    assert.notEqual(copied.etag, was.etag);
    assert.deepEqual(copied.value, was.value);
  } finally {
    await storage.close();
    await original.close();
  }
  const untouched = join(work, "untouched");
  assert.equal((await quark(withConfig("import", out, "--dry-run"), { ...env(), source: untouched })).code, 0);
  const listed = await quark(withConfig("ls", "--json"), { ...env(), source: untouched });
  assert.deepEqual(JSON.parse(listed.stdout), [{ storage: "default", actorType: "account", states: 0 }, { storage: "default", actorType: "ledger", states: 0 }]);
});

test("copy, interrupted, resumes to an equal store; verify names a changed key", async () => {
  await seeded;
  const target = join(tempDir(), "copy");
  const dry = await quark(withConfig("copy", "--to", TARGET_CONFIG, "--dry-run"), env(target));
  assert.equal(dry.code, 0, dry.stderr);
  assert.match(dry.stdout, new RegExp(`source holds ${counts.states} states and ${counts.events} events, target 0 states and 0 events; nothing written`));

  // Ctrl-C once the copy is under way: at its first progress line.
  const first = await quark(withConfig("copy", "--to", TARGET_CONFIG, "--page-size", "20"), { ...env(target), slowTargetWritesMs: 10 }, (child) => {
    child.stderr.on("data", (chunk: Buffer) => {
      if (/^copy \d+\/\d+ /m.test(String(chunk))) child.kill("SIGINT");
    });
  });
  assert.ok(stoppedByInterrupt(first), first.stderr);
  const resumed = await quark(withConfig("copy", "--to", TARGET_CONFIG, "--verify"), env(target));
  assert.equal(resumed.code, 0, resumed.stdout + resumed.stderr);
  assert.match(resumed.stderr, /source and target match/);
  assertPlain(resumed.stdout + resumed.stderr);

  const { storage } = openStores(target);
  try {
    const key = { actorType: "account", actorId: "a7", stateName: "balance" };
    const record = await storage.read(key);
    await storage.write({ key, value: record!.value, etag: crypto.randomUUID(), expectedEtag: record!.etag });
  } finally {
    await storage.close();
  }
  const verified = await quark(withConfig("verify", "--to", TARGET_CONFIG), env(target));
  assert.equal(verified.code, 1);
  assert.match(verified.stdout, /^default:account\/a7\/balance: etag \S+ != \S+$/m);
});

test("without a streams list the CLI finds the streams through readAll; copies and exports carry event metadata", async () => {
  await seeded;
  const work = tempDir();
  const discover = (target?: string) => ({ source, target, streams: "discover" as const });
  const copyTarget = join(work, "copy");
  const copied = await quark(withConfig("copy", "--to", TARGET_CONFIG, "--verify"), discover(copyTarget));
  assert.equal(copied.code, 0, copied.stdout + copied.stderr);
  assert.match(copied.stderr, new RegExp(`and ${counts.events} events of ${counts.streams} streams`));
  assert.match(copied.stderr, /source and target match/);

  const out = join(work, "export.ndjson");
  const exported = await quark(withConfig("export", "--out", out), discover());
  assert.equal(exported.code, 0, exported.stderr);
  assert.match(exported.stderr, new RegExp(`exported ${counts.states} states, ${counts.events} events, ${counts.streams} snapshots`));
  const withMetadata = readFileSync(out, "utf8").split("\n").filter((line) => line.includes('"metadata"'));
  assert.equal(withMetadata.length, counts.events / 2, "every other event carries metadata");
  const imported = join(work, "imported");
  assert.equal((await quark(withConfig("import", out, "--keep-etags"), { ...discover(), source: imported })).code, 0);

  const stream = streamNames(counts.streams)[1]!;
  for (const location of [copyTarget, imported]) {
    const { storage, eventStore } = openStores(location);
    try {
      const seen: Array<string | undefined> = [];
      for await (const event of eventStore.read(stream)) seen.push(event.metadata && new TextDecoder().decode(event.metadata));
      assert.deepEqual(seen, seen.map((_, index) => {
        const metadata = correlationOf(stream, index + 1);
        return metadata && new TextDecoder().decode(metadata);
      }), location);
    } finally {
      await storage.close();
      await eventStore.close();
    }
  }
});

test("bad input gets one line on stderr and a non-zero exit", async () => {
  const cases: Array<[string[], RegExp]> = [
    [["frobnicate", "--config", SOURCE_CONFIG], /^quark: unknown command "frobnicate"; see quark --help\n$/],
    [["ls", "--config", "missing.config.ts"], /^quark: config file not found: missing.config.ts\n$/],
    [["ls", "--bogus", "--config", SOURCE_CONFIG], /^quark: Unknown option '--bogus'\n$/],
    [["ls", "account", "--limit", "0", "--config", SOURCE_CONFIG], /^quark: --limit must be a whole number of at least 1, got "0"\n$/],
    [["get", "account", "--config", SOURCE_CONFIG], /^quark: usage: quark get ACTOR_TYPE ACTOR_ID STATE\n$/],
    [["import", "nope.ndjson", "--config", SOURCE_CONFIG], /^quark: no such file: nope.ndjson\n$/],
  ];
  const location = join(tempDir(), "empty");
  for (const [args, expected] of cases) {
    const run = await quark(args, { source: location, streams: 0 });
    assert.equal(run.code, 2, args.join(" "));
    assert.match(run.stderr, expected);
  }
});

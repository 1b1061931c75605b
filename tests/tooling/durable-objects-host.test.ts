// The actor host on Durable Objects, in workerd (Miniflare). The Worker example runs exactly as
// `examples/cloudflare-worker/` ships it, configured from its own wrangler.toml; a second
// Worker covers failed turns, typed errors, event-sourced actors and idle deactivation.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parse, stringify } from "devalue";
import { Miniflare } from "miniflare";
import { bundleForTarget, root } from "../runtimes/harness.ts";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The settings of wrangler.toml that Miniflare needs: the date, the bindings, the SQLite classes. */
function wranglerConfig(path: string) {
  const toml = readFileSync(path, "utf8");
  const value = (key: string) => new RegExp(`^${key}\\s*=\\s*"([^"]+)"`, "m").exec(toml)?.[1];
  const sqliteClasses = [.../new_sqlite_classes\s*=\s*\[([^\]]*)\]/.exec(toml)?.[1]?.matchAll(/"([^"]+)"/g) ?? []].map((match) => match[1]!);
  const bindings = [...toml.matchAll(/\[\[durable_objects\.bindings\]\]\s*name\s*=\s*"([^"]+)"\s*class_name\s*=\s*"([^"]+)"/g)];
  const durableObjects = Object.fromEntries(bindings.map(([, name, className]) => [name!, { className: className!, useSQLite: sqliteClasses.includes(className!) }]));
  return { main: value("main")!, compatibilityDate: value("compatibility_date")!, durableObjects };
}

const exampleDir = join(root, "examples/cloudflare-worker");
const example = wranglerConfig(join(exampleDir, "wrangler.toml"));
const exampleScript = await bundleForTarget("workerd", `export * from ${JSON.stringify(join(exampleDir, example.main))};\nexport { default } from ${JSON.stringify(join(exampleDir, example.main))};`, "example.js");
const persistDir = mkdtempSync(join(tmpdir(), "quark-do-"));
after(() => rmSync(persistDir, { recursive: true, force: true }));

function startExample(): Miniflare {
  return new Miniflare({ modules: true, script: exampleScript, compatibilityDate: example.compatibilityDate, durableObjects: example.durableObjects, durableObjectsPersist: persistDir });
}

let exampleWorker = startExample();
after(() => exampleWorker.dispose());

async function account(method: "GET" | "POST", path: string): Promise<{ status: number; body: { cents?: number; code?: string } }> {
  const response = await exampleWorker.dispatchFetch(`http://accounts.test/accounts/${path}`, { method });
  return { status: response.status, body: await response.json() as { cents?: number; code?: string } };
}

test("example: wrangler.toml binds ACCOUNTS to a SQLite-backed AccountHost", () => {
  assert.deepEqual(example.durableObjects, { ACCOUNTS: { className: "AccountHost", useSQLite: true } });
});

test("example: a Worker calls an actor through its Durable Object", async () => {
  assert.deepEqual(await account("POST", "alice/deposit?cents=500"), { status: 200, body: { cents: 500 } });
  assert.deepEqual(await account("GET", "alice"), { status: 200, body: { cents: 500 } });
  assert.deepEqual(await account("GET", "bob"), { status: 200, body: { cents: 0 } }, "another id is another object");
});

test("example: concurrent callers on one id never conflict, and every deposit counts", async () => {
  // The actor's conflict policy is the default, "abort": a conflict would fail its call.
  const callers = 40;
  const answers = await Promise.all(Array.from({ length: callers }, (_, index) => account("POST", `carol/deposit?cents=${index + 1}`)));
  assert.deepEqual(answers.filter((answer) => answer.status !== 200), [], "failed calls (a conflict fails its call)");
  assert.equal((await account("GET", "carol")).body.cents, (callers * (callers + 1)) / 2);
});

test("example: a withdrawal that fails the schema is refused with its code, and nothing is saved", async () => {
  await account("POST", "dave/deposit?cents=100");
  const refused = await account("POST", "dave/withdraw?cents=101");
  assert.deepEqual([refused.status, refused.body.code], [422, "STATE_VALIDATION"]);
  assert.equal((await account("GET", "dave")).body.cents, 100);
});

test("example: state survives a restart of workerd (Miniflare persisting to disk)", async () => {
  await account("POST", "erin/deposit?cents=250");
  await exampleWorker.dispose();
  exampleWorker = startExample();
  assert.equal((await account("GET", "erin")).body.cents, 250);
  assert.deepEqual(await account("POST", "erin/withdraw?cents=50"), { status: 200, body: { cents: 200 } });
});

// The second Worker, without persistence.
const hostScript = await bundleForTarget("workerd", `export * from ${JSON.stringify(join(root, "tests/tooling/durable-objects/host_worker.ts"))};\nexport { default } from ${JSON.stringify(join(root, "tests/tooling/durable-objects/host_worker.ts"))};`, "host.js");
let hostWorker: Miniflare;
before(() => {
  hostWorker = new Miniflare({
    modules: true,
    script: hostScript,
    compatibilityDate: "2025-09-01",
    durableObjects: {
      COUNTERS: { className: "CounterHost", useSQLite: true },
      JOURNALS: { className: "JournalHost", useSQLite: true },
      TALLIES: { className: "TallyHost", useSQLite: true },
    },
  });
});
after(() => hostWorker.dispose());

type Answer = { ok: true; value: unknown } | { ok: false; name: string; message: string; code?: string; quark: boolean; causeCode?: string; causeOverloaded?: boolean };

async function call(actor: string, id: string, method: string, ...args: unknown[]): Promise<Answer> {
  const response = await hostWorker.dispatchFetch("http://host.test/", { method: "POST", body: stringify({ actor, id, method, args }) });
  return parse(await response.text()) as Answer;
}

async function value(actor: string, id: string, method: string, ...args: unknown[]): Promise<unknown> {
  const answer = await call(actor, id, method, ...args);
  assert.ok(answer.ok, `${method} failed: ${JSON.stringify(answer)}`);
  return answer.value;
}

test("host: the caller's correlation and causation ids reach the call in the object", async () => {
  const response = await hostWorker.dispatchFetch("http://host.test/", {
    method: "POST",
    body: stringify({ actor: "tally", id: "origin-1", method: "origin", args: [], origin: { correlationId: "checkout-9", causationId: "http-3" } }),
  });
  const answer = parse(await response.text()) as Answer;
  assert.ok(answer.ok, JSON.stringify(answer));
  assert.deepEqual(answer.value, { correlationId: "checkout-9", causationId: "http-3" });
});

test("host: 50 concurrent callers on one id: no conflict seen by the object's observer, and the count is 50", async () => {
  const results = await Promise.all(Array.from({ length: 50 }, () => value("counter", "c1", "increment")));
  assert.deepEqual((results as number[]).sort((left, right) => left - right), Array.from({ length: 50 }, (_, index) => index + 1));
  assert.deepEqual(await value("counter", "c1", "stats"), { count: 50, conflicts: 0 });
});

test("host: a turn that throws after changing its draft leaves the state as it was", async () => {
  assert.equal(await value("journal", "j1", "add", "first"), 1);
  const failed = await call("journal", "j1", "addThenFail", "second");
  assert.deepEqual(failed.ok ? failed : { name: failed.name, message: failed.message }, { name: "Error", message: "failed after adding second" });
  assert.deepEqual(await value("journal", "j1", "entries"), ["first"]);
});

test("host: a save that fails validation arrives as STATE_VALIDATION, recognised by isQuarkError, and saves nothing", async () => {
  const failed = await call("journal", "j2", "addInvalid");
  assert.equal(failed.ok, false);
  assert.deepEqual(failed.ok ? {} : { code: failed.code, quark: failed.quark, name: failed.name }, { code: "STATE_VALIDATION", quark: true, name: "StateValidationError" });
  assert.deepEqual(await value("journal", "j2", "entries"), []);
});

test("host: arguments and results keep Date, Map, BigInt and undefined", async () => {
  const sent = { at: new Date(0), prices: new Map([["tea", 250n]]), note: undefined };
  assert.deepEqual(await value("journal", "j3", "echo", sent), sent);
});

test("host: a result that cannot be serialized, a misbound namespace and a second id in one object fail with typed errors", async () => {
  const unserializable = await call("journal", "j4", "returnsFunction");
  assert.deepEqual(unserializable.ok ? {} : { code: unserializable.code, quark: unserializable.quark }, { code: "SERIALIZATION", quark: true });
  const misbound = await call("tally-on-journals", "j5", "total");
  assert.deepEqual(misbound.ok ? {} : { code: misbound.code, quark: misbound.quark }, { code: "CONFIGURATION", quark: true });
  assert.equal(await value("journal-in-one-object", "first", "add", "x"), 1);
  const second = await call("journal-in-one-object", "second", "add", "y");
  assert.deepEqual(second.ok ? {} : { code: second.code, quark: second.quark }, { code: "CONFIGURATION", quark: true });
  assert.match(second.ok ? "" : second.message, /hosts actor "journal"\/"first", not "journal"\/"second"/);
});

test("client: a platform failure is StorageUnavailableError (unknown outcome, Cloudflare's flags on the cause), a foreign answer a ConfigurationError", async () => {
  const overloaded = await call("overloaded", "o1", "entries");
  assert.deepEqual(overloaded.ok ? {} : { code: overloaded.code, quark: overloaded.quark, causeOverloaded: overloaded.causeOverloaded }, { code: "STORAGE_UNAVAILABLE", quark: true, causeOverloaded: true });
  const foreign = await call("not-a-host", "o2", "entries");
  assert.deepEqual(foreign.ok ? {} : { code: foreign.code, quark: foreign.quark }, { code: "CONFIGURATION", quark: true });
});

test("host: an event-sourced actor appends in its object, a command that fails appends nothing, concurrent commands all count", async () => {
  assert.equal(await value("tally", "t1", "add", 5), 5);
  const failed = await call("tally", "t1", "addThenFail", 100);
  assert.equal(failed.ok ? "" : failed.message, "failed after raising");
  assert.deepEqual(await value("tally", "t1", "total"), { total: 5, version: 1 });
  await Promise.all(Array.from({ length: 20 }, (_, index) => value("tally", "t1", "add", index + 1)));
  assert.deepEqual(await value("tally", "t1", "total"), { total: 5 + 210, version: 21 });
});

test("host: an idle actor is deactivated by the object's alarm, and the next call activates it again", async () => {
  assert.equal(await value("journal", "j6", "add", "only"), 1);
  // The host's idle timeout is 100 ms. Each look is a call, which keeps the actor busy, so
  // look less often than that, until the alarm has come; nothing here times it.
  let lifecycle: unknown = [];
  for (let attempt = 0; attempt < 40 && !(lifecycle as string[]).includes("deactivate"); attempt++) {
    await sleep(300);
    lifecycle = await value("journal", "j6", "lifecycle");
  }
  assert.deepEqual((lifecycle as string[]).slice(0, 3), ["activate", "deactivate", "activate"]);
  assert.deepEqual(await value("journal", "j6", "entries"), ["only"]);
});

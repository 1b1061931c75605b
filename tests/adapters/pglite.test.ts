import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import process from "node:process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PGlite } from "@electric-sql/pglite";
import { pgliteEventStore, pgliteStorage, type PGliteClient } from "../../adapters/pglite/mod.ts";
import { runContentionConformance, runLeaseConformance, runEventStoreConformance, runStorageConformance } from "../../src/testing/mod.ts";
import { isQuarkError } from "../../src/errors.ts";
import { registerSqlAdapterCases, registerSqlUnitCases } from "./_sql_cases.ts";
import { registerSqlGlobalOrderCases } from "./_sql_global_order.ts";

// One in-memory database for the whole file, as an app would hold one; each case uses its
// own actor types and streams.
const database = new PGlite();
const shared = pgliteStorage({ client: database as unknown as PGliteClient });
await shared.ensureSchema();
await pgliteEventStore({ client: database as unknown as PGliteClient }).ensureSchema();

runStorageConformance(test, { name: "pglite", open: () => pgliteStorage({ client: database as unknown as PGliteClient }) });
runEventStoreConformance(test, { name: "pglite", open: () => pgliteEventStore({ client: database as unknown as PGliteClient }) });
runContentionConformance(test, { name: "pglite", open: () => pgliteStorage({ client: database as unknown as PGliteClient }) });
runLeaseConformance(test, { name: "pglite", open: () => pgliteStorage({ client: database as unknown as PGliteClient }) });

registerSqlUnitCases(test);

registerSqlAdapterCases(test, {
  name: "pglite",
  storage: (options) => pgliteStorage({ client: database as unknown as PGliteClient, ...options }),
  eventStore: (options) => pgliteEventStore({ client: database as unknown as PGliteClient, ...options }),
  raw: async (text, params) => (await database.query(text, params as unknown[], { rowMode: "array" })).rows as unknown[][],
  countingStorage: () => {
    let statements = 0;
    const counted: PGliteClient = {
      query: (text, params, options) => {
        statements++;
        return (database as unknown as PGliteClient).query(text, params, options);
      },
      transaction: (callback) => (database as unknown as PGliteClient).transaction(callback),
      close: async () => {},
    };
    return { storage: pgliteStorage({ client: counted }), statements: () => statements };
  },
  deadStorage: async () => {
    const closed = new PGlite();
    await closed.close();
    return pgliteStorage({ client: closed as unknown as PGliteClient });
  },
});

registerSqlGlobalOrderCases(test, {
  name: "pglite",
  eventStore: (options) => pgliteEventStore({ client: database as unknown as PGliteClient, ...options }),
  raw: async (text, params) => (await database.query(text, params as unknown[], { rowMode: "array" })).rows as unknown[][],
});

test("pglite: a dataDir keeps state and events across restarts, shared by storage and event store", async () => {
  const dataDir = await mkdtemp(join(tmpdir(), "quark-pglite-"));
  try {
    const key = { actorType: "account", actorId: "42", stateName: "balance" };
    const storage = pgliteStorage({ dataDir, autoCreateSchema: true });
    const events = pgliteEventStore({ dataDir, autoCreateSchema: true });
    const written = await storage.write({ key, value: Uint8Array.from([4, 2]), etag: crypto.randomUUID(), expectedEtag: null });
    await events.append("ledger-42", [{ type: "Deposited", data: Uint8Array.from([1]) }], "no_stream");
    await storage.close();
    await events.close();

    const reopened = pgliteStorage({ dataDir });
    const reopenedEvents = pgliteEventStore({ dataDir });
    const stored = await reopened.read(key);
    assert.deepEqual(stored?.value, Uint8Array.from([4, 2]));
    assert.equal(stored?.etag, written.etag);
    assert.equal(await reopenedEvents.version("ledger-42"), 1);
    await reopened.close();
    await reopenedEvents.close();
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
});

test("pglite: without a dataDir or client, each store gets its own in-memory database with its tables", async () => {
  const storage = pgliteStorage();
  const key = { actorType: "t", actorId: "1", stateName: "s" };
  await storage.write({ key, value: Uint8Array.from([1]), etag: crypto.randomUUID(), expectedEtag: null });
  assert.deepEqual((await storage.read(key))?.value, Uint8Array.from([1]));
  await storage.close();
  const other = pgliteStorage();
  assert.equal(await other.read(key), null);
  await other.close();
});

// How this runtime runs a snippet of TypeScript in a child process of its own kind.
function childCommand(code: string): { command: string; args: string[] } {
  const scope = globalThis as { Deno?: unknown; Bun?: unknown };
  if (scope.Deno !== undefined) return { command: process.execPath, args: ["eval", code] };
  if (scope.Bun !== undefined) return { command: process.execPath, args: ["-e", code] };
  const [major = 0, minor = 0] = process.versions.node.split(".").map(Number);
  const strips = major > 22 || (major === 22 && minor >= 18);
  return { command: process.execPath, args: [...(strips ? [] : ["--import", "tsx"]), "--input-type=module", "-e", code] };
}

test("pglite: a second process opening the same dataDir is refused until the first is gone", async () => {
  const dataDir = await mkdtemp(join(tmpdir(), "quark-pglite-lock-"));
  const adapter = new URL("../../adapters/pglite/mod.ts", import.meta.url).href;
  const code = `const { pgliteStorage } = await import(${JSON.stringify(adapter)});
const storage = pgliteStorage({ dataDir: ${JSON.stringify(dataDir)}, autoCreateSchema: true });
await storage.write({ key: { actorType: "t", actorId: "1", stateName: "s" }, value: new Uint8Array([1]), etag: "e1", expectedEtag: null });
console.log("holding");
setInterval(() => {}, 1000);`;
  const { command, args } = childCommand(code);
  const holder = spawn(command, args, { stdio: ["ignore", "pipe", "pipe"], cwd: process.cwd() });
  let output = "";
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`the holder never opened the database: ${output}`)), 60_000);
      holder.stdout!.on("data", (chunk) => {
        output += chunk;
        if (output.includes("holding")) {
          clearTimeout(timer);
          resolve();
        }
      });
      holder.stderr!.on("data", (chunk) => (output += chunk));
      holder.on("exit", (code) => reject(new Error(`the holder exited with ${code}: ${output}`)));
    });
    const second = pgliteStorage({ dataDir });
    await assert.rejects(second.read({ actorType: "t", actorId: "1", stateName: "s" }), (error: unknown) => {
      assert.ok(isQuarkError(error, "CONFIGURATION"), String(error));
      assert.match((error as Error).message, new RegExp(`in use by process ${holder.pid}`));
      return true;
    });
    await second.close();
    // A holder that dies without closing leaves its lock behind; its pid no longer runs.
    const exited = new Promise((resolve) => holder.once("exit", resolve));
    holder.kill("SIGKILL");
    await exited;
    const third = pgliteStorage({ dataDir });
    assert.deepEqual((await third.read({ actorType: "t", actorId: "1", stateName: "s" }))?.value, Uint8Array.from([1]));
    const lock = JSON.parse(await readFile(join(dataDir, "quark.lock"), "utf8")) as { pid: number };
    assert.equal(lock.pid, process.pid, "the stale lock was taken over");
    await third.close();
    await assert.rejects(readFile(join(dataDir, "quark.lock")), "closing the last user removes the lock");
  } finally {
    if (holder.exitCode === null) holder.kill("SIGKILL");
    await rm(dataDir, { recursive: true, force: true });
  }
});

test("pglite: a lock left by a process that is gone is taken over; a live one refuses", async () => {
  const dataDir = await mkdtemp(join(tmpdir(), "quark-pglite-stale-"));
  const sleeper = spawn("sleep", ["30"], { stdio: "ignore" });
  try {
    const lockPath = join(dataDir, "quark.lock");
    await writeFile(lockPath, JSON.stringify({ pid: sleeper.pid, token: "other", since: "earlier" }));
    const refused = pgliteStorage({ dataDir, autoCreateSchema: true });
    await assert.rejects(refused.read({ actorType: "t", actorId: "1", stateName: "s" }), (error: unknown) => isQuarkError(error, "CONFIGURATION"));
    await refused.close();
    const exited = new Promise((resolve) => sleeper.once("exit", resolve));
    sleeper.kill("SIGKILL");
    await exited;
    const storage = pgliteStorage({ dataDir, autoCreateSchema: true });
    assert.equal(await storage.read({ actorType: "t", actorId: "1", stateName: "s" }), null);
    await storage.close();
  } finally {
    if (sleeper.exitCode === null) sleeper.kill("SIGKILL");
    await rm(dataDir, { recursive: true, force: true });
  }
});

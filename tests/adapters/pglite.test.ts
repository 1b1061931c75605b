import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PGlite } from "@electric-sql/pglite";
import { pgliteEventStore, pgliteStorage, type PGliteClient } from "../../adapters/pglite/mod.ts";
import { runEventStoreConformance, runStorageConformance } from "../../src/testing/mod.ts";
import { registerSqlAdapterCases } from "./_sql_cases.ts";

// One in-memory database for the whole file, as an app would hold one; each case uses its
// own actor types and streams.
const database = new PGlite();
const shared = pgliteStorage({ client: database as unknown as PGliteClient });
await shared.ensureSchema();
await pgliteEventStore({ client: database as unknown as PGliteClient }).ensureSchema();

runStorageConformance(test, { name: "pglite", open: () => pgliteStorage({ client: database as unknown as PGliteClient }) });
runEventStoreConformance(test, { name: "pglite", open: () => pgliteEventStore({ client: database as unknown as PGliteClient }) });

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

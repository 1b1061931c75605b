import { test } from "node:test";
import assert from "node:assert/strict";
import * as v from "valibot";
import { runStorageConformance } from "../../src/testing/mod.ts";
import { copyStates, createActorSystem, defineActor, defineState, isQuarkError, memoryStorage, readThroughStorage, type StateConflictError, type StateStorage } from "../../mod.ts";

const balance = defineState("balance", { schema: v.number(), initial: 0 });
const Account = defineActor("account", {
  states: { balance },
  handlers: {
    async add({ states }, cents: number) {
      states.balance.value += cents;
      await states.balance.save();
      return states.balance.value;
    },
    async close({ states }) {
      await states.balance.delete();
    },
    get: ({ states }) => states.balance.value,
  },
});

async function seed(storage: StateStorage, ids: string[]) {
  const system = createActorSystem({ storage });
  for (const [index, id] of ids.entries()) await system.actor(Account, id).add(index + 1);
  await system.shutdown();
}

test("copyStates moves every state, is safe to re-run, and never overwrites newer data", async () => {
  const from = memoryStorage();
  const to = memoryStorage();
  const ids = Array.from({ length: 12 }, (_, index) => `a${index}`);
  await seed(from, ids);
  const first = await copyStates({ from, to, actorTypes: ["account"], pageSize: 5 });
  assert.equal(first.copied, 12);
  const target = createActorSystem({ storage: to });
  assert.equal(await target.actor(Account, "a11").get(), 12);
  await target.actor(Account, "a0").add(100);
  await target.shutdown();
  const again = await copyStates({ from, to, actorTypes: ["account"] });
  assert.deepEqual([again.copied, again.alreadyCopied, again.keptNewer.map((key) => key.actorId)], [0, 11, ["a0"]]);
});

test("readThroughStorage migrates each state on first use and never resurrects deleted ones", async () => {
  const older = memoryStorage();
  const newer = memoryStorage();
  await seed(older, ["x", "y"]);
  const system = createActorSystem({ storage: readThroughStorage({ primary: newer, fallback: older }) });
  assert.equal(await system.actor(Account, "x").add(10), 11, "the old value was read through");
  assert.ok(await newer.read({ actorType: "account", actorId: "x", stateName: "balance" }), "x now lives in the new storage");
  assert.equal(await newer.read({ actorType: "account", actorId: "y", stateName: "balance" }), null, "y has not moved yet");
  await system.actor(Account, "y").close();
  await system.shutdown();
  const fresh = createActorSystem({ storage: readThroughStorage({ primary: newer, fallback: older }) });
  assert.equal(await fresh.actor(Account, "y").get(), 0, "a deleted state stays deleted");
  await fresh.shutdown();
});

const key = { actorType: "account", actorId: "m", stateName: "balance" };
const create = (value: number) => ({ key, value: Uint8Array.of(value), etag: crypto.randomUUID(), expectedEtag: null });

// A storage whose next call of `method` runs `hook` first, once.
function hooked(inner: StateStorage, method: "read" | "delete", hook: () => Promise<void>): StateStorage {
  let armed = true;
  const call = (name: "read" | "delete", run: () => Promise<never>) => {
    if (name !== method || !armed) return run();
    armed = false;
    return hook().then(run);
  };
  return {
    ...inner,
    read: (k) => call("read", () => inner.read(k) as Promise<never>),
    delete: (request) => call("delete", () => inner.delete(request) as Promise<never>),
  };
}

test("readThroughStorage: a read between a delete's two steps does not bring the state back", async () => {
  const older = memoryStorage();
  const newer = memoryStorage();
  const { etag } = await older.write(create(7));
  let storage: StateStorage;
  // Whichever copy the delete removes second, read through in between.
  let between: unknown = "not run";
  const deleteSecond = async () => {
    between = await storage.read(key);
  };
  const fallback = hooked(older, "delete", deleteSecond);
  storage = readThroughStorage({ primary: newer, fallback });
  assert.equal(await storage.delete({ key, expectedEtag: etag }), true);
  assert.notEqual(between, "not run", "the hook ran");
  assert.equal(await storage.read(key), null, "the state stays deleted");
  assert.equal(await newer.read(key), null);
  assert.equal(await older.read(key), null);
});

test("readThroughStorage: a read that copies the old state after a whole delete undoes its copy", async () => {
  const older = memoryStorage();
  const newer = memoryStorage();
  const { etag } = await older.write(create(7));
  let release!: () => void;
  const paused = new Promise<void>((resolve) => (release = resolve));
  let fetched!: () => void;
  const fetchedOld = new Promise<void>((resolve) => (fetched = resolve));
  // The slow reader gets the old copy, then waits while a delete runs to completion.
  const slowFallback: StateStorage = {
    ...older,
    read: async (k) => {
      const record = await older.read(k);
      fetched();
      await paused;
      return record;
    },
  };
  const slow = readThroughStorage({ primary: newer, fallback: slowFallback });
  const reading = slow.read(key);
  await fetchedOld;
  assert.equal(await readThroughStorage({ primary: newer, fallback: older }).delete({ key, expectedEtag: etag }), true);
  release();
  assert.equal(await reading, null, "the slow read finds the state deleted");
  assert.equal(await newer.read(key), null, "its copy was undone");
  assert.equal(await readThroughStorage({ primary: newer, fallback: older }).read(key), null);
});

test("readThroughStorage: create-only writes see a state that lives only in the fallback", async () => {
  const older = memoryStorage();
  const newer = memoryStorage();
  const { etag } = await older.write(create(7));
  const storage = readThroughStorage({ primary: newer, fallback: older });
  await assert.rejects(storage.write(create(8)), (error) => {
    assert.ok(isQuarkError(error, "STATE_CONFLICT"));
    assert.equal((error as StateConflictError).actualEtag, etag, "the conflict names the stored etag");
    return true;
  });
  assert.equal((await storage.read(key))?.value[0], 7, "the old value stands");
  const updated = await storage.write({ key, value: Uint8Array.of(9), etag: crypto.randomUUID(), expectedEtag: etag });
  assert.equal(updated.revision, 2, "an update with the fallback's etag succeeds");
});

test("readThroughStorage: deletes inside transact remove the fallback copy too", async () => {
  const older = memoryStorage();
  const newer = memoryStorage();
  const { etag } = await older.write(create(7));
  const storage = readThroughStorage({ primary: newer, fallback: older });
  await storage.transact([{ kind: "delete", key, expectedEtag: etag }]);
  assert.equal(await storage.read(key), null, "deleted in a transaction, and not read through again");
  assert.equal(await older.read(key), null);
  // The state is gone from both, so a create-only write inside a transaction succeeds.
  await storage.transact([{ kind: "write", ...create(1) }, { kind: "delete", key: { ...key, actorId: "n" }, expectedEtag: null }]);
  assert.equal((await storage.read(key))?.value[0], 1);
});

// The wrapper is a storage like any other: it keeps the whole contract, edge cases included.
runStorageConformance(test, { name: "readThroughStorage", open: () => readThroughStorage({ primary: memoryStorage(), fallback: memoryStorage() }) });

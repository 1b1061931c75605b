import { test } from "node:test";
import assert from "node:assert/strict";
import * as v from "valibot";
import { createActorSystem, createCodec, defineActor, defineState, encodeKey, isQuarkError, memoryStorage, type SerializationError, type StandardSchemaV1, StateValidationError } from "../../mod.ts";

const balance = defineState("balance", {
  schema: v.object({ cents: v.pipe(v.number(), v.integer(), v.minValue(0)) }),
  initial: { cents: 0 },
});

const Account = defineActor("account", {
  states: { balance },
  handlers: {
    async set({ states }, cents: number) {
      states.balance.value = { cents };
      await states.balance.save();
    },
    get: ({ states }) => states.balance.value,
  },
});

test("an invalid write throws StateValidationError with valibot's issues and stores nothing", async () => {
  const storage = memoryStorage();
  const system = createActorSystem({ storage });
  await assert.rejects(system.actor(Account, "1").set(-5), (error) => {
    assert.ok(error instanceof StateValidationError);
    assert.equal(error.issues[0]?.path?.length, 1);
    assert.match(error.message, /cents/);
    return true;
  });
  assert.equal(await storage.read({ actorType: "account", actorId: "1", stateName: "balance" }), null);
  assert.deepEqual(await system.actor(Account, "1").get(), { cents: 0 }, "the draft rolled back");
  await system.shutdown();
});

test("a failed save leaves the committed value in memory", async () => {
  const storage = memoryStorage();
  const system = createActorSystem({ storage });
  const account = system.actor(Account, "2");
  await account.set(100);
  await assert.rejects(account.set(-1), StateValidationError);
  assert.deepEqual(await account.get(), { cents: 100 });
  await system.shutdown();
});

test("reads upcast old versions, then validate", async () => {
  const storage = memoryStorage();
  const codec = createCodec();
  const key = { actorType: "wallet", actorId: "w", stateName: "money" };
  await storage.write({ key, value: await codec.encode({ cents: "250" }, 1, encodeKey(key)), etag: "v1", expectedEtag: null });
  const money = defineState("money", {
    schema: v.object({ cents: v.number(), currency: v.string() }),
    initial: { cents: 0, currency: "EUR" },
    version: 3,
    migrate: {
      1: (old: { cents: string }) => ({ cents: Number(old.cents) }),
      2: (old: { cents: number }) => ({ ...old, currency: "EUR" }),
    },
  });
  const Wallet = defineActor("wallet", { states: { money }, handlers: { get: ({ states }) => states.money.value } });
  const system = createActorSystem({ storage, codec });
  assert.deepEqual(await system.actor(Wallet, "w").get(), { cents: 250, currency: "EUR" });
  await system.shutdown();
});

test("stored values that fail the schema on read are reported, not used", async () => {
  const storage = memoryStorage();
  const key = { actorType: "account", actorId: "bad", stateName: "balance" };
  await storage.write({ key, value: await createCodec().encode({ cents: "lots" }, 1, encodeKey(key)), etag: "e", expectedEtag: null });
  const system = createActorSystem({ storage });
  await assert.rejects(system.actor(Account, "bad").get(), (error) => isQuarkError(error, "ACTIVATION") && isQuarkError((error as Error).cause, "STATE_VALIDATION"));
  await system.shutdown();
});

test("a value from a newer schema version is refused", async () => {
  const storage = memoryStorage();
  const key = { actorType: "account", actorId: "future", stateName: "balance" };
  await storage.write({ key, value: await createCodec().encode({ cents: 1 }, 9, encodeKey(key)), etag: "e", expectedEtag: null });
  const system = createActorSystem({ storage });
  await assert.rejects(system.actor(Account, "future").get(), (error) => isQuarkError((error as Error).cause, "CORRUPT_DATA"));
  await system.shutdown();
});

test("defineState rejects bad definitions", () => {
  assert.throws(() => defineState("", { schema: v.number(), initial: 0 }), TypeError);
  assert.throws(() => defineState("x", { schema: {} as never, initial: 0 as never }), TypeError);
  assert.throws(() => defineState("x", { schema: v.number(), initial: 0, version: 0 }), RangeError);
  assert.throws(() => defineState("x", { schema: v.number(), initial: 0, version: 2, migrate: { 2: (n: number) => n } }), RangeError);
});

test("memory storage keeps bytes, not references", async () => {
  const storage = memoryStorage();
  const key = { actorType: "t", actorId: "1", stateName: "s" };
  const value = Uint8Array.of(1, 2, 3);
  await storage.write({ key, value, etag: "e1", expectedEtag: null });
  value[0] = 9;
  const first = await storage.read(key);
  assert.equal(first?.value[0], 1, "mutating the written buffer changes nothing");
  first!.value[1] = 9;
  assert.equal((await storage.read(key))?.value[1], 2, "mutating a read buffer changes nothing");
});

test("defineState checks the initial value against the schema when the state is defined", () => {
  const schema = v.object({ cents: v.pipe(v.number(), v.minValue(0)) });
  assert.throws(() => defineState("balance", { schema, initial: { cents: -1 } }), (error) => {
    assert.ok(error instanceof StateValidationError);
    assert.equal(error.target, "balance");
    assert.match(error.message, /"balance".*initial value/);
    assert.match(error.message, /cents/);
    return true;
  });
  assert.throws(() => defineState("balance", { schema, initial: () => ({ cents: -1 }) }), StateValidationError, "an initial function is checked too");
  // An async schema cannot be checked synchronously; defining the state still works.
  const asyncSchema = v.objectAsync({ cents: v.number() });
  defineState("later", { schema: asyncSchema, initial: { cents: 0 } });
});

test("defineState refuses an initial value that cannot be stored, naming the state and path", () => {
  const anything = { "~standard": { version: 1 as const, vendor: "test", validate: (value: unknown) => ({ value }) } };
  assert.throws(() => defineState("prefs", { schema: anything, initial: { onChange: () => 1 } }), (error) => {
    assert.ok(isQuarkError(error, "SERIALIZATION"));
    assert.equal((error as SerializationError).target, "prefs");
    assert.deepEqual((error as SerializationError).path, ["onChange"]);
    assert.match((error as Error).message, /initial value/);
    return true;
  });
});

test("saving a value that cannot be stored fails with SerializationError naming the state and path", async () => {
  const anything = { "~standard": { version: 1 as const, vendor: "test", validate: (value: unknown) => ({ value }) } };
  const prefs = defineState("prefs", { schema: anything as StandardSchemaV1<unknown, Record<string, unknown>>, initial: {} });
  const Profile = defineActor("profile", {
    states: { prefs },
    handlers: {
      async set({ states }, value: Record<string, unknown>) {
        states.prefs.value = value;
        await states.prefs.save();
      },
    },
  });
  const storage = memoryStorage();
  const system = createActorSystem({ storage });
  await assert.rejects(system.actor(Profile, "p1").set({ theme: { apply: () => 1 } }), (error) => {
    assert.ok(isQuarkError(error, "SERIALIZATION"), String(error));
    assert.deepEqual((error as SerializationError).path, ["theme", "apply"]);
    assert.match((error as Error).message, /prefs/);
    return true;
  });
  assert.equal(await storage.read({ actorType: "profile", actorId: "p1", stateName: "prefs" }), null);
  await system.shutdown();
});

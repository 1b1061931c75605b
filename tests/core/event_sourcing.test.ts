import { test } from "node:test";
import assert from "node:assert/strict";
import * as v from "valibot";
import { createActorSystem, createCodec, defineEventSourcedActor, isQuarkError, memoryEventStore, memoryStorage, type EventStore } from "../../mod.ts";

const events = v.variant("type", [
  v.object({ type: v.literal("Deposited"), cents: v.pipe(v.number(), v.integer(), v.minValue(1)) }),
  v.object({ type: v.literal("Withdrawn"), cents: v.pipe(v.number(), v.integer(), v.minValue(1)) }),
]);
const state = v.object({ balance: v.number(), entries: v.number() });

function ledger(options: { snapshotEvery?: number; conflict?: "abort" | "retry" } = {}) {
  return defineEventSourcedActor("ledger", {
    events,
    state,
    initial: { balance: 0, entries: 0 },
    snapshotEvery: options.snapshotEvery,
    conflict: options.conflict,
    apply: (current, event) => ({
      balance: current.balance + (event.type === "Deposited" ? event.cents : -event.cents),
      entries: current.entries + 1,
    }),
    commands: {
      async deposit(account, cents: number) {
        await account.raise({ type: "Deposited", cents });
        await account.commit();
        return account.state;
      },
      async withdrawTwice(account, cents: number) {
        await account.raise({ type: "Withdrawn", cents });
        await account.raise({ type: "Withdrawn", cents });
        if (account.state.balance < 0) throw new RangeError("Insufficient funds");
        await account.commit();
        return account.state;
      },
      read: (account) => ({ ...account.state, version: account.version }),
    },
  });
}

function systemWith(eventStore: EventStore) {
  return createActorSystem({ storage: memoryStorage(), eventStore });
}

test("a failed commit rolls the in-memory state back exactly", async () => {
  const store = memoryEventStore();
  const Ledger = ledger();
  const mine = systemWith(store);
  const theirs = systemWith(store);
  await mine.actor(Ledger, "a").deposit(100);
  await theirs.actor(Ledger, "a").deposit(5);
  await assert.rejects(mine.actor(Ledger, "a").deposit(50), (error) => isQuarkError(error, "EVENT_STORE_CONFLICT"));
  assert.deepEqual(await mine.actor(Ledger, "a").read(), { balance: 105, entries: 2, version: 2 }, "our draft is gone and the next command caught up");
  await assert.rejects(mine.actor(Ledger, "b").withdrawTwice(10), RangeError);
  assert.deepEqual(await mine.actor(Ledger, "b").read(), { balance: 0, entries: 0, version: 0 }, "a thrown command raises nothing");
  await Promise.all([mine.shutdown(), theirs.shutdown()]);
});

test("an invalid event is refused before anything is appended", async () => {
  const store = memoryEventStore();
  const system = systemWith(store);
  await assert.rejects(system.actor(ledger(), "a").deposit(-3), (error) => isQuarkError(error, "STATE_VALIDATION"));
  assert.equal(await store.version("ledger/a"), 0);
  await system.shutdown();
});

test("recovery from a snapshot plus the tail equals a full replay", async () => {
  const store = memoryEventStore();
  const writer = systemWith(store);
  const Ledger = ledger({ snapshotEvery: 5 });
  for (let index = 1; index <= 23; index++) await writer.actor(Ledger, "r").deposit(index);
  await writer.shutdown();
  const snapshot = await store.loadSnapshot("ledger/r");
  assert.equal(snapshot?.version, 20, "a snapshot every 5 events");

  const fromSnapshot = systemWith(store);
  const recovered = await fromSnapshot.actor(Ledger, "r").read();
  const replayStore = memoryEventStore();
  for await (const event of store.read("ledger/r")) await replayStore.append("ledger/r", [event], "any");
  const fullReplay = await systemWith(replayStore).actor(ledger({ snapshotEvery: 1000 }), "r").read();
  assert.equal(await replayStore.loadSnapshot("ledger/r"), null, "the replay used no snapshot");
  assert.deepEqual(recovered, fullReplay);
  assert.deepEqual(recovered, { balance: (23 * 24) / 2, entries: 23, version: 23 });
  await fromSnapshot.shutdown();
});

test("retry re-reads the stream and re-runs the command", async () => {
  const store = memoryEventStore();
  const Ledger = ledger({ conflict: "retry" });
  const mine = systemWith(store);
  const theirs = systemWith(store);
  await mine.actor(Ledger, "a").deposit(100);
  await theirs.actor(Ledger, "a").deposit(5);
  assert.deepEqual(await mine.actor(Ledger, "a").deposit(50), { balance: 155, entries: 3 });
  await Promise.all([mine.shutdown(), theirs.shutdown()]);
});

test("old events and snapshots are upcast on read", async () => {
  const store = memoryEventStore();
  const codec = createCodec();
  const stream = "meter/m";
  const v1 = (reading: string) => codec.encode({ type: "Read", reading }, 1, stream);
  await store.append(stream, [{ type: "Read", data: await v1("3") }, { type: "Read", data: await v1("4") }], "no_stream");
  await store.saveSnapshot(stream, { version: 1, data: await codec.encode({ sum: "3" }, 1, stream) });
  const Meter = defineEventSourcedActor("meter", {
    events: v.object({ type: v.literal("Read"), value: v.number() }),
    eventVersion: 2,
    migrateEvent: { 1: (old: { reading: string }) => ({ type: "Read", value: Number(old.reading) }) },
    state: v.object({ total: v.number() }),
    stateVersion: 2,
    migrateState: { 1: (old: { sum: string }) => ({ total: Number(old.sum) }) },
    initial: { total: 0 },
    apply: (current, event) => ({ total: current.total + event.value }),
    commands: { total: (meter) => meter.state.total },
  });
  const system = createActorSystem({ storage: memoryStorage(), eventStore: store, codec });
  assert.equal(await system.actor(Meter, "m").total(), 7);
  await system.shutdown();
});

test("one actor type cannot have two definitions in a system", () => {
  const system = systemWith(memoryEventStore());
  system.actor(ledger(), "a");
  assert.throws(() => system.actor(ledger(), "a"), (error) => isQuarkError(error, "CONFIGURATION"));
});

test("an event-sourced actor without an event store fails with a configuration cause", async () => {
  const system = createActorSystem({ storage: memoryStorage() });
  await assert.rejects(system.actor(ledger(), "x").read(), (error) => isQuarkError((error as Error).cause, "CONFIGURATION"));
  await system.shutdown();
});

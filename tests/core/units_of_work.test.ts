// Regression tests for issue 9: each case is one bug found in the actor runtime, written as a
// user would hit it. docs/semantics.md states the rules they check.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as v from "valibot";
import {
  createActorSystem,
  defineActor,
  defineEventSourcedActor,
  defineState,
  isQuarkError,
  memoryEventStore,
  memoryStorage,
  StorageUnavailableError,
  streamNameOf,
  type ConflictPolicy,
  type StateKey,
  type StateStorage,
} from "../../mod.ts";
import { deferred, interceptWrites, storedNumber, storedValue } from "./_turn_helpers.ts";

const debit = defineState("debit", { schema: v.number(), initial: 0 });
const credit = defineState("credit", { schema: v.number(), initial: 0 });

/** An account whose `move` saves two states, pausing between them when asked. */
function transferActor(conflict: ConflictPolicy<unknown>, between: () => Promise<void>) {
  return defineActor("transfer", {
    states: { debit, credit },
    conflict,
    handlers: {
      async move({ states }, cents: number) {
        states.debit.value += cents;
        await states.debit.save();
        await between();
        states.credit.value += cents;
        await states.credit.save();
      },
      async moveTogether({ states, saveStates }, cents: number) {
        states.debit.value += cents;
        states.credit.value += cents;
        await between();
        await saveStates(["debit", "credit"]);
      },
    },
  });
}

const key = (stateName: string, actorId = "t1"): StateKey => ({ actorType: "transfer", actorId, stateName });

test("retry never re-applies a save the turn already committed", async () => {
  const storage = memoryStorage();
  const other = createActorSystem({ storage });
  let interfered = false;
  const Transfer = transferActor("retry", async () => {
    if (interfered) return;
    interfered = true;
    await other.actor(Transfer, "t1").move(0); // moves credit's etag behind our back
  });
  const system = createActorSystem({ storage });
  await assert.rejects(system.actor(Transfer, "t1").move(10), (error) => {
    assert.ok(isQuarkError(error, "TURN_PARTIALLY_COMMITTED"), String(error));
    assert.deepEqual((error as unknown as { committed: string[] }).committed, ["debit"]);
    return true;
  });
  assert.equal(await storedNumber(storage, key("debit")), 10, "debit was applied once, not twice");
  assert.equal(await storedNumber(storage, key("credit")), 0);
  await Promise.all([system.shutdown(), other.shutdown()]);
});

test("retry re-runs a turn whose states are saved together, from fresh state", async () => {
  const storage = memoryStorage();
  const other = createActorSystem({ storage });
  let interfered = false;
  const Transfer = transferActor("retry", async () => {
    if (interfered) return;
    interfered = true;
    await other.actor(Transfer, "t1").moveTogether(5);
  });
  const system = createActorSystem({ storage });
  await system.actor(Transfer, "t1").moveTogether(10);
  assert.equal(await storedNumber(storage, key("debit")), 15);
  assert.equal(await storedNumber(storage, key("credit")), 15);
  await Promise.all([system.shutdown(), other.shutdown()]);
});

test("merge rebases on the value it merged with, so a second conflict does not count twice", async () => {
  const inner = memoryStorage();
  const counter = defineState("count", { schema: v.number(), initial: 0, conflict: { merge: (base, mine, theirs) => theirs + (mine - base) } });
  const Counter = defineActor("counter", {
    states: { count: counter },
    handlers: {
      async add({ states }, by: number) {
        states.count.value += by;
        await states.count.save();
        return states.count.value;
      },
    },
  });
  const other = createActorSystem({ storage: inner });
  await other.actor(Counter, "c").add(0);
  // Before each of our first two writes, another writer adds 5.
  let interruptions = 2;
  const storage = interceptWrites(inner, async () => {
    if (interruptions-- > 0) await other.actor(Counter, "c").add(5);
  });
  const system = createActorSystem({ storage });
  assert.equal(await system.actor(Counter, "c").add(1), 11);
  assert.equal(await storedNumber(inner, { actorType: "counter", actorId: "c", stateName: "count" }), 11);
  await Promise.all([system.shutdown(), other.shutdown()]);
});

test("per-call policies stay with their call on a reentrant actor", async () => {
  const storage = memoryStorage();
  const note = defineState("note", { schema: v.string(), initial: "" });
  const gate = deferred();
  const Board = defineActor("board", {
    states: { note },
    reentrant: true,
    handlers: {
      async write({ states }, text: string, wait: boolean) {
        states.note.value = text;
        if (wait) await gate.promise;
        await states.note.save();
      },
    },
  });
  const system = createActorSystem({ storage });
  const other = createActorSystem({ storage });
  await system.actor(Board, "b").write("first", false);
  await other.actor(Board, "b").write("theirs", false);
  const forced = system.actor(Board, "b", { conflict: "last-write-wins" }).write("forced", true);
  // While the last-write-wins call waits, a plain call on the stale activation must conflict.
  await assert.rejects(system.actor(Board, "b").write("plain", false), (error) => isQuarkError(error, "STATE_CONFLICT"));
  gate.resolve();
  await forced;
  assert.equal(await storedValue(storage, { actorType: "board", actorId: "b", stateName: "note" }), "forced", "the last-write-wins call kept its policy");
  await Promise.all([system.shutdown(), other.shutdown()]);
});

test("reentrant turns keep their own drafts: one turn's rollback never wipes another's change", async () => {
  const storage = memoryStorage();
  const items = defineState("items", { schema: v.array(v.string()), initial: [] });
  const gate = deferred();
  const List = defineActor("list", {
    states: { items },
    reentrant: true,
    handlers: {
      async addSlowly({ states }, item: string) {
        states.items.value = [...states.items.value, item];
        await gate.promise;
        await states.items.save();
        return states.items.value;
      },
      async fail({ states }) {
        states.items.value = ["junk"];
        throw new Error("handler failed");
      },
    },
  });
  const system = createActorSystem({ storage });
  const slow = system.actor(List, "l").addSlowly("kept");
  await assert.rejects(system.actor(List, "l").fail(), /handler failed/);
  gate.resolve();
  assert.deepEqual(await slow, ["kept"]);
  await system.shutdown();
});

test("deactivation waits for turns in flight, and a call during onDeactivate waits for a fresh activation", async () => {
  const log: string[] = [];
  const gate = deferred();
  const Session = defineActor("session", {
    reentrant: true,
    idleTimeoutMs: 1,
    onActivate: () => void log.push("activate"),
    async onDeactivate() {
      log.push("deactivate:start");
      await gate.promise;
      log.push("deactivate:end");
    },
    handlers: { ping: () => void log.push("ping") },
  });
  const system = createActorSystem({ storage: memoryStorage() });
  await system.actor(Session, "s").ping();
  while (!log.includes("deactivate:start")) await new Promise((resolve) => setTimeout(resolve, 2));
  const during = system.actor(Session, "s").ping();
  await new Promise((resolve) => setTimeout(resolve, 5));
  assert.deepEqual(log, ["activate", "ping", "deactivate:start"], "no turn runs while onDeactivate does");
  gate.resolve();
  await during;
  assert.deepEqual(log.slice(0, 6), ["activate", "ping", "deactivate:start", "deactivate:end", "activate", "ping"]);
  await system.shutdown();
});

test("saveStates honours last-write-wins, merge and retry", async () => {
  for (const policy of ["last-write-wins", "retry", { merge: (_base: number, mine: number, theirs: number) => Math.max(mine, theirs) }] as const) {
    const storage = memoryStorage();
    const other = createActorSystem({ storage });
    let interfered = false;
    const Transfer = transferActor(policy as ConflictPolicy<unknown>, async () => {
      if (interfered) return;
      interfered = true;
      await other.actor(Transfer, "t1").moveTogether(3);
    });
    const system = createActorSystem({ storage });
    await system.actor(Transfer, "t1").moveTogether(10);
    const expected = policy === "retry" ? 13 : 10;
    assert.equal(await storedNumber(storage, key("debit")), expected, `debit under ${JSON.stringify(policy)}`);
    assert.equal(await storedNumber(storage, key("credit")), expected, `credit under ${JSON.stringify(policy)}`);
    await Promise.all([system.shutdown(), other.shutdown()]);
  }
});

test("a write whose reply was lost is recognised by its etag and counts as success", async () => {
  const inner = memoryStorage();
  let lose = 1;
  const storage: StateStorage = {
    ...inner,
    async write(request) {
      const result = await inner.write(request);
      if (lose-- > 0) throw new StorageUnavailableError("flaky", "write", new Error("connection reset after send"));
      return result;
    },
  };
  const count = defineState("count", { schema: v.number(), initial: 0 });
  const Counter = defineActor("counter", {
    states: { count },
    handlers: {
      async add({ states }, by: number) {
        states.count.value += by;
        await states.count.save();
        return states.count.revision;
      },
    },
  });
  const system = createActorSystem({ storage });
  assert.equal(await system.actor(Counter, "c").add(1), 1);
  assert.equal(await system.actor(Counter, "c").add(1), 2, "the next save expects the etag that landed");
  assert.equal(await storedNumber(inner, { actorType: "counter", actorId: "c", stateName: "count" }), 2);
  await system.shutdown();
});

const shopEvents = v.variant("type", [
  v.object({ type: v.literal("Reserved"), sku: v.string() }),
  v.object({ type: v.literal("Noted"), text: v.string() }),
  v.object({ type: v.literal("Charged"), cents: v.number() }),
]);

function orderActor(between: () => Promise<void>, snapshotEvery = 100) {
  return defineEventSourcedActor("order", {
    events: shopEvents,
    state: v.object({ reserved: v.number(), charged: v.pipe(v.number(), v.maxValue(100)) }),
    initial: { reserved: 0, charged: 0 },
    conflict: "retry",
    snapshotEvery,
    apply: (state, event) => event.type === "Reserved"
      ? { ...state, reserved: state.reserved + 1 }
      : event.type === "Charged" ? { ...state, charged: state.charged + event.cents } : state,
    commands: {
      async place(order, sku: string) {
        await order.raise({ type: "Reserved", sku });
        await order.commit();
        await between();
        await order.raise({ type: "Charged", cents: 10 });
        await order.commit();
      },
      async note(order, text: string) {
        await order.raise({ type: "Noted", text });
        await order.commit();
      },
      async forget(order) {
        await order.raise({ type: "Noted", text: "never committed" });
      },
      async scribble(order) {
        (order.state as { reserved: number }).reserved = 99;
      },
      async charge(order, cents: number) {
        await order.raise({ type: "Charged", cents });
        await order.commit();
        return order.state;
      },
      read: (order) => ({ ...order.state, version: order.version }),
    },
  });
}

async function eventTypes(store: ReturnType<typeof memoryEventStore>, stream: string): Promise<string[]> {
  const types: string[] = [];
  for await (const event of store.read(stream)) types.push(event.type);
  return types;
}

test("an event-sourced retry never appends a committed event twice", async () => {
  const eventStore = memoryEventStore();
  const other = createActorSystem({ storage: memoryStorage(), eventStore });
  let interfered = false;
  const Order = orderActor(async () => {
    if (interfered) return;
    interfered = true;
    await other.actor(Order, "o1").note("racing");
  });
  const system = createActorSystem({ storage: memoryStorage(), eventStore });
  await assert.rejects(system.actor(Order, "o1").place("book"), (error) => isQuarkError(error, "TURN_PARTIALLY_COMMITTED"));
  assert.deepEqual(await eventTypes(eventStore, streamNameOf("order", "o1")), ["Reserved", "Noted"]);
  await Promise.all([system.shutdown(), other.shutdown()]);
});

test("raised events belong to their command: uncommitted ones fail the call and are dropped", async () => {
  const eventStore = memoryEventStore();
  const system = createActorSystem({ storage: memoryStorage(), eventStore });
  const order = system.actor(orderActor(async () => {}), "o2");
  await assert.rejects(order.forget(), (error) => isQuarkError(error, "UNCOMMITTED_EVENTS"));
  await order.note("kept");
  assert.deepEqual(await eventTypes(eventStore, streamNameOf("order", "o2")), ["Noted"]);
  await system.shutdown();
});

test("event-sourced state changes only through events", async () => {
  const system = createActorSystem({ storage: memoryStorage(), eventStore: memoryEventStore() });
  const order = system.actor(orderActor(async () => {}), "o3");
  await assert.rejects(order.scribble(), TypeError);
  assert.deepEqual(await order.read(), { reserved: 0, charged: 0, version: 0 });
  await system.shutdown();
});

test("an invalid snapshot is not written, never fails the command, and recovery replays instead", async () => {
  const eventStore = memoryEventStore();
  const Order = orderActor(async () => {}, 2);
  const writer = createActorSystem({ storage: memoryStorage(), eventStore });
  await writer.actor(Order, "o4").charge(60);
  // The second event makes charged 120, over the state schema's maximum: no snapshot of it.
  assert.deepEqual(await writer.actor(Order, "o4").charge(60), { reserved: 0, charged: 120 });
  assert.deepEqual(await writer.actor(Order, "o4").charge(1), { reserved: 0, charged: 121 });
  await writer.shutdown();
  assert.equal(await eventStore.loadSnapshot(streamNameOf("order", "o4")), null);
  const reader = createActorSystem({ storage: memoryStorage(), eventStore });
  assert.deepEqual(await reader.actor(Order, "o4").read(), { reserved: 0, charged: 121, version: 3 });
  await reader.shutdown();
});

test("an unreadable snapshot is skipped and the stream replayed", async () => {
  const eventStore = memoryEventStore();
  const Order = orderActor(async () => {}, 1);
  const writer = createActorSystem({ storage: memoryStorage(), eventStore });
  await writer.actor(Order, "o5").charge(5);
  await writer.actor(Order, "o5").charge(5);
  await writer.shutdown();
  const stream = streamNameOf("order", "o5");
  const forged = { ...eventStore, loadSnapshot: async () => ({ version: 2, data: new Uint8Array([9, 9, 9]) }) };
  const reader = createActorSystem({ storage: memoryStorage(), eventStore: forged });
  assert.deepEqual(await reader.actor(Order, "o5").read(), { reserved: 0, charged: 10, version: 2 });
  await reader.shutdown();
});

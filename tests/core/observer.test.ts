// The observer (issue 12, part 1): what a real turn reports, and that a throwing observer
// changes nothing.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as v from "valibot";
import {
  createActorSystem,
  createCodec,
  createProjector,
  defineProjection,
  defineActor,
  defineEventSourcedActor,
  defineState,
  memoryEventStore,
  memoryStorage,
  StorageUnavailableError,
  streamNameOf,
  type ActorEvent,
  type ProjectionBatchEvent,
  type QuarkObserver,
  type SnapshotEvent,
  type StateStorage,
  type StorageOperationEvent,
  type WriteEvent,
} from "../../mod.ts";

function recorder() {
  const storage: StorageOperationEvent[] = [];
  const actor: ActorEvent[] = [];
  const write: WriteEvent[] = [];
  const snapshot: SnapshotEvent[] = [];
  const observer: QuarkObserver = {
    storageOperation: (event) => storage.push(event),
    actor: (event) => actor.push(event),
    write: (event) => write.push(event),
    snapshot: (event) => snapshot.push(event),
  };
  return { observer, storage, actor, write, snapshot };
}

function counter(conflict: "retry" | { merge: (base: number, mine: number, theirs: number) => number }) {
  const count = defineState("count", { schema: v.number(), initial: 0, conflict });
  return defineActor("counter", {
    states: { count },
    handlers: {
      async add({ states }, by: number) {
        states.count.value += by;
        await states.count.save();
        return states.count.value;
      },
    },
  });
}

test("a turn reports its storage calls, activation, the conflict, the retry and the deactivation", async () => {
  const shared = memoryStorage();
  const seen = recorder();
  const Counter = counter("retry");
  const system = createActorSystem({ storage: shared, observer: seen.observer });
  const other = createActorSystem({ storage: shared });
  await system.actor(Counter, "c").add(1);
  await other.actor(Counter, "c").add(10);
  assert.equal(await system.actor(Counter, "c").add(100), 111);
  await system.shutdown();
  await other.shutdown();

  assert.deepEqual(seen.storage.map((event) => `${event.operation}:${event.outcome}${event.errorCode ? `:${event.errorCode}` : ""}`), [
    "read:ok", "write:ok", "write:error:STATE_CONFLICT", "read:ok", "write:ok",
  ]);
  assert.ok(seen.storage.every((event) => event.backend === "memory" && event.roundTrips === 1 && event.durationMs >= 0));
  assert.deepEqual(seen.storage[1]!.key, { actorType: "counter", actorId: "c", stateName: "count" });
  assert.deepEqual(seen.actor.map((event) => event.kind === "turn" ? `turn:${event.handler}:${event.attempt}:${event.outcome}` : event.kind), [
    "activation", "turn:add:1:ok", "turn:add:1:error", "retry", "turn:add:2:ok", "deactivation",
  ]);
  assert.deepEqual(seen.write, [{ kind: "conflict", key: { actorType: "counter", actorId: "c", stateName: "count" }, policy: "retry", resolution: "retried" }]);
});

test("merges and recognised lost replies are reported", async () => {
  const inner = memoryStorage();
  let loseNext = false;
  const flaky: StateStorage = {
    ...inner,
    async write(request) {
      const result = await inner.write(request);
      if (loseNext) {
        loseNext = false;
        throw new StorageUnavailableError("flaky", "write", new Error("reply lost"));
      }
      return result;
    },
  };
  const seen = recorder();
  const Counter = counter({ merge: (base, mine, theirs) => theirs + mine - base });
  const system = createActorSystem({ storage: flaky, observer: seen.observer });
  const other = createActorSystem({ storage: inner });
  await system.actor(Counter, "c").add(1);
  await other.actor(Counter, "c").add(10);
  assert.equal(await system.actor(Counter, "c").add(100), 111);
  loseNext = true;
  assert.equal(await system.actor(Counter, "c").add(1), 112);
  await Promise.all([system.shutdown(), other.shutdown()]);
  const key = { actorType: "counter", actorId: "c", stateName: "count" };
  assert.deepEqual(seen.write, [
    { kind: "conflict", key, policy: "merge", resolution: "merged" },
    { kind: "merge", key, attempt: 1 },
    { kind: "lost-reply", key, outcome: "landed" },
  ]);
});

test("snapshots written, skipped and unreadable are reported", async () => {
  const eventStore = memoryEventStore();
  const seen = recorder();
  const Gauge = defineEventSourcedActor("gauge", {
    events: v.object({ type: v.literal("Set"), to: v.number() }),
    state: v.object({ level: v.pipe(v.number(), v.maxValue(10)) }),
    initial: { level: 0 },
    snapshotEvery: 1,
    apply: (_state, event) => ({ level: event.to }),
    commands: {
      async set(gauge, to: number) {
        await gauge.raise({ type: "Set", to });
        await gauge.commit();
      },
      level: (gauge) => gauge.state.level,
    },
  });
  const system = createActorSystem({ storage: memoryStorage(), eventStore, observer: seen.observer });
  await system.actor(Gauge, "g").set(5);
  await system.actor(Gauge, "g").set(50); // over the schema's maximum: no snapshot of it
  await system.shutdown();
  const stream = streamNameOf("gauge", "g");
  assert.deepEqual(seen.snapshot, [
    { stream, version: 1, outcome: "written" },
    { stream, version: 2, outcome: "skipped", reason: "STATE_VALIDATION" },
  ]);
  const forged = { ...eventStore, loadSnapshot: async () => ({ version: 2, data: new Uint8Array([7]) }) };
  const reader = recorder();
  const restarted = createActorSystem({ storage: memoryStorage(), eventStore: forged, observer: reader.observer });
  assert.equal(await restarted.actor(Gauge, "g").level(), 50);
  await restarted.shutdown();
  assert.equal(reader.snapshot[0]?.outcome, "unreadable");
  assert.equal(reader.snapshot[0]?.version, 2);
});

test("each attempt of a turn is announced before it runs, with the turn's handler and attempt", async () => {
  const shared = memoryStorage();
  const sequence: string[] = [];
  const observer: QuarkObserver = {
    turnStart: (event) => sequence.push(`start:${event.actorType}/${event.actorId}.${event.handler}:${event.attempt}`),
    actor: (event) => event.kind === "turn" && sequence.push(`end:${event.attempt}:${event.outcome}`),
    storageOperation: (event) => sequence.push(event.operation),
  };
  const Counter = counter("retry");
  const system = createActorSystem({ storage: shared, observer });
  const other = createActorSystem({ storage: shared });
  await system.actor(Counter, "c").add(1);
  await other.actor(Counter, "c").add(10);
  await system.actor(Counter, "c").add(100);
  await Promise.all([system.shutdown(), other.shutdown()]);
  assert.deepEqual(sequence, [
    "read", "start:counter/c.add:1", "write", "end:1:ok",
    "start:counter/c.add:1", "write", "end:1:error", "start:counter/c.add:2", "read", "write", "end:2:ok",
  ]);
});

test("an event-sourced command's conflict names the stream and the policy, and its retry the attempt", async () => {
  const eventStore = memoryEventStore();
  const Tally = defineEventSourcedActor("tally", {
    events: v.object({ type: v.literal("Added"), by: v.number() }),
    state: v.object({ total: v.number() }),
    initial: { total: 0 },
    conflict: "retry",
    apply: (state, event) => ({ total: state.total + event.by }),
    commands: {
      async add(tally, by: number) {
        await tally.raise({ type: "Added", by });
        await tally.commit();
        return tally.state.total;
      },
    },
  });
  const seen = recorder();
  const system = createActorSystem({ storage: memoryStorage(), eventStore, observer: seen.observer });
  const other = createActorSystem({ storage: memoryStorage(), eventStore });
  await system.actor(Tally, "t").add(1);
  await other.actor(Tally, "t").add(10);
  assert.equal(await system.actor(Tally, "t").add(100), 111);
  await Promise.all([system.shutdown(), other.shutdown()]);
  const stream = streamNameOf("tally", "t");
  assert.deepEqual(seen.write, [{ kind: "conflict", stream, policy: "retry", resolution: "retried" }]);
  assert.deepEqual(seen.actor.filter((event) => event.kind === "retry"), [{ kind: "retry", actorType: "tally", actorId: "t", handler: "add", attempt: 2, errorCode: "EVENT_STORE_CONFLICT" }]);
});

test("a projector reports each batch (events, documents, position, committed or lost to another projector) and its storage calls", async () => {
  const eventStore = memoryEventStore();
  const codec = createCodec();
  for (const [stream, count] of [["page/home", 2], ["page/about", 1]] as const) {
    const events = await Promise.all(Array.from({ length: count }, async (_, index) => ({ type: "Visited", data: await codec.encode({ type: "Visited" }, 1, `${stream}#${index + 1}`) })));
    await eventStore.append(stream, events, "no_stream");
  }
  const Visits = defineProjection("visits", { from: [{ actorType: "page", events: v.object({ type: v.string() }) }], state: v.number(), initial: 0, key: (_event, info) => info.actorId, apply: (count) => count + 1 });
  const seen = recorder();
  const projections: ProjectionBatchEvent[] = [];
  const observer: QuarkObserver = { ...seen.observer, projection: (event) => projections.push(event) };
  const storage = memoryStorage();
  await createProjector(Visits, { eventStore, storage, codec, batchSize: 2, observer }).catchUp();
  assert.deepEqual(projections.map(({ durationMs, ...rest }) => (assert.ok(durationMs >= 0), rest)), [
    { name: "visits", events: 2, documents: 1, position: 2n, outcome: "committed" },
    { name: "visits", events: 1, documents: 1, position: 3n, outcome: "committed" },
  ]);
  assert.ok(seen.storage.some((event) => event.operation === "transact" && event.outcome === "ok"), "its storage calls are reported");
  assert.ok(seen.storage.some((event) => event.operation === "readAll"), "and its reads of the global order");

  // A second projector commits the same batch first: the first one's batch is lost and re-read.
  const shared = memoryStorage();
  const rival = createProjector(Visits, { eventStore, storage: shared, codec });
  let raced = false;
  const racing: StateStorage = {
    ...shared,
    async transact(operations) {
      if (!raced) {
        raced = true;
        await rival.runBatch();
      }
      return shared.transact(operations);
    },
  };
  const lost: ProjectionBatchEvent[] = [];
  await createProjector(Visits, { eventStore, storage: racing, codec, observer: { projection: (event) => lost.push(event) } }).catchUp();
  assert.deepEqual(lost.map((event) => `${event.events}@${event.position}:${event.outcome}`), ["3@3:conflict"]);
});

test("an observer that throws never breaks a turn", async () => {
  const explode = () => {
    throw new Error("observer bug");
  };
  const system = createActorSystem({
    storage: memoryStorage(),
    observer: { storageOperation: explode, actor: explode, write: explode, snapshot: explode },
  });
  assert.equal(await system.actor(counter("retry"), "c").add(2), 2);
  await system.shutdown();
});

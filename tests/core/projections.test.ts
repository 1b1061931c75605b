// Event metadata from actors, subscriptions and projections on the memory backends. The
// model-based check is tests/core/projections_model.test.ts; these are the hand-picked cases.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as v from "valibot";
import {
  createActorSystem,
  createCodec,
  createProjector,
  defineEventSourcedActor,
  defineProjection,
  isQuarkError,
  memoryEventStore,
  memoryStorage,
  subscribe,
  type GlobalEvent,
  type StateStorage,
} from "../../mod.ts";
import { decodeEventMetadata } from "../../src/events/event_decoder.ts";

const ledger = { actorType: "ledger", events: v.object({ type: v.literal("Deposited"), cents: v.number() }) } as const;
const Ledger = defineEventSourcedActor(ledger.actorType, {
  events: ledger.events,
  state: v.object({ balance: v.number() }),
  initial: { balance: 0 },
  apply: (state, event) => ({ balance: state.balance + event.cents }),
  commands: {
    async deposit(account, cents: number, note?: string) {
      await account.raise({ type: "Deposited", cents }, note === undefined ? undefined : { note });
      await account.commit();
    },
  },
});
const Balances = defineProjection("balances", {
  from: [ledger],
  state: v.object({ cents: v.number(), deposits: v.number() }),
  initial: { cents: 0, deposits: 0 },
  key: (_event, info) => info.actorId,
  apply: (total, event) => ({ cents: total.cents + event.cents, deposits: total.deposits + 1 }),
});

async function allEvents(store: ReturnType<typeof memoryEventStore>): Promise<GlobalEvent[]> {
  const events: GlobalEvent[] = [];
  for await (const event of store.readAll()) events.push(event);
  return events;
}

test("an event-sourced actor stores the call's correlation and causation ids with each event", async () => {
  const eventStore = memoryEventStore();
  const system = createActorSystem({ storage: memoryStorage(), eventStore });
  await system.actor(Ledger, "alice", { correlationId: "checkout-1", causationId: "http-7" }).deposit(500, "salary");
  await system.actor(Ledger, "alice").deposit(20);
  await system.shutdown();
  const [first, second] = await allEvents(eventStore);
  const codec = createCodec();
  const one = await decodeEventMetadata(codec, first!.stream, first!.version, first!.metadata);
  const two = await decodeEventMetadata(codec, second!.stream, second!.version, second!.metadata);
  assert.equal(one?.correlationId, "checkout-1");
  assert.equal(typeof one?.causationId, "string");
  assert.notEqual(one?.causationId, "http-7", "the event's cause is the call, not the call's cause");
  assert.equal(one?.note, "salary");
  assert.equal(two?.correlationId, two?.causationId, "a call without a conversation starts its own");
  assert.ok(first!.createdAt instanceof Date);
});

test("metadata that is not a plain object is refused and nothing is appended", async () => {
  const eventStore = memoryEventStore();
  const Bad = defineEventSourcedActor("bad-meta", {
    events: ledger.events,
    state: v.object({ balance: v.number() }),
    initial: { balance: 0 },
    apply: (state) => state,
    commands: {
      async go(account) {
        await account.raise({ type: "Deposited", cents: 1 }, ["not", "a", "record"] as unknown as Record<string, unknown>);
        await account.commit();
      },
    },
  });
  const system = createActorSystem({ storage: memoryStorage(), eventStore });
  await assert.rejects(system.actor(Bad, "b1").go(), /Event metadata must be a plain object/);
  await system.shutdown();
  assert.equal(await eventStore.version("bad-meta/b1"), 0);
});

test("a projection folds each account's deposits, reads by key, and rebuilds to the same documents", async () => {
  const eventStore = memoryEventStore();
  const storage = memoryStorage();
  const system = createActorSystem({ storage, eventStore });
  for (const [id, cents] of [["alice", 500], ["bob", 70], ["alice", 25]] as const) await system.actor(Ledger, id).deposit(cents);
  // Streams not named by streamNameOf, or of other actor types, are passed over.
  await eventStore.append("plain-stream", [{ type: "Other", data: new Uint8Array() }], "no_stream");
  const projector = createProjector(Balances, { eventStore, storage, batchSize: 2 });
  assert.equal(await projector.catchUp(), 4);
  assert.deepEqual(await projector.read("alice"), { cents: 525, deposits: 2 });
  assert.deepEqual(await projector.read("carol"), { cents: 0, deposits: 0 });
  await system.actor(Ledger, "bob").deposit(5);
  assert.equal(await projector.catchUp(), 1);
  assert.deepEqual(await projector.read("bob"), { cents: 75, deposits: 2 });
  await projector.rebuild();
  assert.deepEqual(await projector.read("alice"), { cents: 525, deposits: 2 });
  assert.deepEqual(await projector.read("bob"), { cents: 75, deposits: 2 });
  assert.equal(await projector.catchUp(), 0, "the rebuilt model is caught up");
  const stored = (await storage.list({ actorType: "quark.projection" })).keys.map((key) => key.stateName.split(":")[0]);
  assert.equal(new Set(stored.filter((name) => name !== "active")).size, 1, "the old generation is deleted after the swap");
  await system.shutdown();
});

test("a projector that commits a batch another projector committed first applies nothing twice", async () => {
  const eventStore = memoryEventStore();
  const shared = memoryStorage();
  await eventStore.append("ledger/alice", [{ type: "Deposited", data: await createCodec().encode({ type: "Deposited", cents: 5 }, 1, "ledger/alice#1") }], "no_stream");
  // A's document read waits until B has committed the same batch: A then sees B's document
  // next to the checkpoint it read before B's commit.
  let release!: () => void;
  const bCommitted = new Promise<void>((resolve) => release = resolve);
  let paused = false;
  const slowA: StateStorage = {
    ...shared,
    async read(key) {
      if (key.stateName.includes(":doc:") && !paused) {
        paused = true;
        await bCommitted;
      }
      return shared.read(key);
    },
  };
  const a = createProjector(Balances, { eventStore, storage: slowA });
  const b = createProjector(Balances, { eventStore, storage: shared });
  const running = a.runBatch();
  await new Promise((resolve) => setTimeout(resolve, 0));
  assert.equal(await b.runBatch(), 1);
  release();
  await running;
  assert.deepEqual(await b.read("alice"), { cents: 5, deposits: 1 });
});

test("a projection needs a storage with transactions", () => {
  const storage: StateStorage = { ...memoryStorage(), capabilities: { ...memoryStorage().capabilities, transactions: false } };
  assert.throws(() => createProjector(Balances, { eventStore: memoryEventStore(), storage }), (error: unknown) => isQuarkError(error, "CAPABILITY"));
});

test("two subscriptions on one checkpoint deliver every event and never move it backwards", async () => {
  const eventStore = memoryEventStore();
  const storage = memoryStorage();
  for (let index = 0; index < 30; index++) await eventStore.append(`s/${index % 3}`, [{ type: "E", data: new Uint8Array([index]) }], "any");
  const seen: bigint[] = [];
  const options = { eventStore, checkpoint: { storage, name: "shared" }, handler: (event: GlobalEvent) => void seen.push(event.position), batchSize: 4, pollIntervalMs: 1 };
  const one = subscribe(options);
  const two = subscribe(options);
  while (new Set(seen).size < 30) await new Promise((resolve) => setTimeout(resolve, 2));
  await Promise.all([one.stop(), two.stop()]);
  assert.deepEqual([...new Set(seen)].sort((x, y) => Number(x - y)), Array.from({ length: 30 }, (_, index) => BigInt(index + 1)));
  const record = await storage.read({ actorType: "quark.subscription", actorId: "shared", stateName: "checkpoint" });
  assert.equal(new TextDecoder().decode(record!.value), "30");
});

test("a subscription whose handler throws stops, and its checkpoint stays before the event", async () => {
  const eventStore = memoryEventStore();
  const storage = memoryStorage();
  await eventStore.append("s/1", [{ type: "Ok", data: new Uint8Array() }, { type: "Boom", data: new Uint8Array() }], "no_stream");
  const subscription = subscribe({
    eventStore,
    checkpoint: { storage, name: "fails" },
    batchSize: 1,
    pollIntervalMs: 1,
    handler: (event) => {
      if (event.type === "Boom") throw new Error("handler failed on Boom");
    },
  });
  await assert.rejects(subscription.done, /handler failed on Boom/);
  const record = await storage.read({ actorType: "quark.subscription", actorId: "fails", stateName: "checkpoint" });
  assert.equal(new TextDecoder().decode(record!.value), "1");
});

test("a projector with `from` starts after that position, and so do its rebuilds", async () => {
  const eventStore = memoryEventStore();
  const storage = memoryStorage();
  const system = createActorSystem({ storage, eventStore });
  await system.actor(Ledger, "alice").deposit(100);
  const start = (await eventStore.append("marker/x", [{ type: "Start", data: new Uint8Array() }], "no_stream")).lastPosition;
  await system.actor(Ledger, "alice").deposit(7);
  const projector = createProjector(Balances, { eventStore, storage, from: start });
  assert.equal(await projector.position(), start);
  await projector.catchUp();
  assert.deepEqual(await projector.read("alice"), { cents: 7, deposits: 1 });
  await projector.rebuild();
  assert.deepEqual(await projector.read("alice"), { cents: 7, deposits: 1 });
  await system.shutdown();
});

test("a metadata schema refuses bad metadata before anything is appended, and projections read it validated", async () => {
  const metadata = v.object({ correlationId: v.string(), causationId: v.string(), user: v.pipe(v.string(), v.minLength(1)) });
  const audited = { ...ledger, actorType: "audited", metadata };
  const Audited = defineEventSourcedActor(audited.actorType, {
    events: ledger.events,
    state: v.object({ balance: v.number() }),
    initial: { balance: 0 },
    apply: (state, event) => ({ balance: state.balance + event.cents }),
    metadata,
    commands: {
      async deposit(account, cents: number, user: string) {
        await account.raise({ type: "Deposited", cents }, { user });
        await account.commit();
      },
    },
  });
  const eventStore = memoryEventStore();
  const storage = memoryStorage();
  const system = createActorSystem({ storage, eventStore });
  await assert.rejects(system.actor(Audited, "a1").deposit(5, ""), (error: unknown) => isQuarkError(error, "STATE_VALIDATION") && /audited event metadata/.test(String(error)));
  assert.equal(await eventStore.version("audited/a1"), 0);
  await system.actor(Audited, "a1").deposit(5, "ada");
  const users: string[] = [];
  const ByUser = defineProjection("by-user", {
    from: [audited],
    state: v.number(),
    initial: 0,
    key: (_event, info) => String(info.metadata?.user),
    apply: (total, event, info) => (users.push(String(info.metadata?.user)), total + event.cents),
  });
  const projector = createProjector(ByUser, { eventStore, storage });
  await projector.catchUp();
  assert.equal(await projector.read("ada"), 5);
  assert.deepEqual(users, ["ada"]);
  await system.shutdown();
});

test("a subscription reads its checkpoint once, writes it once per batch, and re-reads it after another process moved it", async () => {
  const eventStore = memoryEventStore();
  const inner = memoryStorage();
  let reads = 0;
  const storage: StateStorage = { ...inner, read: (key) => (reads++, inner.read(key)) };
  for (let index = 0; index < 10; index++) await eventStore.append("s/1", [{ type: "E", data: new Uint8Array([index]) }], "any");
  const checkpointKey = { actorType: "quark.subscription", actorId: "counted", stateName: "checkpoint" };
  const seen: bigint[] = [];
  let movedBehindItsBack = false;
  const subscription = subscribe({
    eventStore,
    checkpoint: { storage, name: "counted" },
    batchSize: 2,
    pollIntervalMs: 1,
    handler: async (event) => {
      seen.push(event.position);
      // Another process takes the subscription to position 6 while this one handles event 3.
      if (event.position === 3n && !movedBehindItsBack) {
        movedBehindItsBack = true;
        await inner.write({ key: checkpointKey, value: new TextEncoder().encode("6"), etag: crypto.randomUUID(), lastWriteWins: true });
      }
    },
  });
  while (seen.at(-1) !== 10n) await new Promise((resolve) => setTimeout(resolve, 2));
  await subscription.stop();
  assert.deepEqual(seen, [1n, 2n, 3n, 4n, 7n, 8n, 9n, 10n], "after the conflict it goes on from the other process's position");
  assert.equal(reads, 2, "one read at the start, one after the conflict");
  assert.equal(new TextDecoder().decode((await inner.read(checkpointKey))!.value), "10");
});

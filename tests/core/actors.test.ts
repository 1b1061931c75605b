import { test } from "node:test";
import assert from "node:assert/strict";
import * as v from "valibot";
import {
  ActorSystemShutDownError,
  createActorSystem,
  createCodec,
  defineActor,
  encodeKey,
  defineState,
  isQuarkError,
  memoryEventStore,
  memoryStorage,
  type StateStorage,
} from "../../mod.ts";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const count = defineState("count", { schema: v.number(), initial: 0 });

test("activation completes before the first message", async () => {
  const order: string[] = [];
  const Slow = defineActor("slow", {
    async onActivate() {
      await sleep(20);
      order.push("activated");
    },
    handlers: { hello: () => order.push("hello") },
  });
  const system = createActorSystem({ storage: memoryStorage() });
  await Promise.all([system.actor(Slow, "1").hello(), system.actor(Slow, "1").hello()]);
  assert.deepEqual(order, ["activated", "hello", "hello"]);
  await system.shutdown();
});

test("a failed activation fails that call, and the next call tries again", async () => {
  let attempts = 0;
  const Flaky = defineActor("flaky", {
    onActivate() {
      attempts++;
      if (attempts === 1) throw new Error("database down");
    },
    handlers: { ping: () => "pong" },
  });
  const system = createActorSystem({ storage: memoryStorage() });
  await assert.rejects(system.actor(Flaky, "1").ping(), (error) => isQuarkError(error, "ACTIVATION") && (error as Error).cause instanceof Error);
  assert.equal(await system.actor(Flaky, "1").ping(), "pong");
  assert.equal(attempts, 2);
  await system.shutdown();
});

test("turns run one at a time unless the actor is reentrant", async () => {
  for (const reentrant of [false, true]) {
    let running = 0;
    let most = 0;
    const Worker = defineActor(`worker-${reentrant}`, {
      reentrant,
      handlers: {
        async work() {
          most = Math.max(most, ++running);
          await sleep(5);
          running--;
        },
      },
    });
    const system = createActorSystem({ storage: memoryStorage() });
    await Promise.all(Array.from({ length: 5 }, () => system.actor(Worker, "1").work()));
    assert.equal(most, reentrant ? 5 : 1, `reentrant: ${reentrant}`);
    await system.shutdown();
  }
});

test("idle deactivation runs inside the mailbox, never during a turn", async () => {
  const events: string[] = [];
  const Idle = defineActor("idle", {
    idleTimeoutMs: 15,
    onDeactivate: () => {
      events.push("deactivated");
    },
    handlers: {
      async long() {
        events.push("start");
        await sleep(60);
        events.push("end");
      },
      quick: () => events.push("quick"),
    },
  });
  const system = createActorSystem({ storage: memoryStorage() });
  await system.actor(Idle, "1").quick();
  const long = system.actor(Idle, "1").long();
  await sleep(30);
  assert.deepEqual(events, ["quick", "start"], "no deactivation while the long turn runs");
  await long;
  await sleep(50);
  assert.deepEqual(events, ["quick", "start", "end", "deactivated"]);
  assert.equal(system.activeCount, 0);
  await system.shutdown();
});

test("shutdown deactivates every actor and refuses later calls", async () => {
  const deactivated: string[] = [];
  const Member = defineActor("member", {
    onDeactivate: ({ actorId }) => {
      deactivated.push(actorId);
    },
    handlers: { touch: () => true },
  });
  const system = createActorSystem({ storage: memoryStorage() });
  await Promise.all(["a", "b", "c"].map((id) => system.actor(Member, id).touch()));
  await system.shutdown();
  assert.deepEqual(deactivated.sort(), ["a", "b", "c"]);
  await assert.rejects(system.actor(Member, "a").touch(), ActorSystemShutDownError);
});

test("lazy states load on demand", async () => {
  const storage = memoryStorage();
  let reads = 0;
  const counting: StateStorage = { ...storage, read: (key) => (reads++, storage.read(key)) };
  const history = defineState("history", { schema: v.array(v.string()), initial: [], lazy: true });
  const Ledger = defineActor("ledger", {
    states: { history },
    handlers: {
      ping: () => "pong",
      async add({ states }, entry: string) {
        await states.history.load();
        states.history.value.push(entry);
        await states.history.save();
        return states.history.value.length;
      },
      peek: ({ states }) => states.history.value,
    },
  });
  const system = createActorSystem({ storage: counting });
  await system.actor(Ledger, "1").ping();
  assert.equal(reads, 0, "nothing read on activation");
  assert.equal(await system.actor(Ledger, "1").add("x"), 1);
  assert.equal(reads, 1);
  const fresh = createActorSystem({ storage: counting });
  await assert.rejects(fresh.actor(Ledger, "1").peek(), /lazy/);
  await Promise.all([system.shutdown(), fresh.shutdown()]);
});

function twoWriters(storage: StateStorage, conflict?: "abort" | "last-write-wins" | { merge: (base: number, mine: number, theirs: number) => number } | "retry") {
  const Counter = defineActor("counter", {
    states: { count: defineState("count", { schema: v.number(), initial: 0, conflict }) },
    handlers: {
      async add({ states }, by: number) {
        states.count.value += by;
        await states.count.save();
        return states.count.value;
      },
      get: ({ states }) => states.count.value,
    },
  });
  const first = createActorSystem({ storage });
  const second = createActorSystem({ storage });
  return { Counter, first, second };
}

test("abort: a stale save throws StateConflictError and keeps the other writer's value", async () => {
  const storage = memoryStorage();
  const { Counter, first, second } = twoWriters(storage, "abort");
  await first.actor(Counter, "c").add(1);
  await second.actor(Counter, "c").add(10);
  await assert.rejects(first.actor(Counter, "c").add(100), (error) => isQuarkError(error, "STATE_CONFLICT"));
  assert.equal(await first.actor(Counter, "c").get(), 11, "the next turn starts from the reloaded value, not the failed draft");
  assert.equal(await first.actor(Counter, "c").add(1), 12, "the activation is usable again at once, not stale until idle");
  const reader = createActorSystem({ storage });
  assert.equal(await reader.actor(Counter, "c").get(), 12);
  await Promise.all([first.shutdown(), second.shutdown(), reader.shutdown()]);
});

test("retry: the turn re-runs on fresh state", async () => {
  const storage = memoryStorage();
  const { Counter, first, second } = twoWriters(storage, "retry");
  await first.actor(Counter, "c").add(1);
  await second.actor(Counter, "c").add(10);
  assert.equal(await first.actor(Counter, "c").add(100), 111);
  await Promise.all([first.shutdown(), second.shutdown()]);
});

test("last-write-wins: the stale save overwrites", async () => {
  const storage = memoryStorage();
  const { Counter, first, second } = twoWriters(storage, "last-write-wins");
  await first.actor(Counter, "c").add(1);
  await second.actor(Counter, "c").add(10);
  assert.equal(await first.actor(Counter, "c").add(100), 101);
  await Promise.all([first.shutdown(), second.shutdown()]);
});

test("merge: base, mine and theirs combine", async () => {
  const storage = memoryStorage();
  const { Counter, first, second } = twoWriters(storage, { merge: (base, mine, theirs) => theirs + (mine - base) });
  await first.actor(Counter, "c").add(1);
  await second.actor(Counter, "c").add(10);
  assert.equal(await first.actor(Counter, "c").add(100), 111);
  await Promise.all([first.shutdown(), second.shutdown()]);
});

test("a policy given to the call wins over the state's", async () => {
  const storage = memoryStorage();
  const { Counter, first, second } = twoWriters(storage, "abort");
  await first.actor(Counter, "c").add(1);
  await second.actor(Counter, "c").add(10);
  assert.equal(await first.actor(Counter, "c", { conflict: "retry" }).add(100), 111);
  await Promise.all([first.shutdown(), second.shutdown()]);
});

test("retry is bounded", async () => {
  const storage = memoryStorage();
  const key = { actorType: "contended", actorId: "1", stateName: "count" };
  const seed = await createCodec().encode(0, 1, encodeKey(key));
  await storage.write({ key, value: seed, etag: crypto.randomUUID(), expectedEtag: null });
  let attempts = 0;
  const Contended = defineActor("contended", {
    states: { count },
    conflict: { retry: { maxAttempts: 3, baseDelayMs: 1 } },
    handlers: {
      async bump({ states }) {
        attempts++;
        // Another writer always gets there first.
        await storage.write({ key, value: seed, etag: crypto.randomUUID(), lastWriteWins: true });
        states.count.value += 1;
        await states.count.save();
      },
    },
  });
  const system = createActorSystem({ storage });
  await assert.rejects(system.actor(Contended, "1").bump(), (error) => isQuarkError(error, "STATE_CONFLICT"));
  assert.equal(attempts, 3);
  await system.shutdown();
});

test("saveStates writes several states atomically, or says why it cannot", async () => {
  const storage = memoryStorage();
  const a = defineState("a", { schema: v.number(), initial: 0 });
  const b = defineState("b", { schema: v.number(), initial: 0 });
  const elsewhere = defineState("c", { schema: v.number(), initial: 0, storage: "cold" });
  const Pair = defineActor("pair", {
    states: { a, b, elsewhere },
    handlers: {
      async both({ states, saveStates }, value: number) {
        states.a.value = value;
        states.b.value = value;
        await saveStates(["a", "b"]);
      },
      async across({ states, saveStates }, atomic: boolean) {
        states.a.value = 7;
        states.elsewhere.value = 7;
        await saveStates(["a", "elsewhere"], { atomic });
      },
      read: ({ states }) => [states.a.value, states.b.value, states.elsewhere.value],
    },
  });
  const system = createActorSystem({ storage: { default: storage, cold: memoryStorage() } });
  await system.actor(Pair, "1").both(5);
  assert.deepEqual(await system.actor(Pair, "1").read(), [5, 5, 0]);
  await assert.rejects(system.actor(Pair, "1").across(true), (error) => isQuarkError(error, "CAPABILITY"));
  assert.deepEqual(await system.actor(Pair, "1").read(), [5, 5, 0], "nothing changed");
  await system.actor(Pair, "1").across(false);
  assert.deepEqual(await system.actor(Pair, "1").read(), [7, 5, 7]);
  await system.shutdown();
});

test("an unknown storage provider is a configuration error, never a fallback", () => {
  const cold = defineState("archive", { schema: v.number(), initial: 0, storage: "clod" });
  const Archive = defineActor("archive", { states: { cold }, handlers: {} });
  const system = createActorSystem({ storage: { default: memoryStorage(), cold: memoryStorage() } });
  assert.throws(() => system.actor(Archive, "1"), (error) => isQuarkError(error, "CONFIGURATION") && /clod/.test((error as Error).message));
});

test("shutdown closes the storages and event store only when the system owns them", async () => {
  for (const closeStorages of [false, true]) {
    const closed: string[] = [];
    const tracked = (name: string): StateStorage => ({ ...memoryStorage(), close: async () => void closed.push(name) });
    const eventStore = { ...memoryEventStore(), close: async () => void closed.push("events") };
    {
      await using system = createActorSystem({ storage: { default: tracked("default"), cold: tracked("cold") }, eventStore, closeStorages });
      assert.equal(system.activeCount, 0);
    }
    assert.deepEqual(closed.sort(), closeStorages ? ["cold", "default", "events"] : [], `closeStorages: ${closeStorages}`);
  }
});

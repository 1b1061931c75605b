import { test } from "node:test";
import assert from "node:assert/strict";
import * as v from "valibot";
import {
  createActorSystem,
  createLeaseClient,
  defineActor,
  defineState,
  isQuarkError,
  LeaseHeldError,
  LeaseLostError,
  memoryStorage,
  StorageUnavailableError,
  type StateStorage,
} from "../../mod.ts";

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const leaseKey = (actorType: string, actorId: string) => ({ actorType: "$lease", actorId, stateName: actorType });
const count = defineState("count", { schema: v.number(), initial: 0 });
const Counter = defineActor("counter", {
  states: { count },
  handlers: {
    async add({ states }, amount: number) {
      states.count.value += amount;
      await states.count.save();
      return states.count.value;
    },
  },
});

test("a held lease refuses another holder and writes nothing", async () => {
  const storage = memoryStorage();
  let clock = 0;
  const one = createLeaseClient({ storage, holder: "one", ttlMs: 1_000, now: () => clock });
  const two = createLeaseClient({ storage, holder: "two", ttlMs: 1_000, now: () => clock });
  await one.acquire("account", "alice");
  const before = await storage.read(leaseKey("account", "alice"));
  await assert.rejects(two.acquire("account", "alice"), (error) => error instanceof LeaseHeldError && error.holder === "one" && error.expiresAt === 1_000 && /"one"/.test(error.message));
  assert.equal((await storage.read(leaseKey("account", "alice")))?.etag, before?.etag);
});

test("racing acquirers of a free lease: exactly one wins, the others learn who", async () => {
  const storage = memoryStorage();
  const clients = ["a", "b", "c", "d"].map((holder) => createLeaseClient({ storage, holder }));
  const outcomes = await Promise.allSettled(clients.map((client) => client.acquire("account", "alice")));
  const winners = outcomes.filter((outcome) => outcome.status === "fulfilled");
  assert.equal(winners.length, 1);
  const winner = (winners[0] as PromiseFulfilledResult<{ holder: string }>).value.holder;
  for (const outcome of outcomes) {
    if (outcome.status === "rejected") assert.ok(outcome.reason instanceof LeaseHeldError && outcome.reason.holder === winner, String(outcome.reason));
  }
});

test("expiry is judged by the lease record, not by when the backend purges it", async () => {
  // The storage's own clock stands still, so its TTL never purges anything.
  const storage = memoryStorage({ now: () => 0 });
  let clock = 0;
  const options = { storage, ttlMs: 1_000, maxClockSkewMs: 50, now: () => clock };
  await createLeaseClient({ ...options, holder: "one" }).acquire("account", "alice");
  clock = 1_049;
  await assert.rejects(createLeaseClient({ ...options, holder: "two" }).acquire("account", "alice"), LeaseHeldError);
  clock = 1_050;
  const taken = await createLeaseClient({ ...options, holder: "two" }).acquire("account", "alice");
  assert.equal(taken.takeover, 2);
});

test("a renewal after a takeover fails with LeaseLostError naming the new holder, and changes nothing", async () => {
  const storage = memoryStorage();
  let clock = 0;
  const options = { storage, ttlMs: 100, maxClockSkewMs: 0, now: () => clock };
  const one = createLeaseClient({ ...options, holder: "one" });
  const stale = await one.acquire("account", "alice");
  clock = 100;
  await createLeaseClient({ ...options, holder: "two" }).acquire("account", "alice");
  const stored = await storage.read(leaseKey("account", "alice"));
  await assert.rejects(one.renew(stale), (error) => error instanceof LeaseLostError && error.newHolder === "two" && isQuarkError(error, "LEASE_LOST"));
  assert.equal(await one.release(stale), false);
  assert.equal((await storage.read(leaseKey("account", "alice")))?.etag, stored?.etag);
});

test("a corrupt lease record is refused as corrupt data and left as it is", async () => {
  const storage = memoryStorage();
  const key = leaseKey("account", "alice");
  const { etag } = await storage.write({ key, value: new TextEncoder().encode("{\"holder\":1}"), etag: crypto.randomUUID(), expectedEtag: null });
  await assert.rejects(createLeaseClient({ storage }).acquire("account", "alice"), (error) => isQuarkError(error, "CORRUPT_DATA"));
  assert.equal((await storage.read(key))?.etag, etag);
});

test("leases work on a storage without TTL: no ttlMs is sent", async () => {
  const inner = memoryStorage();
  const storage: StateStorage = {
    ...inner,
    capabilities: { ...inner.capabilities, ttl: false },
    write: (request) => request.ttlMs === undefined ? inner.write(request) : Promise.reject(new Error("ttlMs sent to a storage without TTL")),
  };
  const leases = createLeaseClient({ storage });
  assert.equal(await leases.release(await leases.renew(await leases.acquire("account", "alice"))), true);
});

test("bad lease options are configuration errors", () => {
  for (const options of [{ ttlMs: 0 }, { ttlMs: Number.NaN }, { maxClockSkewMs: -1 }, { ttlMs: 1_000, retainMs: 10 }]) {
    assert.throws(() => createLeaseClient({ storage: memoryStorage(), ...options }), (error) => isQuarkError(error, "CONFIGURATION"), JSON.stringify(options));
  }
  assert.throws(() => createActorSystem({ storage: memoryStorage(), lease: { ttlMs: 100, renewEveryMs: 100 } }), (error) => isQuarkError(error, "CONFIGURATION"));
});

test("an actor system holds the lease of each actor it activates; another fails fast naming it", async () => {
  const storage = memoryStorage();
  const a = createActorSystem({ storage, lease: { holder: "system-a" } });
  const b = createActorSystem({ storage, lease: { holder: "system-b" } });
  assert.equal(await a.actor(Counter, "c1").add(1), 1);
  await assert.rejects(b.actor(Counter, "c1").add(1), (error) => error instanceof LeaseHeldError && error.holder === "system-a");
  assert.equal(await b.actor(Counter, "c2").add(5), 5, "other actors are free");
  await a.shutdown(); // releases c1
  assert.equal(await b.actor(Counter, "c1").add(1), 2);
  await b.shutdown();
});

test("onHeld: wait takes the lease once the holder lets go, and gives up after waitMs", async () => {
  const storage = memoryStorage();
  const a = createActorSystem({ storage, idleTimeoutMs: 50, lease: { holder: "system-a" } });
  const b = createActorSystem({ storage, lease: { holder: "system-b", onHeld: "wait", waitMs: 5_000 } });
  await a.actor(Counter, "c1").add(1);
  // a lets c1 go when it goes idle; b's call waits for that instead of failing.
  assert.equal(await b.actor(Counter, "c1").add(1), 2);
  const impatient = createActorSystem({ storage, lease: { holder: "system-c", onHeld: "wait", waitMs: 30 } });
  await assert.rejects(impatient.actor(Counter, "c1").add(1), (error) => error instanceof LeaseHeldError && error.holder === "system-b");
  await Promise.all([a.shutdown(), b.shutdown(), impatient.shutdown()]);
});

test("an active actor's lease is renewed in the background, past its TTL", async () => {
  const storage = memoryStorage();
  // The leases read a fake clock; the renewal timer runs on real time.
  let clock = 0;
  const timing = { ttlMs: 1_000, maxClockSkewMs: 0, now: () => clock };
  const a = createActorSystem({ storage, lease: { holder: "system-a", renewEveryMs: 10, ...timing } });
  const b = createActorSystem({ storage, lease: { holder: "system-b", ...timing } });
  await a.actor(Counter, "c1").add(1);
  clock = 5_000; // long past the first expiry: only a renewal keeps the lease a's
  const renewedAfter = async () => JSON.parse(new TextDecoder().decode((await storage.read(leaseKey("counter", "c1")))!.value)).expiresAt as number;
  for (let waited = 0; (await renewedAfter()) < 6_000 && waited < 5_000; waited += 10) await sleep(10);
  assert.equal(await renewedAfter(), 6_000);
  await assert.rejects(b.actor(Counter, "c1").add(1), (error) => error instanceof LeaseHeldError && error.holder === "system-a");
  await Promise.all([a.shutdown(), b.shutdown()]);
});

test("a lost lease drops the activation: onLost hears of it, and the next call re-acquires", async () => {
  const storage = memoryStorage();
  const lost: LeaseLostError[] = [];
  const a = createActorSystem({ storage, lease: { holder: "system-a", ttlMs: 60, maxClockSkewMs: 0, renewEveryMs: 10, onLost: (error) => lost.push(error) } });
  await a.actor(Counter, "c1").add(1);
  // Another holder overwrites the lease behind a's back, as a takeover after a pause would.
  const intruder = { holder: "intruder", takeover: 9, expiresAt: Date.now() + 60_000, released: false };
  await storage.write({ key: leaseKey("counter", "c1"), value: new TextEncoder().encode(JSON.stringify(intruder)), etag: crypto.randomUUID(), lastWriteWins: true });
  for (let waited = 0; lost.length === 0 && waited < 5_000; waited += 10) await sleep(10);
  assert.equal(lost[0]?.newHolder, "intruder");
  await assert.rejects(a.actor(Counter, "c1").add(1), (error) => error instanceof LeaseHeldError && error.holder === "intruder");
  await a.shutdown();
  const record = JSON.parse(new TextDecoder().decode((await storage.read(leaseKey("counter", "c1")))!.value));
  assert.equal(record.holder, "intruder", "shutting down released nothing it did not hold");
});

test("a failed activation releases the lease it took", async () => {
  const storage = memoryStorage();
  const Broken = defineActor("broken", {
    onActivate() {
      throw new Error("boom");
    },
    handlers: { ping: () => "pong" },
  });
  const a = createActorSystem({ storage, lease: { holder: "system-a" } });
  await assert.rejects(a.actor(Broken, "x").ping(), (error) => isQuarkError(error, "ACTIVATION"));
  const b = createActorSystem({ storage, lease: { holder: "system-b" } });
  await assert.rejects(b.actor(Broken, "x").ping(), (error) => isQuarkError(error, "ACTIVATION"), "b got the lease, then failed the same way");
  await Promise.all([a.shutdown(), b.shutdown()]);
});

test("a lease lost while the actor is still activating drops that activation too", async () => {
  const storage = memoryStorage();
  const lost: LeaseLostError[] = [];
  const Slow = defineActor("slow", {
    async onActivate() {
      // Meanwhile another holder overwrites the lease, and a renewal finds out.
      const intruder = { holder: "intruder", takeover: 9, expiresAt: Date.now() + 60_000, released: false };
      await storage.write({ key: leaseKey("slow", "s1"), value: new TextEncoder().encode(JSON.stringify(intruder)), etag: crypto.randomUUID(), lastWriteWins: true });
      for (let waited = 0; lost.length === 0 && waited < 5_000; waited += 10) await sleep(10);
    },
    handlers: { ping: () => "pong" },
  });
  const a = createActorSystem({ storage, lease: { holder: "system-a", ttlMs: 60, maxClockSkewMs: 0, renewEveryMs: 10, onLost: (error) => lost.push(error) } });
  assert.equal(await a.actor(Slow, "s1").ping(), "pong", "the call in flight finishes");
  assert.equal(lost.length, 1);
  await assert.rejects(a.actor(Slow, "s1").ping(), (error) => error instanceof LeaseHeldError && error.holder === "intruder");
  await a.shutdown();
});

test("a storage that stays down until the lease runs out loses it; the next call acquires it again", async () => {
  const inner = memoryStorage();
  let down = false;
  const storage: StateStorage = {
    ...inner,
    write: (request) => down ? Promise.reject(new StorageUnavailableError("memory", "write", new Error("down"))) : inner.write(request),
  };
  let clock = 0;
  const lost: LeaseLostError[] = [];
  const a = createActorSystem({ storage, lease: { holder: "system-a", ttlMs: 1_000, maxClockSkewMs: 0, renewEveryMs: 5, now: () => clock, onLost: (error) => lost.push(error) } });
  await a.actor(Counter, "c1").add(1);
  down = true;
  await sleep(50); // renewals fail, but the lease has not run out on a's clock
  assert.equal(lost.length, 0);
  clock = 1_000;
  for (let waited = 0; lost.length === 0 && waited < 5_000; waited += 10) await sleep(10);
  assert.equal(lost[0]?.newHolder, undefined);
  assert.ok(lost[0]?.cause instanceof StorageUnavailableError);
  down = false;
  assert.equal(await a.actor(Counter, "c1").add(1), 2);
  const record = JSON.parse(new TextDecoder().decode((await storage.read(leaseKey("counter", "c1")))!.value));
  assert.equal(record.takeover, 2, "the next call acquired the lease afresh");
  await a.shutdown();
});

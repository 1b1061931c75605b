// The inspection API reads what actors stored, with no activation: on memory and on PGlite,
// states decode through the codec and their definitions (upcasting included), event streams
// page and decode, counts page through list, and health probes report their outcome.
import { test } from "node:test";
import assert from "node:assert/strict";
import * as v from "valibot";
import {
  createActorSystem,
  createCodec,
  createInspector,
  defineActor,
  defineEventSourcedActor,
  defineState,
  encodeKey,
  memoryEventStore,
  memoryStorage,
  type EventStore,
  type StateStorage,
} from "../../mod.ts";
import { pgliteEventStore, pgliteStorage } from "../../adapters/pglite/mod.ts";

const codecOptions = { encryption: { keys: { k1: new Uint8Array(32).fill(7) }, currentKeyId: "k1" } };
const balance = defineState("balance", {
  schema: v.object({ cents: v.number(), currency: v.string() }),
  initial: { cents: 0, currency: "EUR" },
  version: 2,
  migrate: { 1: (old: { cents: number }) => ({ ...old, currency: "EUR" }) },
});
const Account = defineActor("account", {
  states: { balance },
  handlers: {
    async deposit({ states }, cents: number) {
      states.balance.value = { ...states.balance.value, cents: states.balance.value.cents + cents };
      await states.balance.save();
    },
  },
});
const session = defineState("session", { schema: v.string(), initial: "", ttlMs: 60_000 });
const Visitor = defineActor("visitor", {
  states: { session },
  handlers: {
    async visit({ states }, page: string) {
      states.session.value = page;
      await states.session.save();
    },
  },
});
const ledgerOptions = {
  events: v.object({ type: v.literal("Deposited"), cents: v.number() }),
  state: v.object({ balance: v.number() }),
  initial: { balance: 0 },
  apply: (state: { balance: number }, event: { cents: number }) => ({ balance: state.balance + event.cents }),
  snapshotEvery: 3,
};
const Ledger = defineEventSourcedActor("ledger", {
  ...ledgerOptions,
  commands: {
    async deposit(ledger, cents: number) {
      await ledger.raise({ type: "Deposited", cents });
      await ledger.commit();
    },
  },
});
const definitions = [Account, Visitor, { actorType: "ledger", ...ledgerOptions }];

async function seed(storage: StateStorage, eventStore: EventStore) {
  // One account written by schema version 1, before the currency field existed.
  const key = { actorType: "account", actorId: "old", stateName: "balance" };
  const bytes = await createCodec(codecOptions).encode({ cents: 5 }, 1, encodeKey(key));
  await storage.write({ key, value: bytes, etag: crypto.randomUUID(), expectedEtag: null });
  const system = createActorSystem({ storage, eventStore, codec: codecOptions });
  for (let id = 0; id < 7; id++) await system.actor(Account, `a${id}`).deposit(id + 1);
  await system.actor(Account, "a0").deposit(10);
  await system.actor(Visitor, "v1").visit("/home");
  for (const cents of [1, 2, 3, 4]) await system.actor(Ledger, "l1").deposit(cents);
  await system.shutdown();
}

const backends = [
  { name: "memory", open: () => ({ storage: memoryStorage(), eventStore: memoryEventStore() }) },
  { name: "pglite", open: () => ({ storage: pgliteStorage({ autoCreateSchema: true }), eventStore: pgliteEventStore({ autoCreateSchema: true }) }) },
];

for (const backend of backends) {
  test(`${backend.name}: states list with pages, count, and read decoded with their metadata`, async () => {
    const { storage, eventStore } = backend.open();
    try {
      await seed(storage, eventStore);
      const inspector = createInspector({ storage, eventStore, codec: codecOptions, definitions, now: () => Date.now() });
      assert.deepEqual(inspector.actorTypes(), ["account", "visitor", "ledger"]);

      const ids: string[] = [];
      let cursor: string | undefined;
      let pages = 0;
      do {
        const page = await inspector.list({ actorType: "account", cursor, limit: 3 });
        assert.ok(page.keys.length <= 3);
        ids.push(...page.keys.map((key) => key.actorId));
        cursor = page.cursor;
        pages++;
      } while (cursor !== undefined);
      assert.deepEqual(ids.sort(), ["a0", "a1", "a2", "a3", "a4", "a5", "a6", "old"]);
      assert.ok(pages >= 3);
      assert.equal(await inspector.count({ actorType: "account" }), 8);
      assert.equal(await inspector.count({ actorType: "account", limit: 2 }), 8);
      assert.equal(await inspector.count({ actorType: "nobody" }), 0);

      const a0 = await inspector.get({ actorType: "account", actorId: "a0", stateName: "balance" });
      assert.ok(a0);
      assert.deepEqual(a0.value, { cents: 11, currency: "EUR" });
      assert.equal(a0.revision, 2);
      assert.equal(a0.schemaVersion, 2);
      assert.equal(a0.currentVersion, 2);
      assert.equal(a0.validated, true);
      assert.equal(a0.etag, (await storage.read(a0.key))?.etag);
      assert.equal(a0.sizeBytes, (await storage.read(a0.key))?.value.byteLength);
      assert.equal(a0.expiresAt, undefined);

      const old = await inspector.get({ actorType: "account", actorId: "old", stateName: "balance" });
      assert.deepEqual(old?.value, { cents: 5, currency: "EUR" }, "upcast from version 1");
      assert.equal(old?.schemaVersion, 1);

      const visitor = await inspector.get({ actorType: "visitor", actorId: "v1", stateName: "session" });
      assert.equal(visitor?.value, "/home");
      assert.ok(visitor?.expiresAt !== undefined && visitor.expiresAt > Date.now());
      assert.ok(visitor?.ttlRemainingMs !== undefined && visitor.ttlRemainingMs > 0 && visitor.ttlRemainingMs <= 60_000);

      assert.equal(await inspector.get({ actorType: "account", actorId: "missing", stateName: "balance" }), null);
      // No definition: the value decodes but is neither upcast nor validated.
      const raw = await createInspector({ storage, codec: codecOptions }).get(old!.key);
      assert.deepEqual(raw?.value, { cents: 5 });
      assert.equal(raw?.validated, false);
      assert.equal(raw?.currentVersion, undefined);
    } finally {
      await storage.close();
      await eventStore.close();
    }
  });

  test(`${backend.name}: event streams page, decode with definitions, and show raw types without`, async () => {
    const { storage, eventStore } = backend.open();
    try {
      await seed(storage, eventStore);
      const inspector = createInspector({ storage, eventStore, codec: codecOptions, definitions });
      const first = await inspector.readEvents("ledger/l1", { limit: 3 });
      assert.deepEqual(first.events.map((event) => [event.version, event.type, event.data]), [
        [1, "Deposited", { type: "Deposited", cents: 1 }],
        [2, "Deposited", { type: "Deposited", cents: 2 }],
        [3, "Deposited", { type: "Deposited", cents: 3 }],
      ]);
      assert.equal(first.nextVersion, 4);
      const second = await inspector.readEvents("ledger/l1", { fromVersion: first.nextVersion, limit: 3 });
      assert.deepEqual(second.events.map((event) => event.version), [4]);
      assert.equal(second.nextVersion, undefined);
      assert.ok(second.events.every((event) => event.decoded && event.schemaVersion === 1 && event.sizeBytes > 0));

      const snapshot = await inspector.readSnapshot("ledger/l1");
      assert.deepEqual(snapshot && { version: snapshot.version, state: snapshot.state, decoded: snapshot.decoded }, { version: 3, state: { balance: 6 }, decoded: true });

      const undecoded = createInspector({ storage, eventStore });
      const raw = await undecoded.readEvents("ledger/l1");
      assert.deepEqual(raw.events.map((event) => [event.type, event.decoded, event.data]), Array(4).fill(["Deposited", false, undefined]));
      assert.equal((await undecoded.readSnapshot("ledger/l1"))?.decoded, false);
      assert.deepEqual((await inspector.readEvents("ledger/none")).events, []);
      assert.equal(await inspector.readSnapshot("ledger/none"), null);
    } finally {
      await storage.close();
      await eventStore.close();
    }
  });

  test(`${backend.name}: health probes each storage and the event store once`, async () => {
    const { storage, eventStore } = backend.open();
    try {
      const cold = memoryStorage();
      const reports = await createInspector({ storage: { default: storage, cold }, eventStore }).health();
      assert.deepEqual(reports.map((report) => [report.target, report.name, report.backend, report.ok]), [
        ["storage", "default", storage.name, true],
        ["storage", "cold", "memory", true],
        ["eventStore", "eventStore", eventStore.name, true],
      ]);
      assert.ok(reports.every((report) => report.latencyMs >= 0));
      // Nothing was written by a probe.
      assert.equal(await createInspector({ storage }).count({ actorType: "__quark" }), 0);
    } finally {
      await storage.close();
      await eventStore.close();
    }
  });
}

test("health reports a failing storage with its error code instead of throwing", async () => {
  const storage = memoryStorage();
  const failing: StateStorage = { ...storage, name: "flaky", read: () => Promise.reject(Object.assign(new Error("connection refused"), { code: "ECONNREFUSED" })) };
  const [report] = await createInspector({ storage: failing }).health();
  assert.equal(report?.ok, false);
  assert.deepEqual(report && !report.ok && [report.backend, report.code, report.message], ["flaky", "UNKNOWN", "connection refused"]);
});

test("a value written by a newer schema than the definition is refused, not shown wrongly", async () => {
  const storage = memoryStorage();
  const key = { actorType: "account", actorId: "future", stateName: "balance" };
  await storage.write({ key, value: await createCodec().encode({ cents: 1, currency: "EUR" }, 3, encodeKey(key)), etag: crypto.randomUUID(), expectedEtag: null });
  await assert.rejects(createInspector({ storage, definitions }).get(key), { code: "CORRUPT_DATA" });
});

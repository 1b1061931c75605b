import { test } from "node:test";
import assert from "node:assert/strict";
import { MongoClient } from "mongodb";
import { mongoDbEventStore, mongoDbStorage } from "../../adapters/mongodb/mod.ts";
import { encodeKey } from "../../src/storage/keys.ts";
import { HOSTILE_IDS, runEventStoreConformance, runStorageConformance } from "../../src/testing/mod.ts";

const url = process.env.MONGODB_URL;
const database = "quark_test";

if (url === undefined) {
  const reason = "MONGODB_URL is not set (start it with scripts/services/mongodb.sh start)";
  console.log(`SKIP mongodb: ${reason}`);
  test(`mongodb conformance: ${reason}`, { skip: reason }, () => {});
} else {
  const serverUrl = url;

  runStorageConformance(test, {
    name: "mongodb",
    open: async () => {
      const storage = mongoDbStorage({ url: serverUrl, database });
      // Settles capabilities.transactions before the suite reads it.
      await storage.getInstance();
      return storage;
    },
  });
  runEventStoreConformance(test, { name: "mongodb", open: () => mongoDbEventStore({ url: serverUrl, database }) });

  const uid = () => crypto.randomUUID().slice(0, 8);
  const bytes = (...values: number[]) => Uint8Array.from(values);

  test("mongodb: operator-shaped ids are plain strings, never query operators", async () => {
    const client = new MongoClient(serverUrl);
    const storage = mongoDbStorage({ client, database });
    try {
      const actorType = `hostile-${uid()}`;
      const victim = { actorType, actorId: "victim", stateName: "s" };
      await storage.write({ key: victim, value: bytes(1), etag: crypto.randomUUID(), expectedEtag: null });
      for (const actorId of [...HOSTILE_IDS, '{"$ne":null}', "$gt", '{"$regex":".*"}']) {
        const key = { actorType, actorId, stateName: "s" };
        assert.equal(await storage.read(key), null, `nothing matches ${JSON.stringify(actorId)} before it is written`);
        await storage.write({ key, value: bytes(2), etag: crypto.randomUUID(), expectedEtag: null });
        assert.deepEqual((await storage.read(key))?.value, bytes(2));
      }
      assert.deepEqual((await storage.read(victim))?.value, bytes(1), "the other state is untouched");
      const raw = await client.db(database).collection("quark_state").findOne({ _id: encodeKey({ actorType, actorId: '{"$gt":""}', stateName: "s" }) as never });
      assert.equal(typeof raw?._id, "string", "the operator-shaped id is stored as a string _id");
      // A caller that bypasses the types cannot smuggle an operator in through an etag.
      await assert.rejects(
        storage.write({ key: victim, value: bytes(9), etag: crypto.randomUUID(), expectedEtag: { $ne: null } as unknown as string }),
        TypeError,
      );
      await assert.rejects(storage.delete({ key: victim, expectedEtag: { $exists: true } as unknown as string }), TypeError);
      assert.deepEqual((await storage.read(victim))?.value, bytes(1), "the operator etags changed nothing");

      const events = mongoDbEventStore({ client, database });
      const stream = '{"$gt":""}';
      const plain = `plain-${uid()}`;
      await events.append(plain, [{ type: "Opened", data: bytes(1) }], "no_stream");
      const before = await events.version(stream);
      await events.append(stream, [{ type: "Opened", data: bytes(2) }], "any");
      assert.equal(await events.version(stream), before + 1);
      assert.equal(await events.version(plain), 1, "an operator-shaped stream touches no other stream");
      await assert.rejects(events.append({ $gt: "" } as unknown as string, [{ type: "X", data: bytes() }], "any"), TypeError);
      await events.close();
    } finally {
      await storage.close();
      await client.close();
    }
  });

  test("mongodb: a conditional write is one round trip", async () => {
    const client = new MongoClient(serverUrl, { monitorCommands: true });
    const commands: string[] = [];
    client.on("commandStarted", (event) => commands.push(event.commandName));
    const storage = mongoDbStorage({ client, database });
    try {
      const key = { actorType: `trips-${uid()}`, actorId: "1", stateName: "s" };
      let etag = crypto.randomUUID();
      await storage.write({ key, value: bytes(0), etag, expectedEtag: null });
      commands.length = 0;
      const next = crypto.randomUUID();
      await storage.write({ key, value: bytes(1), etag: next, expectedEtag: etag });
      assert.deepEqual(commands, ["findAndModify"], "update with an expected etag");
      etag = next;
      commands.length = 0;
      await storage.write({ key: { ...key, actorId: "2" }, value: bytes(1), etag: crypto.randomUUID(), expectedEtag: null });
      assert.deepEqual(commands, ["update"], "create-only write");
      commands.length = 0;
      assert.equal(await storage.delete({ key, expectedEtag: etag }), true);
      assert.deepEqual(commands, ["delete"], "conditional delete");
    } finally {
      await storage.close();
      await client.close();
    }
  });

  test("mongodb: corrupt documents give CorruptDataError", async () => {
    const client = new MongoClient(serverUrl);
    const storage = mongoDbStorage({ client, database });
    const events = mongoDbEventStore({ client, database });
    try {
      const key = { actorType: `corrupt-${uid()}`, actorId: "1", stateName: "s" };
      await client.db(database).collection("quark_state").insertOne({ _id: encodeKey(key) as never, etag: "e", revision: 1, value: "not bytes" });
      await assert.rejects(storage.read(key), { code: "CORRUPT_DATA" });
      const stream = `corrupt-${uid()}`;
      await events.append(stream, [{ type: "A", data: bytes(1) }], "no_stream");
      await client.db(database).collection("quark_events").insertOne({ _id: `${stream}/0000000000000003` as never, stream, first: 3, last: 3, events: [{ type: "B", data: bytes(3) }] });
      await assert.rejects(async () => {
        for await (const _ of events.read(stream)) { /* drain */ }
      }, { code: "CORRUPT_DATA" }, "a gap between batches is reported, not skipped");
    } finally {
      await events.close();
      await storage.close();
      await client.close();
    }
  });

  test("mongodb: reads from inside a large batch, in pages, return each version once", async () => {
    const events = mongoDbEventStore({ url: serverUrl, database });
    try {
      const stream = `batches-${uid()}`;
      for (let batch = 0; batch < 10; batch++) {
        const appended = Array.from({ length: 50 }, (_, index) => ({ type: "E", data: bytes(batch, index) }));
        await events.append(stream, appended, batch * 50);
      }
      const versions: number[] = [];
      for await (const event of events.read(stream, { fromVersion: 123, pageSize: 7 })) {
        versions.push(event.version);
        assert.deepEqual(event.data, bytes(Math.floor((event.version - 1) / 50), (event.version - 1) % 50));
      }
      assert.deepEqual(versions, Array.from({ length: 378 }, (_, index) => 123 + index));
      assert.equal(await events.version(stream), 500);
    } finally {
      await events.close();
    }
  });

  test("mongodb: transactions are declared false on servers without them", async () => {
    const storage = mongoDbStorage({ url: serverUrl, database });
    try {
      const db = await storage.getInstance();
      const hello = await db.admin().command({ isMaster: 1 });
      if (typeof hello.setName === "string" || hello.msg === "isdbgrid") return; // a replica set or cluster: covered by the suite
      assert.equal(storage.capabilities.transactions, false);
      const key = { actorType: `tx-${uid()}`, actorId: "1", stateName: "s" };
      await assert.rejects(storage.transact([{ kind: "write", key, value: bytes(1), etag: crypto.randomUUID(), expectedEtag: null }]), { code: "CAPABILITY" });
    } finally {
      await storage.close();
    }
  });

  test("mongodb: invalid collection and database names are refused", () => {
    assert.throws(() => mongoDbStorage({ url: serverUrl, collection: "a$b" }), { code: "CONFIGURATION" });
    assert.throws(() => mongoDbStorage({ url: serverUrl, collection: "system.users" }), { code: "CONFIGURATION" });
    assert.throws(() => mongoDbStorage({ url: serverUrl, database: "a.b" }), { code: "CONFIGURATION" });
    assert.throws(() => mongoDbEventStore({ url: serverUrl, eventsCollection: "" }), { code: "CONFIGURATION" });
    assert.throws(() => mongoDbStorage({}), { code: "CONFIGURATION" });
  });
}

test("mongodb: a dead server gives StorageUnavailableError", async () => {
  // Port 1 on loopback: nothing listens there, so the connection is refused at once.
  const clientOptions = { serverSelectionTimeoutMS: 300, connectTimeoutMS: 300 };
  const storage = mongoDbStorage({ url: "mongodb://127.0.0.1:1", clientOptions });
  const events = mongoDbEventStore({ url: "mongodb://127.0.0.1:1", clientOptions });
  try {
    const key = { actorType: "dead", actorId: "1", stateName: "s" };
    await assert.rejects(storage.read(key), (error: Error & { code?: string; cause?: unknown }) => {
      assert.equal(error.code, "STORAGE_UNAVAILABLE");
      assert.match(error.message, /mongodb/);
      assert.ok(error.cause, "the driver's error is kept as cause");
      return true;
    });
    await assert.rejects(storage.write({ key, value: new Uint8Array(1), etag: crypto.randomUUID(), expectedEtag: null }), { code: "STORAGE_UNAVAILABLE" });
    await assert.rejects(events.append("s", [{ type: "A", data: new Uint8Array(1) }], "any"), { code: "STORAGE_UNAVAILABLE" });
  } finally {
    await storage.close();
    await events.close();
  }
});

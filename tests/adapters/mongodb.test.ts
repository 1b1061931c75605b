import { test } from "node:test";
import assert from "node:assert/strict";
import { type Db, MongoClient } from "mongodb";
import { mongoDbEventStore, mongoDbStorage } from "../../adapters/mongodb/mod.ts";
import { loadDriver } from "../../adapters/mongodb/_connection.ts";
import { encodeKey } from "../../src/storage/keys.ts";
import { HOSTILE_IDS, runContentionConformance, runLeaseConformance, runEventStoreConformance, runStorageConformance } from "../../src/testing/mod.ts";

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
  runContentionConformance(test, { name: "mongodb", open: () => mongoDbStorage({ url: serverUrl, database }) });
  runLeaseConformance(test, { name: "mongodb", open: () => mongoDbStorage({ url: serverUrl, database }) });

  const uid = () => crypto.randomUUID().slice(0, 8);
  const bytes = (...values: number[]) => Uint8Array.from(values);
  const HOOKED = new Set(["findOne", "findOneAndUpdate", "updateOne", "deleteOne", "insertOne"]);
  type Hook = (method: string, args: unknown[], result?: unknown) => Promise<void> | void;

  /**
   * A real `Db` whose collections call `before` and `after` around each single-document
   * command, so a test can land another client's write at an exact point between two of the
   * adapter's commands. Every command still runs on the real server.
   */
  function interleaved(db: Db, hooks: { before?: Hook; after?: Hook }): Db {
    return new Proxy(db, {
      get(target, property) {
        if (property !== "collection") {
          const value = Reflect.get(target, property, target);
          return typeof value === "function" ? value.bind(target) : value;
        }
        return (...collectionArgs: Parameters<Db["collection"]>) => {
          const collection = target.collection(...collectionArgs);
          return new Proxy(collection, {
            get(inner, name) {
              const value = Reflect.get(inner, name, inner);
              if (typeof value !== "function") return value;
              if (typeof name !== "string" || !HOOKED.has(name)) return value.bind(inner);
              return async (...args: unknown[]) => {
                await hooks.before?.(name, args);
                const result = await value.apply(inner, args);
                await hooks.after?.(name, args, result);
                return result;
              };
            },
          });
        };
      },
    });
  }

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
      await assert.rejects(events.append({ $gt: "" } as unknown as string, [{ type: "X", data: bytes() }], "any"), { code: "INVALID_KEY" });
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

  test("mongodb: batches written in the 0.1 layout still read, without metadata or createdAt", async () => {
    const client = new MongoClient(serverUrl);
    const events = mongoDbEventStore({ client, database });
    try {
      const stream = `old-${uid()}`;
      // The 0.1 document: no createdAt, events without metadata.
      await client.db(database).collection("quark_events").insertOne({
        _id: `${stream}/0000000000000002` as never,
        stream,
        first: 1,
        last: 2,
        events: [{ type: "A", data: bytes(1) }, { type: "B", data: bytes(2) }],
      });
      await events.append(stream, [{ type: "C", data: bytes(3), metadata: bytes(9) }], 2);
      const read = [];
      for await (const event of events.read(stream)) read.push(event);
      assert.deepEqual(read.slice(0, 2).map((event) => ({ ...event })), [
        { stream, version: 1, type: "A", data: bytes(1) },
        { stream, version: 2, type: "B", data: bytes(2) },
      ]);
      assert.deepEqual(read[2]!.metadata, bytes(9));
      assert.ok(read[2]!.createdAt instanceof Date);
    } finally {
      await events.close();
      await client.close();
    }
  });

  test("mongodb: createdAt comes from the server's clock, not the client's", async () => {
    const events = mongoDbEventStore({ url: serverUrl, database });
    const RealDate = Date;
    try {
      const stream = `clock-${uid()}`;
      await events.version(stream);
      // A client clock an hour fast, for Date.now() and for new Date() alike.
      const shifted = class extends RealDate {
        constructor(...args: []) {
          if (args.length === 0) super(RealDate.now() + 3_600_000);
          else super(...(args as unknown as [number]));
        }
        static override now = () => RealDate.now() + 3_600_000;
      };
      globalThis.Date = shifted as DateConstructor;
      await events.append(stream, [{ type: "E", data: bytes(1) }], "no_stream");
      globalThis.Date = RealDate;
      for await (const event of events.read(stream)) {
        assert.ok(Math.abs(event.createdAt!.getTime() - RealDate.now()) < 600_000, "not the client's shifted clock");
      }
    } finally {
      globalThis.Date = RealDate;
      await events.close();
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

  test("mongodb: lone surrogates and NUL are refused by every operation, so \\uD800 never reads the \\uFFFD row", async () => {
    const storage = mongoDbStorage({ url: serverUrl, database });
    const events = mongoDbEventStore({ url: serverUrl, database });
    try {
      const actorType = `surrogate-${uid()}`;
      await storage.write({ key: { actorType, actorId: "\uFFFD", stateName: "s" }, value: bytes(1), etag: crypto.randomUUID(), expectedEtag: null });
      for (const actorId of ["\uD800", "\uDC00", "a\u0000b"]) {
        const key = { actorType, actorId, stateName: "s" };
        await assert.rejects(storage.read(key), { code: "INVALID_KEY" }, `read of ${JSON.stringify(actorId)}`);
        await assert.rejects(storage.delete({ key, lastWriteWins: true }), { code: "INVALID_KEY" });
        await assert.rejects(storage.delete({ key, expectedEtag: null }), { code: "INVALID_KEY" });
        await assert.rejects(storage.list({ actorType, actorIdPrefix: actorId }), { code: "INVALID_KEY" });
      }
      await assert.rejects(storage.list({ actorType: `${actorType}\uD800` }), { code: "INVALID_KEY" });
      assert.deepEqual((await storage.read({ actorType, actorId: "\uFFFD", stateName: "s" }))?.value, bytes(1), "the U+FFFD row is untouched");

      const stream = `surrogate-${uid()}`;
      await events.append(`${stream}\uFFFD`, [{ type: "A", data: bytes(1) }], "no_stream");
      for (const bad of [`${stream}\uD800`, `${stream}\uDC00`, `${stream}\u0000`]) {
        await assert.rejects(events.append(bad, [{ type: "A", data: bytes(2) }], "any"), { code: "INVALID_KEY" });
        await assert.rejects(events.version(bad), { code: "INVALID_KEY" });
        await assert.rejects(events.saveSnapshot(bad, { version: 1, data: bytes(1) }), { code: "INVALID_KEY" });
        await assert.rejects(events.loadSnapshot(bad), { code: "INVALID_KEY" });
        await assert.rejects(async () => {
          for await (const _ of events.read(bad)) break;
        }, { code: "INVALID_KEY" });
      }
      assert.equal(await events.version(`${stream}\uFFFD`), 1, "the U+FFFD stream keeps its one event");
    } finally {
      await events.close();
      await storage.close();
    }
  });

  test("mongodb: keys and streams over maxKeyBytes are refused before anything is sent", async () => {
    const storage = mongoDbStorage({ url: serverUrl, database });
    const events = mongoDbEventStore({ url: serverUrl, database });
    try {
      const max = storage.capabilities.maxKeyBytes;
      assert.equal(max, 32 * 1024, "the key budget the value limit leaves inside a 16 MiB document");
      const key = { actorType: `long-${uid()}`, actorId: "é".repeat(max! / 2), stateName: "s" };
      await assert.rejects(storage.write({ key, value: bytes(1), etag: crypto.randomUUID(), expectedEtag: null }), { code: "INVALID_KEY" });
      await assert.rejects(storage.read(key), { code: "INVALID_KEY" });
      const stream = "é".repeat(max! / 2 + 1);
      await assert.rejects(events.append(stream, [{ type: "A", data: bytes(1) }], "any"), { code: "INVALID_KEY" });
      await assert.rejects(events.version(stream), { code: "INVALID_KEY" });
    } finally {
      await events.close();
      await storage.close();
    }
  });

  test("mongodb: a retried create whose first attempt landed succeeds when a delete lands before the follow-up read", async () => {
    const client = new MongoClient(serverUrl);
    const other = client.db(database).collection("quark_state");
    const key = { actorType: `retry-${uid()}`, actorId: "1", stateName: "s" };
    const id = encodeKey(key);
    let armed = false;
    const db = interleaved(client.db(database), {
      async before(method, args) {
        // The create's upsert collided with its own first attempt; before the adapter reads
        // what collided, another writer deletes the document.
        if (armed && method === "findOne" && (args[0] as { _id?: unknown })._id === id) {
          armed = false;
          await other.deleteOne({ _id: id as never });
        }
      },
    });
    const storage = mongoDbStorage({ client: db });
    try {
      const request = { key, value: bytes(1, 2), etag: crypto.randomUUID(), expectedEtag: null };
      await storage.write(request);
      armed = true;
      const retried = await storage.write(request);
      assert.equal(retried.etag, request.etag);
      const stored = await storage.read(key);
      assert.equal(stored?.etag, request.etag);
      assert.deepEqual(stored?.value, request.value);
    } finally {
      await storage.close();
      await client.close();
    }
  });

  test("mongodb: a refused write or delete never reports the expected etag as the one found", async () => {
    const client = new MongoClient(serverUrl);
    const other = mongoDbStorage({ client, database });
    const key = { actorType: `contradiction-${uid()}`, actorId: "1", stateName: "s" };
    const id = encodeKey(key);
    let reuse: string | undefined;
    const db = interleaved(client.db(database), {
      async before(method, args) {
        // After the conditional command missed, a writer stores the very etag the refused
        // call expected, just before the adapter's follow-up read.
        if (reuse !== undefined && method === "findOne" && (args[0] as { _id?: unknown })._id === id) {
          const etag = reuse;
          reuse = undefined;
          await other.write({ key, value: bytes(9), etag, lastWriteWins: true });
        }
      },
    });
    const storage = mongoDbStorage({ client: db });
    const consistent = (expected: string) => (error: { code?: string; actualEtag?: unknown }) => {
      assert.equal(error.code, "STATE_CONFLICT");
      assert.notEqual(error.actualEtag, expected, "a conflict never names the expected etag as found");
      return true;
    };
    try {
      await storage.write({ key, value: bytes(1), etag: crypto.randomUUID(), expectedEtag: null });
      const expected = crypto.randomUUID();
      reuse = expected;
      const write = { key, value: bytes(2), etag: crypto.randomUUID(), expectedEtag: expected };
      await storage.write(write).then(
        (result) => assert.equal(result.etag, write.etag),
        (error) => consistent(expected)(error),
      );
      const stale = crypto.randomUUID();
      reuse = stale;
      await storage.delete({ key, expectedEtag: stale }).then(
        (deleted) => assert.equal(deleted, true),
        (error) => consistent(stale)(error),
      );
    } finally {
      await storage.close();
      await other.close();
      await client.close();
    }
  });

  test("mongodb: an append conflict never reports the expected version as the one found", async () => {
    const client = new MongoClient(serverUrl);
    const other = mongoDbEventStore({ client, database });
    const stream = `contradiction-${uid()}`;
    let armed = false;
    const db = interleaved(client.db(database), {
      async after(method, args) {
        // The point read found no batch ending at 87; another appender then brings the
        // stream to 87 before the adapter looks at the head.
        if (armed && method === "findOne" && typeof (args[0] as { _id?: unknown })._id === "string") {
          armed = false;
          await other.append(stream, [{ type: "E", data: bytes(87) }], 86);
        }
      },
    });
    const store = mongoDbEventStore({ client: db });
    try {
      await other.append(stream, Array.from({ length: 86 }, (_, index) => ({ type: "E", data: bytes(index) })), "no_stream");
      armed = true;
      await store.append(stream, [{ type: "E", data: bytes(88) }], 87).then(
        (result) => assert.equal(result.nextVersion, 88),
        (error: { code?: string; actualVersion?: unknown; message?: string }) => {
          assert.equal(error.code, "EVENT_STORE_CONFLICT");
          assert.notEqual(error.actualVersion, 87, `the conflict contradicts itself: ${error.message}`);
        },
      );
      assert.equal(await other.version(stream), 88);
    } finally {
      await store.close();
      await other.close();
      await client.close();
    }
  });

  test("mongodb: endless contention ends in ContentionError, for writes and for 'any' appends", async () => {
    const client = new MongoClient(serverUrl);
    const raw = client.db(database).collection("quark_state");
    const key = { actorType: `contention-${uid()}`, actorId: "1", stateName: "s" };
    const id = encodeKey(key);
    const stream = `contention-${uid()}`;
    const rival = mongoDbEventStore({ client, database });
    const db = interleaved(client.db(database), {
      async before(method, args) {
        const filter = args[0] as { _id?: unknown };
        // Every create finds a rival document in its way, which is gone again when it looks.
        if (method === "updateOne" && filter._id === id) {
          await raw.insertOne({ _id: id as never, etag: crypto.randomUUID(), revision: 1, value: bytes(0) });
        }
        if (method === "findOne" && filter._id === id) await raw.deleteOne({ _id: id as never });
      },
      async after(method, args) {
        // Every head read of the stream is overtaken by a rival append.
        if (method === "findOne" && typeof (args[0] as { _id?: unknown })._id === "object") {
          await rival.append(stream, [{ type: "Rival", data: bytes(1) }], "any");
        }
      },
    });
    const storage = mongoDbStorage({ client: db });
    const events = mongoDbEventStore({ client: db, maxAnyRetries: 3 });
    try {
      await assert.rejects(storage.write({ key, value: bytes(1), etag: crypto.randomUUID(), expectedEtag: null }), (error: Error & { code?: string; attempts?: number }) => {
        assert.equal(error.code, "CONTENTION", error.message);
        assert.ok((error.attempts ?? 0) > 1);
        return true;
      });
      await assert.rejects(events.append(stream, [{ type: "Mine", data: bytes(2) }], "any"), (error: Error & { code?: string }) => {
        assert.equal(error.code, "CONTENTION", error.message);
        return true;
      });
    } finally {
      await events.close();
      await storage.close();
      await rival.close();
      await client.close();
    }
  });

  test("mongodb: expiry is judged by the server's clock, not the client's", async () => {
    const realNow = Date.now;
    const storage = mongoDbStorage({ url: serverUrl, database });
    const actorType = `clock-${uid()}`;
    try {
      await storage.getInstance();
      // A client clock an hour ahead would read every fresh TTL as expired; an hour behind,
      // it would keep an expired one alive.
      Date.now = () => realNow() + 3_600_000;
      const ahead = { actorType, actorId: "ahead", stateName: "s" };
      await storage.write({ key: ahead, value: bytes(1), etag: crypto.randomUUID(), expectedEtag: null, ttlMs: 60_000 });
      const stored = await storage.read(ahead);
      assert.deepEqual(stored?.value, bytes(1), "a fresh 60 s TTL is live although the client clock is an hour ahead");
      const serverExpiry = stored!.expiresAt!;
      assert.ok(Math.abs(serverExpiry - (realNow() + 60_000)) < 5_000, `expiresAt ${new Date(serverExpiry).toISOString()} is server time + 60 s`);
      assert.equal((await storage.list({ actorType })).keys.length, 1, "listed while live");
      Date.now = () => realNow() - 3_600_000;
      const behind = { actorType, actorId: "behind", stateName: "s" };
      await storage.write({ key: behind, value: bytes(2), etag: crypto.randomUUID(), expectedEtag: null, ttlMs: 300 });
      await new Promise((resolve) => setTimeout(resolve, 600));
      assert.equal(await storage.read(behind), null, "expired by the server's clock although the client clock is an hour behind");
      await storage.write({ key: behind, value: bytes(3), etag: crypto.randomUUID(), expectedEtag: null });
      assert.deepEqual((await storage.read(behind))?.value, bytes(3), "a create-only write replaces the expired document");
    } finally {
      Date.now = realNow;
      await storage.close();
    }
  });

  test("mongodb: permanent input errors are InvalidInputError or ValueTooLargeError, never StorageUnavailableError", async () => {
    const storage = mongoDbStorage({ url: serverUrl, database });
    const events = mongoDbEventStore({ url: serverUrl, database });
    try {
      const key = { actorType: `input-${uid()}`, actorId: "1", stateName: "s" };
      await assert.rejects(storage.write({ key, value: bytes(1), etag: crypto.randomUUID(), expectedEtag: null, ttlMs: 1e20 }), { code: "INVALID_INPUT" });
      assert.equal(await storage.read(key), null, "nothing stored for an out-of-range TTL");
      await assert.rejects(events.saveSnapshot(`input-${uid()}`, { version: 1, data: new Uint8Array(17 * 1024 * 1024) }), { code: "VALUE_TOO_LARGE" });
    } finally {
      await events.close();
      await storage.close();
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

test("mongodb: a missing driver package is a ConfigurationError naming the install command", async () => {
  await assert.rejects(loadDriver(() => import("quark-no-such-driver" as string)), (error: Error & { code?: string }) => {
    assert.equal(error.code, "CONFIGURATION");
    assert.match(error.message, /npm install mongodb/);
    return true;
  });
});

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
      assert.match(error.message, /during read\b/, "names the operation that was called");
      assert.match(error.message, /127\.0\.0\.1:1\b/, "names the endpoint");
      assert.match(error.message, /ECONNREFUSED/, "names the root cause");
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

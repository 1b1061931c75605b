import { test } from "node:test";
import assert from "node:assert/strict";
import {
  DeleteTableCommand,
  DescribeTimeToLiveCommand,
  DynamoDBClient,
  type DynamoDBClientConfig,
  GetItemCommand,
  PutItemCommand,
  CreateTableCommand,
} from "@aws-sdk/client-dynamodb";
import { dynamoDbEventStore, dynamoDbStorage } from "../../adapters/dynamodb/mod.ts";
import { runContentionConformance, runLeaseConformance, runEventStoreConformance, runStorageConformance } from "../../src/testing/mod.ts";
import { isQuarkError } from "../../src/errors.ts";

const env = (globalThis as { process?: { env: Record<string, string | undefined> } }).process?.env ?? {};
// scripts/services/moto.sh runs one server per runtime, since the runtimes' tests run side by side.
const runtime = "Deno" in globalThis ? "deno" : "Bun" in globalThis ? "bun" : "node";
const nodeMajor = Number(globalThis.process?.versions?.node?.split(".")[0] ?? 0);
const runtimeIndex = runtime === "deno" ? 2 : runtime === "bun" ? 3 : nodeMajor >= 22 ? 1 : 0;
const endpoints = (env.DYNAMODB_ENDPOINTS ?? "").split(",").filter(Boolean);
const endpoint = endpoints.length > 0 ? endpoints[runtimeIndex % endpoints.length] : env.DYNAMODB_ENDPOINT;

if (!endpoint) {
  const reason = "DYNAMODB_ENDPOINT is not set (start moto with scripts/services/moto.sh start)";
  console.log(`SKIP dynamodb: ${reason}`);
  test("dynamodb conformance", { skip: reason }, () => {});
} else {
  const clientConfig: DynamoDBClientConfig = {
    endpoint,
    region: "us-east-1",
    credentials: { accessKeyId: "quark-test", secretAccessKey: "quark-test" },
  };
  // One table per run and purpose, so a run never sees another's data and moto's
  // per-transaction table copies stay small.
  const run = crypto.randomUUID().slice(0, 8);
  const stateTable = `quark_state_${run}`;
  const eventTable = `quark_events_${run}`;
  const admin = new DynamoDBClient(clientConfig);
  const tablesReady = Promise.all([
    dynamoDbStorage({ clientConfig, tableName: stateTable }).ensureTable(),
    dynamoDbEventStore({ clientConfig, tableName: eventTable }).ensureTable(),
  ]);

  runStorageConformance(test, {
    name: "dynamodb",
    open: async () => {
      await tablesReady;
      return dynamoDbStorage({ clientConfig, tableName: stateTable });
    },
    // moto handles one request at a time, several milliseconds each here. With the default
    // 40 ms ceiling, 64 writers offer far more attempts than it serves, queueing makes every
    // read stale, and the race crawls; a wider ceiling lets one writer through at a time
    // (measured: 3 increments/s at 40 ms, 8/s at 3 s).
    raceRetry: { maxAttempts: 5000, baseDelayMs: 10, maxDelayMs: 3000 },
  });
  runContentionConformance(test, {
    name: "dynamodb",
    open: async () => {
      await tablesReady;
      return dynamoDbStorage({ clientConfig, tableName: stateTable });
    },
  });
  runLeaseConformance(test, {
    name: "dynamodb",
    open: async () => {
      await tablesReady;
      return dynamoDbStorage({ clientConfig, tableName: stateTable });
    },
  });
  runEventStoreConformance(test, {
    name: "dynamodb",
    open: async () => {
      await tablesReady;
      // The kit races 32 "any" appenders on one stream; moto serves one request at a time and
      // four runtimes share the machine, so the default bound of 64 attempts can run out (a
      // ContentionError, as designed). The race is about gap-free ordering, not the bound.
      return dynamoDbEventStore({ clientConfig, tableName: eventTable, maxAppendAttempts: 1000 });
    },
  });

  /** A client that counts HTTP requests, retries included (the deserialize step runs per attempt). */
  function countingClient(): { client: DynamoDBClient; requests: () => number } {
    const client = new DynamoDBClient(clientConfig);
    let requests = 0;
    client.middlewareStack.add((next) => (args) => {
      requests++;
      return next(args);
    }, { step: "deserialize", name: "countRequests" });
    return { client, requests: () => requests };
  }

  const key = (actorId: string, stateName = "s") => ({ actorType: `rt-${run}`, actorId, stateName });

  test("dynamodb: each conditional write and delete is one HTTP round trip", async () => {
    await tablesReady;
    const { client, requests } = countingClient();
    const storage = dynamoDbStorage({ client, tableName: stateTable });
    const k = key(crypto.randomUUID());
    const roundTrips = async (action: () => Promise<unknown>) => {
      const before = requests();
      await action().catch(() => {});
      return requests() - before;
    };
    const create = { key: k, value: new Uint8Array([1]), etag: crypto.randomUUID(), expectedEtag: null };
    assert.equal(await roundTrips(() => storage.write(create)), 1, "create-only write");
    assert.equal(await roundTrips(() => storage.write(create)), 1, "repeated create (lost reply)");
    const update = { key: k, value: new Uint8Array([2]), etag: crypto.randomUUID(), expectedEtag: create.etag };
    assert.equal(await roundTrips(() => storage.write(update)), 1, "conditional update");
    // The conflict names the stored etag without a second request: DynamoDB returns the item.
    const error = await storage.write({ ...update, etag: crypto.randomUUID() }).catch((caught) => caught);
    assert.ok(isQuarkError(error, "STATE_CONFLICT"));
    assert.equal((error as { actualEtag?: string }).actualEtag, update.etag);
    assert.equal(await roundTrips(() => storage.write({ ...update, etag: crypto.randomUUID() })), 1, "refused write");
    assert.equal(await roundTrips(() => storage.delete({ key: k, expectedEtag: update.etag })), 1, "conditional delete");
    assert.equal(await roundTrips(() => storage.read(k)), 1, "read");
    await storage.close();
    client.destroy();
  });

  test("dynamodb: a repeated update keeps its revision", async () => {
    await tablesReady;
    const storage = dynamoDbStorage({ clientConfig, tableName: stateTable });
    const k = key(crypto.randomUUID());
    const first = await storage.write({ key: k, value: new Uint8Array([1]), etag: crypto.randomUUID(), lastWriteWins: true });
    const again = { key: k, value: new Uint8Array([2]), etag: crypto.randomUUID(), lastWriteWins: true as const };
    assert.equal((await storage.write(again)).revision, first.revision + 1);
    assert.equal((await storage.write(again)).revision, first.revision + 1, "a repeated last-write-wins write");
    assert.equal((await storage.read(k))?.revision, first.revision + 1);
    await storage.close();
  });

  test("dynamodb: limits are enforced before anything is sent", async () => {
    await tablesReady;
    const { client, requests } = countingClient();
    const storage = dynamoDbStorage({ client, tableName: stateTable });
    const events = dynamoDbEventStore({ client, tableName: eventTable });
    assert.equal(storage.capabilities.maxTransactionOperations, 100);
    const tooMany = Array.from({ length: 101 }, (_, index) => ({
      kind: "write" as const,
      key: key("big", `s${index}`),
      value: new Uint8Array([1]),
      etag: crypto.randomUUID(),
      expectedEtag: null,
    }));
    await assert.rejects(storage.transact(tooMany), (error) => isQuarkError(error, "CAPABILITY") && /limit is 100/.test(error.message));
    await assert.rejects(
      storage.write({ key: key("big"), value: new Uint8Array(400_001), etag: crypto.randomUUID(), expectedEtag: null }),
      (error) => isQuarkError(error, "VALUE_TOO_LARGE"),
    );
    const invalidKey = (limit: number) => (error: unknown) => isQuarkError(error, "INVALID_KEY") && (error as { limit?: number }).limit === limit;
    await assert.rejects(
      storage.write({ key: key("x".repeat(1100)), value: new Uint8Array(1), etag: crypto.randomUUID(), expectedEtag: null }),
      invalidKey(1025),
    );
    assert.equal(storage.capabilities.maxKeyBytes, 1025, "one limit that fits both the 2,048-byte partition key and the 1,024-byte sort key");
    await assert.rejects(storage.read({ actorType: "t".repeat(1022), actorId: "1", stateName: "s" }), invalidKey(1025));
    await assert.rejects(storage.delete({ key: key("x".repeat(1100)), lastWriteWins: true }), invalidKey(1025));
    await assert.rejects(storage.list({ actorType: "t".repeat(1025) }), invalidKey(1025));
    await assert.rejects(events.version("s".repeat(2042)), invalidKey(2041));
    for (const bad of ["\uD800", "a\0b"]) {
      await assert.rejects(storage.read(key(bad)), (error) => isQuarkError(error, "INVALID_KEY"));
      await assert.rejects(storage.delete({ key: key(bad), expectedEtag: null }), (error) => isQuarkError(error, "INVALID_KEY"));
      await assert.rejects(storage.list({ actorType: `t${bad}` }), (error) => isQuarkError(error, "INVALID_KEY"));
      await assert.rejects(storage.list({ actorType: "t", actorIdPrefix: bad }), (error) => isQuarkError(error, "INVALID_KEY"));
      await assert.rejects(events.append(`s${bad}`, [{ type: "E", data: new Uint8Array(1) }], "any"), (error) => isQuarkError(error, "INVALID_KEY"));
      await assert.rejects(events.loadSnapshot(`s${bad}`), (error) => isQuarkError(error, "INVALID_KEY"));
    }
    const hundred = Array.from({ length: 100 }, () => ({ type: "E", data: new Uint8Array(1) }));
    await assert.rejects(events.append(`s-${run}`, hundred, "any"), (error) => isQuarkError(error, "CAPABILITY") && /99 events/.test(error.message));
    // DynamoDB refuses a transaction over 4 MB: checked up front, for states and for events.
    const limit = storage.capabilities.maxTransactionBytes;
    assert.ok(limit !== undefined && limit < 4 * 1024 * 1024 - 100 * 3072);
    const large = Array.from({ length: 10 }, (_, index) => ({
      kind: "write" as const,
      key: key("big", `l${index}`),
      value: new Uint8Array(400_000),
      etag: crypto.randomUUID(),
      expectedEtag: null,
    }));
    await assert.rejects(storage.transact(large), (error) => isQuarkError(error, "CAPABILITY") && /bytes/.test(error.message));
    const heavy = Array.from({ length: 10 }, () => ({ type: "E", data: new Uint8Array(399_000) }));
    await assert.rejects(events.append(`s-${run}`, heavy, "any"), (error) => isQuarkError(error, "CAPABILITY") && /4 MB/.test(error.message));
    assert.equal(requests(), 0, "no request was sent");
    client.destroy();
  });

  test("dynamodb: the largest value fits beside the longest keys", async () => {
    await tablesReady;
    const storage = dynamoDbStorage({ clientConfig, tableName: stateTable });
    // The longest key: 1,025 bytes of encodeKey, most of it the sort key (escaped id, "/", state name).
    const k = { actorType: "t".repeat(20), actorId: "i".repeat(1000), stateName: "n".repeat(3) };
    const value = crypto.getRandomValues(new Uint8Array(65536));
    const large = new Uint8Array(storage.capabilities.maxValueBytes);
    for (let offset = 0; offset < large.length; offset += value.length) large.set(value.subarray(0, large.length - offset), offset);
    const { etag } = await storage.write({ key: k, value: large, etag: crypto.randomUUID(), expectedEtag: null, ttlMs: 60_000 });
    const stored = await storage.read(k);
    assert.equal(stored?.etag, etag);
    assert.deepEqual(stored?.value, large);
    const listed = await storage.list({ actorType: k.actorType, actorIdPrefix: "iii" });
    assert.deepEqual(listed.keys, [k]);
    await storage.close();
  });

  test("dynamodb: TTL is stored in epoch seconds for DynamoDB's own expiry", async () => {
    await tablesReady;
    const storage = dynamoDbStorage({ clientConfig, tableName: stateTable });
    const k = key(crypto.randomUUID());
    const before = Date.now();
    await storage.write({ key: k, value: new Uint8Array([1]), etag: crypto.randomUUID(), expectedEtag: null, ttlMs: 90_000 });
    const expiresAt = (await storage.read(k))?.expiresAt ?? 0;
    assert.ok(expiresAt >= before + 90_000 && expiresAt <= Date.now() + 90_000);
    const raw = await admin.send(new GetItemCommand({ TableName: stateTable, Key: { pk: { S: `state#${k.actorType}` }, sk: { S: `${k.actorId}/s` } } }));
    assert.equal(raw.Item?.ttl?.N, String(Math.ceil(expiresAt / 1000)));
    const ttl = await admin.send(new DescribeTimeToLiveCommand({ TableName: stateTable }));
    assert.equal(ttl.TimeToLiveDescription?.AttributeName, "ttl");
    // A later write without TTL removes both attributes.
    const stored = await storage.read(k);
    await storage.write({ key: k, value: new Uint8Array([2]), etag: crypto.randomUUID(), expectedEtag: stored!.etag });
    const after = await admin.send(new GetItemCommand({ TableName: stateTable, Key: { pk: { S: `state#${k.actorType}` }, sk: { S: `${k.actorId}/s` } } }));
    assert.equal(after.Item?.ttl, undefined);
    assert.equal(after.Item?.expiresAt, undefined);
    await storage.close();
  });

  test("dynamodb: a malformed item reads as CorruptDataError", async () => {
    await tablesReady;
    const storage = dynamoDbStorage({ clientConfig, tableName: stateTable });
    const k = key(crypto.randomUUID());
    await admin.send(new PutItemCommand({
      TableName: stateTable,
      Item: { pk: { S: `state#${k.actorType}` }, sk: { S: `${k.actorId}/s` }, v: { S: "not bytes" }, etag: { S: "e" }, rev: { N: "1" } },
    }));
    await assert.rejects(storage.read(k), (error) => isQuarkError(error, "CORRUPT_DATA"));
    await storage.close();
  });

  test("dynamodb: events written in the 0.1 layout still read, without metadata or createdAt", async () => {
    await tablesReady;
    const events = dynamoDbEventStore({ clientConfig, tableName: eventTable });
    const stream = `old-${crypto.randomUUID()}`;
    // The 0.1 items: a head and an event without metadata or createdAt.
    await admin.send(new PutItemCommand({ TableName: eventTable, Item: { pk: { S: `stream#${stream}` }, sk: { S: "head" }, version: { N: "1" } } }));
    await admin.send(new PutItemCommand({
      TableName: eventTable,
      Item: {
        pk: { S: `stream#${stream}` },
        sk: { S: "e0000000000000001" },
        version: { N: "1" },
        type: { S: "Old" },
        data: { B: new Uint8Array([7]) },
        appendId: { S: "a" },
      },
    }));
    await events.append(stream, [{ type: "New", data: new Uint8Array([8]), metadata: new Uint8Array([9]) }], 1);
    const read = [];
    for await (const event of events.read(stream)) read.push(event);
    assert.deepEqual({ ...read[0]! }, { stream, version: 1, type: "Old", data: new Uint8Array([7]) });
    assert.deepEqual(read[1]!.metadata, new Uint8Array([9]));
    assert.ok(read[1]!.createdAt instanceof Date);
    await events.close();
  });

  test("dynamodb: createdAt is the SDK's skew-corrected clock", async () => {
    await tablesReady;
    const client = new DynamoDBClient(clientConfig);
    const events = dynamoDbEventStore({ client, tableName: eventTable });
    const stream = `clock-${crypto.randomUUID()}`;
    const realNow = Date.now;
    try {
      // This host's clock runs an hour fast; the SDK learns the offset from the server's Date header.
      Date.now = () => realNow() + 3_600_000;
      await events.version(stream);
      await events.append(stream, [{ type: "E", data: new Uint8Array([1]) }], "no_stream");
      Date.now = realNow;
      for await (const event of events.read(stream)) {
        assert.ok(Math.abs(event.createdAt!.getTime() - realNow()) < 600_000, `corrected: ${event.createdAt!.toISOString()}`);
      }
    } finally {
      Date.now = realNow;
      await events.close();
      client.destroy();
    }
  });

  test("dynamodb: table names are validated and a missing table is named", async () => {
    for (const tableName of ["ab", "quark; DROP", "quark state", "a".repeat(256), "täble"]) {
      assert.throws(() => dynamoDbStorage({ clientConfig, tableName }), (error) => isQuarkError(error, "CONFIGURATION"));
      assert.throws(() => dynamoDbEventStore({ clientConfig, tableName }), (error) => isQuarkError(error, "CONFIGURATION"));
    }
    const missing = dynamoDbStorage({ clientConfig, tableName: `missing_${run}` });
    await assert.rejects(missing.read(key("1")), (error) => isQuarkError(error, "CONFIGURATION") && /ensureTable/.test(error.message));
    await missing.close();
  });

  test("dynamodb: createTable makes the table on first use, once, even when racing", async () => {
    const tableName = `quark_auto_${run}`;
    const stores = Array.from({ length: 4 }, () => dynamoDbEventStore({ clientConfig, tableName, createTable: true }));
    await Promise.all(stores.map((store, index) => store.append(`auto-${index}`, [{ type: "E", data: new Uint8Array([index]) }], "no_stream")));
    assert.deepEqual(await Promise.all(stores.map((store, index) => store.version(`auto-${index}`))), [1, 1, 1, 1]);
    await Promise.all(stores.map((store) => store.close()));
    const wrong = `quark_wrong_${run}`;
    await admin.send(new CreateTableCommand({
      TableName: wrong,
      BillingMode: "PAY_PER_REQUEST",
      AttributeDefinitions: [{ AttributeName: "id", AttributeType: "S" }],
      KeySchema: [{ AttributeName: "id", KeyType: "HASH" }],
    }));
    await assert.rejects(dynamoDbStorage({ clientConfig, tableName: wrong }).ensureTable(), (error) => isQuarkError(error, "CONFIGURATION"));
    await admin.send(new DeleteTableCommand({ TableName: tableName }));
    await admin.send(new DeleteTableCommand({ TableName: wrong }));
  });

  test("dynamodb: the server rolls back a cancelled transaction (moto wrapper sanity)", async () => {
    await tablesReady;
    // scripts/services/moto_serial.py replaces moto's whole-table rollback with a per-item
    // one; here the first put applies before the second item's condition fails.
    const { TransactWriteItemsCommand } = await import("@aws-sdk/client-dynamodb");
    const first = { pk: { S: `rollback-${run}` }, sk: { S: crypto.randomUUID() } };
    const second = { pk: { S: `rollback-${run}` }, sk: { S: crypto.randomUUID() } };
    await admin.send(new PutItemCommand({ TableName: stateTable, Item: { ...second, n: { N: "1" } } }));
    await assert.rejects(admin.send(new TransactWriteItemsCommand({
      TransactItems: [
        { Put: { TableName: stateTable, Item: { ...first, n: { N: "1" } } } },
        { Update: { TableName: stateTable, Key: second, UpdateExpression: "SET n = :two", ConditionExpression: "n = :zero", ExpressionAttributeValues: { ":two": { N: "2" }, ":zero": { N: "0" } } } },
      ],
    })), (error: Error) => error.name === "TransactionCanceledException");
    assert.equal((await admin.send(new GetItemCommand({ TableName: stateTable, Key: first, ConsistentRead: true }))).Item, undefined);
    assert.equal((await admin.send(new GetItemCommand({ TableName: stateTable, Key: second, ConsistentRead: true }))).Item?.n?.N, "1");
  });

  test("dynamodb: a dead endpoint gives StorageUnavailableError", async () => {
    const dead: DynamoDBClientConfig = {
      ...clientConfig,
      endpoint: "http://127.0.0.1:9",
      maxAttempts: 1,
      requestHandler: { connectionTimeout: 1000, requestTimeout: 2000 },
    };
    const storage = dynamoDbStorage({ clientConfig: dead, tableName: stateTable });
    const events = dynamoDbEventStore({ clientConfig: dead, tableName: eventTable });
    const unavailable = (error: unknown) =>
      isQuarkError(error, "STORAGE_UNAVAILABLE") && /dynamodb/.test((error as Error).message) && /127\.0\.0\.1:9/.test((error as Error).message) &&
      (error as Error).cause !== undefined;
    await assert.rejects(storage.read(key("1")), unavailable);
    await assert.rejects(storage.write({ key: key("1"), value: new Uint8Array(1), etag: crypto.randomUUID(), expectedEtag: null }), unavailable);
    await assert.rejects(storage.list({ actorType: "t" }), unavailable);
    await assert.rejects(events.append("s", [{ type: "E", data: new Uint8Array(1) }], "any"), unavailable);
    await assert.rejects(events.version("s"), unavailable);
    await storage.close();
    await events.close();
  });

  /**
   * A client that loses the reply of the first `times` requests of `command`: the request
   * reaches moto and applies, then the SDK sees a timeout and sends it again, as it does
   * when a connection drops after the server answered.
   */
  function losingClient(command: string, times = 1): DynamoDBClient {
    const client = new DynamoDBClient({ ...clientConfig, retryStrategy: undefined, maxAttempts: 3 });
    let remaining = times;
    client.middlewareStack.add((next, context) => async (args) => {
      const result = await next(args);
      if (context.commandName === command && remaining-- > 0) {
        throw Object.assign(new Error("Simulated lost reply"), { name: "TimeoutError" });
      }
      return result;
    }, { step: "deserialize", name: "loseReply" });
    return client;
  }

  test("dynamodb: requests the SDK re-sends after a lost reply take effect once and report it", async () => {
    await tablesReady;
    const plain = dynamoDbStorage({ clientConfig, tableName: stateTable });
    const k = key(crypto.randomUUID());
    const { etag } = await plain.write({ key: k, value: new Uint8Array([1]), etag: crypto.randomUUID(), expectedEtag: null });
    const deleting = dynamoDbStorage({ client: losingClient("DeleteItemCommand"), tableName: stateTable });
    assert.equal(await deleting.delete({ key: k, expectedEtag: etag }), true, "a re-sent conditional delete that applied reports true");
    await plain.write({ key: k, value: new Uint8Array([2]), etag: crypto.randomUUID(), expectedEtag: null });
    assert.equal(await deleting.delete({ key: k, lastWriteWins: true }), true, "a re-sent unconditional delete that applied reports true");
    const writing = dynamoDbStorage({ client: losingClient("UpdateItemCommand"), tableName: stateTable });
    const written = await writing.write({ key: k, value: new Uint8Array([3]), etag: crypto.randomUUID(), expectedEtag: null });
    assert.equal(written.revision, 1);
    const transacting = dynamoDbStorage({ client: losingClient("TransactWriteItemsCommand"), tableName: stateTable });
    const [updated] = await transacting.transact([
      { kind: "write", key: k, value: new Uint8Array([4]), etag: crypto.randomUUID(), expectedEtag: written.etag },
      { kind: "write", key: key(crypto.randomUUID()), value: new Uint8Array([5]), etag: crypto.randomUUID(), expectedEtag: null },
    ]);
    assert.equal(updated?.revision, 2, "a re-sent transaction applies once");
    assert.equal((await plain.read(k))?.revision, 2);

    const events = dynamoDbEventStore({ client: losingClient("TransactWriteItemsCommand", 2), tableName: eventTable });
    const stream = `resend-${crypto.randomUUID()}`;
    assert.deepEqual(await events.append(stream, [{ type: "E", data: new Uint8Array([1]) }], "no_stream"), { nextVersion: 1 });
    assert.deepEqual(await events.append(stream, [{ type: "E", data: new Uint8Array([2]) }], "any"), { nextVersion: 2 });
    const reader = dynamoDbEventStore({ clientConfig, tableName: eventTable });
    assert.equal(await reader.version(stream), 2, "no event was appended twice");
    const snapshots = dynamoDbEventStore({ client: losingClient("PutItemCommand"), tableName: eventTable });
    assert.equal(await snapshots.saveSnapshot(stream, { version: 2, data: new Uint8Array([9]) }), true, "a re-sent snapshot that applied reports true");
    assert.equal(await reader.saveSnapshot(stream, { version: 2, data: new Uint8Array([9]) }), false, "an equal snapshot sent once is refused");
    await Promise.all([plain, deleting, writing, transacting, events, reader, snapshots].map((closable) => closable.close()));
  });

  /** A client that, before each TransactWriteItems, lets `interfere` move things first. */
  function interferingClient(interfere: () => Promise<unknown>): DynamoDBClient {
    const client = new DynamoDBClient(clientConfig);
    client.middlewareStack.add((next, context) => async (args) => {
      if (context.commandName === "TransactWriteItemsCommand") await interfere();
      return next(args);
    }, { step: "initialize", name: "interfere" });
    return client;
  }

  test("dynamodb: contention ends in ContentionError after the configured attempts", async () => {
    await tablesReady;
    const other = dynamoDbEventStore({ clientConfig, tableName: eventTable });
    const stream = `contended-${crypto.randomUUID()}`;
    await other.append(stream, [{ type: "E", data: new Uint8Array([0]) }], "no_stream");
    let sent = 0;
    const client = interferingClient(async () => {
      sent++;
      await other.append(stream, [{ type: "E", data: new Uint8Array([1]) }], "any");
    });
    const events = dynamoDbEventStore({ client, tableName: eventTable, maxAppendAttempts: 3 });
    await assert.rejects(events.append(stream, [{ type: "E", data: new Uint8Array([2]) }], "any"), (error) => {
      assert.ok(isQuarkError(error, "CONTENTION"), String(error));
      assert.equal((error as { attempts?: number }).attempts, 3);
      return true;
    });
    assert.equal(sent, 3, "exactly maxAppendAttempts transactions were sent");
    assert.equal(await other.version(stream), 4, "nothing of the contended append landed");

    const plain = dynamoDbStorage({ clientConfig, tableName: stateTable });
    const k = key(crypto.randomUUID());
    let writes = 0;
    const racing = dynamoDbStorage({
      client: interferingClient(() => plain.write({ key: k, value: new Uint8Array([writes++]), etag: crypto.randomUUID(), lastWriteWins: true })),
      tableName: stateTable,
      maxTransactAttempts: 2,
    });
    await assert.rejects(
      racing.transact([{ kind: "write", key: k, value: new Uint8Array([9]), etag: crypto.randomUUID(), lastWriteWins: true }]),
      (error) => isQuarkError(error, "CONTENTION") && (error as { attempts?: number }).attempts === 2,
    );
    await Promise.all([other, events, plain, racing].map((closable) => closable.close()));
  });

  test("dynamodb: conflicts report the stored etag and carry no stored bytes", async () => {
    await tablesReady;
    const storage = dynamoDbStorage({ clientConfig, tableName: stateTable });
    const events = dynamoDbEventStore({ clientConfig, tableName: eventTable });
    const secret = new TextEncoder().encode("secret-state-bytes");
    const k = key(crypto.randomUUID());
    const first = await storage.write({ key: k, value: secret, etag: crypto.randomUUID(), expectedEtag: null });
    const carries = (error: unknown) => {
      let current: unknown = error;
      for (let depth = 0; depth < 5 && current; depth++) {
        if (JSON.stringify(current, (_name, value) => value instanceof Uint8Array ? Array.from(value) : value).includes(String(Array.from(secret)))) return true;
        if ((current as { Item?: unknown }).Item !== undefined) return true;
        current = (current as { cause?: unknown }).cause;
      }
      return false;
    };
    for (const attempt of [
      () => storage.write({ key: k, value: new Uint8Array([1]), etag: crypto.randomUUID(), expectedEtag: crypto.randomUUID() }),
      () => storage.delete({ key: k, expectedEtag: crypto.randomUUID() }),
      () => storage.transact([{ kind: "write", key: k, value: new Uint8Array([1]), etag: crypto.randomUUID(), expectedEtag: null }]),
    ]) {
      const error = await attempt().then(() => undefined, (caught: unknown) => caught);
      assert.ok(isQuarkError(error, "STATE_CONFLICT"), String(error));
      assert.equal((error as { actualEtag?: string }).actualEtag, first.etag);
      assert.ok(!carries(error), "no stored bytes in the error or its causes");
    }
    const stream = `bytes-${crypto.randomUUID()}`;
    await events.append(stream, [{ type: "E", data: secret }], "no_stream");
    const conflict = await events.append(stream, [{ type: "E", data: new Uint8Array([1]) }], "no_stream").then(() => undefined, (caught: unknown) => caught);
    assert.ok(isQuarkError(conflict, "EVENT_STORE_CONFLICT") && (conflict as { actualVersion?: number }).actualVersion === 1);
    assert.ok(!carries(conflict), "no stored event bytes in the error or its causes");
    await storage.close();
    await events.close();
  });

  test("dynamodb: expiry is judged by the SDK's skew-corrected clock", async () => {
    await tablesReady;
    const client = new DynamoDBClient(clientConfig);
    const storage = dynamoDbStorage({ client, tableName: stateTable });
    const k = key(crypto.randomUUID());
    const { etag } = await storage.write({ key: k, value: new Uint8Array([1]), etag: crypto.randomUUID(), expectedEtag: null, ttlMs: 60_000 });
    const realNow = Date.now;
    try {
      // This host's clock runs an hour fast. The SDK corrects its offset from the server's
      // Date header (skew over 5 minutes), and the adapter judges expiry by that clock.
      Date.now = () => realNow() + 3_600_000;
      assert.equal((await storage.read(k))?.etag, etag, "still live by the corrected clock");
      assert.deepEqual((await storage.list({ actorType: k.actorType, actorIdPrefix: k.actorId })).keys, [k]);
      await assert.rejects(
        storage.write({ key: k, value: new Uint8Array([2]), etag: crypto.randomUUID(), expectedEtag: null }),
        (error) => isQuarkError(error, "STATE_CONFLICT"),
      );
    } finally {
      Date.now = realNow;
      await storage.close();
      client.destroy();
    }
  });
}

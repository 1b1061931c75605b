import { test } from "node:test";
import assert from "node:assert/strict";
import process from "node:process";
import { Redis } from "@upstash/redis";
import { upstashEventStore, upstashStorage } from "../../adapters/upstash/mod.ts";
import { runEventStoreConformance, runStorageConformance } from "../../src/testing/mod.ts";
import { isQuarkError } from "../../src/errors.ts";

const url = process.env.UPSTASH_REDIS_REST_URL;
const token = process.env.UPSTASH_REDIS_REST_TOKEN;

const bytes = (...values: number[]) => Uint8Array.from(values);
const unique = (what: string) => `${what}-${crypto.randomUUID().slice(0, 8)}`;
const raw = () => new Redis({ url: url!, token: token!, enableTelemetry: false, automaticDeserialization: false });

/** Counts HTTP requests whose body mentions `marker`, so concurrent tests do not interfere. */
async function countRequests<T>(marker: string, body: () => Promise<T>): Promise<{ result: T; requests: number }> {
  const original = globalThis.fetch;
  let requests = 0;
  globalThis.fetch = ((input: RequestInfo | URL, init?: RequestInit) => {
    if (typeof init?.body === "string" && init.body.includes(marker)) requests++;
    return original(input, init);
  }) as typeof fetch;
  try {
    return { result: await body(), requests };
  } finally {
    globalThis.fetch = original;
  }
}

if (!url || !token) {
  const reason = "UPSTASH_REDIS_REST_URL is not set (start it with scripts/services/upstash.sh start)";
  console.log(`SKIP upstash: ${reason}`);
  test(`upstash conformance (skipped: ${reason})`, { skip: reason }, () => {});
} else {
  const connection = { url, token };
  // Every attempt is an HTTP round trip of a few milliseconds, so 64 racing writers need
  // wider backoff than the suite's in-process default to avoid a thundering herd.
  const raceRetry = { baseDelayMs: 4, maxDelayMs: 600 };
  runStorageConformance(test, { name: "upstash", open: () => upstashStorage(connection), raceRetry });
  runEventStoreConformance(test, { name: "upstash", open: () => upstashEventStore(connection) });

  test("upstash: a conditional write is one HTTP round trip", async () => {
    const storage = upstashStorage(connection);
    const key = { actorType: unique("round-trip"), actorId: "1", stateName: "s" };
    const first = await storage.write({ key, value: bytes(1), etag: crypto.randomUUID(), expectedEtag: null });
    const { requests } = await countRequests(key.actorType, () =>
      storage.write({ key, value: bytes(2), etag: crypto.randomUUID(), expectedEtag: first.etag }));
    assert.equal(requests, 1);
  });

  test("upstash: writes fall back to EVAL after SCRIPT FLUSH, then use EVALSHA again", async () => {
    const storage = upstashStorage(connection);
    const key = { actorType: unique("noscript"), actorId: "1", stateName: "s" };
    const first = await storage.write({ key, value: bytes(1), etag: crypto.randomUUID(), expectedEtag: null });
    await raw().scriptFlush();
    const { result: second, requests } = await countRequests(key.actorType, () =>
      storage.write({ key, value: bytes(2), etag: crypto.randomUUID(), expectedEtag: first.etag }));
    assert.equal(second.revision, 2);
    assert.ok(requests <= 2, `EVALSHA then EVAL, got ${requests} requests`);
    const again = await countRequests(key.actorType, () =>
      storage.write({ key, value: bytes(3), etag: crypto.randomUUID(), expectedEtag: second.etag }));
    assert.equal(again.requests, 1);
    assert.deepEqual((await storage.read(key))?.value, bytes(3));
  });

  test("upstash: hostile keys keep their hash tag and never break out of the layout", async () => {
    const storage = upstashStorage(connection);
    const actorType = `${unique("tag")}{}`;
    const ids = ["}{", "{a}", "a}b{c", "%7B", "%257D", "]] redis.call('FLUSHALL') --[[", "*?[x]\\"];
    for (const [index, actorId] of ids.entries()) {
      for (const stateName of ["{s}", "s"]) {
        await storage.write({ key: { actorType, actorId, stateName }, value: bytes(index), etag: crypto.randomUUID(), expectedEtag: null });
      }
    }
    for (const [index, actorId] of ids.entries()) {
      assert.deepEqual((await storage.read({ actorType, actorId, stateName: "{s}" }))?.value, bytes(index));
    }
    const listed: string[] = [];
    let cursor: string | undefined;
    do {
      const page = await storage.list({ actorType, cursor, limit: 3 });
      listed.push(...page.keys.map((key) => `${key.actorId}\u0000${key.stateName}`));
      cursor = page.cursor;
    } while (cursor !== undefined);
    assert.equal(listed.length, ids.length * 2);
    assert.equal(new Set(listed).size, ids.length * 2);
    // Every stored name has exactly one "{…}" hash tag, and it names the actor alone.
    const client = raw();
    let scan = "0";
    const names: string[] = [];
    do {
      const [next, found] = await client.scan(scan, { match: `quark:s:{${actorType.replaceAll("{", "%7B").replaceAll("}", "%7D")}/*`, count: 1000 });
      scan = String(next);
      names.push(...found);
    } while (scan !== "0");
    assert.equal(names.length, ids.length * 2);
    for (const name of names) {
      assert.equal(name.split("{").length, 2, name);
      assert.equal(name.split("}").length, 2, name);
      assert.ok(name.indexOf("}") > name.indexOf("{"), name);
    }
    const slots = new Set(names.map((name) => name.slice(name.indexOf("{"), name.indexOf("}") + 1)));
    assert.equal(slots.size, ids.length, "one hash tag per actor, shared by its states");
  });

  test("upstash: key prefixes are validated", () => {
    for (const keyPrefix of ["", "a{b", "a b", "x*", "q".repeat(65)]) {
      assert.throws(() => upstashStorage({ ...connection, keyPrefix }), (error) => isQuarkError(error, "CONFIGURATION"));
      assert.throws(() => upstashEventStore({ ...connection, keyPrefix }), (error) => isQuarkError(error, "CONFIGURATION"));
    }
    assert.throws(() => upstashStorage({}), (error) => isQuarkError(error, "CONFIGURATION"));
  });

  test("upstash: key prefixes keep applications apart", async () => {
    const left = upstashStorage({ ...connection, keyPrefix: "app-left" });
    const right = upstashStorage({ ...connection, keyPrefix: "app-right" });
    const key = { actorType: unique("prefix"), actorId: "1", stateName: "s" };
    await left.write({ key, value: bytes(1), etag: crypto.randomUUID(), expectedEtag: null });
    assert.equal(await right.read(key), null);
    assert.equal((await right.list({ actorType: key.actorType })).keys.length, 0);
  });

  test("upstash: a ready client with automatic deserialization on gets values and etags back exactly", async () => {
    const client = new Redis({ url, token, enableTelemetry: false });
    const storage = upstashStorage({ client });
    const key = { actorType: unique("deserialize"), actorId: "1", stateName: "s" };
    // base64 "1234" and "null" are valid JSON; etags "123", "true" and "null" are too.
    const looksLikeJson = [bytes(0xd7, 0x6d, 0xf8), bytes(0x9e, 0xe9, 0x65)];
    let etag: string | null = null;
    for (const [index, value] of looksLikeJson.entries()) {
      const next = ["123", "null"][index]!;
      await storage.write({ key, value, etag: next, expectedEtag: etag });
      const stored = await storage.read(key);
      assert.deepEqual(stored?.value, value);
      assert.equal(stored?.etag, next);
      etag = next;
    }
    await assert.rejects(
      storage.write({ key, value: bytes(1), etag: "true", expectedEtag: "123" }),
      (error: unknown) => isQuarkError(error, "STATE_CONFLICT") && (error as { actualEtag?: unknown }).actualEtag === "null",
    );
    const events = upstashEventStore({ client });
    const stream = unique("deserialize");
    await events.append(stream, [{ type: "1", data: looksLikeJson[0]! }, { type: "null", data: looksLikeJson[1]! }], "no_stream");
    const read = [];
    for await (const event of events.read(stream)) read.push(event);
    assert.deepEqual(read.map((event) => [event.type, event.data]), [["1", looksLikeJson[0]], ["null", looksLikeJson[1]]]);
  });

  test("upstash: someone else's data under a state key is CorruptDataError", async () => {
    const storage = upstashStorage(connection);
    const actorType = unique("corrupt");
    await raw().set(`quark:s:{${actorType}/1}/s`, "not a hash");
    await assert.rejects(storage.read({ actorType, actorId: "1", stateName: "s" }), (error) => isQuarkError(error, "CORRUPT_DATA"));
    await raw().hset(`quark:s:{${actorType}/2}/s`, { v: "***", e: "x", r: "1" });
    await assert.rejects(storage.read({ actorType, actorId: "2", stateName: "s" }), (error) => isQuarkError(error, "CORRUPT_DATA"));
  });

  test("upstash: cluster mode keeps scripts on one slot", async () => {
    const storage = upstashStorage({ ...connection, cluster: true });
    assert.equal(storage.capabilities.list, false);
    const actorType = unique("cluster");
    await assert.rejects(storage.list({ actorType }), (error) => isQuarkError(error, "CAPABILITY"));
    const one = { actorType, actorId: "1", stateName: "a" };
    const results = await storage.transact([
      { kind: "write", key: one, value: bytes(1), etag: crypto.randomUUID(), expectedEtag: null },
      { kind: "write", key: { ...one, stateName: "b" }, value: bytes(2), etag: crypto.randomUUID(), expectedEtag: null },
    ]);
    assert.equal(results.length, 2);
    await assert.rejects(
      storage.transact([
        { kind: "write", key: { ...one, stateName: "c" }, value: bytes(1), etag: crypto.randomUUID(), expectedEtag: null },
        { kind: "write", key: { ...one, actorId: "2" }, value: bytes(1), etag: crypto.randomUUID(), expectedEtag: null },
      ]),
      (error) => isQuarkError(error, "CAPABILITY"),
    );
    assert.equal(await storage.read({ ...one, stateName: "c" }), null);
    assert.equal((await raw().exists(`quark:i:${actorType}`)), 0, "no index is kept in cluster mode");
  });

  test("upstash: a dead server gives StorageUnavailableError", async () => {
    const dead = { url: "http://127.0.0.1:9", token: "x", retry: false as const };
    const storage = upstashStorage(dead);
    const key = { actorType: "dead", actorId: "1", stateName: "s" };
    const unavailable = (error: unknown) => isQuarkError(error, "STORAGE_UNAVAILABLE") && /upstash/.test((error as Error).message);
    await assert.rejects(storage.read(key), unavailable);
    await assert.rejects(storage.write({ key, value: bytes(1), etag: "e", expectedEtag: null }), unavailable);
    const events = upstashEventStore(dead);
    await assert.rejects(events.append("s", [{ type: "t", data: bytes() }], "any"), unavailable);
    await assert.rejects(events.version("s"), unavailable);
  });

  test("upstash: a wrong token gives StorageUnavailableError", async () => {
    const storage = upstashStorage({ url, token: "wrong", retry: false });
    await assert.rejects(
      storage.read({ actorType: "t", actorId: "1", stateName: "s" }),
      (error) => isQuarkError(error, "STORAGE_UNAVAILABLE"),
    );
  });

  test("upstash bridge: serves the REST protocol the SDK expects", async () => {
    const call = async (path: string, body: unknown, headers: Record<string, string> = {}) => {
      const response = await fetch(`${url}${path}`, {
        method: "POST",
        headers: { authorization: `Bearer ${token}`, ...headers },
        body: JSON.stringify(body),
      });
      return { status: response.status, body: await response.json() };
    };
    const unauthorized = await fetch(url, { method: "POST", body: JSON.stringify(["PING"]) });
    assert.equal(unauthorized.status, 401);
    await unauthorized.body?.cancel();
    const key = unique("bridge");
    assert.deepEqual(await call("/", ["RPUSH", key, "a\u00e9", "b"]), { status: 200, body: { result: 2 } });
    const base64 = { "Upstash-Encoding": "base64" };
    assert.deepEqual(
      await call("/pipeline", [["LRANGE", key, 0, -1], ["LLEN", key], ["GET", unique("absent")], ["EVALSHA", "0".repeat(40), 0]], base64),
      { status: 200, body: [{ result: ["YcOp", "Yg=="] }, { result: 2 }, { result: null }, { error: "NOSCRIPT No matching script. Please use EVAL." }] },
    );
    const nested = await call("/", ["EVAL", "return {KEYS[1], {ARGV[1], 7}}", 1, key, "x"], base64);
    assert.deepEqual(nested.body, { result: [btoa(key), ["eA==", 7]] });
    const refused = await call("/", ["EVALSHA", "0".repeat(40), 0]);
    assert.equal(refused.status, 400);
    assert.equal(refused.body.error, "NOSCRIPT No matching script. Please use EVAL.");
    assert.deepEqual(await call("/multi-exec", [["INCR", `${key}:n`], ["INCR", `${key}:n`]]), { status: 200, body: [{ result: 1 }, { result: 2 }] });
    await raw().del(key, `${key}:n`);
  });
}

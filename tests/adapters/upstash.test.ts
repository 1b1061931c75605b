import { test } from "node:test";
import assert from "node:assert/strict";
import process from "node:process";
import { Redis } from "@upstash/redis";
import { upstashEventStore, upstashStorage } from "../../adapters/upstash/mod.ts";
import { loadSdk } from "../../adapters/upstash/_client.ts";
import { runContentionConformance, runLeaseConformance, runEventStoreConformance, runStorageConformance } from "../../src/testing/mod.ts";
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

/**
 * Runs `body` with a fetch that delivers the first request mentioning `marker` to the real
 * bridge, so Redis runs it, and then drops the reply, as a connection cut after the request
 * would. `meanwhile` runs before the SDK's retry resends the same request.
 */
async function withLostReply<T>(marker: string, body: () => Promise<T>, meanwhile?: () => Promise<unknown>): Promise<T> {
  const original = globalThis.fetch;
  let dropped = false;
  globalThis.fetch = (async (input: RequestInfo | URL, init?: RequestInit) => {
    if (!dropped && typeof init?.body === "string" && init.body.includes(marker)) {
      const response = await original(input, init);
      const text = await response.text();
      // A NOSCRIPT answer ran nothing (an earlier test flushed the script cache): pass it on.
      if (text.includes("NOSCRIPT")) return new Response(text, { status: response.status, headers: response.headers });
      dropped = true;
      await meanwhile?.();
      throw new TypeError("fetch failed", { cause: new Error("other side closed") });
    }
    return original(input, init);
  }) as typeof fetch;
  try {
    const result = await body();
    assert.ok(dropped, `a request mentioning ${marker} was sent and its reply dropped`);
    return result;
  } finally {
    globalThis.fetch = original;
  }
}

/** Every message and stack along an error's cause chain, for checking what errors carry. */
function causeChainText(error: unknown): string {
  const parts: string[] = [];
  for (let current = error, depth = 0; current !== undefined && current !== null && depth < 10; depth++) {
    parts.push(current instanceof Error ? `${current.message}\n${current.stack ?? ""}` : String(current));
    current = current instanceof Error ? current.cause : undefined;
  }
  return parts.join("\n");
}

test("upstash: a missing SDK package is a ConfigurationError naming the install command", async () => {
  await assert.rejects(loadSdk(() => import("quark-no-such-sdk" as string)), (error: Error & { code?: string }) => {
    assert.equal(error.code, "CONFIGURATION");
    assert.match(error.message, /npm install @upstash\/redis/);
    return true;
  });
});

test("upstash: a dead endpoint names the endpoint and the root cause, and retry: false sends once", async () => {
  let requests = 0;
  const original = globalThis.fetch;
  globalThis.fetch = ((input: RequestInfo | URL, init?: RequestInit) => {
    if (String(input).startsWith("http://127.0.0.1:2")) requests++;
    return original(input, init);
  }) as typeof fetch;
  try {
    const storage = upstashStorage({ url: "http://127.0.0.1:2", token: "x", retry: false });
    await assert.rejects(storage.read({ actorType: "dead", actorId: "1", stateName: "s" }), (error: Error & { code?: string }) => {
      assert.equal(error.code, "STORAGE_UNAVAILABLE");
      assert.match(error.message, /during read\b/);
      assert.match(error.message, /http:\/\/127\.0\.0\.1:2\b/, "names the endpoint");
      assert.match(error.message, /ECONNREFUSED|refused|connect/i, `names the root cause: ${error.message}`);
      return true;
    });
    assert.equal(requests, 1, "retry: false sends the request once");
  } finally {
    globalThis.fetch = original;
  }
});

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
  runContentionConformance(test, { name: "upstash", open: () => upstashStorage(connection) });
  runLeaseConformance(test, { name: "upstash", open: () => upstashStorage(connection) });

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

  test("upstash: lone surrogates and NUL are refused by every operation, so \\uD800 never reads the \\uFFFD row", async () => {
    const storage = upstashStorage(connection);
    const events = upstashEventStore(connection);
    const actorType = unique("surrogate");
    await storage.write({ key: { actorType, actorId: "\uFFFD", stateName: "s" }, value: bytes(1), etag: crypto.randomUUID(), expectedEtag: null });
    for (const actorId of ["\uD800", "\uDC00", "a\u0000b"]) {
      const key = { actorType, actorId, stateName: "s" };
      await assert.rejects(storage.read(key), (error) => isQuarkError(error, "INVALID_KEY"), `read of ${JSON.stringify(actorId)}`);
      await assert.rejects(storage.delete({ key, lastWriteWins: true }), (error) => isQuarkError(error, "INVALID_KEY"));
      await assert.rejects(storage.delete({ key, expectedEtag: null }), (error) => isQuarkError(error, "INVALID_KEY"));
      await assert.rejects(storage.list({ actorType, actorIdPrefix: actorId }), (error) => isQuarkError(error, "INVALID_KEY"));
    }
    await assert.rejects(storage.list({ actorType: `${actorType}\uD800` }), (error) => isQuarkError(error, "INVALID_KEY"));
    assert.deepEqual((await storage.read({ actorType, actorId: "\uFFFD", stateName: "s" }))?.value, bytes(1));

    const stream = unique("surrogate");
    await events.append(`${stream}\uFFFD`, [{ type: "A", data: bytes(1) }], "no_stream");
    for (const bad of [`${stream}\uD800`, `${stream}\uDC00`, `${stream}\u0000`]) {
      const invalid = (error: unknown) => isQuarkError(error, "INVALID_KEY");
      await assert.rejects(events.append(bad, [{ type: "A", data: bytes(2) }], "any"), invalid);
      await assert.rejects(events.version(bad), invalid);
      await assert.rejects(events.saveSnapshot(bad, { version: 1, data: bytes(1) }), invalid);
      await assert.rejects(events.loadSnapshot(bad), invalid);
      await assert.rejects(async () => {
        for await (const _ of events.read(bad)) break;
      }, invalid);
    }
    assert.equal(await events.version(`${stream}\uFFFD`), 1, "the U+FFFD stream keeps its one event");
  });

  test("upstash: keys and streams over maxKeyBytes are refused before anything is sent", async () => {
    const storage = upstashStorage(connection);
    const events = upstashEventStore(connection);
    const max = storage.capabilities.maxKeyBytes;
    assert.equal(max, 10 * 1024, "a key that stays under Upstash's 32 KB key limit even when every character is an escaped brace");
    const actorType = unique("long");
    const key = { actorType, actorId: "é".repeat(max! / 2), stateName: "s" };
    const stream = "é".repeat(max! / 2 + 1);
    const { requests } = await countRequests("éé", async () => {
      await assert.rejects(storage.write({ key, value: bytes(1), etag: crypto.randomUUID(), expectedEtag: null }), (error) => isQuarkError(error, "INVALID_KEY"));
      await assert.rejects(storage.read(key), (error) => isQuarkError(error, "INVALID_KEY"));
      await assert.rejects(events.append(stream, [{ type: "A", data: bytes(1) }], "any"), (error) => isQuarkError(error, "INVALID_KEY"));
      await assert.rejects(events.version(stream), (error) => isQuarkError(error, "INVALID_KEY"));
    });
    assert.equal(requests, 0);
  });

  test("upstash: a resent append or snapshot returns the first outcome and applies once", async () => {
    // A client the user built, with the SDK's default retries (5, with backoff).
    const events = upstashEventStore({ client: new Redis({ url, token, enableTelemetry: false }) });
    const stream = unique("resend");
    const one = [{ type: "A", data: bytes(1) }];
    const { lastPosition: marker } = await events.append(unique("marker"), one, "no_stream");
    const results = [
      await withLostReply(stream, () => events.append(stream, one, "no_stream")),
      await withLostReply(stream, () => events.append(stream, one, 1)),
      await withLostReply(stream, () => events.append(stream, one, "any")),
    ];
    assert.deepEqual(results.map((result) => result.nextVersion), [1, 2, 3], "no false conflict");
    assert.equal(await events.version(stream), 3, "each append applied once");
    const positions: bigint[] = [];
    for await (const event of events.readAll({ after: marker })) if (event.stream === stream) positions.push(event.position);
    assert.deepEqual(positions, results.map((result) => result.lastPosition), "each event has one position, the one its append reported");
    assert.equal(await withLostReply(stream, () => events.saveSnapshot(stream, { version: 3, data: bytes(3) })), true, "the snapshot was saved");
    assert.equal((await events.loadSnapshot(stream))?.version, 3);
  });

  test("upstash: events written in the 0.1 layout still read, and stay out of readAll", async () => {
    const events = upstashEventStore(connection);
    const stream = unique("old-layout");
    // The 0.1 list element: ["<type>", "<base64 data>"], no position, no time, no metadata.
    await raw().rpush(`quark:e:{${stream}}`, JSON.stringify(["Old", "Bwg="]));
    const { lastPosition: marker } = await events.append(unique("marker"), [{ type: "M", data: bytes() }], "no_stream");
    const appended = await events.append(stream, [{ type: "New", data: bytes(9), metadata: bytes(1, 2) }], 1);
    const read = [];
    for await (const event of events.read(stream)) read.push(event);
    assert.deepEqual({ ...read[0]! }, { stream, version: 1, type: "Old", data: bytes(7, 8) }, "an old event has no metadata, createdAt or position");
    assert.deepEqual(read[1]!.metadata, bytes(1, 2));
    assert.equal(read[1]!.position, appended.lastPosition);
    const all = [];
    for await (const event of events.readAll({ after: marker })) if (event.stream === stream) all.push(event);
    assert.deepEqual(all.map((event) => [event.version, event.type]), [[2, "New"]]);
  });

  test("upstash: an append of any size is one HTTP round trip, stamped by the server's clock", async () => {
    const events = upstashEventStore(connection);
    const stream = unique("one-trip");
    await events.append(unique("warm-up"), [{ type: "E", data: bytes() }], "no_stream");
    const batch = Array.from({ length: 2500 }, (_, index) => ({ type: "E", data: bytes(index % 256), metadata: bytes(index % 7) }));
    const RealDate = Date;
    const { result, requests } = await countRequests(stream, async () => {
      // A client clock an hour fast, for Date.now() and new Date() alike.
      globalThis.Date = class extends RealDate {
        constructor(...args: []) {
          if (args.length === 0) super(RealDate.now() + 3_600_000);
          else super(...(args as unknown as [number]));
        }
        static override now = () => RealDate.now() + 3_600_000;
      } as DateConstructor;
      try {
        return await events.append(stream, batch, "no_stream");
      } finally {
        globalThis.Date = RealDate;
      }
    });
    assert.equal(requests, 1, "one EVALSHA");
    const read = [];
    for await (const event of events.read(stream, { pageSize: 1000 })) read.push(event);
    assert.deepEqual(read.map((event) => event.version), batch.map((_, index) => index + 1));
    for (const [index, event] of read.entries()) {
      assert.equal(event.position, result.lastPosition! - BigInt(batch.length - 1 - index), "one append takes consecutive positions");
      assert.deepEqual(event.metadata, bytes(index % 7));
    }
    assert.ok(Math.abs(read[0]!.createdAt!.getTime() - Date.now()) < 600_000, "not the client's shifted clock");
  });

  test("upstash: readAll returns hostile stream names exactly", async () => {
    const events = upstashEventStore(connection);
    const { lastPosition: marker } = await events.append(unique("marker"), [{ type: "M", data: bytes() }], "no_stream");
    const suffixes = ["}{", "{a}", "a:1:b", "%7B", "%257D", "x\ny", "]] redis.call('FLUSHALL') --[[", "\u00e9\u{1F600}", "*?[x]\\"];
    const streams = suffixes.map((suffix) => `${unique("hostile")}${suffix}`);
    for (const stream of streams) await events.append(stream, [{ type: "A", data: bytes(1) }, { type: "B", data: bytes(2) }], "no_stream");
    const seen = new Map<string, number[]>();
    for await (const event of events.readAll({ after: marker, pageSize: 5 })) {
      seen.set(event.stream, [...(seen.get(event.stream) ?? []), event.version]);
    }
    for (const stream of streams) assert.deepEqual(seen.get(stream), [1, 2], JSON.stringify(stream));
  });

  test("upstash: a resent write, delete or transaction returns the first outcome and never applies twice", async () => {
    const storage = upstashStorage(connection);
    const other = upstashStorage(connection);
    const actorType = unique("resend");
    const key = { actorType, actorId: "1", stateName: "s" };
    const created = await withLostReply(actorType, () => storage.write({ key, value: bytes(1), etag: crypto.randomUUID(), expectedEtag: null }));
    assert.equal(created.revision, 1);

    // Another writer lands between the lost reply and the resend: the write still succeeded.
    const update = { key, value: bytes(2), etag: crypto.randomUUID(), expectedEtag: created.etag };
    const later = crypto.randomUUID();
    const updated = await withLostReply(actorType, () => storage.write(update), () => other.write({ key, value: bytes(3), etag: later, expectedEtag: update.etag }));
    assert.deepEqual(updated, { etag: update.etag, revision: 2 }, "no false conflict");

    // A last-write-wins write is not applied a second time over the later writer.
    const lww = { key, value: bytes(4), etag: crypto.randomUUID(), lastWriteWins: true as const };
    const latest = crypto.randomUUID();
    await withLostReply(actorType, () => storage.write(lww), () => other.write({ key, value: bytes(5), etag: latest, expectedEtag: lww.etag }));
    assert.equal((await storage.read(key))?.etag, latest, "the resent write did not overwrite the later one");

    assert.equal(await withLostReply(actorType, () => storage.delete({ key, expectedEtag: latest })), true, "a resent delete reports it deleted");
    await storage.write({ key, value: bytes(6), etag: crypto.randomUUID(), expectedEtag: null });
    assert.equal(await withLostReply(actorType, () => storage.delete({ key, lastWriteWins: true })), true);
    assert.equal(await storage.read(key), null);

    const a = { actorType, actorId: "2", stateName: "a" };
    const b = { actorType, actorId: "3", stateName: "b" };
    const first = await storage.write({ key: a, value: bytes(1), etag: crypto.randomUUID(), expectedEtag: null });
    const batch = [
      { kind: "write" as const, key: a, value: bytes(7), etag: crypto.randomUUID(), expectedEtag: first.etag },
      { kind: "write" as const, key: b, value: bytes(8), etag: crypto.randomUUID(), expectedEtag: null },
    ];
    const results = await withLostReply(actorType, () => storage.transact(batch), () =>
      other.write({ key: a, value: bytes(9), etag: crypto.randomUUID(), expectedEtag: batch[0]!.etag }));
    assert.deepEqual(results, [{ etag: batch[0]!.etag, revision: 2 }, { etag: batch[1]!.etag, revision: 1 }]);
    assert.deepEqual((await storage.read(a))?.value, bytes(9), "the later writer's value stays");
  });

  test("upstash: failing writes keep no value or etag in their errors", async () => {
    const etag = crypto.randomUUID();
    const value = crypto.getRandomValues(new Uint8Array(48));
    const base64 = btoa(String.fromCharCode(...value));
    const key = { actorType: unique("leak"), actorId: "1", stateName: "s" };
    // A whole request refused (wrong token), and a command refused inside a request.
    const wrongToken = upstashStorage({ url, token: "wrong", retry: false });
    const error1 = await wrongToken.write({ key, value, etag, expectedEtag: null }).then(() => undefined, (error) => error);
    assert.ok(error1 instanceof Error);
    await raw().set(`quark:s:{${key.actorType}/1}/s`, "not a hash");
    const unpipelined = upstashStorage({ client: new Redis({ url, token, enableTelemetry: false, enableAutoPipelining: false }) });
    const error2 = await unpipelined.write({ key, value, etag, expectedEtag: null }).then(() => undefined, (error) => error);
    assert.ok(isQuarkError(error2, "CORRUPT_DATA"));
    for (const error of [error1, error2]) {
      const text = causeChainText(error);
      assert.ok(!text.includes(base64), "no base64 value anywhere in the cause chain");
      assert.ok(!text.includes(etag), "no etag anywhere in the cause chain");
    }
  });

  test("upstash: a wrong token is a ConfigurationError naming the endpoint", async () => {
    const storage = upstashStorage({ url, token: "wrong", retry: false });
    await assert.rejects(storage.read({ actorType: "t", actorId: "1", stateName: "s" }), (error: Error) => {
      assert.ok(isQuarkError(error, "CONFIGURATION"), error.message);
      assert.ok(error.message.includes(url), error.message);
      return true;
    });
  });

  test("upstash: transactions and requests over the size limits are refused before anything is sent", async () => {
    const storage = upstashStorage(connection);
    const limit = storage.capabilities.maxTransactionBytes;
    assert.equal(typeof limit, "number");
    const actorType = unique("big-transact");
    const value = new Uint8Array(storage.capabilities.maxValueBytes).fill(1);
    const operations = Array.from({ length: Math.floor(limit! / value.length) + 1 }, (_, index) =>
      ({ kind: "write" as const, key: { actorType, actorId: "1", stateName: `v${index}` }, value, etag: crypto.randomUUID(), expectedEtag: null }));
    const { requests } = await countRequests(actorType, async () => {
      await assert.rejects(storage.transact(operations), (error) => isQuarkError(error, "CAPABILITY"));
    });
    assert.equal(requests, 0, "nothing sent");
    // An event batch too large for one request is refused up front too.
    const events = upstashEventStore(connection);
    const stream = unique("big-append");
    const big = Array.from({ length: 3 }, () => ({ type: "E", data: new Uint8Array(3_000_000) }));
    const appended = await countRequests(stream, async () => {
      await assert.rejects(events.append(stream, big, "any"), (error) => isQuarkError(error, "VALUE_TOO_LARGE"));
    });
    assert.equal(appended.requests, 0, "nothing sent");
  });

  test("upstash: permanent input errors are InvalidInputError, and a refused TTL changes nothing", async () => {
    const storage = upstashStorage(connection);
    const key = { actorType: unique("input"), actorId: "1", stateName: "s" };
    await storage.write({ key, value: bytes(1), etag: crypto.randomUUID(), expectedEtag: null });
    const stored = await storage.read(key);
    await assert.rejects(
      storage.write({ key, value: bytes(2), etag: crypto.randomUUID(), expectedEtag: stored!.etag, ttlMs: 1e20 }),
      (error) => isQuarkError(error, "INVALID_INPUT"),
    );
    assert.deepEqual(await storage.read(key), stored, "the refused write changed nothing");
    // A storage told the server takes bigger requests than it does: the server's refusal is permanent.
    const misconfigured = upstashStorage({ ...connection, maxValueBytes: 12_000_000, maxRequestBytes: 100_000_000, retry: false } as never);
    await assert.rejects(
      (misconfigured as typeof storage).write({ key: { ...key, actorId: "2" }, value: new Uint8Array(11_000_000), etag: crypto.randomUUID(), expectedEtag: null }),
      (error: Error) => {
        assert.ok(isQuarkError(error, "INVALID_INPUT"), error.message);
        assert.match(error.message, /max request size/);
        return true;
      },
    );
  });

  test("upstash: expiry is judged by the server's clock, not the client's", async () => {
    const realNow = Date.now;
    const storage = upstashStorage(connection);
    const actorType = unique("clock");
    try {
      Date.now = () => realNow() + 3_600_000;
      const ahead = { actorType, actorId: "ahead", stateName: "s" };
      await storage.write({ key: ahead, value: bytes(1), etag: crypto.randomUUID(), expectedEtag: null, ttlMs: 60_000 });
      const stored = await storage.read(ahead);
      assert.deepEqual(stored?.value, bytes(1));
      assert.ok(Math.abs(stored!.expiresAt! - (realNow() + 60_000)) < 5_000, "expiresAt is the server's time + 60 s");
      Date.now = () => realNow() - 3_600_000;
      const behind = { actorType, actorId: "behind", stateName: "s" };
      await storage.write({ key: behind, value: bytes(2), etag: crypto.randomUUID(), expectedEtag: null, ttlMs: 300 });
      await new Promise((resolve) => setTimeout(resolve, 600));
      assert.equal(await storage.read(behind), null);
    } finally {
      Date.now = realNow;
    }
  });

  test("upstash: key prefixes are validated", () => {
    for (const keyPrefix of ["", "a{b", "a b", "x*", "q".repeat(65)]) {
      assert.throws(() => upstashStorage({ ...connection, keyPrefix }), (error) => isQuarkError(error, "CONFIGURATION"));
      assert.throws(() => upstashEventStore({ ...connection, keyPrefix }), (error) => isQuarkError(error, "CONFIGURATION"));
    }
    assert.throws(() => upstashStorage({}), (error) => isQuarkError(error, "CONFIGURATION"));
    for (const pageSize of [0, 1.5, -1]) {
      assert.throws(() => upstashEventStore({ ...connection, pageSize }), (error) => isQuarkError(error, "CONFIGURATION"), `pageSize ${pageSize}`);
    }
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

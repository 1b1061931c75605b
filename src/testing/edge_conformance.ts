// The edge cases of the storage and event store contracts: racing and absent deletes,
// retries across a delete, hostile and malformed keys, key and transaction limits, forged
// plaintext and decoding bombs. Registered by the two conformance suites, so every adapter
// (and every user's own backend) runs them with no extra wiring. Every case is small: the
// group runs on nine backends in four runtimes.
import type { EventStore, NewEvent, StoredEvent } from "../events/types.ts";
import type { StateKey, StateStorage, TransactOperation, WriteRequest } from "../storage/types.ts";
import { createCodec } from "../codec/codec.ts";
import { encodeKey, streamNameOf } from "../storage/keys.ts";
import { isQuarkError } from "../errors.ts";
import { check, checkBytes, checkEqual, checkRejects, ConformanceFailure } from "./assert.ts";
import { uniqueName } from "./registrar.ts";

type AddCase<Resource> = (what: string, body: (resource: Resource) => Promise<void>) => void;

/**
 * Keys that broke, or could break, real storage layers, beyond `HOSTILE_IDS`:
 * injections for SQL, CQL, Mongo and Lua, escaping and `LIKE` look-alikes, Redis hash tags,
 * case, trailing-space and normalization variants that must stay distinct rows, invisible and
 * bidirectional characters, and names that mean something to JavaScript objects.
 *
 * @example Every id is its own row
 * ```ts
 * import { memoryStorage } from "@quark/persistence";
 * import { EDGE_HOSTILE_IDS } from "@quark/persistence/testing";
 * if (new Set(EDGE_HOSTILE_IDS).size !== EDGE_HOSTILE_IDS.length) throw new Error("duplicates");
 * if (!EDGE_HOSTILE_IDS.includes("caf\u00e9") || !EDGE_HOSTILE_IDS.includes("cafe\u0301")) throw new Error("NFC and NFD both listed");
 * ```
 */
export const EDGE_HOSTILE_IDS: readonly string[] = [
  // SQL, CQL, Mongo and Lua injections
  "1; DROP TABLE quark_state",
  "\"; DROP TABLE \"quark_state\"; --",
  "admin'--",
  "1' UNION SELECT etag, value FROM quark_state --",
  "'); TRUNCATE quark.state; --",
  "x' IF EXISTS; --",
  "{ \"$gt\": \"\" }",
  "{\"$ne\":null}",
  "{\"$where\":\"sleep(100)\"}",
  "$gt",
  "a.b.c",
  "\" .. redis.call('FLUSHALL') .. \"",
  "KEYS[1]",
  "${jndi:ldap://127.0.0.1/a}",
  "<script>alert(1)</script>",
  // separators, escapes and patterns
  "%2F",
  "%252F",
  "%25",
  "/",
  "//",
  "a/",
  "/a",
  "a:b:c",
  "a::b",
  "a#1",
  "a|b|c",
  "a_b",
  "axb",
  "a%b",
  "a%c",
  "*",
  "[a-z]",
  "\\u0000",
  "..",
  "../../etc/passwd",
  // Redis cluster hash tags
  "{}",
  "{user1}:x",
  "{",
  // case, trailing space and normalization: each a distinct row
  "A",
  "a",
  "a ",
  "caf\u00e9",
  "cafe\u0301",
  "\u00e9",
  "e\u0301",
  "\u212b",
  "\u00c5",
  "\uff21",
  "stra\u00dfe",
  "strasse",
  // unicode: emoji, joiners, bidirectional marks, invisible characters
  "\u{1F600}",
  "\u{1F468}\u200d\u{1F469}\u200d\u{1F467}\u200d\u{1F466}",
  "a\u200db",
  "a\u200bb",
  "\ufeff",
  "\u202eabc",
  "\u200fx",
  "\u05e9\u05dc\u05d5\u05dd",
  "\ufffd",
  "\uffff",
  "\u{10FFFF}",
  "\u0001\u001f\u007f",
  // whitespace only
  "\t",
  "\n",
  "\r\n",
  "   ",
  "\u00a0",
  "\u3000",
  // names that mean something to JavaScript objects
  "__proto__",
  "constructor",
  "toString",
  "hasOwnProperty",
  "null",
  "undefined",
  "NaN",
  "-0",
];

/** Ids that no backend can store distinctly; every operation refuses them with InvalidKeyError. */
const MALFORMED_IDS: readonly string[] = ["\ud800", "\udc00", "a\ud800b", "\udbff\udbff", "\0", "a\0b"];

const utf8 = new TextEncoder();

function bytesOf(...values: number[]): Uint8Array {
  return Uint8Array.from(values);
}

function bytesOfIndex(index: number): Uint8Array {
  return bytesOf(index >> 8, index & 0xff);
}

function create(key: StateKey, value: Uint8Array): WriteRequest {
  return { key, value, etag: crypto.randomUUID(), expectedEtag: null };
}

// Escapes everything outside printable ASCII, so invisible and look-alike ids read apart.
function label(text: string): string {
  const shown = JSON.stringify(text.length > 40 ? text.slice(0, 40) : text);
  return shown.replace(/[^\x20-\x7e]/g, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, "0")}`) + (text.length > 40 ? "…" : "");
}

async function inBatches<T>(items: readonly T[], size: number, action: (item: T, index: number) => Promise<void>): Promise<void> {
  for (let start = 0; start < items.length; start += size) {
    await Promise.all(items.slice(start, start + size).map((item, offset) => action(item, start + offset)));
  }
}

/** Awaits every promise; any rejection fails the case with what it was. */
async function settleAll<T>(promises: readonly Promise<T>[], what: string): Promise<T[]> {
  const outcomes = await Promise.allSettled(promises);
  return outcomes.map((outcome) => {
    if (outcome.status === "fulfilled") return outcome.value;
    const reason = outcome.reason as Error;
    throw new ConformanceFailure(`${what} failed: ${reason?.name}: ${reason?.message}`);
  });
}

async function listAllIds(storage: StateStorage, actorType: string, actorIdPrefix?: string): Promise<string[]> {
  const ids: string[] = [];
  let cursor: string | undefined;
  for (let page = 0; page < 1000; page++) {
    const result = await storage.list({ actorType, actorIdPrefix, cursor, limit: 50 });
    ids.push(...result.keys.map((key) => key.actorId));
    cursor = result.cursor;
    if (cursor === undefined) return ids;
  }
  throw new ConformanceFailure("list never reached its last page");
}

/** The longest actor id, in UTF-8 bytes, that keeps `encodeKey` within `maxBytes`. */
function idBudget(actorType: string, stateName: string, maxBytes: number): number {
  return maxBytes - utf8.encode(encodeKey({ actorType, actorId: "", stateName })).byteLength;
}

/** An id of exactly `bytes` UTF-8 bytes, mostly two-byte characters, so bytes and not characters are measured. */
function idOfBytes(bytes: number): string {
  return "\u00e9".repeat(Math.floor(bytes / 2)) + (bytes % 2 === 1 ? "x" : "");
}

/**
 * Registers the storage edge cases with the suite's `add`. Called by
 * `runStorageConformance`; not needed on its own.
 */
export function registerStorageEdgeCases(add: AddCase<StateStorage>): void {
  const edge = (what: string, body: (storage: StateStorage) => Promise<void>) => add(`edge: ${what}`, body);

  edge("racing deletes on one etag: exactly one deletes, the others find nothing", async (storage) => {
    const actorType = uniqueName("race-delete");
    // A loser's false conflict needs a close overlap; in 6 rounds of 24, an SQL dialect that
    // had the bug was caught in 3 runs out of 4, so run 8.
    for (let round = 0; round < 8; round++) {
      const key: StateKey = { actorType, actorId: String(round), stateName: "s" };
      const { etag } = await storage.write(create(key, bytesOf(1)));
      const outcomes = await settleAll(Array.from({ length: 24 }, () => storage.delete({ key, expectedEtag: etag })), "a racing delete");
      checkEqual(outcomes.filter((deleted) => deleted).length, 1, `racing deletes that returned true (round ${round})`);
      checkEqual(await storage.read(key), null, "state after the racing deletes");
    }
  });

  edge("a create retried while a delete of it races: both succeed, never a conflict", async (storage) => {
    const actorType = uniqueName("retry-race");
    for (let round = 0; round < 8; round++) {
      const key: StateKey = { actorType, actorId: String(round), stateName: "s" };
      const request = create(key, bytesOf(round));
      await storage.write(request);
      // Either order is a valid history: the retry repeats the landed create, or re-creates
      // after the delete. The delete finds the create's etag either way.
      const [retried, deleted] = await settleAll<unknown>([storage.write(request), storage.delete({ key, expectedEtag: request.etag })], "the retry or the delete");
      checkEqual((retried as { etag?: string }).etag, request.etag, "etag of the retried create");
      checkEqual(deleted, true, "the racing delete");
      const stored = await storage.read(key);
      check(stored === null || stored.etag === request.etag, `the state is absent or the retried create, got etag ${stored?.etag}`);
    }
  });

  edge("a create retried after a lost reply, with a delete in between, succeeds", async (storage) => {
    const key: StateKey = { actorType: uniqueName("retry-delete"), actorId: "1", stateName: "s" };
    const request = create(key, bytesOf(1, 2));
    const first = await storage.write(request);
    checkEqual(await storage.delete({ key, expectedEtag: first.etag }), true, "delete after the first attempt");
    const retried = await storage.write(request);
    checkEqual(retried.etag, request.etag, "etag of the retried create");
    const stored = await storage.read(key);
    checkEqual(stored?.etag, request.etag, "stored etag after the retry");
    checkBytes(stored?.value, request.value, "stored value after the retry");
  });

  edge("deleting an absent state returns false, conditional or not, and never conflicts", async (storage) => {
    const actorType = uniqueName("absent-delete");
    const never: StateKey = { actorType, actorId: "never", stateName: "s" };
    const gone: StateKey = { actorType, actorId: "gone", stateName: "s" };
    const { etag } = await storage.write(create(gone, bytesOf(1)));
    checkEqual(await storage.delete({ key: gone, expectedEtag: etag }), true, "deleting a stored state");
    for (const key of [never, gone]) {
      const which = key === never ? "a never-written state" : "a deleted state";
      checkEqual(await storage.delete({ key, expectedEtag: null }), false, `expectedEtag null on ${which}`);
      checkEqual(await storage.delete({ key, expectedEtag: crypto.randomUUID() }), false, `an expected etag on ${which}`);
      checkEqual(await storage.delete({ key, expectedEtag: etag }), false, `the old etag on ${which}`);
      checkEqual(await storage.delete({ key, lastWriteWins: true }), false, `an unconditional delete of ${which}`);
    }
    const present: StateKey = { actorType, actorId: "present", stateName: "s" };
    await storage.write(create(present, bytesOf(2)));
    await checkRejects(() => storage.delete({ key: present, expectedEtag: null }), "STATE_CONFLICT", "expectedEtag null on a stored state");
    checkBytes((await storage.read(present))?.value, bytesOf(2), "value after the refused delete");
  });

  edge("transact with deletes of absent states succeeds, and so does its retry", async (storage) => {
    if (!storage.capabilities.transactions) return;
    const actorType = uniqueName("transact-absent");
    const existing: StateKey = { actorType, actorId: "1", stateName: "existing" };
    const { etag } = await storage.write(create(existing, bytesOf(1)));
    const operations: TransactOperation[] = [
      { kind: "delete", key: { actorType, actorId: "1", stateName: "never-a" }, expectedEtag: null },
      { kind: "delete", key: { actorType, actorId: "1", stateName: "never-b" }, expectedEtag: crypto.randomUUID() },
      { kind: "delete", key: { actorType, actorId: "1", stateName: "never-c" }, lastWriteWins: true },
      { kind: "delete", key: existing, expectedEtag: etag },
      { kind: "write", ...create({ actorType, actorId: "1", stateName: "written" }, bytesOf(2)) },
    ];
    const results = await storage.transact(operations);
    checkEqual(results.length, operations.length, "one result per operation");
    for (let index = 0; index < 4; index++) checkEqual(results[index], null, `result of delete ${index}`);
    checkEqual(results[4]?.etag, (operations[4] as WriteRequest).etag, "result of the write");
    checkEqual(await storage.read(existing), null, "the stored state was deleted");
    // A retry after a lost reply: the deleted state is now absent too, the write already landed.
    const retried = await storage.transact(operations);
    checkEqual(retried[4]?.etag, (operations[4] as WriteRequest).etag, "result of the retried write");
    checkBytes((await storage.read(operations[4]!.key))?.value, bytesOf(2), "value written by the transaction");
  });

  edge(`${EDGE_HOSTILE_IDS.length} more hostile ids, as actor type, id and state name, each in its own row`, async (storage) => {
    const base = uniqueName("edge-hostile");
    const ids = [...EDGE_HOSTILE_IDS, longId(storage, base)];
    check(new Set(ids).size === ids.length, "the hostile ids are distinct");
    const keysOf = (id: string): StateKey[] => [
      { actorType: base, actorId: id, stateName: "s" },
      { actorType: `${base}-names`, actorId: "x", stateName: id },
      { actorType: `${base}-type-${id}`, actorId: "x", stateName: "s" },
    ];
    const keys = ids.flatMap((id, index) => keysOf(id).map((key) => ({ key, index })));
    await inBatches(keys, 16, async ({ key, index }) => {
      await storage.write(create(key, bytesOfIndex(index)));
    });
    await inBatches(keys, 16, async ({ key, index }) => {
      const stored = await storage.read(key);
      checkBytes(stored?.value, bytesOfIndex(index), `value of ${label(key.actorType)}/${label(key.actorId)}/${label(key.stateName)}`);
    });
    if (storage.capabilities.list) {
      const listed = await listAllIds(storage, base);
      checkEqual(listed.length, ids.length, "hostile ids listed");
      const missing = ids.filter((id) => !listed.includes(id));
      check(missing.length === 0, `ids listed exactly as written; missing ${missing.map(label).join(", ")}`);
    }
  });

  edge("list prefixes are literal: _ and % match only themselves", async (storage) => {
    if (!storage.capabilities.list) return;
    const actorType = uniqueName("edge-prefix");
    const ids = ["a_b", "axb", "a%b", "a%c", "ab", "A_b", "a\\b", "a[b]", "a*b"];
    await inBatches(ids, 16, async (actorId, index) => {
      await storage.write(create({ actorType, actorId, stateName: "s" }, bytesOf(index)));
    });
    for (const [prefix, expected] of [["a_", ["a_b"]], ["a%", ["a%b", "a%c"]], ["a\\", ["a\\b"]], ["a[", ["a[b]"]], ["a*", ["a*b"]], ["A", ["A_b"]]] as const) {
      const listed = (await listAllIds(storage, actorType, prefix)).sort();
      checkEqual(listed.join(" "), [...expected].sort().join(" "), `ids listed with prefix ${label(prefix)}`);
    }
  });

  edge("lone surrogates and NUL are refused with InvalidKeyError by every operation", async (storage) => {
    const actorType = uniqueName("edge-malformed");
    for (const bad of MALFORMED_IDS) {
      for (const key of [
        { actorType, actorId: bad, stateName: "s" },
        { actorType, actorId: "1", stateName: bad },
        { actorType: `${actorType}${bad}`, actorId: "1", stateName: "s" },
      ]) {
        const what = `${label(key.actorType)}/${label(key.actorId)}/${label(key.stateName)}`;
        await checkRejects(() => storage.read(key), "INVALID_KEY", `read of ${what}`);
        await checkRejects(() => storage.write(create(key, bytesOf(1))), "INVALID_KEY", `write of ${what}`);
        await checkRejects(() => storage.delete({ key, expectedEtag: null }), "INVALID_KEY", `delete of ${what}`);
        await checkRejects(() => storage.delete({ key, lastWriteWins: true }), "INVALID_KEY", `unconditional delete of ${what}`);
        if (storage.capabilities.transactions) {
          await checkRejects(() => storage.transact([{ kind: "write", ...create(key, bytesOf(1)) }]), "INVALID_KEY", `transact of ${what}`);
        }
      }
    }
    // U+FFFD, what a lone surrogate becomes in UTF-8, is a valid id with its own row.
    const replacement: StateKey = { actorType, actorId: "\ufffd", stateName: "s" };
    await storage.write(create(replacement, bytesOf(7)));
    checkBytes((await storage.read(replacement))?.value, bytesOf(7), "value of the U+FFFD id");
    if (storage.capabilities.list) {
      const listed = await listAllIds(storage, actorType);
      checkEqual(listed.join(), "\ufffd", "the only stored id");
    }
  });

  edge("ids at capabilities.maxKeyBytes are stored, one byte more is refused", async (storage) => {
    const max = storage.capabilities.maxKeyBytes;
    if (max === undefined) return;
    const actorType = uniqueName("edge-limit");
    const stateName = "s";
    const budget = idBudget(actorType, stateName, max);
    check(budget >= 2, `maxKeyBytes ${max} leaves room for an actor id`);
    const atLimit: StateKey = { actorType, actorId: idOfBytes(budget), stateName };
    checkEqual(utf8.encode(encodeKey(atLimit)).byteLength, max, "encoded key length at the limit");
    const { etag } = await storage.write(create(atLimit, bytesOf(1)));
    checkBytes((await storage.read(atLimit))?.value, bytesOf(1), "value of the id at the limit");
    checkEqual(await storage.delete({ key: atLimit, expectedEtag: etag }), true, "delete of the id at the limit");
    for (const over of [
      { actorType, actorId: `${atLimit.actorId}x`, stateName },
      { actorType, actorId: `${atLimit.actorId.slice(1)}xxx`, stateName },
    ]) {
      const error = await checkRejects(() => storage.write(create(over, bytesOf(1))), "INVALID_KEY", "write one byte over the limit") as Error & { limit?: number };
      check(error.limit === undefined || error.limit === max, `the error names the limit ${max}, got ${error.limit}`);
      await checkRejects(() => storage.read(over), "INVALID_KEY", "read one byte over the limit");
      await checkRejects(() => storage.delete({ key: over, expectedEtag: null }), "INVALID_KEY", "delete one byte over the limit");
      await checkRejects(() => storage.delete({ key: over, lastWriteWins: true }), "INVALID_KEY", "unconditional delete one byte over the limit");
      if (storage.capabilities.transactions) {
        await checkRejects(() => storage.transact([{ kind: "write", ...create(over, bytesOf(1)) }]), "INVALID_KEY", "transact one byte over the limit");
      }
    }
  });

  edge("transactions over the declared size are refused before anything is sent", async (storage) => {
    const { transactions, maxTransactionBytes, maxTransactionOperations, maxValueBytes } = storage.capabilities;
    if (!transactions) return;
    const actorType = uniqueName("edge-big-transact");
    if (maxTransactionOperations !== undefined && maxTransactionOperations <= 1000) {
      const tooMany = Array.from({ length: maxTransactionOperations + 1 }, (_, index) =>
        ({ kind: "delete" as const, key: { actorType, actorId: "1", stateName: `d${index}` }, lastWriteWins: true as const }));
      await checkRejects(() => storage.transact(tooMany), "CAPABILITY", `a transaction of ${tooMany.length} deletes`);
    }
    if (maxTransactionBytes === undefined) return;
    const valueBytes = Math.min(maxValueBytes, maxTransactionBytes);
    const count = Math.floor(maxTransactionBytes / valueBytes) + 1;
    if (valueBytes > 64 * 1024 * 1024 || (maxTransactionOperations !== undefined && count > maxTransactionOperations)) return;
    const value = new Uint8Array(valueBytes).fill(1);
    const operations = Array.from({ length: count }, (_, index) => ({ kind: "write" as const, ...create({ actorType, actorId: "1", stateName: `v${index}` }, value) }));
    await checkRejects(() => storage.transact(operations), "CAPABILITY", `a transaction of ${count * valueBytes} bytes, over ${maxTransactionBytes}`);
    checkEqual(await storage.read(operations[0]!.key), null, "nothing written by the refused transaction");
  });


  edge("forged plaintext is refused by an encrypting codec, and kept intact", async (storage) => {
    const key: StateKey = { actorType: uniqueName("edge-forged"), actorId: "1", stateName: "balance" };
    const binding = encodeKey(key);
    const forged = await createCodec().encode({ cents: 1_000_000 }, 1, binding);
    await storage.write(create(key, forged));
    const keys = { k1: crypto.getRandomValues(new Uint8Array(32)) };
    const stored = await storage.read(key);
    await checkRejects(() => createCodec({ encryption: { keys, currentKeyId: "k1" } }).decode(stored!.value, binding), "DECRYPTION", "plaintext read with encryption on");
    const rollout = createCodec({ encryption: { keys, currentKeyId: "k1", allowPlaintext: true } });
    checkEqual(((await rollout.decode(stored!.value, binding)).value as { cents: number }).cents, 1_000_000, "plaintext read while allowPlaintext is on");
    checkBytes((await storage.read(key))?.value, forged, "the forged bytes stay as stored");
  });

  edge("decompression and serializer bombs give DecodeLimitError and stay intact", async (storage) => {
    const actorType = uniqueName("edge-bomb");
    const bombs: Array<{ name: string; bytes: Uint8Array }> = [
      { name: "shared references", bytes: envelope(0, sharedReferenceBomb(10_000)) },
      { name: "a sparse array of 2^32-1 slots", bytes: envelope(0, utf8.encode("[[-7,4294967295]]")) },
      { name: "a 200,000-digit BigInt", bytes: envelope(0, utf8.encode(`[["BigInt","${"9".repeat(200_000)}"]]`)) },
    ];
    if (typeof CompressionStream === "function") {
      bombs.push({ name: "gzip inflating to 8 MiB", bytes: envelope(1, await gzipOfString(8 * 1024 * 1024)) });
    }
    const codec = createCodec({ limits: { maxBytes: 1024 * 1024 } });
    for (const [index, bomb] of bombs.entries()) {
      if (bomb.bytes.byteLength > storage.capabilities.maxValueBytes) continue;
      const key: StateKey = { actorType, actorId: String(index), stateName: "s" };
      await storage.write(create(key, bomb.bytes));
      const stored = await storage.read(key);
      await checkRejects(() => codec.decode(stored!.value, encodeKey(key)), "DECODE_LIMIT", `decoding ${bomb.name}`);
      checkBytes((await storage.read(key))?.value, bomb.bytes, `stored bytes of ${bomb.name}`);
    }
  });
}

function longId(storage: StateStorage, actorType: string): string {
  const max = storage.capabilities.maxKeyBytes;
  // The longest actor type the case builds is `${actorType}-type-${id}`: leave room for that.
  const budget = max === undefined ? 1200 : Math.min(1200, Math.floor(idBudget(`${actorType}-type-`, "s", max) / 2));
  return `long-${"\u00e9".repeat(Math.max(0, Math.floor((budget - 5) / 2)))}`;
}

/** A stored envelope by hand: magic "Q", format 1, flags, schema version 1, payload. */
function envelope(flags: number, payload: Uint8Array): Uint8Array {
  const bytes = new Uint8Array(7 + payload.byteLength);
  bytes.set([0x51, 1, flags, 0, 0, 0, 1]);
  bytes.set(payload, 7);
  return bytes;
}

/** `width` references to an array of `width` references to one number: width² numbers from ~4·width bytes. */
function sharedReferenceBomb(width: number): Uint8Array {
  const row = (ref: number) => `[${Array.from({ length: width }, () => ref).join(",")}]`;
  return utf8.encode(`[${row(1)},${row(2)},0]`);
}

/** Gzips a serialized string of `length` zeros without ever holding it whole. */
async function gzipOfString(length: number): Promise<Uint8Array> {
  const stream = new CompressionStream("gzip");
  const writer = stream.writable.getWriter();
  const compressed = new Response(stream.readable).arrayBuffer();
  const chunk = new Uint8Array(1024 * 1024).fill(0x30);
  await writer.write(utf8.encode("[\""));
  for (let written = 0; written < length; written += chunk.byteLength) await writer.write(chunk);
  await writer.write(utf8.encode("\"]"));
  await writer.close();
  return new Uint8Array(await compressed);
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function event(payload: string): NewEvent {
  return { type: "E", data: encoder.encode(payload) };
}

async function readPayloads(store: EventStore, stream: string): Promise<string[]> {
  const events: StoredEvent[] = [];
  for await (const stored of store.read(stream)) events.push(stored);
  return events.map((stored) => decoder.decode(stored.data));
}

/**
 * Registers the event store edge cases with the suite's `add`. Called by
 * `runEventStoreConformance`; not needed on its own.
 */
export function registerEventStoreEdgeCases(add: AddCase<EventStore>): void {
  const edge = (what: string, body: (store: EventStore) => Promise<void>) => add(`edge: ${what}`, body);

  edge("stream names with lone surrogates or NUL are refused with InvalidKeyError", async (store) => {
    const base = uniqueName("edge-stream");
    for (const bad of MALFORMED_IDS) {
      const stream = `${base}/${bad}`;
      const what = label(stream);
      await checkRejects(() => store.append(stream, [event("1")], "any"), "INVALID_KEY", `append to ${what}`);
      await checkRejects(async () => {
        for await (const _ of store.read(stream)) break;
      }, "INVALID_KEY", `read of ${what}`);
      await checkRejects(() => store.version(stream), "INVALID_KEY", `version of ${what}`);
      await checkRejects(() => store.saveSnapshot(stream, { version: 1, data: encoder.encode("s") }), "INVALID_KEY", `snapshot of ${what}`);
      await checkRejects(() => store.loadSnapshot(stream), "INVALID_KEY", `snapshot load of ${what}`);
    }
    checkEqual(await store.version(`${base}/\ufffd`), 0, "U+FFFD, what a lone surrogate would become, holds nothing");
  });

  edge("streams of look-alike actors and normalization variants stay apart", async (store) => {
    const type = uniqueName("shop");
    const left = streamNameOf(type, "eu/1");
    const right = streamNameOf(`${type}/eu`, "1");
    check(left !== right, `streamNameOf keeps ${label(left)} apart from ${label(right)}`);
    const names = [left, right, streamNameOf(type, "caf\u00e9"), streamNameOf(type, "cafe\u0301"), streamNameOf(type, "A"), streamNameOf(type, "a"), streamNameOf(type, "a ")];
    check(new Set(names).size === names.length, "distinct stream names");
    for (const [index, stream] of names.entries()) await store.append(stream, [event(String(index))], "no_stream");
    for (const [index, stream] of names.entries()) {
      checkEqual((await readPayloads(store, stream)).join(), String(index), `events of ${label(stream)}`);
    }
    try {
      streamNameOf(type, "\ud800");
      throw new ConformanceFailure("streamNameOf accepted a lone surrogate");
    } catch (error) {
      if (!isQuarkError(error, "INVALID_KEY")) throw error;
    }
  });
}

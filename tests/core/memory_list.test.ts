import { test } from "node:test";
import assert from "node:assert/strict";
import { encodeKey, memoryStorage, type StateKey, type StateStorage } from "../../mod.ts";
import { sortedKeys } from "../../src/storage/sorted_keys.ts";

const KEY_COUNT = 100_000;
const PAGE = 100;
// Far enough in the future that nothing expires, but every read of a record consults the clock,
// so the clock's call count is the number of records a list visits.
const NEVER_MS = 1e12;

function countingClock() {
  const clock = { calls: 0, now: () => (clock.calls++, 0) };
  return clock;
}

function keyOf(index: number): StateKey {
  // Shuffled ids: inserts land all over the index, not only at its end.
  return { actorType: "big", actorId: `id-${((index * 7_919) % KEY_COUNT).toString(36)}`, stateName: "s" };
}

async function fill(storage: StateStorage, count: number, ttlMs?: number): Promise<void> {
  for (let index = 0; index < count; index++) {
    await storage.write({ key: keyOf(index), value: new Uint8Array([1]), etag: `e${index}`, expectedEtag: null, ttlMs });
  }
}

test("memory list: paging 100k keys visits each once, in order, and a page visits about a page of records", async () => {
  const clock = countingClock();
  const storage = memoryStorage({ now: clock.now });
  await fill(storage, KEY_COUNT, NEVER_MS);
  const expected = Array.from({ length: KEY_COUNT }, (_, index) => encodeKey(keyOf(index))).sort();
  const listed: string[] = [];
  let cursor: string | undefined;
  let mostVisited = 0;
  do {
    clock.calls = 0;
    const page = await storage.list({ actorType: "big", limit: PAGE, cursor });
    mostVisited = Math.max(mostVisited, clock.calls);
    listed.push(...page.keys.map(encodeKey));
    cursor = page.cursor;
  } while (cursor !== undefined);
  assert.deepEqual(listed, expected);
  // The page plus the one record read to know another page exists: never the whole store.
  assert.ok(mostVisited <= PAGE + 1, `a page of ${PAGE} visited ${mostVisited} records`);
});

test("memory list: deleted and expired keys leave the index, and a prefix or a cursor before it starts at the prefix", async () => {
  let clock = 0;
  const storage = memoryStorage({ now: () => clock });
  const keys = ["a", "b", "c", "d", "e"].map((actorId) => ({ actorType: "t", actorId, stateName: "s" }));
  for (const key of keys) await storage.write({ key, value: new Uint8Array([1]), etag: key.actorId, expectedEtag: null, ttlMs: key.actorId === "c" ? 10 : undefined });
  await storage.delete({ key: keys[1]!, expectedEtag: "b" });
  clock = 10;
  const all = await storage.list({ actorType: "t", limit: 10 });
  assert.deepEqual(all.keys.map((key) => key.actorId), ["a", "d", "e"]);
  assert.equal(all.cursor, undefined);
  const paged = await storage.list({ actorType: "t", limit: 2 });
  assert.deepEqual(paged.keys.map((key) => key.actorId), ["a", "d"]);
  assert.deepEqual((await storage.list({ actorType: "t", limit: 2, cursor: paged.cursor })).keys.map((key) => key.actorId), ["e"]);
  // A write after expiry and a rewrite of an existing key each appear once.
  await storage.write({ key: keys[2]!, value: new Uint8Array([2]), etag: "c2", expectedEtag: null });
  await storage.write({ key: keys[0]!, value: new Uint8Array([2]), etag: "a2", expectedEtag: "a" });
  assert.deepEqual((await storage.list({ actorType: "t" })).keys.map((key) => key.actorId), ["a", "c", "d", "e"]);
  assert.deepEqual((await storage.list({ actorType: "t", actorIdPrefix: "d", cursor: "a" })).keys.map((key) => key.actorId), ["d"]);
  assert.deepEqual((await storage.list({ actorType: "s" })).keys, []);
});

test("sorted keys: matches a sorted copy under random adds and deletes across many blocks", () => {
  const index = sortedKeys();
  const model = new Set<string>();
  let seed = 42;
  const random = () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
  for (let step = 0; step < 20_000; step++) {
    const key = `k${Math.floor(random() * 5_000)}`;
    if (random() < 0.7) {
      index.add(key);
      model.add(key);
    } else {
      index.delete(key);
      model.delete(key);
    }
  }
  const sorted = [...model].sort();
  assert.deepEqual([...index.from("", true)], sorted);
  const middle = sorted[Math.floor(sorted.length / 2)]!;
  assert.deepEqual([...index.from(middle, true)], sorted.filter((key) => key >= middle));
  assert.deepEqual([...index.from(middle, false)], sorted.filter((key) => key > middle));
  assert.deepEqual([...index.from("l", true)], []);
});

test("memory list: expired keys stay out of pages however their expiry was set, replaced or deleted", async () => {
  let time = 0;
  const storage = memoryStorage({ now: () => time });
  const key = (actorId: string): StateKey => ({ actorType: "ttl", actorId, stateName: "s" });
  const write = (actorId: string, etag: string, expectedEtag: string | null, ttlMs?: number) =>
    storage.write({ key: key(actorId), value: new Uint8Array([1]), etag, expectedEtag, ttlMs });
  // The store skips the expiry check while it believes nothing can expire, so each way a
  // record's expiry comes and goes must keep that belief right.
  await write("expires", "a1", null, 100);
  await write("expires", "a2", "a1", 100); // an expiring record replaced by another
  await write("kept", "k1", null, 100);
  await write("kept", "k2", "k1"); // its expiry dropped by an overwrite
  await write("deleted", "d1", null, 100);
  await storage.delete({ key: key("deleted"), expectedEtag: "d1" });
  await write("plain", "p1", null);
  const listed = async () => (await storage.list({ actorType: "ttl" })).keys.map((each) => each.actorId);
  assert.deepEqual(await listed(), ["expires", "kept", "plain"]);
  time = 1_000;
  assert.deepEqual(await listed(), ["kept", "plain"]);
  await write("again", "g1", null, 100); // expired records are gone, a new one counts afresh
  time = 2_000;
  assert.deepEqual(await listed(), ["kept", "plain"]);
});

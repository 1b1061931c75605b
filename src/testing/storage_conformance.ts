import type { StateKey, StateStorage, WriteRequest } from "../storage/types.ts";
import type { RetryOptions } from "../state/conflict.ts";
import type { StandardSchemaV1 } from "../state/standard_schema.ts";
import { createActorSystem } from "../actors/actor_system.ts";
import { defineActor } from "../actors/define_actor.ts";
import { defineState } from "../state/define_state.ts";
import { check, checkBytes, checkEqual, checkRejects } from "./assert.ts";
import { registerCase, sleep, type TestRegistrar, uniqueName } from "./registrar.ts";
import { registerStorageEdgeCases } from "./edge_conformance.ts";

/**
 * Options for {@linkcode runStorageConformance}.
 *
 * @example More patient retries for a slow backend
 * ```ts
 * import { memoryStorage } from "@quark/persistence";
 * import { runStorageConformance, type StorageConformanceOptions } from "@quark/persistence/testing";
 * const options: StorageConformanceOptions = { name: "memory", open: () => memoryStorage(), raceRetry: { maxAttempts: 40, maxDelayMs: 500 } };
 * const names: string[] = [];
 * runStorageConformance((name) => names.push(name), options);
 * if (!names.every((name) => name.startsWith("memory storage: "))) throw new Error("cases are labelled by name");
 * ```
 */
export interface StorageConformanceOptions {
  /** A label for the cases, such as `"postgres"`. */
  readonly name: string;
  /** Opens a storage; called once per case, and the case closes it. */
  readonly open: () => StateStorage | Promise<StateStorage>;
  /**
   * Retry bounds for the race case. The defaults suit most backends; a backend whose
   * conditional writes are slow under contention (Cassandra LWT) may need more attempts.
   */
  readonly raceRetry?: RetryOptions | undefined;
}

/**
 * Keys that have broken real storage layers: injections, operators, separators, unicode.
 *
 * @example Hostile ids in your own tests
 * ```ts
 * import { memoryStorage } from "@quark/persistence";
 * import { HOSTILE_IDS } from "@quark/persistence/testing";
 * const storage = memoryStorage();
 * for (const actorId of HOSTILE_IDS) {
 *   const key = { actorType: "account", actorId, stateName: "balance" };
 *   await storage.write({ key, value: new TextEncoder().encode(actorId), etag: crypto.randomUUID(), expectedEtag: null });
 * }
 * const { keys } = await storage.list({ actorType: "account", limit: 1_000 });
 * if (keys.length !== HOSTILE_IDS.length) throw new Error("hostile ids collided");
 * ```
 */
export const HOSTILE_IDS: readonly string[] = [
  "'; DROP TABLE quark_state; --",
  "' OR '1'='1",
  "x'); DELETE FROM quark.state; --",
  "{\"$gt\":\"\"}",
  "$where",
  "]] redis.call('FLUSHALL') --[[",
  "a:b",
  "a/b",
  "a%2Fb",
  "%",
  "\\",
  "ünïcødé ✓ 🚀 你好",
  "",
  " ",
  "x".repeat(400),
];

const RACE_WRITERS = 64;
const RACE_INCREMENTS = 50;

function bytesOf(...values: number[]): Uint8Array {
  return Uint8Array.from(values);
}

function freshKey(actorType: string, actorId = "1", stateName = "s"): StateKey {
  return { actorType, actorId, stateName };
}

function create(key: StateKey, value: Uint8Array): WriteRequest {
  return { key, value, etag: crypto.randomUUID(), expectedEtag: null };
}

/**
 * Registers the storage conformance suite: etag semantics, ABA, idempotent retries,
 * hostile keys, binary and large values, pagination, transactions, TTL, capability errors
 * and a 64-writer race. Every backend in this library passes it; run it on yours.
 *
 * @param test The test registrar, such as `test` from `node:test`.
 * @param options The storage to test.
 *
 * @example Running the suite on the memory storage
 * ```ts ignore
 * import { test } from "node:test";
 * import { memoryStorage } from "@quark/persistence";
 * import { runStorageConformance } from "@quark/persistence/testing";
 * runStorageConformance(test, { name: "memory", open: () => memoryStorage() });
 * ```
 */
export function runStorageConformance(test: TestRegistrar, options: StorageConformanceOptions): void {
  const label = (what: string) => `${options.name} storage: ${what}`;
  const add = (what: string, body: (storage: StateStorage) => Promise<void>) =>
    registerCase(test, label(what), options.open, body);

  add("create-only writes succeed once", async (storage) => {
    const key = freshKey(uniqueName("create"));
    const first = await storage.write(create(key, bytesOf(1)));
    checkEqual(first.revision, 1, "first revision");
    await checkRejects(() => storage.write(create(key, bytesOf(2))), "STATE_CONFLICT", "second create-only write");
    const stored = await storage.read(key);
    checkBytes(stored?.value, bytesOf(1), "value after refused create");
    checkEqual(stored?.etag, first.etag, "etag after refused create");
  });

  add("reads return what was written, with etag and revision", async (storage) => {
    const key = freshKey(uniqueName("read"));
    checkEqual(await storage.read(key), null, "absent state");
    const first = await storage.write(create(key, bytesOf(1, 2, 3)));
    const second = await storage.write({ key, value: bytesOf(4), etag: crypto.randomUUID(), expectedEtag: first.etag });
    checkEqual(second.revision, 2, "revision after update");
    const stored = await storage.read(key);
    checkBytes(stored?.value, bytesOf(4), "updated value");
    checkEqual(stored?.etag, second.etag, "updated etag");
    checkEqual(stored?.revision, 2, "stored revision");
  });

  add("a stale etag is refused and the stored value stays", async (storage) => {
    const key = freshKey(uniqueName("stale"));
    const first = await storage.write(create(key, bytesOf(1)));
    const second = await storage.write({ key, value: bytesOf(2), etag: crypto.randomUUID(), expectedEtag: first.etag });
    const error = await checkRejects(
      () => storage.write({ key, value: bytesOf(3), etag: crypto.randomUUID(), expectedEtag: first.etag }),
      "STATE_CONFLICT",
      "write with a stale etag",
    ) as Error & { expectedEtag?: string; actualEtag?: string | null };
    checkEqual(error.expectedEtag, first.etag, "conflict names the expected etag");
    check(error.actualEtag === undefined || error.actualEtag === second.etag, "conflict's actual etag, where reported, is the stored one");
    checkBytes((await storage.read(key))?.value, bytesOf(2), "value after refused write");
  });

  add("an etag from before a delete and re-create is refused (ABA)", async (storage) => {
    const key = freshKey(uniqueName("aba"));
    const first = await storage.write(create(key, bytesOf(1)));
    checkEqual(await storage.delete({ key, expectedEtag: first.etag }), true, "delete reports it deleted");
    checkEqual(await storage.read(key), null, "state after delete");
    await storage.write(create(key, bytesOf(2)));
    await checkRejects(
      () => storage.write({ key, value: bytesOf(3), etag: crypto.randomUUID(), expectedEtag: first.etag }),
      "STATE_CONFLICT",
      "write with the etag from before the delete",
    );
    await checkRejects(() => storage.delete({ key, expectedEtag: first.etag }), "STATE_CONFLICT", "delete with the old etag");
    checkBytes((await storage.read(key))?.value, bytesOf(2), "re-created value");
  });

  add("a retried write whose reply was lost succeeds without a conflict", async (storage) => {
    const key = freshKey(uniqueName("retry"));
    const createRequest = create(key, bytesOf(1));
    const first = await storage.write(createRequest);
    const again = await storage.write(createRequest);
    checkEqual(again.etag, first.etag, "etag of the repeated create");
    checkEqual(again.revision, first.revision, "a repeat does not bump the revision");
    const update: WriteRequest = { key, value: bytesOf(2), etag: crypto.randomUUID(), expectedEtag: first.etag };
    const updated = await storage.write(update);
    const repeated = await storage.write(update);
    checkEqual(repeated.etag, updated.etag, "etag of the repeated update");
    checkEqual((await storage.read(key))?.revision, 2, "revision after a repeated update");
  });

  add("conditional deletes", async (storage) => {
    const key = freshKey(uniqueName("delete"));
    checkEqual(await storage.delete({ key, expectedEtag: crypto.randomUUID() }), false, "deleting an absent state");
    const first = await storage.write(create(key, bytesOf(1)));
    await checkRejects(() => storage.delete({ key, expectedEtag: crypto.randomUUID() }), "STATE_CONFLICT", "delete with a wrong etag");
    checkBytes((await storage.read(key))?.value, bytesOf(1), "value after refused delete");
    checkEqual(await storage.delete({ key, expectedEtag: first.etag }), true, "delete with the right etag");
    await storage.write(create(key, bytesOf(2)));
    checkEqual(await storage.delete({ key, lastWriteWins: true }), true, "unconditional delete");
    checkEqual(await storage.read(key), null, "state after unconditional delete");
  });

  add("last-write-wins writes skip the check", async (storage) => {
    const key = freshKey(uniqueName("lww"));
    await storage.write({ key, value: bytesOf(1), etag: crypto.randomUUID(), lastWriteWins: true });
    const second = await storage.write({ key, value: bytesOf(2), etag: crypto.randomUUID(), lastWriteWins: true });
    checkEqual(second.revision, 2, "revision after two unconditional writes");
    checkBytes((await storage.read(key))?.value, bytesOf(2), "last value wins");
  });

  add("concurrent create-only writes: exactly one wins", async (storage) => {
    const key = freshKey(uniqueName("race-create"));
    const outcomes = await Promise.allSettled(Array.from({ length: 16 }, (_, index) => storage.write(create(key, bytesOf(index)))));
    checkEqual(outcomes.filter((outcome) => outcome.status === "fulfilled").length, 1, "winners among 16 creators");
    for (const outcome of outcomes) {
      if (outcome.status === "rejected") {
        await checkRejects(() => Promise.reject(outcome.reason), "STATE_CONFLICT", "a losing creator");
      }
    }
  });

  add("concurrent updates at one etag: exactly one wins", async (storage) => {
    const key = freshKey(uniqueName("race-update"));
    const first = await storage.write(create(key, bytesOf(0)));
    const outcomes = await Promise.allSettled(Array.from({ length: 16 }, (_, index) =>
      storage.write({ key, value: bytesOf(index + 1), etag: crypto.randomUUID(), expectedEtag: first.etag })));
    checkEqual(outcomes.filter((outcome) => outcome.status === "fulfilled").length, 1, "winners among 16 updaters");
    checkEqual((await storage.read(key))?.revision, 2, "revision after the race");
  });

  add("hostile, unicode, empty and long ids are stored apart and intact", async (storage) => {
    const actorType = uniqueName("hostile");
    for (const [index, actorId] of HOSTILE_IDS.entries()) {
      await storage.write(create({ actorType, actorId, stateName: actorId || "empty" }, bytesOf(index)));
    }
    for (const [index, actorId] of HOSTILE_IDS.entries()) {
      const stored = await storage.read({ actorType, actorId, stateName: actorId || "empty" });
      checkBytes(stored?.value, bytesOf(index), `value for id ${JSON.stringify(actorId.slice(0, 40))}`);
    }
    const listed = await listAll(storage, actorType, 7);
    checkEqual(listed.length, HOSTILE_IDS.length, "hostile keys listed");
    check(HOSTILE_IDS.every((id) => listed.some((key) => key.actorId === id)), "every hostile id is listed as written");
  });

  add("separators inside ids never collide", async (storage) => {
    const actorType = uniqueName("separator");
    const pairs: Array<[StateKey, StateKey]> = [
      [{ actorType, actorId: "a:b", stateName: "c" }, { actorType, actorId: "a", stateName: "b:c" }],
      [{ actorType, actorId: "a/b", stateName: "c" }, { actorType, actorId: "a", stateName: "b/c" }],
      [{ actorType, actorId: "a|b", stateName: "c" }, { actorType, actorId: "a", stateName: "b|c" }],
    ];
    for (const [left, right] of pairs) {
      await storage.write(create(left, bytesOf(1)));
      await storage.write(create(right, bytesOf(2)));
      checkBytes((await storage.read(left))?.value, bytesOf(1), `value of ${left.actorId}+${left.stateName}`);
      checkBytes((await storage.read(right))?.value, bytesOf(2), `value of ${right.actorId}+${right.stateName}`);
    }
    const typeCollision = { actorType: `${actorType}:x`, actorId: "y", stateName: "s" };
    await storage.write(create(typeCollision, bytesOf(3)));
    checkEqual(await storage.read({ actorType, actorId: "x:y", stateName: "s" }), null, "actor type separator");
  });

  add("binary values round-trip exactly", async (storage) => {
    const actorType = uniqueName("binary");
    const everyByte = Uint8Array.from({ length: 256 }, (_, index) => index);
    const random = crypto.getRandomValues(new Uint8Array(64 * 1024));
    for (const [index, value] of [bytesOf(0), everyByte, random].entries()) {
      const key = freshKey(actorType, String(index));
      await storage.write(create(key, value));
      checkBytes((await storage.read(key))?.value, value, `binary value ${index}`);
    }
  });

  add("values at the size limit are stored, and one byte more is refused", async (storage) => {
    const key = freshKey(uniqueName("large"));
    const limit = storage.capabilities.maxValueBytes;
    const largest = new Uint8Array(Math.min(limit, 4 * 1024 * 1024)).fill(7);
    await storage.write(create(key, largest));
    checkBytes((await storage.read(key))?.value, largest, "value at the limit");
    if (limit <= 64 * 1024 * 1024) {
      const other = freshKey(key.actorType, "2");
      await checkRejects(() => storage.write(create(other, new Uint8Array(limit + 1))), "VALUE_TOO_LARGE", "value over the limit");
      checkEqual(await storage.read(other), null, "nothing stored for a refused value");
    }
  });

  add("list pages through every key exactly once", async (storage) => {
    if (!storage.capabilities.list) {
      await checkRejects(() => storage.list({ actorType: "any" }), "CAPABILITY", "list on a storage without list");
      return;
    }
    const actorType = uniqueName("list");
    const expected = new Set<string>();
    for (let actor = 0; actor < 12; actor++) {
      for (const stateName of ["a", "b"]) {
        const actorId = `${actor % 2 === 0 ? "p" : "q"}-${actor}`;
        await storage.write(create({ actorType, actorId, stateName }, bytesOf(actor)));
        expected.add(`${actorId}/${stateName}`);
      }
    }
    await storage.write(create({ actorType: `${actorType}-other`, actorId: "p-0", stateName: "a" }, bytesOf(0)));
    const listed = await listAll(storage, actorType, 5);
    checkEqual(listed.length, expected.size, "keys listed in pages of 5");
    checkEqual(new Set(listed.map((key) => `${key.actorId}/${key.stateName}`)).size, expected.size, "distinct keys listed");
    const prefixed = await listAll(storage, actorType, 4, "p-");
    checkEqual(prefixed.length, 12, "keys listed with prefix p-");
    check(prefixed.every((key) => key.actorId.startsWith("p-") && key.actorType === actorType), "prefix and type respected");
  });

  add("transactions apply all or nothing", async (storage) => {
    const actorType = uniqueName("transact");
    const one = freshKey(actorType, "1", "one");
    const two = freshKey(actorType, "1", "two");
    if (!storage.capabilities.transactions) {
      await checkRejects(() => storage.transact([{ kind: "write", ...create(one, bytesOf(1)) }]), "CAPABILITY", "transact without support");
      checkEqual(await storage.read(one), null, "nothing written by a refused transaction");
      return;
    }
    const [first] = await storage.transact([
      { kind: "write", ...create(one, bytesOf(1)) },
      { kind: "write", ...create(two, bytesOf(2)) },
    ]);
    check(first && first.revision === 1, "transaction reports each write");
    const twoStored = await storage.read(two);
    await checkRejects(() =>
      storage.transact([
        { kind: "write", key: one, value: bytesOf(9), etag: crypto.randomUUID(), expectedEtag: first!.etag },
        { kind: "write", key: two, value: bytesOf(9), etag: crypto.randomUUID(), expectedEtag: crypto.randomUUID() },
      ]), "STATE_CONFLICT", "transaction with one stale etag");
    checkBytes((await storage.read(one))?.value, bytesOf(1), "first state untouched by the failed transaction");
    checkEqual((await storage.read(two))?.etag, twoStored?.etag, "second state untouched by the failed transaction");
    await storage.transact([
      { kind: "delete", key: one, expectedEtag: first!.etag },
      { kind: "write", key: two, value: bytesOf(3), etag: crypto.randomUUID(), expectedEtag: twoStored!.etag },
    ]);
    checkEqual(await storage.read(one), null, "deleted in a transaction");
    checkBytes((await storage.read(two))?.value, bytesOf(3), "written in a transaction");
    const limit = storage.capabilities.maxTransactionOperations;
    if (limit !== undefined) {
      const tooMany = Array.from({ length: limit + 1 }, (_, index) => ({ kind: "write" as const, ...create(freshKey(actorType, "1", `n${index}`), bytesOf(1)) }));
      await checkRejects(() => storage.transact(tooMany), "CAPABILITY", "a transaction over the declared limit");
    }
  });

  add("TTL expires values, or is refused where unsupported", async (storage) => {
    const key = freshKey(uniqueName("ttl"));
    if (!storage.capabilities.ttl) {
      await checkRejects(() => storage.write({ ...create(key, bytesOf(1)), ttlMs: 1000 }), "CAPABILITY", "TTL without support");
      checkEqual(await storage.read(key), null, "nothing written by a refused TTL write");
      return;
    }
    const lasting = freshKey(key.actorType, "2");
    const ttlMs = 2000;
    const writtenBefore = Date.now();
    await storage.write({ ...create(key, bytesOf(1)), ttlMs });
    await storage.write({ ...create(lasting, bytesOf(2)), ttlMs: 600_000 });
    const early = await storage.read(key);
    // A slow backend may take the whole TTL to answer; presence is only owed before expiry.
    if (Date.now() - writtenBefore < ttlMs) checkBytes(early?.value, bytesOf(1), "value before expiry");
    // Backends with whole-second TTLs (Cassandra) round up; wait past the next second too.
    await sleep(Math.max(0, writtenBefore + ttlMs + 1100 - Date.now()));
    checkEqual(await storage.read(key), null, "value after expiry");
    checkBytes((await storage.read(lasting))?.value, bytesOf(2), "value with a long TTL");
    await storage.write(create(key, bytesOf(3)));
    checkBytes((await storage.read(key))?.value, bytesOf(3), "create-only write over an expired value");
  });

  add("corrupt stored bytes give CorruptDataError and stay intact", async (storage) => {
    const actorType = uniqueName("corrupt");
    const garbage = bytesOf(0x51, 1, 0, 0, 0, 0, 1, 0xff, 0xfe);
    await storage.write(create({ actorType, actorId: "1", stateName: "value" }, garbage));
    const value = defineState("value", { schema: anySchema, initial: 0 });
    const Holder = defineActor(actorType, { states: { value }, handlers: { read: ({ states }) => states.value.value } });
    const system = createActorSystem({ storage });
    const error = await checkRejects(() => system.actor(Holder, "1").read(), "ACTIVATION", "activation over corrupt bytes");
    check((error.cause as { code?: string }).code === "CORRUPT_DATA", "the activation error's cause is CorruptDataError");
    checkBytes((await storage.read({ actorType, actorId: "1", stateName: "value" }))?.value, garbage, "corrupt bytes untouched");
    await system.shutdown();
  });

  add(`race: ${RACE_WRITERS} writers x ${RACE_INCREMENTS} increments lose no update`, async (storage) => {
    const count = defineState("count", { schema: anySchema as StandardSchemaV1<unknown, number>, initial: 0 });
    const Counter = defineActor(uniqueName("counter"), {
      states: { count },
      conflict: { retry: { maxAttempts: 1000, baseDelayMs: 4, maxDelayMs: 600, ...options.raceRetry } },
      handlers: {
        async increment({ states }) {
          states.count.value += 1;
          await states.count.save();
        },
      },
    });
    // One system per writer, as if each ran in its own process: only storage arbitrates.
    // The wide backoff ceiling keeps 64 writers from spending most round trips on conflicts.
    const systems = Array.from({ length: RACE_WRITERS }, () => createActorSystem({ storage }));
    await Promise.all(systems.map(async (system) => {
      const counter = system.actor(Counter, "shared");
      for (let index = 0; index < RACE_INCREMENTS; index++) await counter.increment();
    }));
    await Promise.all(systems.map((system) => system.shutdown()));
    const reader = createActorSystem({ storage });
    const Reader = defineActor(Counter.actorType, { states: { count }, handlers: { get: ({ states }) => states.count.value } });
    checkEqual(await reader.actor(Reader, "shared").get(), RACE_WRITERS * RACE_INCREMENTS, "final count");
    await reader.shutdown();
  });

  registerStorageEdgeCases(add);
}

// Accepts any value: the cases above test storage, not schemas.
const anySchema: StandardSchemaV1<unknown, any> = {
  "~standard": { version: 1, vendor: "quark-testing", validate: (value) => ({ value }) },
};

async function listAll(storage: StateStorage, actorType: string, limit: number, actorIdPrefix?: string): Promise<StateKey[]> {
  const keys: StateKey[] = [];
  let cursor: string | undefined;
  for (let page = 0; page < 1000; page++) {
    const result = await storage.list({ actorType, actorIdPrefix, limit, cursor });
    check(result.keys.length <= limit, `a page holds at most ${limit} keys`);
    keys.push(...result.keys);
    cursor = result.cursor;
    if (cursor === undefined) return keys;
  }
  throw new Error("list never reached its last page");
}

import type { EventStore, NewEvent, StoredEvent } from "../events/types.ts";
import { check, checkBytes, checkEqual, checkRejects } from "./assert.ts";
import { registerCase, type TestRegistrar, uniqueName } from "./registrar.ts";
import { registerEventStoreEdgeCases } from "./edge_conformance.ts";
import { registerGlobalOrderCases } from "./read_all_conformance.ts";

/**
 * Options for {@linkcode runEventStoreConformance}.
 *
 * @example Running one case by hand
 * ```ts
 * import { memoryEventStore } from "@quark/persistence";
 * import { runEventStoreConformance, type EventStoreConformanceOptions } from "@quark/persistence/testing";
 * const options: EventStoreConformanceOptions = { name: "memory", open: () => memoryEventStore() };
 * const cases: Array<() => Promise<void>> = [];
 * runEventStoreConformance((_name, body) => cases.push(body), options);
 * await cases[0]!(); // throws ConformanceFailure if the store misbehaves
 * ```
 */
export interface EventStoreConformanceOptions {
  /** A label for the cases, such as `"postgres"`. */
  readonly name: string;
  /** Opens an event store; called once per case, and the case closes it. */
  readonly open: () => EventStore | Promise<EventStore>;
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function event(type: string, payload: string): NewEvent {
  return { type, data: encoder.encode(payload) };
}

async function readAll(store: EventStore, stream: string, fromVersion?: number, pageSize?: number): Promise<StoredEvent[]> {
  const events: StoredEvent[] = [];
  for await (const stored of store.read(stream, { fromVersion, pageSize })) events.push(stored);
  return events;
}

function checkGapFree(events: readonly StoredEvent[], message: string): void {
  events.forEach((stored, index) => checkEqual(stored.version, index + 1, `${message}: version at position ${index}`));
}

/**
 * Registers the event store conformance suite: ordering, expected versions, batch
 * atomicity, concurrent appenders, snapshots that never go back, paging through a
 * 10,000-event stream, metadata and `createdAt`, and the global order (`readAll`) where the
 * store declares it. Every event store in this library passes it; run it on yours.
 *
 * @param test The test registrar, such as `test` from `node:test`.
 * @param options The event store to test.
 *
 * @example Running the suite on the memory event store
 * ```ts ignore
 * import { test } from "node:test";
 * import { memoryEventStore } from "@quark/persistence";
 * import { runEventStoreConformance } from "@quark/persistence/testing";
 * runEventStoreConformance(test, { name: "memory", open: () => memoryEventStore() });
 * ```
 */
export function runEventStoreConformance(test: TestRegistrar, options: EventStoreConformanceOptions): void {
  const add = (what: string, body: (store: EventStore) => Promise<void>) =>
    registerCase(test, `${options.name} event store: ${what}`, options.open, body);

  add("appends read back in order, byte for byte", async (store) => {
    const stream = uniqueName("order");
    checkEqual(await store.version(stream), 0, "version of a new stream");
    checkEqual((await readAll(store, stream)).length, 0, "events of a new stream");
    const first = await store.append(stream, [event("Opened", "1"), event("Deposited", "2")], "no_stream");
    checkEqual(first.nextVersion, 2, "version after the first batch");
    const binary = Uint8Array.from({ length: 256 }, (_, index) => index);
    await store.append(stream, [{ type: "Binary", data: binary }], 2);
    const events = await readAll(store, stream);
    checkGapFree(events, "stream");
    checkEqual(events.map((stored) => stored.type).join(), "Opened,Deposited,Binary", "types in order");
    checkEqual(decoder.decode(events[1]!.data), "2", "payload of the second event");
    checkBytes(events[2]!.data, binary, "binary payload");
    checkEqual(events[0]!.stream, stream, "events name their stream");
    checkEqual(await store.version(stream), 3, "version after two batches");
  });

  add("expected versions are enforced", async (store) => {
    const stream = uniqueName("expected");
    await checkRejects(() => store.append(stream, [event("E", "x")], 1), "EVENT_STORE_CONFLICT", "expecting version 1 of a new stream");
    await store.append(stream, [event("E", "1")], "no_stream");
    await checkRejects(() => store.append(stream, [event("E", "x")], "no_stream"), "EVENT_STORE_CONFLICT", "no_stream on an existing stream");
    const error = await checkRejects(() => store.append(stream, [event("E", "x")], 0), "EVENT_STORE_CONFLICT", "a stale version") as Error & { actualVersion?: number };
    check(error.actualVersion === undefined || error.actualVersion === 1, "the conflict's actual version, where reported, is the stream's");
    await store.append(stream, [event("E", "2")], 1);
    await store.append(stream, [event("E", "3")], "any");
    const events = await readAll(store, stream);
    checkEqual(events.map((stored) => decoder.decode(stored.data)).join(), "1,2,3", "payloads after refused appends");
    checkEqual((await readAll(store, stream, 2)).length, 2, "reading from version 2");
  });

  add("a refused batch leaves no partial events", async (store) => {
    const stream = uniqueName("atomic");
    await store.append(stream, [event("E", "1"), event("E", "2")], "no_stream");
    await checkRejects(() => store.append(stream, [event("E", "a"), event("E", "b"), event("E", "c")], 1), "EVENT_STORE_CONFLICT", "batch at a stale version");
    checkEqual((await readAll(store, stream)).length, 2, "events after the refused batch");
    checkEqual(await store.version(stream), 2, "version after the refused batch");
  });

  add("of appends racing at one version, exactly one wins", async (store) => {
    const stream = uniqueName("winner");
    await store.append(stream, [event("E", "0")], "no_stream");
    const outcomes = await Promise.allSettled(Array.from({ length: 8 }, (_, index) =>
      store.append(stream, [event("E", `${index}a`), event("E", `${index}b`)], 1)));
    checkEqual(outcomes.filter((outcome) => outcome.status === "fulfilled").length, 1, "winners among 8 appenders");
    for (const outcome of outcomes) {
      if (outcome.status === "rejected") await checkRejects(() => Promise.reject(outcome.reason), "EVENT_STORE_CONFLICT", "a losing appender");
    }
    const events = await readAll(store, stream);
    checkEqual(events.length, 3, "events after the race");
    checkEqual(decoder.decode(events[1]!.data)[0], decoder.decode(events[2]!.data)[0], "the winning batch stays together");
  });

  add("32 appenders racing with \"any\" leave a gap-free, duplicate-free stream", async (store) => {
    const stream = uniqueName("any");
    const appenders = 32;
    const rounds = 3;
    await Promise.all(Array.from({ length: appenders }, async (_, appender) => {
      for (let round = 0; round < rounds; round++) {
        await store.append(stream, [event("E", `${appender}.${round}.a`), event("E", `${appender}.${round}.b`)], "any");
      }
    }));
    const events = await readAll(store, stream);
    checkEqual(events.length, appenders * rounds * 2, "events after the race");
    checkGapFree(events, "raced stream");
    const payloads = events.map((stored) => decoder.decode(stored.data));
    checkEqual(new Set(payloads).size, payloads.length, "distinct payloads");
    for (let index = 0; index < payloads.length; index += 2) {
      checkEqual(payloads[index]!.replace(/a$/, "b"), payloads[index + 1], `batch at version ${index + 1} stays together`);
    }
  });

  add("snapshots never go back", async (store) => {
    const stream = uniqueName("snapshot");
    checkEqual(await store.loadSnapshot(stream), null, "snapshot of a new stream");
    checkEqual(await store.saveSnapshot(stream, { version: 5, data: encoder.encode("five") }), true, "first snapshot saved");
    checkEqual(await store.saveSnapshot(stream, { version: 3, data: encoder.encode("three") }), false, "older snapshot refused");
    checkEqual(await store.saveSnapshot(stream, { version: 5, data: encoder.encode("again") }), false, "same-version snapshot refused");
    const kept = await store.loadSnapshot(stream);
    checkEqual(kept?.version, 5, "kept snapshot version");
    checkEqual(decoder.decode(kept!.data), "five", "kept snapshot data");
    checkEqual(await store.saveSnapshot(stream, { version: 8, data: encoder.encode("eight") }), true, "newer snapshot saved");
    checkEqual((await store.loadSnapshot(stream))?.version, 8, "newest snapshot loads");
    const racing = await Promise.all([9, 12, 10, 11].map((version) => store.saveSnapshot(stream, { version, data: encoder.encode(String(version)) })));
    check(racing[1], "the newest of racing snapshots is saved");
    checkEqual((await store.loadSnapshot(stream))?.version, 12, "racing snapshots end at the newest");
  });

  add("a 10,000-event stream reads in pages", async (store) => {
    const stream = uniqueName("long");
    const total = 10_000;
    const batch = 50;
    for (let start = 0; start < total; start += batch) {
      await store.append(stream, Array.from({ length: batch }, (_, index) => event("E", String(start + index + 1))), start);
    }
    let expected = 1;
    for await (const stored of store.read(stream, { pageSize: 1000 })) {
      checkEqual(stored.version, expected, "version while paging");
      if (stored.version % 997 === 0) checkEqual(decoder.decode(stored.data), String(expected), "payload while paging");
      expected++;
    }
    checkEqual(expected - 1, total, "events read");
    const tail = await readAll(store, stream, total - 10, 4);
    checkEqual(tail.length, 11, "events from version 9,990 in pages of 4");
    checkEqual(tail[0]!.version, total - 10, "first event of the tail");
  });

  registerEventStoreEdgeCases(add);
  registerGlobalOrderCases(add);
}

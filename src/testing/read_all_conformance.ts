// Conformance cases for event metadata and the global order (`readAll`). Stores that declare
// `capabilities.readAll` must follow the order safely; the others must refuse it by name.
import type { EventStore, GlobalEvent, NewEvent } from "../events/types.ts";
import { check, checkBytes, checkEqual, checkRejects } from "./assert.ts";
import { uniqueName } from "./registrar.ts";
import type { StandardSchemaV1 } from "../state/standard_schema.ts";
import { createCodec } from "../codec/codec.ts";
import { eventBinding } from "../events/aggregate.ts";
import { memoryStorage } from "../storage/memory.ts";
import { defineProjection } from "../projections/define_projection.ts";
import { createProjector } from "../projections/projector.ts";

type AddCase = (what: string, body: (store: EventStore) => Promise<void>) => void;

const encoder = new TextEncoder();
const decoder = new TextDecoder();
/** How far a store's clock may be from the test's: generous, since it checks the unit, not speed. */
const CLOCK_SLACK_MS = 10 * 60_000;

function event(type: string, payload: string, metadata?: string): NewEvent {
  return { type, data: encoder.encode(payload), ...(metadata === undefined ? {} : { metadata: encoder.encode(metadata) }) };
}

async function collect(iterable: AsyncIterable<GlobalEvent>, streams: ReadonlySet<string>): Promise<GlobalEvent[]> {
  const events: GlobalEvent[] = [];
  for await (const stored of iterable) if (streams.has(stored.stream)) events.push(stored);
  return events;
}

/** Input the guards refuse fails with a RangeError, before anything reaches the server. */
async function checkRangeError(action: () => Promise<unknown>, message: string): Promise<void> {
  const outcome = await action().then(() => "it succeeded", (error: unknown) => error);
  check(outcome instanceof RangeError, `${message}: expected a RangeError, got ${String(outcome)}`);
}

/** Appends a marker and returns its position, so a case reads only what comes after it. */
async function headPosition(store: EventStore): Promise<bigint> {
  const result = await store.append(uniqueName("marker"), [event("Marker", "")], "no_stream");
  check(typeof result.lastPosition === "bigint", "an append on a store with readAll reports lastPosition");
  return result.lastPosition;
}

/** Registers the metadata cases for every store, and the `readAll` cases by capability. */
export function registerGlobalOrderCases(add: AddCase): void {
  add("metadata and createdAt read back", async (store) => {
    const stream = uniqueName("meta");
    const before = Date.now();
    const metadata = Uint8Array.from({ length: 256 }, (_, index) => 255 - index);
    await store.append(stream, [{ type: "WithMeta", data: encoder.encode("1"), metadata }, event("Without", "2")], "no_stream");
    const events: { metadata?: Uint8Array | undefined; createdAt?: Date | undefined }[] = [];
    for await (const stored of store.read(stream)) events.push(stored);
    checkEqual(events.length, 2, "events read");
    checkBytes(events[0]!.metadata, metadata, "metadata of the first event");
    checkEqual(events[1]!.metadata, undefined, "an event appended without metadata has none");
    for (const [index, stored] of events.entries()) {
      check(stored.createdAt instanceof Date, `event ${index + 1} carries createdAt as a Date`);
      const at = stored.createdAt.getTime();
      check(Math.abs(at - before) < CLOCK_SLACK_MS, `createdAt of event ${index + 1} (${stored.createdAt.toISOString()}) is near the time of the append`);
    }
  });

  add("metadata that is not bytes is refused before anything is stored", async (store) => {
    const stream = uniqueName("bad-meta");
    const bad = { type: "E", data: encoder.encode("x"), metadata: "not bytes" } as unknown as NewEvent;
    await checkRangeError(() => store.append(stream, [bad], "no_stream"), "an append with string metadata");
    checkEqual(await store.version(stream), 0, "version after the refused append");
  });

  add("readAll: supported as declared", async (store) => {
    if (store.capabilities.readAll) {
      await checkRangeError(async () => {
        for await (const _ of store.readAll({ after: -1n })) break;
      }, "readAll after a negative position");
      return;
    }
    await checkRejects(async () => {
      for await (const _ of store.readAll()) break;
    }, "CAPABILITY", "readAll on a store without a global order");
  });

  const ordered = (what: string, body: (store: EventStore) => Promise<void>) =>
    add(`readAll: ${what}`, async (store) => {
      if (store.capabilities.readAll) await body(store);
    });

  ordered("every event once, in each stream's order, with growing positions", async (store) => {
    const after = await headPosition(store);
    const streams = [uniqueName("all-a"), uniqueName("all-b"), uniqueName("all-c")];
    const results = [];
    for (let round = 0; round < 3; round++) {
      for (const [index, stream] of streams.entries()) {
        results.push(await store.append(stream, [event("E", `${index}.${round}.1`, `m${round}`), event("E", `${index}.${round}.2`)], "any"));
      }
    }
    const events = await collect(store.readAll({ after, pageSize: 4 }), new Set(streams));
    checkEqual(events.length, 18, "events read after the marker, in pages of 4");
    for (let index = 1; index < events.length; index++) {
      check(events[index]!.position > events[index - 1]!.position, `position ${index} grows`);
    }
    for (const stream of streams) {
      const versions = events.filter((stored) => stored.stream === stream).map((stored) => stored.version);
      checkEqual(versions.join(), "1,2,3,4,5,6", `versions of ${stream} in global order`);
    }
    checkEqual(decoder.decode(events[0]!.metadata ?? new Uint8Array()), "m0", "metadata through readAll");
    check(events[0]!.createdAt instanceof Date, "createdAt through readAll");
    checkEqual(events.at(-1)!.position, results.at(-1)!.lastPosition, "the last append's lastPosition is its last event's position");
  });

  ordered("resuming after any position returns exactly the rest", async (store) => {
    const after = await headPosition(store);
    const stream = uniqueName("resume");
    await store.append(stream, Array.from({ length: 7 }, (_, index) => event("E", String(index + 1))), "no_stream");
    const all = await collect(store.readAll({ after }), new Set([stream]));
    checkEqual(all.length, 7, "events after the marker");
    for (const [index, stored] of all.entries()) {
      const rest = await collect(store.readAll({ after: stored.position, pageSize: 2 }), new Set([stream]));
      checkEqual(rest.map((item) => decoder.decode(item.data)).join(), all.slice(index + 1).map((item) => decoder.decode(item.data)).join(), `the rest after event ${index + 1}`);
    }
  });

  ordered("a follower polling during concurrent appends sees every event exactly once", async (store) => {
    let checkpoint = await headPosition(store);
    const streams = Array.from({ length: 6 }, (_, index) => uniqueName(`follow-${index}`));
    const wanted = new Set(streams);
    const seen: GlobalEvent[] = [];
    let writing = true;
    const follow = (async () => {
      while (true) {
        const done = !writing;
        for await (const stored of store.readAll({ after: checkpoint, pageSize: 7 })) {
          check(stored.position > checkpoint, `position ${stored.position} is past the checkpoint ${checkpoint}`);
          checkpoint = stored.position;
          if (wanted.has(stored.stream)) seen.push(stored);
        }
        if (done) return;
        await new Promise((resolve) => setTimeout(resolve, 1));
      }
    })();
    await Promise.all(streams.map(async (stream, writer) => {
      for (let round = 0; round < 5; round++) {
        await store.append(stream, [event("E", `${writer}.${round}.a`), event("E", `${writer}.${round}.b`)], "any");
      }
    }));
    writing = false;
    await follow;
    const payloads = seen.map((stored) => decoder.decode(stored.data));
    checkEqual(payloads.length, streams.length * 10, "events the follower saw");
    checkEqual(new Set(payloads).size, payloads.length, "no event seen twice");
  });

  ordered("two projectors racing over this store's order fold every event exactly once", async (store) => {
    const from = await headPosition(store);
    const actorType = uniqueName("projected");
    const moved = schemaOf<{ type: string; by: number }>((value) =>
      typeof value === "object" && value !== null && typeof (value as { by?: unknown }).by === "number");
    const Sums = defineProjection(uniqueName("sums"), {
      from: [{ actorType, events: moved }],
      state: schemaOf<number>((value) => typeof value === "number"),
      initial: 0,
      key: (_event, info) => info.actorId,
      apply: (sum, event) => sum + event.by,
    });
    const codec = createCodec();
    const documents = memoryStorage();
    const projectors = [1, 2].map((batchSize) => createProjector(Sums, { eventStore: store, storage: documents, codec, batchSize, from }));
    const expected = new Map<string, number>();
    const append = async (id: string, amounts: number[]) => {
      const stream = `${actorType}/${id}`;
      const version = await store.version(stream);
      const events = await Promise.all(amounts.map(async (by, index) =>
        ({ type: "Moved", data: await codec.encode({ type: "Moved", by }, 1, eventBinding(stream, version + index + 1)) })));
      await store.append(stream, events, version === 0 ? "no_stream" : version);
      expected.set(id, (expected.get(id) ?? 0) + amounts.reduce((sum, by) => sum + by, 0));
    };
    for (let round = 0; round < 4; round++) {
      await Promise.all([append("a", [round, 1]), append("b", [10 * round]), ...projectors.map((projector) => projector.runBatch())]);
    }
    await Promise.all(projectors.map((projector) => projector.catchUp()));
    for (const [id, sum] of expected) {
      for (const [index, projector] of projectors.entries()) checkEqual(await projector.read(id), sum, `projector ${index + 1}'s document ${id}`);
    }
  });
}

/** A Standard Schema from a predicate, so the kit needs no validation library. */
function schemaOf<T>(accepts: (value: unknown) => boolean): StandardSchemaV1<unknown, T> {
  return {
    "~standard": {
      version: 1,
      vendor: "quark-conformance",
      validate: (value) => accepts(value) ? { value: value as T } : { issues: [{ message: `unexpected value ${String(value)}` }] },
    },
  };
}

// The model-based check of projections (issue 15), for any event store with `readAll` and
// any storage with transactions.
//
// Invariant: once caught up, every document of the read model equals the fold of the
// committed events that map to it, each applied exactly once, in global order. This must
// hold whatever happens on the way: several writers appending at once, two projectors
// running the same projection at once with their storage calls interleaved by fc.scheduler,
// projectors that crash (replaced by a fresh instance while the old one's batch goes on),
// reads that fail, and commits whose reply is lost or that fail before reaching storage.
import assert from "node:assert/strict";
import fc from "fast-check";
import * as v from "valibot";
import {
  createProjector,
  defineProjection,
  isQuarkError,
  type EventStore,
  type Projector,
  type StateStorage,
} from "../../mod.ts";
import { createCodec } from "../../mod.ts";
import { eventBinding, metadataBinding } from "../../src/events/aggregate.ts";
import { arm, createFaultQueue, faultyStorage, type Fault, type FaultQueue } from "./faulty_storage.ts";

const moved = v.object({ type: v.literal("Moved"), by: v.number() });
const source = { actorType: "model-counter", events: moved } as const;
const state = v.object({ sum: v.number(), count: v.number(), lastVersion: v.number() });
type Doc = v.InferOutput<typeof state>;
const codec = createCodec();

interface World {
  readonly eventStore: EventStore;
  readonly storage: StateStorage;
  readonly scheduler: fc.Scheduler;
  readonly name: string;
  /** Where the world's events begin: the store is shared with other tests and runs. */
  readonly from: bigint;
  readonly streams: string[];
  projectors: { projector: Projector<Doc>; faults: FaultQueue }[];
}

/** A projector as one process would run it: its own storage connection, faults and pace. */
function newProjector(world: World, batchSize: number, storage?: StateStorage) {
  const projection = defineProjection(world.name, {
    from: [source],
    state,
    initial: { sum: 0, count: 0, lastVersion: 0 },
    key: (_event, info) => info.actorId,
    // `apply` may run on a batch that a concurrent projector commits first; that batch is
    // then discarded, so only the final documents are checked, not each call.
    apply: (doc, event, info) => ({ sum: doc.sum + event.by, count: doc.count + 1, lastVersion: info.version }),
  });
  const faults = createFaultQueue();
  const through = storage ?? faultyStorage(world.storage, world.scheduler, faults);
  return { projector: createProjector(projection, { eventStore: world.eventStore, storage: through, codec, batchSize, from: world.from }), faults };
}

async function append(world: World, writer: number, amounts: number[]): Promise<void> {
  await world.scheduler.schedule(Promise.resolve(), `append by writer ${writer}`);
  const stream = world.streams[writer]!;
  const version = await world.eventStore.version(stream);
  const events = await Promise.all(amounts.map(async (by, index) => ({
    type: "Moved",
    data: await codec.encode({ type: "Moved", by }, 1, eventBinding(stream, version + index + 1)),
    metadata: await codec.encode({ writer }, 1, metadataBinding(stream, version + index + 1)),
  })));
  // A racing writer may take the version first; its own events are what counts.
  await world.eventStore.append(stream, events, version === 0 ? "no_stream" : version).catch((error: unknown) => {
    if (!isQuarkError(error, "EVENT_STORE_CONFLICT")) throw error;
  });
}

/** One projector's batch; injected outages fail it and must leave nothing half-done. */
async function step(entry: World["projectors"][number], fault: Fault | undefined): Promise<void> {
  if (fault) arm(entry.faults, fault);
  try {
    await entry.projector.runBatch();
  } catch (error) {
    if (!isQuarkError(error, "STORAGE_UNAVAILABLE")) throw error;
  }
}

type Command =
  | { kind: "append"; writer: number; amounts: number[] }
  | { kind: "run"; projector: number; fault: Fault | undefined }
  | { kind: "crash"; projector: number; batchSize: number };

// Runs outweigh the rest so that batches of the two projectors often overlap.
const command = (writers: number): fc.Arbitrary<Command> => fc.oneof(
  { weight: 2, arbitrary: fc.record({ kind: fc.constant("append" as const), writer: fc.nat(writers - 1), amounts: fc.array(fc.integer({ min: -5, max: 9 }), { minLength: 1, maxLength: 4 }) }) },
  { weight: 4, arbitrary: fc.record({ kind: fc.constant("run" as const), projector: fc.nat(1), fault: fc.constantFrom<Fault | undefined>(undefined, undefined, undefined, "unavailable", "lost-reply", "read-unavailable") }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant("crash" as const), projector: fc.nat(1), batchSize: fc.integer({ min: 1, max: 5 }) }) },
);

/**
 * Starts every command at once and lets the scheduler interleave their storage calls: two
 * projectors and the writers race, and a crashed projector's batch in flight goes on as a
 * zombie next to its replacement.
 */
async function play(world: World, commands: readonly Command[]): Promise<void> {
  // Some events are there before anything starts, so the first batches overlap on real work.
  const seeding = world.streams.map((_, writer) => append(world, writer, [1, 2, 3]));
  const running = commands.map((item) => {
    switch (item.kind) {
      case "append":
        return append(world, item.writer, item.amounts);
      case "run":
        return step(world.projectors[item.projector]!, item.fault);
      case "crash":
        world.projectors[item.projector] = newProjector(world, item.batchSize);
        return Promise.resolve();
    }
  });
  await world.scheduler.waitFor(Promise.all([...seeding, ...running]));
}

/** The fold the read model must equal: every committed event of our streams, once. */
async function expectedDocuments(world: World): Promise<Map<string, Doc>> {
  const expected = new Map<string, Doc>();
  for (const [index, stream] of world.streams.entries()) {
    let doc: Doc = { sum: 0, count: 0, lastVersion: 0 };
    for await (const stored of world.eventStore.read(stream)) {
      const decoded = await codec.decode(stored.data, eventBinding(stream, stored.version));
      doc = { sum: doc.sum + (decoded.value as { by: number }).by, count: doc.count + 1, lastVersion: stored.version };
    }
    expected.set(`w${index}`, doc);
  }
  return expected;
}

export interface ProjectionModelTarget {
  readonly label: string;
  readonly eventStore: EventStore;
  readonly storage: StateStorage;
  readonly runs: number;
  readonly seed?: number | undefined;
}

let worlds = 0;

/** Checks the invariant over `runs` random histories; a failure reports the seed and history. */
export async function checkProjectionModel(target: ProjectionModelTarget): Promise<void> {
  const writers = 3;
  const property = fc.asyncProperty(fc.scheduler(), fc.array(command(writers), { minLength: 1, maxLength: 25 }), fc.integer({ min: 1, max: 4 }), async (scheduler, commands, batchSize) => {
    // Fresh names per history: the stores are shared across runs.
    const run = `${Date.now().toString(36)}-${worlds++}`;
    const world: World = {
      eventStore: target.eventStore,
      storage: target.storage,
      scheduler,
      name: `model-${run}`,
      from: (await target.eventStore.append(`model-start/${run}`, [{ type: "Start", data: new Uint8Array() }], "no_stream")).lastPosition ?? 0n,
      streams: Array.from({ length: writers }, (_, index) => `${source.actorType}/${run}-w${index}`),
      projectors: [],
    };
    world.projectors = [newProjector(world, batchSize), newProjector(world, batchSize)];
    await play(world, commands);
    const reader = newProjector(world, 7, target.storage);
    await reader.projector.catchUp();
    const expected = await expectedDocuments(world);
    for (const [index] of world.streams.entries()) {
      const actual = await reader.projector.read(`${run}-w${index}`);
      assert.deepEqual(actual, expected.get(`w${index}`), `document of writer ${index}`);
    }
    // A rebuild replays the same events into a fresh read model.
    await reader.projector.rebuild();
    for (const [index] of world.streams.entries()) {
      assert.deepEqual(await reader.projector.read(`${run}-w${index}`), expected.get(`w${index}`), `rebuilt document of writer ${index}`);
    }
  });
  const seed = target.seed ?? Date.now() ^ (Math.random() * 0x7fffffff);
  try {
    await fc.assert(property, { numRuns: target.runs, seed, endOnFailure: true });
  } catch (error) {
    throw new Error(`Projection model failed on ${target.label} (seed ${seed}): ${error instanceof Error ? error.message : String(error)}`, { cause: error });
  }
}

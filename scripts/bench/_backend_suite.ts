/**
 * The suite shape the DynamoDB, MongoDB and Cassandra benches of `npm run bench` share. Each
 * backend gives its adapter, the raw driver sending the very request that adapter builds, and
 * the raw driver's minimal conditional write; this file turns them into the same cases:
 *
 * - a chain of conditional writes on one key, through the adapter and through each raw write;
 * - an actor call that saves, against the raw write, one caller and 16 callers at once;
 * - writes of 1 KB, 100 KB and 1 MB (those the backend can hold), adapter against raw;
 * - round trips per adapter write and per actor save, counted by the backend's own counter.
 *
 * Every chain writes its own key, so no side's cached knowledge (Cassandra's revision cache)
 * is spoiled by another side's writes.
 */
import { createActorSystem, type StateKey } from "../../mod.ts";
import type { StateStorage } from "../../src/storage/types.ts";
import { BenchNote, concurrently, type BenchCase, type BenchRatio, type BenchSuite } from "./_harness.ts";

const CALLERS = 16;
const PER_CALLER = 4;
const SIZES = [["1 KB", 1_024], ["100 KB", 100 * 1_024], ["1 MB", 1_024 * 1_024]] as const;
const COUNTED_WRITES = 20;

/** What a key holds after a write. */
export interface Stored {
  readonly etag: string;
  readonly revision: number;
}

/** Sends one raw conditional write of `value` that expects `stored` and stores etag `next`. */
export type RawWrite = (key: StateKey, value: Uint8Array, stored: Stored, next: string) => Promise<void>;

/** One backend, ready to measure. */
export interface BackendTarget {
  readonly name: string;
  readonly storage: StateStorage;
  /** The raw driver sending exactly the request the adapter builds, outside the adapter. */
  readonly sameRequest: RawWrite;
  /** The least conditional write this backend has, under the name its case shows. */
  readonly minimal: { readonly name: string; readonly write: RawWrite };
  /** Further raw writes worth a row beside the minimal one, by case name. */
  readonly others?: Readonly<Record<string, RawWrite>>;
  /** Cases of this backend alone, with their ratios. */
  readonly cases?: readonly BenchCase[];
  readonly ratios?: readonly BenchRatio[];
  readonly roundTrips: () => number;
  /** What `roundTrips` counts, such as `"HTTP requests"`. */
  readonly unit: string;
  /** Facts of this backend alone, counted after the timed cycles. */
  readonly facts?: () => Promise<Record<string, string>>;
  /** Drops what the run created and closes the connections. */
  readonly close: () => Promise<void>;
}

// Incompressible bytes, so no server-side compression flatters either side.
function randomBytes(length: number): Uint8Array {
  const bytes = new Uint8Array(length);
  for (let offset = 0; offset < length; offset += 65_536) crypto.getRandomValues(bytes.subarray(offset, offset + 65_536));
  return bytes;
}

// A chain of conditional writes on a key of its own, created by the adapter so every side
// writes over a stored item of the adapter's shape; `raw` absent means through the adapter.
async function chain(storage: StateStorage, value: Uint8Array, raw?: RawWrite): Promise<() => Promise<void>> {
  const key: StateKey = { actorType: "bench", actorId: crypto.randomUUID(), stateName: "s" };
  let stored: Stored = await storage.write({ key, value, etag: crypto.randomUUID(), expectedEtag: null });
  return async () => {
    const next = crypto.randomUUID();
    if (raw === undefined) {
      stored = await storage.write({ key, value, etag: next, expectedEtag: stored.etag });
      return;
    }
    await raw(key, value, stored, next);
    stored = { etag: next, revision: stored.revision + 1 };
  };
}

/** The suite of one backend: its adapter against its raw driver, as the module docs list. */
export async function backendSuite(target: BackendTarget): Promise<BenchSuite> {
  const { name, storage } = target;
  const small = randomBytes(64);
  const adapter = await chain(storage, small);
  const callers = await Promise.all(Array.from({ length: CALLERS }, () => chain(storage, small, target.sameRequest)));
  const raws: Record<string, () => Promise<void>> = {
    "raw same statement": await chain(storage, small, target.sameRequest),
    [`raw minimal ${target.minimal.name}`]: await chain(storage, small, target.minimal.write),
  };
  for (const [caseName, write] of Object.entries(target.others ?? {})) raws[caseName] = await chain(storage, small, write);
  const system = createActorSystem({ storage });
  const one = system.actor(BenchNote, crypto.randomUUID());
  const many = Array.from({ length: CALLERS }, () => system.actor(BenchNote, crypto.randomUUID()));
  await Promise.all([one.bump(), ...many.map((actor) => actor.bump())]);

  const { maxValueBytes } = storage.capabilities;
  const sized: BenchCase[] = [];
  const sizedRatios: BenchRatio[] = [];
  const sizeFacts: Record<string, string> = {};
  for (const [label, bytes] of SIZES) {
    if (bytes > maxValueBytes) {
      sizeFacts[`${label} writes`] = `not measured: ${name} takes values of at most ${maxValueBytes.toLocaleString("en")} bytes`;
      continue;
    }
    const value = randomBytes(bytes);
    sized.push({ name: `adapter write ${label}`, ops: 1, sample: await chain(storage, value) });
    sized.push({ name: `raw same statement ${label}`, ops: 1, sample: await chain(storage, value, target.sameRequest) });
    sizedRatios.push({ label: `${name}: ${label} write, adapter / raw`, of: `adapter write ${label}`, to: `raw same statement ${label}` });
  }

  return {
    name,
    cases: [
      { name: "adapter write", ops: 1, sample: adapter },
      ...Object.entries(raws).map(([caseName, sample]) => ({ name: caseName, ops: 1, sample })),
      { name: "actor save", ops: 1, sample: () => one.bump() },
      { name: `raw same statement, ${CALLERS} callers`, ops: CALLERS * PER_CALLER, sample: () => concurrently(CALLERS, PER_CALLER, (caller) => callers[caller]!()) },
      { name: `actor save, ${CALLERS} callers`, ops: CALLERS * PER_CALLER, sample: () => concurrently(CALLERS, PER_CALLER, (caller) => many[caller]!.bump()) },
      ...sized,
      ...target.cases ?? [],
    ],
    ratios: [
      { label: `${name}: actor save / raw same statement (p50)`, of: "actor save", to: "raw same statement", target: "≤ 1.15" },
      { label: `${name}: ${CALLERS} callers, actor save / raw (time per op)`, of: `actor save, ${CALLERS} callers`, to: `raw same statement, ${CALLERS} callers`, target: "≤ 1.11 (≥ 0.90× throughput)" },
      { label: `${name}: adapter write / raw same statement`, of: "adapter write", to: "raw same statement" },
      { label: `${name}: adapter statement / minimal ${target.minimal.name}`, of: "raw same statement", to: `raw minimal ${target.minimal.name}`, target: "≤ 1.10" },
      ...sizedRatios,
      ...target.ratios ?? [],
    ],
    facts: async () => {
      const before = target.roundTrips();
      for (let index = 0; index < COUNTED_WRITES; index++) await adapter();
      const afterWrites = target.roundTrips();
      for (let index = 0; index < COUNTED_WRITES; index++) await one.bump();
      const afterSaves = target.roundTrips();
      return {
        [`${target.unit} per adapter write`]: ((afterWrites - before) / COUNTED_WRITES).toFixed(2),
        [`${target.unit} per actor save`]: ((afterSaves - afterWrites) / COUNTED_WRITES).toFixed(2),
        ...sizeFacts,
        ...await target.facts?.(),
      };
    },
    close: async () => {
      await system.shutdown();
      await target.close();
    },
  };
}

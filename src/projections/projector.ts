import type { Codec, CodecOptions } from "../codec/codec.ts";
import type { EventStore, GlobalEvent } from "../events/types.ts";
import type { StateKey, StateStorage, StoredRecord, TransactOperation } from "../storage/types.ts";
import type { ProjectedEvent, Projection } from "./define_projection.ts";
import { SINGLE_DOCUMENT } from "./define_projection.ts";
import { createCodec } from "../codec/codec.ts";
import { decodeEvent, decodeEventMetadata } from "../events/event_decoder.ts";
import { encodePosition, readPosition } from "../events/checkpoint.ts";
import { follow, type PollOptions, type Subscription } from "../events/subscription.ts";
import { decodeKey, encodeKey } from "../storage/keys.ts";
import { validate } from "../state/standard_schema.ts";
import { upcastValue } from "../state/state_cell.ts";
import { CapabilityError, isQuarkError } from "../errors.ts";
import { notify, now, type QuarkObserver } from "../observe/observer.ts";
import { observeEventStore, observeStorage } from "../observe/observe_storage.ts";

const PROJECTION_TYPE = "quark.projection";
const ACTIVE = "active";
const FIRST_GENERATION = "0";
/** How often a batch is re-read after another projector committed it first. */
const MAX_BATCH_ATTEMPTS = 20;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * Options for {@linkcode createProjector}.
 *
 * @example A projector on the memory backends
 * ```ts
 * import { memoryEventStore, memoryStorage, type ProjectorOptions } from "@quark/persistence";
 * const options: ProjectorOptions = { eventStore: memoryEventStore(), storage: memoryStorage(), batchSize: 200 };
 * if (options.batchSize !== 200) throw new Error("unexpected");
 * ```
 */
export interface ProjectorOptions {
  /** The store whose global order feeds the projection; it must declare `capabilities.readAll`. */
  readonly eventStore: EventStore;
  /** Where documents and the checkpoint live; it must support `transact`. */
  readonly storage: StateStorage;
  /** The codec the events were written with, or its options. Defaults to the default codec. */
  readonly codec?: Codec | CodecOptions | undefined;
  /** How many events one commit covers. Defaults to 100. */
  readonly batchSize?: number | undefined;
  /**
   * Where a new read model starts: after this position. Rebuilds start there too. Defaults
   * to `0n`, every event; an append's `lastPosition` starts it after that append.
   */
  readonly from?: bigint | undefined;
  /** Told about each batch (`projection`) and every storage and event-store call the projector makes. */
  readonly observer?: QuarkObserver | undefined;
}

/**
 * Runs a projection: reads events after its checkpoint, folds them into documents and
 * commits documents and checkpoint in one `transact`.
 *
 * @example Reading a document
 * ```ts
 * import * as v from "valibot";
 * import { createProjector, defineProjection, memoryEventStore, memoryStorage, type Projector } from "@quark/persistence";
 * const Total = defineProjection("total", { from: [{ actorType: "tally", events: v.object({ type: v.string() }) }], state: v.number(), initial: 0, apply: (count) => count + 1 });
 * const projector: Projector<number> = createProjector(Total, { eventStore: memoryEventStore(), storage: memoryStorage() });
 * if ((await projector.read()) !== 0) throw new Error("a new read model starts at initial");
 * ```
 */
export interface Projector<State> {
  /** Processes one batch; returns how many events it covered (0 when caught up). */
  runBatch(): Promise<number>;
  /** Processes batches until caught up; returns how many events they covered. */
  catchUp(): Promise<number>;
  /** Follows new events until stopped, polling with backoff. */
  start(options?: PollOptions): Subscription;
  /** A document of the live read model: `initial` until an event touches it. */
  read(key?: string): Promise<State>;
  /** The position the live read model has reached. */
  position(): Promise<bigint>;
  /**
   * Replays every event after `from` into a fresh read model, then swaps it in. Live
   * projectors switch to it on their next batch; the old documents are deleted where the
   * storage can list them.
   */
  rebuild(): Promise<void>;
}

/**
 * Builds the projector of `projection` over an event store and a storage.
 *
 * @param projection The projection, from `defineProjection`.
 * @param options The event store, the storage, the codec and the batch size.
 * @returns The projector.
 * @throws {CapabilityError} When the storage has no transactions.
 *
 * @example Catching up and reading a document
 * ```ts
 * import * as v from "valibot";
 * import { createCodec, createProjector, defineProjection, memoryEventStore, memoryStorage } from "@quark/persistence";
 * const Visits = defineProjection("visits", { from: [{ actorType: "page", events: v.object({ type: v.string() }) }], state: v.number(), initial: 0, apply: (count) => count + 1 });
 * const eventStore = memoryEventStore();
 * const codec = createCodec();
 * // Events are encoded bound to their stream and version, as event-sourced actors write them.
 * await eventStore.append("page/home", [{ type: "Visited", data: await codec.encode({ type: "Visited" }, 1, "page/home#1") }], "no_stream");
 * const visits = createProjector(Visits, { eventStore, storage: memoryStorage(), codec });
 * await visits.catchUp();
 * if ((await visits.read()) !== 1) throw new Error("expected one visit");
 * ```
 */
export function createProjector<State, Event>(projection: Projection<State, Event>, options: ProjectorOptions): Projector<State> {
  const { observer } = options;
  const eventStore = observer ? observeEventStore(options.eventStore, observer) : options.eventStore;
  const storage = observer ? observeStorage(options.storage, observer) : options.storage;
  if (!storage.capabilities.transactions) throw new CapabilityError(storage.name, "transactions", `projection ${JSON.stringify(projection.name)} commits its documents and checkpoint together`);
  const codec = options.codec && "encode" in options.codec ? options.codec : createCodec(options.codec ?? {});
  const batchSize = options.batchSize ?? 100;
  if (!Number.isSafeInteger(batchSize) || batchSize < 1) throw new RangeError(`batchSize must be a whole number of at least 1, got ${batchSize}`);
  const start = options.from ?? 0n;
  const target = `${projection.name} projection`;
  const activeKey: StateKey = { actorType: PROJECTION_TYPE, actorId: projection.name, stateName: ACTIVE };
  const checkpointKey = (generation: string): StateKey => ({ actorType: PROJECTION_TYPE, actorId: projection.name, stateName: `${generation}:checkpoint` });
  const documentKey = (generation: string, key: string): StateKey => ({ actorType: PROJECTION_TYPE, actorId: projection.name, stateName: `${generation}:doc:${key}` });

  async function activeGeneration(): Promise<{ generation: string; etag: string | null }> {
    const record = await storage.read(activeKey);
    return record ? { generation: decoder.decode(record.value), etag: record.etag } : { generation: FIRST_GENERATION, etag: null };
  }

  async function decodeDocument(key: StateKey, record: StoredRecord | null): Promise<State> {
    if (!record) return projection.initial();
    const decoded = await codec.decode(record.value, encodeKey(key));
    const upcast = upcastValue({ name: target, version: projection.version, migrate: projection.migrate }, decoded.value, decoded.schemaVersion);
    return validate(projection.schema, upcast, target, "read");
  }

  async function describe(event: GlobalEvent): Promise<{ event: Event; info: ProjectedEvent } | undefined> {
    // Streams that `streamNameOf` did not name belong to no actor type: pass them over.
    if (event.stream.split("/").length !== 2) return undefined;
    const { actorType, actorId } = decodeKey(`${event.stream}/`);
    const source = projection.sources.get(actorType);
    if (!source) return undefined;
    const payload = await decodeEvent(source, codec, event.stream, event.version, event.data) as Event;
    const metadata = await decodeEventMetadata(codec, event.stream, event.version, event.metadata, source);
    return {
      event: payload,
      info: { stream: event.stream, actorType, actorId, version: event.version, position: event.position, createdAt: event.createdAt, metadata },
    };
  }

  /** One batch into `generation`: false when another projector committed first. */
  async function batchInto(generation: string): Promise<{ committed: boolean; processed: number }> {
    const begin = now();
    const checkpoint = await readPosition(storage, checkpointKey(generation));
    const after = checkpoint.etag === null ? start : checkpoint.position;
    const events: GlobalEvent[] = [];
    for await (const event of eventStore.readAll({ after, pageSize: batchSize })) {
      events.push(event);
      if (events.length === batchSize) break;
    }
    if (events.length === 0) return { committed: true, processed: 0 };
    const documents = new Map<string, { state: State; etag: string | null }>();
    for (const stored of events) {
      const described = await describe(stored);
      if (!described) continue;
      const key = projection.keyOf(described.event, described.info);
      if (key === undefined) continue;
      let document = documents.get(key);
      if (!document) {
        const storageKey = documentKey(generation, key);
        const record = await storage.read(storageKey);
        document = { state: await decodeDocument(storageKey, record), etag: record?.etag ?? null };
        documents.set(key, document);
      }
      document.state = projection.apply(document.state, described.event, described.info);
    }
    const operations: TransactOperation[] = [];
    for (const [key, document] of documents) {
      const storageKey = documentKey(generation, key);
      const valid = await validate(projection.schema, document.state, target, "write");
      const value = await codec.encode(valid, projection.version, encodeKey(storageKey));
      operations.push({ kind: "write", key: storageKey, value, etag: crypto.randomUUID(), expectedEtag: document.etag });
    }
    const last = events.at(-1)!.position;
    operations.push({ kind: "write", key: checkpointKey(generation), value: encodePosition(last), etag: crypto.randomUUID(), expectedEtag: checkpoint.etag });
    const report = (outcome: "committed" | "conflict") =>
      notify(observer, "projection", { name: projection.name, events: events.length, documents: documents.size, position: last, durationMs: now() - begin, outcome });
    try {
      await storage.transact(operations);
    } catch (error) {
      // Another projector committed this batch (or part of the read model) first: re-read.
      if (isQuarkError(error, "STATE_CONFLICT") || isQuarkError(error, "CONTENTION")) {
        report("conflict");
        return { committed: false, processed: 0 };
      }
      throw error;
    }
    report("committed");
    return { committed: true, processed: events.length };
  }

  async function runBatchIn(generation: () => Promise<string>): Promise<number> {
    for (let attempt = 1; ; attempt++) {
      const result = await batchInto(await generation());
      if (result.committed) return result.processed;
      if (attempt >= MAX_BATCH_ATTEMPTS) return 0;
    }
  }

  const live = async () => (await activeGeneration()).generation;
  const runBatch = () => runBatchIn(live);

  async function catchUpIn(generation: () => Promise<string>): Promise<number> {
    let total = 0;
    for (let processed = await runBatchIn(generation); processed > 0; processed = await runBatchIn(generation)) total += processed;
    return total;
  }

  async function removeGeneration(generation: string): Promise<void> {
    if (!storage.capabilities.list) return;
    const prefix = `${generation}:`;
    let cursor: string | undefined;
    do {
      const page = await storage.list({ actorType: PROJECTION_TYPE, actorIdPrefix: projection.name, cursor, limit: 500 });
      for (const key of page.keys) {
        if (key.actorId === projection.name && key.stateName.startsWith(prefix)) await storage.delete({ key, lastWriteWins: true });
      }
      cursor = page.cursor;
    } while (cursor !== undefined);
  }

  return {
    runBatch,
    catchUp: () => catchUpIn(live),
    start: (pollOptions = {}) => follow(runBatch, pollOptions),
    async read(key = SINGLE_DOCUMENT) {
      const storageKey = documentKey(await live(), key);
      return decodeDocument(storageKey, await storage.read(storageKey));
    },
    async position() {
      const checkpoint = await readPosition(storage, checkpointKey(await live()));
      return checkpoint.etag === null ? start : checkpoint.position;
    },
    async rebuild() {
      const previous = await activeGeneration();
      // A fresh name each time, so a rebuild that crashed halfway leaves nothing behind to reuse.
      const next = crypto.randomUUID();
      await catchUpIn(() => Promise.resolve(next));
      await storage.write({ key: activeKey, value: encoder.encode(next), etag: crypto.randomUUID(), expectedEtag: previous.etag });
      await removeGeneration(previous.generation);
    },
  };
}

/**
 * The MongoDB event store: one immutable document per appended batch.
 *
 * Layout (see `docs/backends/mongodb.md`): `_id` is the escaped stream name, `/`, and the
 * batch's last version zero-padded to 16 digits; the fields are `stream`, `first`, `last`,
 * `createdAt` (the server's clock, absent on batches written by 0.1) and
 * `events: [{type, data, metadata?}]`. A unique index on `{stream, first}` lets only one batch
 * start at any version. An append at expected version `v` checks that a batch ends at `v`
 * (a point read on `_id`; documents are never changed or removed, so this stays true) and
 * inserts its batch starting at `v + 1`. Every batch therefore starts right after an
 * existing one, the batches form one chain without overlaps or gaps, and of two appends at
 * the same version the unique index lets exactly one in. The batch is one document, so it
 * is written all or nothing without transactions.
 *
 * A conflict never contradicts itself: the version it reports comes from the read that
 * decided the refusal (a head read), or from after a lost insert race, when the stream has
 * moved past the expected version for good.
 *
 * @module
 */

import type { Collection, Db } from "mongodb";
import type {
  AppendResult,
  EventStore,
  ExpectedVersion,
  NewEvent,
  ReadStreamOptions,
  StoredEvent,
  StoredSnapshot,
} from "../../src/events/types.ts";
import { assertExpectedVersion, assertNewEvents, readAllUnsupported } from "../../src/events/guards.ts";
import { assertKeyWithinLimit, assertValidKeyPart } from "../../src/storage/keys.ts";
import { ContentionError, CorruptDataError, EventStoreConflictError, ValueTooLargeError } from "../../src/errors.ts";
import {
  bytesFromBson,
  isDuplicateKeyError,
  lazyConnection,
  MAX_KEY_BYTES,
  type MongoDbConnectionOptions,
  toQuarkError,
  validateCollectionName,
} from "./_connection.ts";

/**
 * Options for {@linkcode mongoDbEventStore}.
 *
 * @example
 * ```ts
 * import type { MongoDbEventStoreOptions } from "@quark/persistence/mongodb";
 * const options: MongoDbEventStoreOptions = { url: "mongodb://127.0.0.1:27017", eventsCollection: "ledger_events" };
 * ```
 */
export interface MongoDbEventStoreOptions extends MongoDbConnectionOptions {
  /** The collection of event batches. Defaults to `"quark_events"`. */
  readonly eventsCollection?: string;
  /** The collection of snapshots, one document per stream. Defaults to `"quark_snapshots"`. */
  readonly snapshotsCollection?: string;
  /**
   * Whether to create the unique `{stream, first}` index on first use. Defaults to `true`.
   * Appends are only safe with that index in place; turn this off only when it is managed
   * elsewhere.
   */
  readonly createIndexes?: boolean;
  /**
   * How many times an `"any"` append tries before giving up with `ContentionError`, each
   * after losing a race to another appender. Defaults to 1000.
   */
  readonly maxAnyRetries?: number;
}

/**
 * A MongoDB {@linkcode EventStore}, with access to the database it uses.
 *
 * @example
 * ```ts ignore
 * import { mongoDbEventStore } from "@quark/persistence/mongodb";
 * const store = mongoDbEventStore({ url: "mongodb://127.0.0.1:27017" });
 * const db = await store.getInstance();
 * console.log(await db.collection("quark_events").countDocuments());
 * await store.close();
 * ```
 */
export interface MongoDbEventStore extends EventStore {
  /** Connects (if needed) and returns the database. */
  getInstance(): Promise<Db>;
}

interface BatchDocument {
  _id: string;
  stream: string;
  first: number;
  last: number;
  /** Set by the server's clock on insert; absent on batches written by 0.1. */
  createdAt?: Date;
  events: Array<{ type: string; data: Uint8Array; metadata?: Uint8Array }>;
}

interface SnapshotDocument {
  _id: string;
  version: number;
  data: Uint8Array;
}

const DRIVER_NAME = "mongodb";
const DEFAULT_PAGE_SIZE = 500;
const VERSION_DIGITS = 16;
// One batch is one BSON document, capped at 16 MiB; leave room for names and field overhead.
const MAX_BATCH_BYTES = 16 * 1024 * 1024 - 256 * 1024;
// A snapshot is one document too, holding the stream name as its _id.
const MAX_SNAPSHOT_BYTES = 16 * 1024 * 1024 - 64 * 1024;
const PER_EVENT_OVERHEAD = 64;
// Batch documents fetched by a read's first page, before it knows how large batches are.
const FIRST_PAGE_BATCHES = 16;

// Escaping keeps "/" out of the stream part, so one stream's ids never share a prefix with another's.
function streamPrefix(stream: string): string {
  return `${stream.replaceAll("%", "%25").replaceAll("/", "%2F")}/`;
}

// "0" is the character right after "/": every id of the stream sorts below prefix-without-slash + "0".
function streamUpperBound(stream: string): string {
  return `${streamPrefix(stream).slice(0, -1)}0`;
}

function batchId(stream: string, last: number): string {
  return streamPrefix(stream) + String(last).padStart(VERSION_DIGITS, "0");
}

// Every operation checks the name before anything is sent: a lone surrogate would become
// U+FFFD in BSON and share another stream's documents.
function assertStream(stream: string): void {
  assertValidKeyPart("stream", stream);
  assertKeyWithinLimit(DRIVER_NAME, "stream", stream, MAX_KEY_BYTES);
}

function pause(attempt: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.random() * Math.min(20, attempt)));
}

/**
 * Creates a MongoDB event store. Appends need no transactions: each batch is one document,
 * and a unique index decides races. See `docs/backends/mongodb.md` for the layout.
 *
 * @param options Where to connect and which collections to use.
 * @returns An event store.
 * @throws {ConfigurationError} When neither client nor url is given, or a name is invalid.
 *
 * @example Appending and reading a stream
 * ```ts ignore
 * import { mongoDbEventStore } from "@quark/persistence/mongodb";
 * const store = mongoDbEventStore({ url: "mongodb://127.0.0.1:27017", database: "app" });
 * const data = new TextEncoder().encode("{}");
 * await store.append("ledger-1", [{ type: "Opened", data }], "no_stream");
 * for await (const event of store.read("ledger-1")) console.log(event.version, event.type);
 * await store.close();
 * ```
 */
export function mongoDbEventStore(options: MongoDbEventStoreOptions): MongoDbEventStore {
  const eventsName = validateCollectionName(DRIVER_NAME, "eventsCollection", options.eventsCollection ?? "quark_events");
  const snapshotsName = validateCollectionName(DRIVER_NAME, "snapshotsCollection", options.snapshotsCollection ?? "quark_snapshots");
  if (eventsName === snapshotsName) throw new RangeError("The events and snapshots collections must differ");
  const maxAnyRetries = options.maxAnyRetries ?? 1000;
  const connection = lazyConnection(DRIVER_NAME, options);
  let prepared: Promise<{ batches: Collection<BatchDocument>; snapshots: Collection<SnapshotDocument> }> | undefined;

  async function prepare() {
    const { db } = await connection.connect();
    const batches = db.collection<BatchDocument>(eventsName);
    const snapshots = db.collection<SnapshotDocument>(snapshotsName);
    if (options.createIndexes !== false) {
      await batches.createIndex({ stream: 1, first: 1 }, { unique: true, name: "quark_stream_first" });
    }
    return { batches, snapshots };
  }

  function collections(operation: string) {
    prepared ??= prepare().catch((error) => {
      prepared = undefined;
      throw error;
    });
    return prepared.catch((error) => {
      throw toQuarkError(DRIVER_NAME, operation, error, connection.endpoint());
    });
  }

  async function run<T>(
    operation: string,
    body: (collections: { batches: Collection<BatchDocument>; snapshots: Collection<SnapshotDocument> }) => Promise<T>,
  ): Promise<T> {
    const ready = await collections(operation);
    try {
      return await body(ready);
    } catch (error) {
      throw toQuarkError(DRIVER_NAME, operation, error, connection.endpoint());
    }
  }

  async function head(batches: Collection<BatchDocument>, stream: string): Promise<number> {
    const last = await batches.findOne(
      { _id: { $gte: streamPrefix(stream), $lt: streamUpperBound(stream) } },
      { sort: { _id: -1 }, projection: { last: 1 } },
    );
    if (last === null) return 0;
    if (!Number.isSafeInteger(last.last)) throw new CorruptDataError(`MongoDB event batch ${JSON.stringify(last._id)} has no valid last version`);
    return last.last;
  }

  // Inserts the batch right after version `after`; false when another batch already starts there.
  // It is an upsert whose filter no stored batch matches (every batch has a stream), so it
  // only ever inserts, and `$currentDate` stamps it with the server's clock, which a plain
  // insert cannot do. A batch already at that _id, or at that first version, is a duplicate key.
  async function insertAfter(batches: Collection<BatchDocument>, stream: string, after: number, events: readonly NewEvent[]): Promise<boolean> {
    const last = after + events.length;
    const stored = events.map((event) => ({
      type: event.type,
      data: event.data,
      ...(event.metadata === undefined ? {} : { metadata: event.metadata }),
    }));
    try {
      await batches.updateOne(
        { _id: batchId(stream, last), stream: { $exists: false } },
        { $setOnInsert: { stream, first: after + 1, last, events: stored }, $currentDate: { createdAt: true } },
        { upsert: true },
      );
      return true;
    } catch (error) {
      if (isDuplicateKeyError(error)) return false;
      throw error;
    }
  }

  return {
    name: DRIVER_NAME,
    capabilities: { readAll: false },
    readAll: () => readAllUnsupported(DRIVER_NAME, "a change stream on the events collection (it needs a replica set)"),
    async getInstance() {
      await collections("connect");
      return (await connection.connect()).db;
    },
    async append(stream: string, events: readonly NewEvent[], expected: ExpectedVersion): Promise<AppendResult> {
      assertStream(stream);
      assertExpectedVersion(expected);
      assertNewEvents(events);
      const size = events.reduce(
        (total, event) => total + event.data.byteLength + (event.metadata?.byteLength ?? 0) + event.type.length * 3 + PER_EVENT_OVERHEAD,
        0,
      );
      if (size > MAX_BATCH_BYTES) throw new ValueTooLargeError(DRIVER_NAME, size, MAX_BATCH_BYTES);
      return await run("append", async ({ batches }) => {
        if (expected === "any") {
          for (let attempt = 1; attempt <= maxAnyRetries; attempt++) {
            const current = await head(batches, stream);
            if (await insertAfter(batches, stream, current, events)) return { nextVersion: current + events.length };
            // Lost a race to another appender: read the new head and go again, backing off a
            // little once contention persists so 32 appenders do not all spin in lockstep.
            if (attempt >= 2) await pause(attempt);
          }
          throw new ContentionError(DRIVER_NAME, "append", maxAnyRetries);
        }
        const after = expected === "no_stream" ? 0 : expected;
        // Batches are never changed or removed, so "a batch ends at `after`" cannot turn false
        // between this read and the insert; the unique index settles the rest.
        if (after > 0 && (await batches.findOne({ _id: batchId(stream, after) }, { projection: { _id: 1 } })) === null) {
          // No batch ends at `after`. The head read decides: it is what the refusal reports,
          // unless the stream reached `after` meanwhile, and then the append is valid after all.
          const current = await head(batches, stream);
          if (current !== after) throw new EventStoreConflictError(stream, expected, current);
        }
        if (await insertAfter(batches, stream, after, events)) return { nextVersion: after + events.length };
        // A batch starting at after + 1 exists and is never removed: the head is past `after` for good.
        throw new EventStoreConflictError(stream, expected, await head(batches, stream));
      });
    },
    async *read(stream: string, readOptions: ReadStreamOptions = {}): AsyncIterable<StoredEvent> {
      assertStream(stream);
      const pageSize = readOptions.pageSize ?? DEFAULT_PAGE_SIZE;
      if (!Number.isSafeInteger(pageSize) || pageSize < 1) throw new RangeError(`Page size must be a whole number of at least 1, got ${pageSize}`);
      const from = Math.max(1, readOptions.fromVersion ?? 1);
      const { batches } = await collections("read");
      // The first batch that can hold `from` is the first whose last version is at least `from`.
      let lower: { $gte: string } | { $gt: string } = { $gte: batchId(stream, from) };
      let expectedFirst: number | undefined;
      // Pages are counted in batch documents; sizing them from the events per batch seen so
      // far keeps a page near `pageSize` events whether batches hold one event or thousands.
      let limit = Math.min(pageSize, FIRST_PAGE_BATCHES);
      while (true) {
        let page: BatchDocument[];
        try {
          page = await batches
            .find({ _id: { ...lower, $lt: streamUpperBound(stream) } })
            .sort({ _id: 1 })
            .limit(limit)
            .toArray();
        } catch (error) {
          throw toQuarkError(DRIVER_NAME, "read", error, connection.endpoint());
        }
        for (const batch of page) {
          checkBatch(batch, expectedFirst);
          expectedFirst = batch.last + 1;
          const createdAt = batch.createdAt instanceof Date ? batch.createdAt.getTime() : undefined;
          for (let index = 0; index < batch.events.length; index++) {
            const version = batch.first + index;
            if (version < from) continue;
            const event = batch.events[index]!;
            if (typeof event?.type !== "string") throw new CorruptDataError(`MongoDB event ${JSON.stringify(batch._id)}#${index} has no type`);
            const what = `MongoDB event ${stream}@${version}`;
            yield {
              stream,
              version,
              type: event.type,
              data: bytesFromBson(event.data, what),
              ...(event.metadata === undefined ? {} : { metadata: bytesFromBson(event.metadata, `${what} metadata`) }),
              ...(createdAt === undefined ? {} : { createdAt: new Date(createdAt) }),
            };
          }
        }
        if (page.length < limit) return;
        const eventsPerBatch = page.reduce((total, batch) => total + batch.events.length, 0) / page.length;
        limit = Math.max(1, Math.min(pageSize, Math.round(pageSize / eventsPerBatch)));
        lower = { $gt: page[page.length - 1]!._id };
      }
    },
    async version(stream: string): Promise<number> {
      assertStream(stream);
      return await run("version", ({ batches }) => head(batches, stream));
    },
    async saveSnapshot(stream: string, snapshot: StoredSnapshot): Promise<boolean> {
      assertStream(stream);
      if (!Number.isSafeInteger(snapshot.version) || snapshot.version < 0) {
        throw new RangeError(`Snapshot version must be a whole number of at least 0, got ${snapshot.version}`);
      }
      if (!(snapshot.data instanceof Uint8Array)) throw new RangeError("Snapshot data must be a Uint8Array");
      if (snapshot.data.byteLength > MAX_SNAPSHOT_BYTES) throw new ValueTooLargeError(DRIVER_NAME, snapshot.data.byteLength, MAX_SNAPSHOT_BYTES);
      return await run("saveSnapshot", async ({ snapshots }) => {
        const newer = { _id: stream, version: { $lt: snapshot.version } };
        const update = { $set: { version: snapshot.version, data: snapshot.data } };
        try {
          // Updates an older snapshot or inserts the first; an equal or newer one makes the
          // filter miss and the insert collide on _id.
          await snapshots.updateOne(newer, update, { upsert: true });
          return true;
        } catch (error) {
          if (!isDuplicateKeyError(error)) throw error;
        }
        // Two first saves can race to insert; the loser still wins if its version is higher.
        return (await snapshots.updateOne(newer, update)).matchedCount === 1;
      });
    },
    async loadSnapshot(stream: string): Promise<StoredSnapshot | null> {
      assertStream(stream);
      return await run("loadSnapshot", async ({ snapshots }) => {
        const stored = await snapshots.findOne({ _id: stream });
        if (stored === null) return null;
        if (!Number.isSafeInteger(stored.version)) throw new CorruptDataError(`MongoDB snapshot of ${JSON.stringify(stream)} has no valid version`);
        return { version: stored.version, data: bytesFromBson(stored.data, `MongoDB snapshot of ${JSON.stringify(stream)}`) };
      });
    },
    async close() {
      prepared = undefined;
      await connection.close();
    },
  };
}

function checkBatch(batch: BatchDocument, expectedFirst: number | undefined): void {
  const valid = Number.isSafeInteger(batch.first) && Number.isSafeInteger(batch.last) && Array.isArray(batch.events) &&
    batch.events.length === batch.last - batch.first + 1;
  if (!valid) throw new CorruptDataError(`MongoDB event batch ${JSON.stringify(batch._id)} is malformed`);
  if (expectedFirst !== undefined && batch.first !== expectedFirst) {
    throw new CorruptDataError(`MongoDB event batch ${JSON.stringify(batch._id)} starts at ${batch.first}, expected ${expectedFirst}`);
  }
}

/**
 * MongoDB storage and event store, over the official `mongodb` driver.
 *
 * Each state is one document whose `_id` is the encoded key. Every conditional write is one
 * `findOneAndUpdate` or upsert filtered on `_id` plus the expected etag, so the check and the
 * write are a single atomic server-side operation. Layouts: `docs/backends/mongodb.md`.
 *
 * @example Storage from a connection string
 * ```ts ignore
 * import { mongoDbStorage } from "@quark/persistence/mongodb";
 * const storage = mongoDbStorage({ url: "mongodb://127.0.0.1:27017", database: "app" });
 * const key = { actorType: "account", actorId: "42", stateName: "balance" };
 * await storage.write({ key, value: new Uint8Array([1]), etag: crypto.randomUUID(), expectedEtag: null });
 * await storage.close();
 * ```
 *
 * @module
 */

import { assertNativeRuntime } from "../_shared/native_only.ts";
import type { ClientSession, Collection, Db, Filter, UpdateFilter } from "mongodb";
import type {
  DeleteRequest,
  ListPage,
  ListRequest,
  StateKey,
  StateStorage,
  StorageCapabilities,
  StoredRecord,
  TransactOperation,
  WriteRequest,
  WriteResult,
} from "../../src/storage/types.ts";
import { decodeKey, encodeKey, encodeKeyPrefix } from "../../src/storage/keys.ts";
import { assertTransactable, assertWritable } from "../../src/storage/guards.ts";
import { CapabilityError, CorruptDataError, StateConflictError } from "../../src/errors.ts";
import {
  bytesFromBson,
  isDuplicateKeyError,
  lazyConnection,
  type MongoDbConnectionOptions,
  type MongoDbHandle,
  prefixUpperBound,
  toQuarkError,
  validateCollectionName,
} from "./_connection.ts";

export { mongoDbEventStore, type MongoDbEventStore, type MongoDbEventStoreOptions } from "./_event_store.ts";
export type { MongoDbConnectionOptions } from "./_connection.ts";

assertNativeRuntime("mongodb");

/**
 * Options for {@linkcode mongoDbStorage}.
 *
 * @example
 * ```ts
 * import type { MongoDbStorageOptions } from "@quark/persistence/mongodb";
 * const options: MongoDbStorageOptions = { url: "mongodb://127.0.0.1:27017", database: "app", transactions: false };
 * ```
 */
export interface MongoDbStorageOptions extends MongoDbConnectionOptions {
  /** The collection that holds one document per state. Defaults to `"quark_state"`. */
  readonly collection?: string;
  /**
   * Whether to use multi-document transactions for `transact`. `"auto"` (the default) asks
   * the server on connect and uses them on replica sets and sharded clusters; `false` never
   * does, and `transact` then throws `CapabilityError`.
   */
  readonly transactions?: "auto" | false;
  /**
   * Whether to create the TTL index on `expiresAt` on first use. Defaults to `true`; turn it
   * off when the index is managed elsewhere or the user lacks the privilege.
   */
  readonly createIndexes?: boolean;
}

/**
 * A MongoDB {@linkcode StateStorage}, with access to the database it uses.
 *
 * @example Settling the capabilities before reading them
 * ```ts ignore
 * import { mongoDbStorage } from "@quark/persistence/mongodb";
 * const storage = mongoDbStorage({ url: "mongodb://127.0.0.1:27017" });
 * const db = await storage.getInstance();
 * console.log(db.databaseName, storage.capabilities.transactions);
 * await storage.close();
 * ```
 */
export interface MongoDbStateStorage extends StateStorage {
  /**
   * Connects (if needed) and returns the database. After it resolves,
   * `capabilities.transactions` reflects what the server supports.
   */
  getInstance(): Promise<Db>;
}

/** One state as stored: `_id` is `encodeKey(key)`. */
interface StateDocument {
  _id: string;
  etag: string;
  revision: number;
  value: Uint8Array;
  expiresAt?: Date | null;
}

const DRIVER_NAME = "mongodb";
const DEFAULT_PAGE_SIZE = 100;
// BSON documents are capped at 16 MiB; leave room for the key, etag and field names.
const MAX_VALUE_BYTES = 16 * 1024 * 1024 - 64 * 1024;

/**
 * Creates a MongoDB state storage. The driver loads lazily on first use when only `url` is
 * given; a client or database passed in stays open on `close`.
 *
 * @param options Where to connect and which collection to use.
 * @returns A storage that checks etags atomically on the server.
 * @throws {ConfigurationError} When neither client nor url is given, or a name is invalid.
 *
 * @example With a client you already have
 * ```ts ignore
 * import { MongoClient } from "mongodb";
 * import { mongoDbStorage } from "@quark/persistence/mongodb";
 * const client = new MongoClient("mongodb://127.0.0.1:27017");
 * const storage = mongoDbStorage({ client, database: "app", collection: "actor_state" });
 * const record = await storage.read({ actorType: "account", actorId: "42", stateName: "balance" });
 * console.log(record?.revision);
 * await client.close();
 * ```
 */
export function mongoDbStorage(options: MongoDbStorageOptions): MongoDbStateStorage {
  const collectionName = validateCollectionName(DRIVER_NAME, "collection", options.collection ?? "quark_state");
  const connection = lazyConnection(DRIVER_NAME, options);
  let prepared: Promise<Collection<StateDocument>> | undefined;

  async function prepare(): Promise<Collection<StateDocument>> {
    const handle = await connection.connect();
    const collection = handle.db.collection<StateDocument>(collectionName);
    if (options.createIndexes !== false) {
      // Documents without a Date in expiresAt never expire; expired ones are also filtered on read.
      await collection.createIndex({ expiresAt: 1 }, { expireAfterSeconds: 0, name: "quark_expires_at" });
    }
    if (options.transactions !== false) capabilities.transactions = await serverSupportsTransactions(handle);
    return collection;
  }

  function states(operation: string): Promise<Collection<StateDocument>> {
    prepared ??= prepare().catch((error) => {
      prepared = undefined;
      throw toQuarkError(DRIVER_NAME, operation, error);
    });
    return prepared;
  }

  async function run<T>(operation: string, body: (collection: Collection<StateDocument>) => Promise<T>): Promise<T> {
    const collection = await states(operation);
    try {
      return await body(collection);
    } catch (error) {
      throw toQuarkError(DRIVER_NAME, operation, error);
    }
  }

  // Mutable only here: `transactions` is settled once the server has been asked.
  const capabilities: { -readonly [K in keyof StorageCapabilities]: StorageCapabilities[K] } = {
    transactions: false,
    ttl: true,
    list: true,
    maxValueBytes: MAX_VALUE_BYTES,
  };

  return {
    name: DRIVER_NAME,
    capabilities,
    async getInstance() {
      await states("connect");
      return (await connection.connect()).db;
    },
    read(key: StateKey): Promise<StoredRecord | null> {
      const id = encodeKey(key);
      return run("read", async (collection) => {
        const document = await collection.findOne({ _id: id });
        return document && isLive(document, Date.now()) ? toRecord(document) : null;
      });
    },
    async write(request: WriteRequest): Promise<WriteResult> {
      assertWritable(DRIVER_NAME, capabilities, request);
      assertEtags(request);
      return await run("write", (collection) => writeOne(collection, request));
    },
    async delete(request: DeleteRequest): Promise<boolean> {
      assertEtags(request);
      return await run("delete", (collection) => deleteOne(collection, request));
    },
    async list(request: ListRequest): Promise<ListPage> {
      const limit = request.limit ?? DEFAULT_PAGE_SIZE;
      if (!Number.isSafeInteger(limit) || limit < 1) throw new RangeError(`List limit must be a whole number of at least 1, got ${limit}`);
      const prefix = encodeKeyPrefix(request.actorType, request.actorIdPrefix);
      if (request.cursor !== undefined && (typeof request.cursor !== "string" || !request.cursor.startsWith(prefix))) {
        throw new RangeError("The list cursor does not belong to this actor type and prefix");
      }
      const upper = prefixUpperBound(prefix);
      const range: { $gte?: string; $gt?: string; $lt?: string } = request.cursor === undefined ? { $gte: prefix } : { $gt: request.cursor };
      if (upper !== undefined) range.$lt = upper;
      return await run("list", async (collection) => {
        const documents = await collection
          .find({ _id: range, ...liveFilter(Date.now()) } as Filter<StateDocument>, { projection: { _id: 1 } })
          .sort({ _id: 1 })
          .limit(limit + 1)
          .toArray();
        const page = documents.slice(0, limit).map((document) => document._id);
        return { keys: page.map(decodeKey), cursor: documents.length > limit ? page[page.length - 1] : undefined };
      });
    },
    async transact(operations: readonly TransactOperation[]): Promise<ReadonlyArray<WriteResult | null>> {
      if (options.transactions !== false) await states("transact");
      assertTransactable(DRIVER_NAME, capabilities, operations);
      for (const operation of operations) assertEtags(operation);
      const handle = await connection.connect();
      if (handle.client === undefined) {
        throw new CapabilityError(DRIVER_NAME, "transactions", "the Db passed in exposes no client to start a session on");
      }
      const client = handle.client;
      return await run("transact", async (collection) => {
        const session = client.startSession();
        try {
          let results: Array<WriteResult | null> = [];
          // withTransaction retries the whole callback on transient errors (write conflicts).
          await session.withTransaction(async () => {
            results = [];
            for (const operation of operations) {
              results.push(
                operation.kind === "write"
                  ? await writeOne(collection, operation, session)
                  : (await deleteOne(collection, operation, session), null),
              );
            }
          });
          return results;
        } finally {
          await session.endSession();
        }
      });
    },
    async close() {
      prepared = undefined;
      await connection.close();
    },
  };
}

// Etags become filter values; anything but a string could be an operator object.
function assertEtags(request: WriteRequest | DeleteRequest): void {
  if ("etag" in request && typeof request.etag !== "string") throw new TypeError("A write's etag must be a string");
  if (request.lastWriteWins === true) return;
  if (request.expectedEtag !== null && typeof request.expectedEtag !== "string") {
    throw new TypeError("expectedEtag must be a string or null");
  }
}

// Matches documents without expiresAt and those expiring after `now`, in one predicate.
function liveFilter(now: number): Filter<StateDocument> {
  return { expiresAt: { $not: { $lte: new Date(now) } } };
}

function isLive(document: StateDocument, now: number): boolean {
  return !(document.expiresAt instanceof Date) || document.expiresAt.getTime() > now;
}

function toRecord(document: StateDocument): StoredRecord {
  if (typeof document.etag !== "string" || !Number.isSafeInteger(document.revision)) {
    throw new CorruptDataError(`MongoDB state ${JSON.stringify(document._id)} has no valid etag or revision`);
  }
  const value = bytesFromBson(document.value, `MongoDB state ${JSON.stringify(document._id)}`);
  const expiresAt = document.expiresAt instanceof Date ? document.expiresAt.getTime() : undefined;
  return expiresAt === undefined
    ? { value, etag: document.etag, revision: document.revision }
    : { value, etag: document.etag, revision: document.revision, expiresAt };
}

function setFields(request: WriteRequest, now: number, revision?: number): UpdateFilter<StateDocument> {
  const set: Partial<StateDocument> = { etag: request.etag, value: request.value };
  if (revision !== undefined) set.revision = revision;
  if (request.ttlMs !== undefined) set.expiresAt = new Date(now + request.ttlMs);
  const update: UpdateFilter<StateDocument> = { $set: set };
  if (request.ttlMs === undefined) update.$unset = { expiresAt: "" };
  if (revision === undefined) update.$inc = { revision: 1 };
  return update;
}

/**
 * One conditional write: a single server-side operation on the happy path. Only when it
 * matches nothing does a read follow, to tell an earlier success of this same write (its
 * etag is already stored: the reply was lost) from a real conflict.
 */
async function writeOne(collection: Collection<StateDocument>, request: WriteRequest, session?: ClientSession): Promise<WriteResult> {
  const id = encodeKey(request.key);
  const now = Date.now();
  if (request.expectedEtag !== null && request.expectedEtag !== undefined) {
    const updated = await collection.findOneAndUpdate(
      { _id: id, etag: request.expectedEtag, ...liveFilter(now) },
      setFields(request, now),
      { returnDocument: "after", projection: { revision: 1 }, session },
    );
    if (updated) return { etag: request.etag, revision: updated.revision };
    return await afterMiss(collection, request, now, session);
  }
  if (session) {
    // Inside a transaction a duplicate-key error aborts it, so check from the snapshot first.
    const stored = await collection.findOne({ _id: id }, { projection: { etag: 1, revision: 1, expiresAt: 1 }, session });
    const live = stored && isLive(stored, now) ? stored : null;
    if (live?.etag === request.etag) return { etag: request.etag, revision: live.revision };
    if (live && !request.lastWriteWins) throw new StateConflictError(request.key, null, live.etag);
  }
  try {
    if (request.lastWriteWins) {
      // Matching only other etags (or an expired leftover) keeps a repeated write from
      // bumping the revision: it misses, the upsert collides with the stored document on
      // _id, and the read below confirms the write is already there.
      const updated = await collection.findOneAndUpdate(
        { _id: id, $or: [{ etag: { $ne: request.etag } }, { expiresAt: { $lte: new Date(now) } }] },
        setFields(request, now),
        { upsert: true, returnDocument: "after", projection: { revision: 1 }, session },
      );
      if (updated) return { etag: request.etag, revision: updated.revision };
    } else {
      // Create-only: inserts when absent, replaces an expired leftover the TTL monitor has not
      // removed yet, and fails with E11000 when a live document exists.
      await collection.updateOne(
        { _id: id, expiresAt: { $lte: new Date(now) } },
        setFields(request, now, 1),
        { upsert: true, session },
      );
      return { etag: request.etag, revision: 1 };
    }
  } catch (error) {
    if (!isDuplicateKeyError(error)) throw error;
    if (session) throw new StateConflictError(request.key, request.expectedEtag ?? null, undefined, { cause: error });
  }
  return await afterMiss(collection, request, now, session);
}

async function afterMiss(collection: Collection<StateDocument>, request: WriteRequest, now: number, session?: ClientSession): Promise<WriteResult> {
  const stored = await collection.findOne({ _id: encodeKey(request.key) }, { projection: { etag: 1, revision: 1, expiresAt: 1 }, session });
  const live = stored && isLive(stored, now) ? stored : null;
  if (live?.etag === request.etag) return { etag: request.etag, revision: live.revision };
  // A last-write-wins write can only miss when its own etag is stored, or when the document
  // vanished between the match and the insert; then it simply goes again.
  if (request.lastWriteWins) return await writeOne(collection, request, session);
  throw new StateConflictError(request.key, request.expectedEtag ?? null, live?.etag ?? null);
}

async function deleteOne(collection: Collection<StateDocument>, request: DeleteRequest, session?: ClientSession): Promise<boolean> {
  const id = encodeKey(request.key);
  const now = Date.now();
  if (request.lastWriteWins) {
    return (await collection.deleteOne({ _id: id, ...liveFilter(now) }, { session })).deletedCount === 1;
  }
  if (request.expectedEtag !== null) {
    const deleted = await collection.deleteOne({ _id: id, etag: request.expectedEtag, ...liveFilter(now) }, { session });
    if (deleted.deletedCount === 1) return true;
  }
  // Expecting absence is a single read; after a missed delete the read names what is stored.
  const stored = await collection.findOne({ _id: id }, { projection: { etag: 1, expiresAt: 1 }, session });
  if (!stored || !isLive(stored, now)) return false;
  throw new StateConflictError(request.key, request.expectedEtag, stored.etag);
}

/**
 * Multi-document transactions need a replica set (wire version 7+) or a sharded cluster
 * (8+) with sessions. Standalone servers, and mongo-java-server, have neither.
 */
async function serverSupportsTransactions(handle: MongoDbHandle): Promise<boolean> {
  if (handle.client === undefined) return false;
  let hello: Record<string, unknown>;
  try {
    hello = await handle.db.admin().command({ hello: 1 });
  } catch {
    hello = await handle.db.admin().command({ isMaster: 1 });
  }
  const wire = typeof hello.maxWireVersion === "number" ? hello.maxWireVersion : 0;
  const sessions = hello.logicalSessionTimeoutMinutes !== undefined && hello.logicalSessionTimeoutMinutes !== null;
  if (hello.msg === "isdbgrid") return sessions && wire >= 8;
  return typeof hello.setName === "string" && sessions && wire >= 7;
}

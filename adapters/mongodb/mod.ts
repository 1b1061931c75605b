/**
 * MongoDB storage and event store, over the official `mongodb` driver.
 *
 * Each state is one document whose `_id` is the encoded key. Every conditional write is one
 * `findOneAndUpdate` or upsert filtered on `_id` plus the expected etag, so the check and the
 * write are a single atomic server-side operation. Expiry is judged by the server's clock
 * (`$currentDate` on write, `$$NOW` in every filter). Layouts: `docs/backends/mongodb.md`.
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
import { assertKeyWithinLimit, assertValidKey, assertValidKeyPart, decodeKey, encodeKey, encodeKeyPrefix } from "../../src/storage/keys.ts";
import { assertTransactable, assertWritable } from "../../src/storage/guards.ts";
import { CapabilityError, ContentionError, CorruptDataError, InvalidInputError, StateConflictError } from "../../src/errors.ts";
import {
  bytesFromBson,
  isDuplicateKeyError,
  lazyConnection,
  MAX_KEY_BYTES,
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
  /** With a TTL only: when the server applied the write (`$currentDate`, the server's clock). */
  writtenAt?: Date;
  /** With a TTL only: the state is live while `writtenAt + ttlMs` is after the server's `$$NOW`. */
  ttlMs?: number;
  /** With a TTL only: when the TTL monitor may remove the document, a grace period after expiry. */
  purgeAt?: Date;
}

const DRIVER_NAME = "mongodb";
const DEFAULT_PAGE_SIZE = 100;
// BSON documents are capped at 16 MiB; leave room for the key, etag and field names.
const MAX_VALUE_BYTES = 16 * 1024 * 1024 - 64 * 1024;
// A hundred years: far beyond any real TTL, and far inside the range of a BSON date.
const MAX_TTL_MS = 100 * 365.25 * 24 * 3600 * 1000;
// The TTL monitor runs about once a minute and only cleans up (every filter already hides
// expired documents), so it is told a minute late: client clock error never removes a live state.
const PURGE_GRACE_MS = 60_000;
// Misses that find the precondition holding again (the refusing document vanished) go again,
// a bounded number of times, with jittered exponential back-off.
const MAX_ATTEMPTS = 10;
const BACKOFF_BASE_MS = 2;
const BACKOFF_CAP_MS = 200;

/**
 * Live means: no TTL, or `writtenAt + ttlMs` still ahead of the server's clock (`$$NOW`),
 * so client clock skew can neither revive nor expire a state early.
 */
const LIVE_CLAUSES: ReadonlyArray<Filter<StateDocument>> = [
  { ttlMs: { $exists: false } },
  { $expr: { $gt: [{ $add: ["$writtenAt", "$ttlMs"] }, "$$NOW"] } },
];
const LIVE: Filter<StateDocument> = { $or: [...LIVE_CLAUSES] };
const EXPIRED: Filter<StateDocument> = { ttlMs: { $exists: true }, $expr: { $lte: [{ $add: ["$writtenAt", "$ttlMs"] }, "$$NOW"] } };

/** What a write needs besides the request: the estimated server clock, for `purgeAt`. */
interface WriteContext {
  readonly serverNow: () => number;
  readonly session?: ClientSession;
}

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
  // The server's clock minus ours, measured on connect; only `purgeAt` uses it.
  let clockOffsetMs = 0;
  const serverNow = () => Date.now() + clockOffsetMs;

  async function prepare(): Promise<Collection<StateDocument>> {
    const handle = await connection.connect();
    const collection = handle.db.collection<StateDocument>(collectionName);
    if (options.createIndexes !== false) {
      // Documents without a Date in purgeAt are never removed by the monitor.
      await collection.createIndex({ purgeAt: 1 }, { expireAfterSeconds: 0, name: "quark_purge_at" });
    }
    const sentAt = Date.now();
    // With transactions off, hello only tunes purgeAt: a server that refuses it is still usable.
    const hello: Record<string, unknown> = await helloOf(handle).catch((error) => {
      if (options.transactions !== false) throw error;
      return {};
    });
    const receivedAt = Date.now();
    if (hello.localTime instanceof Date) clockOffsetMs = hello.localTime.getTime() - (sentAt + receivedAt) / 2;
    if (options.transactions !== false) capabilities.transactions = supportsTransactions(handle, hello);
    return collection;
  }

  function states(operation: string): Promise<Collection<StateDocument>> {
    prepared ??= prepare().catch((error) => {
      prepared = undefined;
      throw error;
    });
    return prepared.catch((error) => {
      throw toQuarkError(DRIVER_NAME, operation, error, connection.endpoint());
    });
  }

  async function run<T>(operation: string, body: (collection: Collection<StateDocument>) => Promise<T>): Promise<T> {
    const collection = await states(operation);
    try {
      return await body(collection);
    } catch (error) {
      throw toQuarkError(DRIVER_NAME, operation, error, connection.endpoint());
    }
  }

  // Mutable only here: `transactions` is settled once the server has been asked.
  const capabilities: { -readonly [K in keyof StorageCapabilities]: StorageCapabilities[K] } = {
    transactions: false,
    ttl: true,
    list: true,
    maxValueBytes: MAX_VALUE_BYTES,
    maxKeyBytes: MAX_KEY_BYTES,
  };

  return {
    name: DRIVER_NAME,
    capabilities,
    async getInstance() {
      await states("connect");
      return (await connection.connect()).db;
    },
    async read(key: StateKey): Promise<StoredRecord | null> {
      const id = checkedId(key);
      return await run("read", async (collection) => {
        const document = await collection.findOne({ _id: id, ...LIVE });
        return document ? toRecord(document) : null;
      });
    },
    async write(request: WriteRequest): Promise<WriteResult> {
      assertWritable(DRIVER_NAME, capabilities, request);
      assertTtlInRange(request);
      checkedId(request.key);
      assertEtags(request);
      return await run("write", (collection) => writeOne(collection, request, { serverNow }));
    },
    async delete(request: DeleteRequest): Promise<boolean> {
      checkedId(request.key);
      assertEtags(request);
      return await run("delete", (collection) => deleteOne(collection, request));
    },
    async list(request: ListRequest): Promise<ListPage> {
      assertValidKeyPart("actorType", request.actorType);
      if (request.actorIdPrefix !== undefined) assertValidKeyPart("actorId", request.actorIdPrefix);
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
          .find({ _id: range, ...LIVE } as Filter<StateDocument>, { projection: { _id: 1 } })
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
      for (const operation of operations) {
        checkedId(operation.key);
        assertEtags(operation);
        if (operation.kind === "write") assertTtlInRange(operation);
      }
      const handle = await connection.connect().catch((error) => {
        throw toQuarkError(DRIVER_NAME, "transact", error, connection.endpoint());
      });
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
                  ? await writeOne(collection, operation, { serverNow, session })
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

/** The document id of a key, after checking every part and the byte limit. */
function checkedId(key: StateKey): string {
  assertValidKey(key);
  const id = encodeKey(key);
  assertKeyWithinLimit(DRIVER_NAME, "key", id, MAX_KEY_BYTES);
  return id;
}

// Etags become filter values; anything but a string could be an operator object.
function assertEtags(request: WriteRequest | DeleteRequest): void {
  if ("etag" in request && typeof request.etag !== "string") throw new TypeError("A write's etag must be a string");
  if (request.lastWriteWins === true) return;
  if (request.expectedEtag !== null && typeof request.expectedEtag !== "string") {
    throw new TypeError("expectedEtag must be a string or null");
  }
}

function assertTtlInRange(request: WriteRequest): void {
  if (request.ttlMs !== undefined && request.ttlMs > MAX_TTL_MS) {
    throw new InvalidInputError(DRIVER_NAME, "write", `ttlMs ${request.ttlMs} is over the limit of ${MAX_TTL_MS} ms (100 years)`);
  }
}

function toRecord(document: StateDocument): StoredRecord {
  if (typeof document.etag !== "string" || !Number.isSafeInteger(document.revision)) {
    throw new CorruptDataError(`MongoDB state ${JSON.stringify(document._id)} has no valid etag or revision`);
  }
  const value = bytesFromBson(document.value, `MongoDB state ${JSON.stringify(document._id)}`);
  if (document.ttlMs === undefined) return { value, etag: document.etag, revision: document.revision };
  if (!(document.writtenAt instanceof Date) || !Number.isFinite(document.ttlMs)) {
    throw new CorruptDataError(`MongoDB state ${JSON.stringify(document._id)} has no valid writtenAt or ttlMs`);
  }
  return { value, etag: document.etag, revision: document.revision, expiresAt: document.writtenAt.getTime() + document.ttlMs };
}

/** The update of one write: `$inc` the revision, or set it to 1 for a create. */
function updateOf(request: WriteRequest, context: WriteContext, revision?: 1): UpdateFilter<StateDocument> {
  const set: Partial<StateDocument> = { etag: request.etag, value: request.value };
  if (revision !== undefined) set.revision = revision;
  const update: UpdateFilter<StateDocument> = { $set: set };
  if (request.ttlMs !== undefined) {
    set.ttlMs = request.ttlMs;
    set.purgeAt = new Date(context.serverNow() + request.ttlMs + PURGE_GRACE_MS);
    update.$currentDate = { writtenAt: true };
  } else {
    update.$unset = { writtenAt: "", ttlMs: "", purgeAt: "" };
  }
  if (revision === undefined) update.$inc = { revision: 1 };
  return update;
}

/** Whether a stored etag (`null`: nothing live) meets a write's or delete's precondition. */
function admits(request: WriteRequest | DeleteRequest, actual: string | null): boolean {
  if (request.lastWriteWins) return true;
  return actual === (request.expectedEtag ?? null);
}

function backoff(attempt: number): Promise<void> {
  const ceiling = Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** attempt);
  return new Promise((resolve) => setTimeout(resolve, Math.random() * ceiling));
}

/**
 * One conditional write: a single server-side command on the happy path. When it matches
 * nothing, one read follows whose filter tells the cases apart atomically: this write's own
 * etag (an earlier attempt landed and its reply was lost: success), a live document with
 * another etag (a conflict, reporting what that read found), or nothing live. When that read
 * finds the precondition holding after all (the document that refused the write is gone),
 * the refusal would contradict itself, so the write goes again instead, a bounded number of
 * times, ending in `ContentionError`.
 */
async function writeOne(collection: Collection<StateDocument>, request: WriteRequest, context: WriteContext): Promise<WriteResult> {
  const id = encodeKey(request.key);
  const session = context.session;
  for (let attempt = 1; ; attempt++) {
    const revision = await attemptWrite(collection, id, request, context);
    if (revision !== undefined) return { etag: request.etag, revision };
    const stored = await collection.findOne(
      { _id: id, $or: [{ etag: request.etag }, ...LIVE_CLAUSES] },
      { projection: { etag: 1, revision: 1 }, ...inSession(session) },
    );
    if (stored?.etag === request.etag) return { etag: request.etag, revision: stored.revision };
    const actual = stored?.etag ?? null;
    if (!admits(request, actual)) throw new StateConflictError(request.key, request.expectedEtag ?? null, actual);
    // Inside a transaction the snapshot cannot change: the miss is final, its cause unknown.
    if (session) throw new StateConflictError(request.key, request.expectedEtag ?? null, undefined);
    if (attempt >= MAX_ATTEMPTS) throw new ContentionError(DRIVER_NAME, "write", attempt);
    await backoff(attempt);
  }
}

/** One attempt: the new revision, or `undefined` when the command matched nothing. */
async function attemptWrite(collection: Collection<StateDocument>, id: string, request: WriteRequest, context: WriteContext): Promise<number | undefined> {
  const session = context.session;
  if (request.expectedEtag !== null && request.expectedEtag !== undefined) {
    const updated = await collection.findOneAndUpdate(
      { _id: id, etag: request.expectedEtag, ...LIVE },
      updateOf(request, context),
      { returnDocument: "after", projection: { revision: 1 }, ...inSession(session) },
    );
    return updated?.revision;
  }
  if (session) {
    // Inside a transaction a duplicate-key error aborts it, so check from the snapshot first.
    const stored = await collection.findOne({ _id: id, $or: [{ etag: request.etag }, ...LIVE_CLAUSES] }, { projection: { etag: 1, revision: 1 }, ...inSession(session) });
    if (stored?.etag === request.etag) return stored.revision;
    if (stored && !request.lastWriteWins) throw new StateConflictError(request.key, null, stored.etag);
  }
  try {
    if (request.lastWriteWins) {
      // Matching only other etags (or an expired leftover) keeps a repeated write from
      // bumping the revision: it misses, the upsert collides with the stored document on
      // _id, and the read after the miss finds the write already there.
      const updated = await collection.findOneAndUpdate(
        { _id: id, $or: [{ etag: { $ne: request.etag } }, EXPIRED] },
        updateOf(request, context),
        { upsert: true, returnDocument: "after", projection: { revision: 1 }, ...inSession(session) },
      );
      return updated?.revision;
    }
    // Create-only: inserts when absent, replaces an expired leftover the TTL monitor has not
    // removed yet, and fails with E11000 when a live document exists.
    await collection.updateOne({ _id: id, ...EXPIRED }, updateOf(request, context, 1), { upsert: true, ...inSession(session) });
    return 1;
  } catch (error) {
    if (!isDuplicateKeyError(error)) throw error;
    if (session) throw new StateConflictError(request.key, request.expectedEtag ?? null, undefined, { cause: error });
    return undefined;
  }
}

/** The driver's `session` option: none outside a transaction. */
function inSession(session: ClientSession | undefined): { session?: ClientSession } {
  return session === undefined ? {} : { session };
}

/**
 * One conditional delete. A miss is followed by one read of what is live: nothing (`false`),
 * another etag (a conflict naming it), or the expected etag after all (stored after the
 * delete missed), in which case the delete goes again rather than contradict itself.
 */
async function deleteOne(collection: Collection<StateDocument>, request: DeleteRequest, session?: ClientSession): Promise<boolean> {
  const id = encodeKey(request.key);
  if (request.lastWriteWins) return (await collection.deleteOne({ _id: id, ...LIVE }, inSession(session))).deletedCount === 1;
  for (let attempt = 1; ; attempt++) {
    if (request.expectedEtag !== null) {
      const deleted = await collection.deleteOne({ _id: id, etag: request.expectedEtag, ...LIVE }, inSession(session));
      if (deleted.deletedCount === 1) return true;
    }
    // Expecting absence is this single read; after a missed delete it names what is stored.
    const stored = await collection.findOne({ _id: id, ...LIVE }, { projection: { etag: 1 }, ...inSession(session) });
    if (stored === null) return false;
    if (!admits(request, stored.etag)) throw new StateConflictError(request.key, request.expectedEtag, stored.etag);
    if (session) throw new StateConflictError(request.key, request.expectedEtag, undefined);
    if (attempt >= MAX_ATTEMPTS) throw new ContentionError(DRIVER_NAME, "delete", attempt);
    await backoff(attempt);
  }
}

/** The server's `hello` (or `isMaster`, for servers that predate it). */
async function helloOf(handle: MongoDbHandle): Promise<Record<string, unknown>> {
  try {
    return await handle.db.admin().command({ hello: 1 });
  } catch {
    return await handle.db.admin().command({ isMaster: 1 });
  }
}

/**
 * Multi-document transactions need a replica set (wire version 7+) or a sharded cluster
 * (8+) with sessions. Standalone servers, and mongo-java-server, have neither.
 */
function supportsTransactions(handle: MongoDbHandle, hello: Record<string, unknown>): boolean {
  if (handle.client === undefined) return false;
  const wire = typeof hello.maxWireVersion === "number" ? hello.maxWireVersion : 0;
  const sessions = hello.logicalSessionTimeoutMinutes !== undefined && hello.logicalSessionTimeoutMinutes !== null;
  if (hello.msg === "isdbgrid") return sessions && wire >= 8;
  return typeof hello.setName === "string" && sessions && wire >= 7;
}

/**
 * Private helpers shared by the MongoDB storage and event store: resolving the client and
 * database from options, loading the driver lazily, mapping driver errors, and turning BSON
 * Binary values back into plain `Uint8Array`s.
 *
 * @module
 */

import type { Collection, Db, Document, MongoClient, MongoClientOptions } from "mongodb";
import { ConfigurationError, CorruptDataError, isQuarkError, StorageUnavailableError } from "../../src/errors.ts";

/**
 * How the MongoDB adapters reach their server; shared by storage and event store options.
 *
 * @example A client made elsewhere, shared by storage and event store
 * ```ts
 * import { MongoClient } from "mongodb";
 * import { mongoDbEventStore, mongoDbStorage, type MongoDbConnectionOptions } from "@quark/persistence/mongodb";
 * const connection: MongoDbConnectionOptions = { client: new MongoClient("mongodb://127.0.0.1:27017"), database: "app" };
 * const storage = mongoDbStorage(connection);
 * const events = mongoDbEventStore(connection);
 * ```
 */
export interface MongoDbConnectionOptions {
  /**
   * A connected or connectable `MongoClient`, a `Db`, or a function returning either. A
   * client or database passed in stays open when the adapter closes.
   */
  readonly client?: MongoClient | Db | (() => MongoClient | Db | Promise<MongoClient | Db>);
  /** A connection string such as `mongodb://127.0.0.1:27017`, used when no `client` is given. */
  readonly url?: string;
  /** Extra driver options for a client the adapter creates from `url`. */
  readonly clientOptions?: MongoClientOptions;
  /**
   * The database name. Defaults to `"quark"`; ignored when `client` is a `Db`. Must be 1–63
   * characters of letters, digits, `_` and `-`.
   */
  readonly database?: string;
}

/** What one adapter instance holds once connected. */
export interface MongoDbHandle {
  /** The client, when known; needed for sessions and transactions. */
  readonly client: MongoClient | undefined;
  /** The database the collections live in. */
  readonly db: Db;
  /** Whether the adapter created the client and must close it. */
  readonly owned: boolean;
}

const DATABASE_NAME = /^[A-Za-z0-9_-]{1,63}$/;
const COLLECTION_NAME = /^[A-Za-z_][A-Za-z0-9_.-]{0,119}$/;

/**
 * Refuses database and collection names that MongoDB would reject or read specially
 * (`$`, NUL, `system.` collections), so options never reach a command unchecked.
 */
export function validateCollectionName(backend: string, option: string, name: string): string {
  if (typeof name !== "string" || !COLLECTION_NAME.test(name) || name.startsWith("system.") || name.endsWith(".")) {
    throw new ConfigurationError(
      `Invalid ${backend} ${option} ${JSON.stringify(name)}: use 1-120 letters, digits, "_", "-" or ".", starting with a letter or "_"`,
    );
  }
  return name;
}

function validateDatabaseName(backend: string, name: string): string {
  if (typeof name !== "string" || !DATABASE_NAME.test(name)) {
    throw new ConfigurationError(
      `Invalid ${backend} database name ${JSON.stringify(name)}: use 1-63 letters, digits, "_" or "-"`,
    );
  }
  return name;
}

function isDb(candidate: MongoClient | Db): candidate is Db {
  return typeof (candidate as Db).collection === "function" && typeof (candidate as MongoClient).db !== "function";
}

/**
 * Returns a function that connects once, on first use, and then hands out the same handle.
 * A failed connection is not cached, so the next call tries again.
 */
export function lazyConnection(backend: string, options: MongoDbConnectionOptions): {
  connect: () => Promise<MongoDbHandle>;
  close: () => Promise<void>;
} {
  const databaseName = validateDatabaseName(backend, options.database ?? "quark");
  if (options.client === undefined && options.url === undefined) {
    throw new ConfigurationError(`The ${backend} adapter needs a client or a url`);
  }
  let pending: Promise<MongoDbHandle> | undefined;
  let closed = false;

  async function open(): Promise<MongoDbHandle> {
    if (options.client !== undefined) {
      const given = typeof options.client === "function" ? await options.client() : options.client;
      if (isDb(given)) {
        // `Db.client` is not in the driver's public types, but every 4.x-6.x driver sets it.
        return { client: (given as unknown as { client?: MongoClient }).client, db: given, owned: false };
      }
      return { client: given, db: given.db(databaseName), owned: false };
    }
    const driver = await import("mongodb");
    const client = new driver.MongoClient(options.url!, options.clientOptions);
    await client.connect();
    return { client, db: client.db(databaseName), owned: true };
  }

  return {
    connect() {
      if (closed) return Promise.reject(new StorageUnavailableError(backend, "connect", new Error("The adapter is closed")));
      pending ??= open().catch((error) => {
        pending = undefined;
        throw toQuarkError(backend, "connect", error);
      });
      return pending;
    },
    async close() {
      closed = true;
      const handle = await pending?.catch(() => undefined);
      pending = undefined;
      if (handle?.owned) await handle.client?.close();
    },
  };
}

/** Whether `error` is MongoDB's duplicate-key error (E11000), from a write or a command. */
export function isDuplicateKeyError(error: unknown): boolean {
  if (typeof error !== "object" || error === null) return false;
  const code = (error as { code?: unknown }).code;
  return code === 11000 || code === 11001;
}

/** Passes library errors through and wraps anything else, naming the backend and keeping `cause`. */
export function toQuarkError(backend: string, operation: string, error: unknown): Error {
  if (isQuarkError(error)) return error;
  return new StorageUnavailableError(backend, operation, error);
}

/** Copies a stored BSON Binary (or a Buffer, with `promoteBuffers`) into a plain `Uint8Array`. */
export function bytesFromBson(value: unknown, what: string): Uint8Array {
  if (value instanceof Uint8Array) return new Uint8Array(value);
  if (typeof value === "object" && value !== null && (value as { _bsontype?: unknown })._bsontype === "Binary") {
    const binary = value as { buffer: Uint8Array; position: number };
    return new Uint8Array(binary.buffer.subarray(0, binary.position));
  }
  throw new CorruptDataError(`${what} is not BSON binary data`);
}

/** A typed collection accessor; the documents' shapes are checked where they are read. */
export function collectionOf<T extends Document>(db: Db, name: string): Collection<T> {
  return db.collection<T>(name);
}

/**
 * The smallest string greater than every string that starts with `prefix`, in the code-point
 * order MongoDB uses for strings (UTF-8 bytes compared as unsigned). `undefined` means no
 * upper bound is needed.
 */
export function prefixUpperBound(prefix: string): string | undefined {
  const codePoints = [...prefix];
  while (codePoints.length > 0) {
    const last = codePoints.pop()!.codePointAt(0)!;
    if (last < 0x10ffff) {
      // Skip the surrogate block, which has no UTF-8 encoding.
      const next = last + 1 === 0xd800 ? 0xe000 : last + 1;
      return codePoints.join("") + String.fromCodePoint(next);
    }
  }
  return undefined;
}

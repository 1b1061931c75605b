/**
 * Private helpers shared by the MongoDB storage and event store: resolving the client and
 * database from options, loading the driver lazily, mapping driver errors, and turning BSON
 * Binary values back into plain `Uint8Array`s.
 *
 * @module
 */

import type { Collection, Db, Document, MongoClient, MongoClientOptions } from "mongodb";
import { ConfigurationError, CorruptDataError, InvalidInputError, isQuarkError, StorageUnavailableError } from "../../src/errors.ts";
import { loadDriverPackage } from "../_shared/driver.ts";

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

/** The largest key (`encodeKey` bytes) or stream name, in UTF-8 bytes, the adapters accept. */
// A document is capped at 16 MiB and values may take all but 64 KiB of it, so keys get half
// of that headroom. (MongoDB 4.2+ has no index key limit; before 4.2 it was 1024 bytes.)
export const MAX_KEY_BYTES = 32 * 1024;

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
  /** The servers, for messages: from `url`, or from the client once connected. */
  endpoint: () => string | undefined;
  /** Connects once; rejects with the driver's own error, which callers wrap with their operation. */
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
    const driver = await loadDriver(() => import("mongodb"));
    const client = new driver.MongoClient(options.url!, options.clientOptions);
    await client.connect();
    return { client, db: client.db(databaseName), owned: true };
  }

  return {
    endpoint: endpointOf(options),
    connect() {
      if (closed) return Promise.reject(new StorageUnavailableError(backend, "connect", new Error("The adapter is closed")));
      pending ??= open().catch((error) => {
        pending = undefined;
        throw error;
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

/** Loads the mongodb package, or says how to install it (`ConfigurationError`). */
export function loadDriver<T>(load: () => Promise<T>): Promise<T> {
  return loadDriverPackage("mongodb", "mongodb", load);
}

/** The hosts of a connection string, without scheme, credentials, database or options. */
function hostsOfUrl(url: string): string {
  return url.replace(/^[a-z+]+:\/\//i, "").replace(/^[^@/]*@/, "").split(/[/?]/)[0]!;
}

function endpointOf(options: MongoDbConnectionOptions): () => string | undefined {
  return () => {
    if (options.url !== undefined) return hostsOfUrl(options.url);
    const given = options.client;
    if (given === undefined || typeof given === "function") return undefined;
    const client = isDb(given) ? (given as unknown as { client?: MongoClient }).client : given;
    const hosts = (client as { options?: { hosts?: unknown[] } } | undefined)?.options?.hosts;
    return Array.isArray(hosts) && hosts.length > 0 ? hosts.map(String).join(",") : undefined;
  };
}

// Server error codes that refuse the input itself: sending it again fails the same way.
const PERMANENT_INPUT_CODES: ReadonlySet<number> = new Set([
  2, // BadValue
  9, // FailedToParse
  14, // TypeMismatch
  16, // InvalidLength
  52, // DollarPrefixedFieldName
  53, // InvalidIdField
  55, // InvalidDBRef
  56, // EmptyFieldName
  57, // DottedFieldName
  121, // DocumentValidationFailure
  10334, // BSONObjectTooLarge
  17280, // KeyTooLong (index keys over 1024 bytes before MongoDB 4.2)
  17419, // the update would make the document larger than 16 MiB
]);

/** Whether the driver or the server refused the input itself, rather than failing to serve it. */
function isPermanentInputError(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  // BSON serialization of an oversized document overflows its buffer with a RangeError.
  if (error instanceof RangeError || ["BSONError", "BSONVersionError", "MongoInvalidArgumentError"].includes(error.name)) return true;
  const code = (error as { code?: unknown }).code;
  return typeof code === "number" && PERMANENT_INPUT_CODES.has(code);
}

/**
 * Passes library errors through and wraps anything else, naming the backend, the operation
 * and the endpoint, and keeping the driver's error as `cause` (whose chain, down to the
 * socket error, the message follows). Input the server (or BSON) refuses as such becomes
 * `InvalidInputError`; everything else means the backend could not serve the request,
 * `StorageUnavailableError`.
 */
export function toQuarkError(backend: string, operation: string, error: unknown, endpoint?: string): Error {
  if (isQuarkError(error)) return error;
  const where = endpoint === undefined ? operation : `${operation} on ${endpoint}`;
  if (isPermanentInputError(error)) {
    return new InvalidInputError(backend, where, error instanceof Error ? error.message : String(error), { cause: error });
  }
  return new StorageUnavailableError(backend, where, error);
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

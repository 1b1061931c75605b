/**
 * The state storage shared by every SQL adapter: it turns {@linkcode StateStorage} calls into
 * the dialect's single-statement writes and reads their outcome rows.
 *
 * @module
 */

import { decodeListCursor, encodeListCursor } from "../_shared/list_cursor.ts";
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
import { assertTransactable, assertWritable } from "../../src/storage/guards.ts";
import { assertKeyWithinLimit, assertValidKey, assertValidKeyPart, encodeKey } from "../../src/storage/keys.ts";
import { CorruptDataError, isQuarkError, StateConflictError } from "../../src/errors.ts";
import type { SqlExecutor, SqlRow } from "./executor.ts";
import { toBytes, toNumber, toOptionalNumber } from "./executor.ts";
import type { DeleteOutcome, SqlDialect, SqlTables, WriteOutcome } from "./dialect.ts";
import { executorLifecycle } from "./lifecycle.ts";
import { failureMapper, sanitizeDriverError } from "./errors.ts";
import { contentionRetry, type ContentionRetryOptions } from "./retry.ts";

const DEFAULT_PAGE_SIZE = 100;

/** What the shared storage needs from an adapter. */
export interface SqlStorageConfig {
  /** The backend's name, for messages, such as `"postgres"`. */
  readonly name: string;
  /** The dialect's statements. */
  readonly dialect: SqlDialect;
  /** The validated table names. */
  readonly tables: SqlTables;
  /** Opens the executor on first use. */
  readonly executor: () => Promise<SqlExecutor>;
  /** Whether to create missing tables on first use. */
  readonly autoCreateSchema: boolean;
  /** The largest value accepted, in bytes. Defaults to 16 MiB. */
  readonly maxValueBytes?: number | undefined;
  /** The most operations one `transact` accepts. Defaults to 1000. */
  readonly maxTransactionOperations?: number | undefined;
  /** How to retry what the server aborts under contention (deadlock, serialization failure). */
  readonly contentionRetry?: ContentionRetryOptions | undefined;
  /** `host:port` of the server, for messages, when the adapter knows it. */
  readonly endpoint?: string | undefined;
}

// One place for the limits every SQL adapter offers unless its options say otherwise.
const DEFAULT_MAX_VALUE_BYTES = 16 * 1024 * 1024;
const DEFAULT_MAX_TRANSACTION_OPERATIONS = 1000;

/** A SQL-backed {@linkcode StateStorage} with the schema and TTL helpers every SQL adapter offers. */
export interface SqlStateStorage extends StateStorage {
  /**
   * Creates the state table and its indexes if they are missing. Safe to call concurrently
   * and repeatedly.
   */
  ensureSchema(): Promise<void>;
  /**
   * Deletes every expired state. Reads already treat them as absent; this reclaims the space.
   * @returns How many states were deleted.
   */
  purgeExpired(): Promise<number>;
}

/**
 * Wraps driver failures, with the backend named and a sanitized copy of the driver error kept
 * as `cause`. Missing tables are a configuration mistake, not an outage, so they say how to
 * create them.
 */
export function driverFailure(name: string, dialect: SqlDialect, operation: string, error: unknown, endpoint?: string): never {
  return failureMapper(name, dialect, endpoint)(operation, error);
}

function decodeRecord(name: string, row: SqlRow): StoredRecord {
  try {
    const expiresAt = toOptionalNumber(row[3]);
    const record: StoredRecord = {
      value: toBytes(row[0]),
      etag: String(row[1]),
      revision: toNumber(row[2]),
    };
    return expiresAt === undefined ? record : { ...record, expiresAt };
  } catch (error) {
    throw new CorruptDataError(`Storage backend ${name} returned a malformed state row`, { cause: error });
  }
}

/**
 * Refuses keys and etags that are not strings before they become parameters: a caller that
 * bypasses the types must not get an object serialised into SQL.
 */
export function assertStrings(key: StateKey, ...etags: ReadonlyArray<string | null | undefined>): void {
  for (const part of [key?.actorType, key?.actorId, key?.stateName]) {
    if (typeof part !== "string") throw new TypeError(`State key parts must be strings, got ${typeof part}`);
  }
  for (const etag of etags) {
    if (etag !== null && etag !== undefined && typeof etag !== "string") throw new TypeError(`Etags must be strings, got ${typeof etag}`);
  }
}

function checkRequest(request: WriteRequest | DeleteRequest): void {
  assertStrings(request.key, request.expectedEtag, "etag" in request ? request.etag : undefined);
  if ("etag" in request && typeof request.etag !== "string") throw new TypeError("A write needs a string etag");
}

const utf8 = new TextEncoder();
// Keys and names come back as bytes: some drivers' text decoding drops a leading U+FEFF.
const text = new TextDecoder("utf-8", { ignoreBOM: true });

/** Reads a driver string that the dialect may have sent as UTF-8 bytes. */
export function toText(value: unknown): string {
  return typeof value === "string" ? value : text.decode(toBytes(value));
}

function compareBytes(left: Uint8Array, right: Uint8Array): number {
  const length = Math.min(left.length, right.length);
  for (let index = 0; index < length; index++) {
    if (left[index] !== right[index]) return left[index]! - right[index]!;
  }
  return left.length - right.length;
}

/**
 * The order in which a transaction takes its row locks: by the UTF-8 bytes of the encoded
 * key, which is also SQL Server's clustered key order. Every transaction locking in the same
 * order is what keeps two of them from waiting on each other in a cycle.
 */
export function lockOrder(operations: readonly TransactOperation[]): number[] {
  const sortKeys = operations.map((operation) => utf8.encode(encodeKey(operation.key)));
  return operations.map((_, index) => index).sort((left, right) => compareBytes(sortKeys[left]!, sortKeys[right]!));
}

/**
 * Builds a {@linkcode StateStorage} over a SQL executor and dialect.
 *
 * @param config The dialect, tables and executor.
 * @returns The storage, with `ensureSchema` and `purgeExpired`.
 */
export function sqlStorage(config: SqlStorageConfig): SqlStateStorage {
  const { name, dialect, tables } = config;
  const capabilities: StorageCapabilities = {
    transactions: true,
    maxTransactionOperations: config.maxTransactionOperations ?? DEFAULT_MAX_TRANSACTION_OPERATIONS,
    ttl: true,
    list: true,
    maxValueBytes: config.maxValueBytes ?? DEFAULT_MAX_VALUE_BYTES,
    ...(dialect.maxKeyBytes === undefined ? {} : { maxKeyBytes: dialect.maxKeyBytes }),
  };
  const fail = failureMapper(name, dialect, config.endpoint);
  const retry = contentionRetry(name, (error) => {
    const kind = dialect.classify(error).kind;
    return kind === "contention" || kind === "unique";
  }, config.contentionRetry);
  const { ready, ensureSchema, close } = executorLifecycle(name, config.executor, () => dialect.stateSchema(tables), config.autoCreateSchema, fail);

  function checkKey(key: StateKey): void {
    assertStrings(key);
    assertValidKey(key);
    if (dialect.maxKeyBytes !== undefined) assertKeyWithinLimit(name, "key", encodeKey(key), dialect.maxKeyBytes);
  }

  function conflict(request: WriteRequest | DeleteRequest, actual: string | null | undefined, cause?: unknown): StateConflictError {
    const expected = request.lastWriteWins ? null : request.expectedEtag;
    // Every statement reads the stored etag under the lock that refused it, so it differs
    // from the expected one; should a dialect ever say otherwise, say nothing rather than that.
    const known = actual === expected ? undefined : actual;
    return new StateConflictError(request.key, expected, known, cause === undefined ? undefined : { cause: sanitizeDriverError(cause) });
  }

  /** Runs one statement, retried under contention; driver failures become library errors. */
  async function run(operation: string, statement: () => ReturnType<SqlDialect["readState"]>): Promise<SqlRow[]> {
    const sql = await ready(operation);
    try {
      return await retry(operation, () => sql.query(statement()));
    } catch (error) {
      return fail(operation, error);
    }
  }

  async function write(request: WriteRequest): Promise<WriteResult> {
    checkRequest(request);
    assertWritable(name, capabilities, request);
    checkKey(request.key);
    const rows = await run("write", () => dialect.writeState(tables, request));
    const row = rows[0] ?? [];
    const outcome = (row[0] ?? "absent") as WriteOutcome | "retried";
    if (outcome === "written" || outcome === "retried") return { etag: request.etag, revision: toNumber(row[1]) };
    // A last-write-wins write has no precondition: it is applied or it failed, never refused.
    if (outcome === "conflict") throw conflict(request, row[2] === null || row[2] === undefined ? undefined : String(row[2]));
    throw conflict(request, null);
  }

  async function remove(request: DeleteRequest): Promise<boolean> {
    checkRequest(request);
    checkKey(request.key);
    const rows = await run("delete", () => dialect.deleteState(tables, request));
    const row = rows[0] ?? [];
    const outcome = (row[0] ?? "absent") as DeleteOutcome;
    if (outcome === "deleted") return true;
    if (outcome === "conflict") throw conflict(request, row[1] === null || row[1] === undefined ? undefined : String(row[1]));
    return false;
  }

  async function transact(operations: readonly TransactOperation[]): Promise<ReadonlyArray<WriteResult | null>> {
    for (const operation of operations) checkRequest(operation);
    assertTransactable(name, capabilities, operations);
    for (const operation of operations) checkKey(operation.key);
    if (operations.length === 0) return [];
    const sql = await ready("transact");
    const order = lockOrder(operations);
    const statements = order.map((at, position) => {
      const operation = operations[at]!;
      return operation.kind === "write" ? dialect.writeState(tables, operation, position) : dialect.deleteState(tables, operation, position);
    });
    let results: SqlRow[][];
    try {
      results = await retry("transact", () => sql.batch(statements));
    } catch (error) {
      const kind = isQuarkError(error) ? undefined : dialect.classify(error);
      const operation = kind?.kind === "guard" ? operations[order[kind.index] ?? -1] : undefined;
      if (kind?.kind === "guard" && operation !== undefined) {
        // The guard read the stored etag under its own lock, before the rollback.
        throw conflict(operation, kind.detail === "absent" ? null : kind.etag ?? undefined, error);
      }
      return fail("transact", error);
    }
    const byOperation: SqlRow[][] = [];
    order.forEach((at, position) => {
      byOperation[at] = results[position] ?? [];
    });
    return operations.map((operation, index) => {
      if (operation.kind === "delete") return null;
      const row = byOperation[index]?.[0] ?? [];
      return { etag: operation.etag, revision: toNumber(row[1]) };
    });
  }

  return {
    name,
    capabilities,
    async read(key: StateKey): Promise<StoredRecord | null> {
      checkKey(key);
      const rows = await run("read", () => dialect.readState(tables, key));
      return rows.length === 0 ? null : decodeRecord(name, rows[0]!);
    },
    write,
    delete: remove,
    async list(request: ListRequest): Promise<ListPage> {
      assertStrings({ actorType: request.actorType, actorId: request.actorIdPrefix ?? "", stateName: "" });
      assertValidKeyPart("actorType", request.actorType);
      assertValidKeyPart("actorIdPrefix", request.actorIdPrefix ?? "");
      const limit = request.limit ?? DEFAULT_PAGE_SIZE;
      if (!Number.isSafeInteger(limit) || limit < 1) throw new RangeError(`List limit must be a whole number of at least 1, got ${limit}`);
      const after = request.cursor === undefined ? undefined : decodeListCursor(request.cursor);
      // One extra row tells whether another page follows.
      const rows = await run("list", () => dialect.listState(tables, request, after, limit + 1));
      const page = rows.slice(0, limit).map((row) => ({
        actorType: request.actorType,
        actorId: toText(row[0]),
        stateName: toText(row[1]),
      }));
      const last = page[page.length - 1];
      return rows.length > limit && last !== undefined ? { keys: page, cursor: encodeListCursor(last.actorId, last.stateName) } : { keys: page };
    },
    transact,
    ensureSchema,
    async purgeExpired(): Promise<number> {
      const rows = await run("purgeExpired", () => dialect.purgeExpired(tables));
      return toNumber(rows[0]?.[0] ?? 0);
    },
    close,
  };
}

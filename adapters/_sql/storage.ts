/**
 * The state storage shared by every SQL adapter: it turns {@linkcode StateStorage} calls into
 * the dialect's single-statement writes and reads their outcome rows.
 *
 * @module
 */

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
import { ConfigurationError, CorruptDataError, isQuarkError, StateConflictError, StorageUnavailableError } from "../../src/errors.ts";
import type { SqlExecutor, SqlRow } from "./executor.ts";
import { toBytes, toNumber, toOptionalNumber } from "./executor.ts";
import type { DeleteOutcome, SqlDialect, SqlTables, WriteOutcome } from "./dialect.ts";
import { executorLifecycle } from "./lifecycle.ts";

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
  readonly maxValueBytes?: number;
  /** The most operations one `transact` accepts. Defaults to 1000. */
  readonly maxTransactionOperations?: number;
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
 * Wraps driver failures, with the backend named and the driver error kept as `cause`. Missing
 * tables are a configuration mistake, not an outage, so they say how to create them.
 */
export function driverFailure(name: string, dialect: SqlDialect, operation: string, error: unknown): never {
  if (isQuarkError(error)) throw error;
  if (dialect.classify(error).kind === "missing-schema") {
    throw new ConfigurationError(`Storage backend ${name} has no tables yet: call ensureSchema() once, or pass autoCreateSchema: true`, { cause: error });
  }
  throw new StorageUnavailableError(name, operation, error);
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

function encodeCursor(actorId: string, stateName: string): string {
  return JSON.stringify([actorId, stateName]);
}

function decodeCursor(cursor: string): [string, string] {
  try {
    const parsed: unknown = JSON.parse(cursor);
    if (Array.isArray(parsed) && parsed.length === 2 && typeof parsed[0] === "string" && typeof parsed[1] === "string") {
      return [parsed[0], parsed[1]];
    }
  } catch {
    // Falls through to the RangeError below.
  }
  throw new RangeError(`Not a list cursor of this storage: ${JSON.stringify(cursor)}`);
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
  };
  const { ready, ensureSchema, close } = executorLifecycle(
    name,
    config.executor,
    () => dialect.stateSchema(tables),
    config.autoCreateSchema,
    (operation, error) => driverFailure(name, dialect, operation, error),
  );

  async function readEtag(sql: SqlExecutor, key: StateKey): Promise<string | null | undefined> {
    try {
      const rows = await sql.query(dialect.readState(tables, key));
      return rows.length === 0 ? null : String(rows[0]![1]);
    } catch {
      return undefined;
    }
  }

  function conflict(request: WriteRequest | DeleteRequest, actual: string | null | undefined, cause?: unknown): StateConflictError {
    const expected = request.lastWriteWins ? null : request.expectedEtag;
    // A row seen in the statement's snapshot can predate the concurrent write that beat us.
    const known = actual === expected && actual !== null ? undefined : actual;
    return new StateConflictError(request.key, expected, known, cause === undefined ? undefined : { cause });
  }

  async function write(request: WriteRequest): Promise<WriteResult> {
    checkRequest(request);
    assertWritable(name, capabilities, request);
    const sql = await ready("write");
    let rows: SqlRow[];
    try {
      rows = await sql.query(dialect.writeState(tables, request));
    } catch (error) {
      const kind = dialect.classify(error);
      // A create-only insert can lose a race on the primary key in dialects without upsert.
      if (kind.kind === "unique" || kind.kind === "contention") throw conflict(request, await readEtag(sql, request.key), error);
      return driverFailure(name, dialect, "write", error);
    }
    const row = rows[0] ?? [];
    const outcome = (row[0] ?? null) as WriteOutcome;
    if (outcome === "written" || outcome === "retried") {
      return { etag: request.etag, revision: toNumber(row[1]) };
    }
    if (outcome === "conflict") throw conflict(request, row[2] === null || row[2] === undefined ? null : String(row[2]));
    if (outcome === "absent") throw conflict(request, null);
    // The statement saw no row yet could not write: a concurrent writer committed after its
    // snapshot. Reading now only fills in the conflict's details.
    const actual = await readEtag(sql, request.key);
    throw conflict(request, actual);
  }

  async function remove(request: DeleteRequest): Promise<boolean> {
    checkRequest(request);
    const sql = await ready("delete");
    let rows: SqlRow[];
    try {
      rows = await sql.query(dialect.deleteState(tables, request));
    } catch (error) {
      return driverFailure(name, dialect, "delete", error);
    }
    const row = rows[0] ?? [];
    const outcome = (row[0] ?? null) as DeleteOutcome;
    if (outcome === "deleted") return true;
    if (outcome === "conflict") throw conflict(request, row[1] === null || row[1] === undefined ? null : String(row[1]));
    return false;
  }

  async function transact(operations: readonly TransactOperation[]): Promise<ReadonlyArray<WriteResult | null>> {
    for (const operation of operations) checkRequest(operation);
    assertTransactable(name, capabilities, operations);
    if (operations.length === 0) return [];
    const sql = await ready("transact");
    const statements = operations.map((operation, index) =>
      operation.kind === "write" ? dialect.writeState(tables, operation, index) : dialect.deleteState(tables, operation, index)
    );
    let results: SqlRow[][];
    try {
      results = await sql.batch(statements);
    } catch (error) {
      const kind = dialect.classify(error);
      if (kind.kind === "guard") {
        const operation = operations[kind.index];
        if (operation !== undefined) throw conflict(operation, await readEtag(sql, operation.key), error);
      }
      if (kind.kind === "unique" || kind.kind === "contention") {
        throw new StateConflictError(operations[0]!.key, null, undefined, {
          cause: error,
          message: `A transaction of ${operations.length} states on ${name} collided with a concurrent writer`,
        });
      }
      return driverFailure(name, dialect, "transact", error);
    }
    return operations.map((operation, index) => {
      if (operation.kind === "delete") return null;
      const row = results[index]?.[0] ?? [];
      return { etag: operation.etag, revision: toNumber(row[1]) };
    });
  }

  return {
    name,
    capabilities,
    async read(key: StateKey): Promise<StoredRecord | null> {
      assertStrings(key);
      const sql = await ready("read");
      let rows: SqlRow[];
      try {
        rows = await sql.query(dialect.readState(tables, key));
      } catch (error) {
        return driverFailure(name, dialect, "read", error);
      }
      return rows.length === 0 ? null : decodeRecord(name, rows[0]!);
    },
    write,
    delete: remove,
    async list(request: ListRequest): Promise<ListPage> {
      assertStrings({ actorType: request.actorType, actorId: request.actorIdPrefix ?? "", stateName: "" });
      const limit = request.limit ?? DEFAULT_PAGE_SIZE;
      if (!Number.isSafeInteger(limit) || limit < 1) throw new RangeError(`List limit must be a whole number of at least 1, got ${limit}`);
      const after = request.cursor === undefined ? undefined : decodeCursor(request.cursor);
      const sql = await ready("list");
      let rows: SqlRow[];
      try {
        // One extra row tells whether another page follows.
        rows = await sql.query(dialect.listState(tables, request, after, limit + 1));
      } catch (error) {
        return driverFailure(name, dialect, "list", error);
      }
      const page = rows.slice(0, limit).map((row) => ({
        actorType: request.actorType,
        actorId: String(row[0]),
        stateName: String(row[1]),
      }));
      const last = page[page.length - 1];
      return rows.length > limit && last !== undefined ? { keys: page, cursor: encodeCursor(last.actorId, last.stateName) } : { keys: page };
    },
    transact,
    ensureSchema,
    async purgeExpired(): Promise<number> {
      const sql = await ready("purgeExpired");
      try {
        const rows = await sql.query(dialect.purgeExpired(tables));
        return toNumber(rows[0]?.[0] ?? 0);
      } catch (error) {
        return driverFailure(name, dialect, "purgeExpired", error);
      }
    },
    close,
  };
}

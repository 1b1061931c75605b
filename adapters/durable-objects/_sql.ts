// The part of a Durable Object's storage the adapter uses, declared structurally so that the
// adapter needs no `@cloudflare/workers-types` (the real `ctx.storage` fits these shapes), and
// the one place where SQLite failures become library errors.
import { InvalidInputError, isQuarkError, StorageUnavailableError } from "../../src/errors.ts";
import { validateIdentifier } from "../_sql/dialect.ts";

export const DRIVER_NAME = "durable-objects";

/**
 * A value SQLite stores or returns: BLOBs go in as bytes and come back as `ArrayBuffer`.
 *
 * @example The values the adapter binds
 * ```ts
 * import type { SqlValue } from "@quark/persistence/durable-objects";
 * const bindings: SqlValue[] = ["account", 1, null, new Uint8Array([1, 2])];
 * ```
 */
export type SqlValue = string | number | null | ArrayBuffer | Uint8Array;

/**
 * The SQL API of a SQLite-backed Durable Object, `ctx.storage.sql`: statements run
 * synchronously on the object's own database.
 *
 * @example The real `ctx.storage.sql` fits this shape
 * ```ts
 * import type { DurableObjectSql } from "@quark/persistence/durable-objects";
 * const rows: Record<string, unknown>[] = [{ one: 1 }];
 * const sql: DurableObjectSql = { exec: (_query: string) => ({ toArray: () => rows }) };
 * if (sql.exec("SELECT 1 AS one").toArray()[0]?.one !== 1) throw new Error("not run");
 * ```
 */
export interface DurableObjectSql {
  /** Runs one statement with `?` placeholders bound to `bindings`, and returns its cursor. */
  exec(query: string, ...bindings: SqlValue[]): { toArray(): Record<string, unknown>[] };
}

/**
 * What the storage and the event store need of `ctx.storage`: its SQL API and its
 * synchronous transactions. Only SQLite-backed objects (`new_sqlite_classes` in
 * `wrangler.toml`) have them.
 *
 * @example Passing `ctx.storage` (here, a stand-in with the same shape)
 * ```ts
 * import type { DurableObjectSqlStorage } from "@quark/persistence/durable-objects";
 * const storage: DurableObjectSqlStorage = {
 *   sql: { exec: () => ({ toArray: () => [] }) },
 *   transactionSync: (closure) => closure(),
 * };
 * if (storage.transactionSync(() => 42) !== 42) throw new Error("not run");
 * ```
 */
export interface DurableObjectSqlStorage {
  /** The object's SQL API. */
  readonly sql: DurableObjectSql;
  /** Runs `closure` in one SQLite transaction: it commits when it returns and rolls back when it throws. */
  transactionSync<T>(closure: () => T): T;
}

/** Runs one statement and returns its rows. */
export function rows(storage: DurableObjectSqlStorage, query: string, ...bindings: SqlValue[]): Record<string, unknown>[] {
  return storage.sql.exec(query, ...bindings).toArray();
}

/**
 * Binds bytes as a BLOB. A view into a larger buffer is copied, so exactly its bytes are
 * stored whatever the runtime does with a view's offset.
 */
export function blob(bytes: Uint8Array): Uint8Array {
  return bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength ? bytes : bytes.slice();
}

/** Reads a BLOB column as a fresh `Uint8Array`. */
export function bytesOf(value: unknown): Uint8Array {
  if (value instanceof ArrayBuffer) return new Uint8Array(value.slice(0));
  if (value instanceof Uint8Array) return value.slice();
  throw new TypeError(`Expected a BLOB from SQLite, got ${typeof value}`);
}

/** Validates a table name from options: a plain identifier, so it is only ever quoted. */
export function tableName(what: string, name: string): string {
  return `"${validateIdentifier(what, name, 63)}"`;
}

/**
 * Runs a synchronous storage step and turns SQLite's failures into library errors: a row
 * over SQLite's size limit is input refused for good, anything else an outage of the
 * object's storage. Library errors (conflicts, validation) pass unchanged.
 */
export function guarded<T>(operation: string, step: () => T): Promise<T> {
  try {
    return Promise.resolve(step());
  } catch (error) {
    return Promise.reject(libraryError(operation, error));
  }
}

function libraryError(operation: string, error: unknown): unknown {
  if (isQuarkError(error) || error instanceof RangeError || error instanceof TypeError) return error;
  const message = error instanceof Error ? error.message : String(error);
  if (message.includes("SQLITE_TOOBIG")) {
    return new InvalidInputError(DRIVER_NAME, operation, "a row is over the 2 MB row limit of SQLite-backed Durable Objects", { cause: error });
  }
  return new StorageUnavailableError(DRIVER_NAME, operation, error);
}

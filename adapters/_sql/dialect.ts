/**
 * What the shared SQL storage and event store need from a database dialect: the statements,
 * and how to read the dialect's errors. The Postgres dialect serves PGlite, postgres.js and
 * both Neon paths unchanged; the T-SQL dialect serves `mssql`.
 *
 * Every statement below is a single server-side statement (or, for T-SQL, one batch that the
 * server runs as one unit) that checks and writes in one step: there is never a read before a
 * write.
 *
 * @module
 */

import type { SqlStatement } from "./executor.ts";
import type { DeleteRequest, ListRequest, WriteRequest } from "../../src/storage/types.ts";
import type { NewEvent } from "../../src/events/types.ts";
import { ConfigurationError } from "../../src/errors.ts";

/** The names of the tables, already validated. */
export interface SqlTables {
  /** The schema (Postgres) or schema owner (T-SQL) the tables live in, if not the default. */
  readonly schema?: string;
  /** The state table. */
  readonly state: string;
  /** The events table. */
  readonly events: string;
  /** The snapshots table. */
  readonly snapshots: string;
}

/**
 * The one-row table that hands out global positions, named after the events table.
 *
 * @param tables The validated table names.
 * @returns The counter table's name.
 */
export function positionCounterTable(tables: SqlTables): string {
  return `${tables.events}_position`;
}

/**
 * The outcome column of a write: `written` (the row now holds the request's etag, applied now
 * or by an earlier attempt whose reply was lost), `conflict` (another etag is stored: the
 * etag column says which), or `absent` (nothing live is stored).
 */
export type WriteOutcome = "written" | "conflict" | "absent";

/** The outcome column of a delete: `deleted`, `conflict`, `absent`, or `null` (absent). */
export type DeleteOutcome = "deleted" | "conflict" | "absent" | null;

/** How the shared layer should treat a driver error. */
export type ErrorKind =
  /** A unique key was violated: a concurrent writer got there first. */
  | { readonly kind: "unique" }
  /**
   * A guarded statement inside a transaction found its precondition unmet: `detail` is its
   * outcome, and `etag` the etag it found stored (`null`: none), where the statement says.
   */
  | { readonly kind: "guard"; readonly index: number; readonly detail: string; readonly etag?: string | null }
  /** The database aborted the transaction because of concurrent access (deadlock, serialization). */
  | { readonly kind: "contention" }
  /** The tables do not exist: the schema was never created. */
  | { readonly kind: "missing-schema" }
  /** The server refused this input for good (bad bytes, out of range, too big for an index). */
  | { readonly kind: "invalid-input"; readonly problem: string }
  /** The server refused the connection's settings (credentials, database, privileges). */
  | { readonly kind: "configuration"; readonly problem: string }
  /** Anything else: the backend is unreachable or failing. */
  | { readonly kind: "unavailable" };

/**
 * Statement builders for one SQL dialect. Rows come back in the column order documented on
 * each builder. `guard`, when given, makes the statement fail with an error that
 * {@linkcode SqlDialect.classify} reads as `{ kind: "guard", index: guard }` when its
 * precondition is unmet, so that a batch inside one transaction rolls back as a whole.
 */
export interface SqlDialect {
  /** Statements that create the state table and its indexes if missing, run in one transaction. */
  stateSchema(tables: SqlTables): SqlStatement[];
  /**
   * Statements that create the events and snapshots tables and the position counter if
   * missing, run in one transaction. They also upgrade an events table of format 0.1 in place
   * (adding the metadata and position columns) and give every event without a position one,
   * after all positions given so far, so a reader never misses them.
   */
  eventSchema(tables: SqlTables): SqlStatement[];
  /** Reads one live state. Columns: value, etag, revision, expires_ms. */
  readState(tables: SqlTables, request: { actorType: string; actorId: string; stateName: string }): SqlStatement;
  /**
   * Writes one state if its precondition holds. One row: outcome, revision, etag, expires_ms,
   * where the etag is the one stored when the write was refused (`null` when written).
   */
  writeState(tables: SqlTables, request: WriteRequest, guard?: number): SqlStatement;
  /** Deletes one state if its precondition holds. One row: outcome, etag. */
  deleteState(tables: SqlTables, request: DeleteRequest, guard?: number): SqlStatement;
  /** One page of live keys after `after`, in key order. Columns: actor_id, state_name. */
  listState(tables: SqlTables, request: ListRequest, after: readonly [string, string] | undefined, limit: number): SqlStatement;
  /** Deletes expired states. One row: the number deleted. */
  purgeExpired(tables: SqlTables): SqlStatement;
  /**
   * Appends events after the stream's current head, if the head equals `expected` (`null`: any
   * head), and gives them the next global positions from the one-row position counter, whose
   * lock the append then holds until its transaction ends. One row: the head before the
   * append, the number of events inserted, the position of the last one inserted (`NULL`
   * when none).
   */
  appendEvents(tables: SqlTables, stream: string, events: readonly NewEvent[], expected: number | null, guard?: number): SqlStatement;
  /**
   * Reads up to `limit` events from `fromVersion`. Columns: version, type (UTF-8 bytes or
   * text), data, metadata (`NULL`: none), created_ms (milliseconds since the epoch on the
   * server's clock), position (decimal text; `NULL`: not given one yet, see `eventSchema`).
   */
  readEvents(tables: SqlTables, stream: string, fromVersion: number, limit: number): SqlStatement;
  /**
   * Reads up to `limit` events of every stream whose position is greater than `after`, in
   * position order. Columns: stream (UTF-8 bytes or text), then those of `readEvents`.
   */
  readAllEvents(tables: SqlTables, after: bigint, limit: number): SqlStatement;
  /** The stream's head. One row: version (0 when empty). */
  streamVersion(tables: SqlTables, stream: string): SqlStatement;
  /** Saves a snapshot unless one at the same or a newer version exists. One row when saved. */
  saveSnapshot(tables: SqlTables, stream: string, version: number, data: Uint8Array): SqlStatement;
  /** Loads a stream's snapshot. Columns: version, data. */
  loadSnapshot(tables: SqlTables, stream: string): SqlStatement;
  /** Tells what a driver error means. */
  classify(error: unknown): ErrorKind;
  /** The most parameters one statement may bind. */
  readonly maxParameters: number;
  /** The longest key the state table holds, in UTF-8 bytes of `encodeKey(key)`. */
  readonly maxKeyBytes?: number;
  /** The longest stream name the event tables hold, in UTF-8 bytes. */
  readonly maxStreamBytes?: number;
}

/** The text that guard failures carry, so {@linkcode parseGuard} can find them. */
export const GUARD_MARKER = "quark_guard";

/**
 * Finds a guard failure in an error message: `quark_guard:<index>:<detail>[:<etag as hex>]`.
 * A guard that reports an etag reports it as the hex of its UTF-8 bytes (empty: no state), so
 * any etag survives the error message intact.
 *
 * @param message The driver's error message.
 * @returns The statement index, detail and etag, or `undefined`.
 *
 * @example
 * ```ts
 * import { parseGuard } from "./dialect.ts";
 * const found = parseGuard('invalid input syntax for type integer: "quark_guard:2:conflict:6531"');
 * if (found?.index !== 2 || found.detail !== "conflict" || found.etag !== "e1") throw new Error("not parsed");
 * ```
 */
export function parseGuard(message: string): { index: number; detail: string; etag?: string | null } | undefined {
  const match = new RegExp(`${GUARD_MARKER}:(\\d+):([A-Za-z0-9_-]*)(?::([0-9A-Fa-f]*))?`).exec(message);
  if (!match) return undefined;
  const found = { index: Number(match[1]), detail: match[2]! };
  const etag = match[3] === undefined ? undefined : match[3] === "" ? null : decodeHex(match[3]);
  return etag === undefined ? found : { ...found, etag };
}

function decodeHex(hex: string): string | undefined {
  if (hex.length % 2 !== 0) return undefined;
  const bytes = new Uint8Array(hex.length / 2);
  for (let index = 0; index < bytes.length; index++) bytes[index] = parseInt(hex.slice(index * 2, index * 2 + 2), 16);
  try {
    return new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    return undefined;
  }
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Validates a table or schema name from options. Only plain identifiers are accepted (letters,
 * digits, underscores, not starting with a digit), so a name never needs escaping beyond
 * quoting, and derived index names stay within the database's length limit.
 *
 * @param what What the name is for, for the message.
 * @param name The name to check.
 * @param maxLength The longest name accepted.
 * @returns The name.
 * @throws {ConfigurationError} When the name is not a plain identifier.
 */
export function validateIdentifier(what: string, name: string, maxLength: number): string {
  if (typeof name !== "string" || !IDENTIFIER.test(name) || name.length > maxLength) {
    throw new ConfigurationError(
      `Invalid ${what} ${JSON.stringify(name)}: use letters, digits and underscores, starting with a letter or underscore, at most ${maxLength} characters`,
    );
  }
  return name;
}

/** Options shared by every SQL adapter for naming its tables. */
export interface SqlTableOptions {
  /** The schema the tables live in; the connection's default when absent. */
  readonly schema?: string;
  /** The state table's name. Defaults to `quark_state`. */
  readonly stateTable?: string;
  /** The events table's name. Defaults to `quark_events`. */
  readonly eventsTable?: string;
  /** The snapshots table's name. Defaults to `quark_snapshots`. */
  readonly snapshotsTable?: string;
}

/**
 * Resolves and validates table names from options.
 *
 * @param options The adapter's options.
 * @param maxLength The longest identifier the dialect allows room for.
 * @returns The validated names.
 * @throws {ConfigurationError} When a name is not a plain identifier.
 */
export function resolveTables(options: SqlTableOptions, maxLength: number): SqlTables {
  return {
    ...(options.schema === undefined ? {} : { schema: validateIdentifier("schema name", options.schema, maxLength) }),
    state: validateIdentifier("state table name", options.stateTable ?? "quark_state", maxLength),
    events: validateIdentifier("events table name", options.eventsTable ?? "quark_events", maxLength),
    snapshots: validateIdentifier("snapshots table name", options.snapshotsTable ?? "quark_snapshots", maxLength),
  };
}

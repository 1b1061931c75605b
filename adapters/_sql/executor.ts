/**
 * The small structural interface every SQL adapter hands to the shared layer, so the shared
 * storage and event store depend on no driver's types. An adapter wraps its driver in one of
 * these: PGlite, postgres.js, Neon's `neon()` over HTTP, Neon's WebSocket `Pool`, `mssql`.
 *
 * @module
 */

/** One statement with its bound parameters. Keys and values only ever travel in `params`. */
export interface SqlStatement {
  /** The SQL text, with the dialect's placeholders (`$1` or `@p1`). */
  readonly text: string;
  /** The parameter values: strings, numbers, `Uint8Array`s or `null`. */
  readonly params: readonly SqlParam[];
  /**
   * Whether the text is one of an unbounded family (an append of n events has its own text
   * for each n), so drivers that cache prepared statements per connection should not.
   */
  readonly oneOff?: boolean;
}

/** A bound parameter value. */
export type SqlParam = string | number | Uint8Array | null;

/** A result row, as the driver returns it, in column order. */
export type SqlRow = readonly unknown[];

/** Runs statements against one database. */
export interface SqlExecutor {
  /** Runs one statement on its own (autocommit) and returns its rows in column order. */
  query(statement: SqlStatement): Promise<SqlRow[]>;
  /**
   * Runs statements in order inside one database transaction and returns each one's rows.
   * When any statement fails, the transaction rolls back and the error is rethrown as is.
   * It is a batch rather than a callback so that Neon's HTTP `transaction()` can serve it.
   */
  batch(statements: readonly SqlStatement[]): Promise<SqlRow[][]>;
  /** Releases what the adapter opened itself; clients passed in stay open. */
  close(): Promise<void>;
}

/**
 * Wraps an executor so that every statement is counted before it is sent. The benchmarks use
 * it to show that a single-state write costs exactly one statement.
 *
 * @param executor The executor to wrap.
 * @returns The wrapped executor and a function that reads the counts so far.
 *
 * @example
 * ```ts
 * import { countingExecutor } from "./executor.ts";
 * const inner = { query: async () => [], batch: async () => [], close: async () => {} };
 * const { executor, counts } = countingExecutor(inner);
 * await executor.query({ text: "SELECT 1", params: [] });
 * if (counts().statements !== 1) throw new Error("not counted");
 * ```
 */
export function countingExecutor(executor: SqlExecutor): {
  executor: SqlExecutor;
  counts: () => { statements: number; batches: number };
} {
  let statements = 0;
  let batches = 0;
  return {
    executor: {
      query(statement) {
        statements += 1;
        return executor.query(statement);
      },
      batch(list) {
        batches += 1;
        statements += list.length;
        return executor.batch(list);
      },
      close: () => executor.close(),
    },
    counts: () => ({ statements, batches }),
  };
}

/** Copies driver bytes (Buffer, Uint8Array, `\x…` hex text) into a plain `Uint8Array`. */
export function toBytes(value: unknown): Uint8Array {
  if (value instanceof Uint8Array) return new Uint8Array(value);
  if (value instanceof ArrayBuffer) return new Uint8Array(value.slice(0));
  if (typeof value === "string" && value.startsWith("\\x")) return hexToBytes(value.slice(2));
  throw new TypeError(`Expected bytes from the database, got ${typeof value}`);
}

/** Reads a driver number (number, bigint or numeric text) as a JavaScript number. */
export function toNumber(value: unknown): number {
  if (typeof value === "number") return value;
  if (typeof value === "bigint") return Number(value);
  if (typeof value === "string" && value.trim() !== "") {
    const parsed = Number(value);
    if (Number.isFinite(parsed)) return parsed;
  }
  throw new TypeError(`Expected a number from the database, got ${JSON.stringify(String(value))}`);
}

/** Reads a nullable driver number. */
export function toOptionalNumber(value: unknown): number | undefined {
  return value === null || value === undefined ? undefined : toNumber(value);
}

/** Hex-encodes bytes as PostgreSQL's `\x…` bytea text, for drivers that send text only. */
export function byteaHex(bytes: Uint8Array): string {
  let hex = "\\x";
  for (let index = 0; index < bytes.length; index++) hex += HEX[bytes[index]!];
  return hex;
}

const HEX: readonly string[] = Array.from({ length: 256 }, (_, byte) => byte.toString(16).padStart(2, "0"));

function hexToBytes(hex: string): Uint8Array {
  if (hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex)) throw new TypeError("Malformed bytea hex text");
  const bytes = new Uint8Array(hex.length / 2);
  for (let index = 0; index < bytes.length; index++) bytes[index] = parseInt(hex.slice(index * 2, index * 2 + 2), 16);
  return bytes;
}

/**
 * SQL Server through the `mssql` package (tedious), as state storage and event store. The
 * T-SQL follows Microsoft's documented semantics: `UPDATE … OUTPUT` with the etag in the
 * `WHERE` clause, `MERGE … WITH (HOLDLOCK)` for create-only and unconditional upserts, and
 * `UPDLOCK, HOLDLOCK` on a stream's key range for appends. Values are `varbinary(max)`.
 *
 * Not verified against a live SQL Server in this project's own test runs (none can run
 * there); its tests run wherever `MSSQL_URL` is set, as in the shipped CI workflow. Table
 * layout: docs/backends/mssql.md.
 *
 * @example
 * ```ts ignore
 * import { mssqlStorage } from "@quark/persistence/mssql";
 * const storage = mssqlStorage({ url: "Server=127.0.0.1,1433;Database=quark;User Id=sa;Password=Quark_pass1;Encrypt=false" });
 * await storage.ensureSchema();
 * await storage.close();
 * ```
 *
 * @module
 */

import { assertNativeRuntime } from "../_shared/native_only.ts";
import { Buffer } from "node:buffer";
import type { SqlExecutor, SqlParam, SqlRow, SqlStatement } from "../_sql/executor.ts";
import { resolveTables, type SqlTableOptions } from "../_sql/dialect.ts";
import { sqlStorage, type SqlStateStorage } from "../_sql/storage.ts";
import { sqlEventStore, type SqlEventStore } from "../_sql/event_store.ts";
import { endpointOf } from "../_sql/errors.ts";
import { loadDriverPackage } from "../_shared/driver.ts";
import type { ContentionRetryOptions } from "../_sql/retry.ts";
import { ConfigurationError } from "../../src/errors.ts";

export type { ContentionRetryOptions } from "../_sql/retry.ts";
import { MSSQL_MAX_IDENTIFIER, mssqlDialect } from "./_dialect.ts";

assertNativeRuntime("mssql");

/**
 * A request of the `mssql` package, as this adapter uses it.
 *
 * @example A request made by an `mssql` pool
 * ```ts
 * // @ts-ignore: the mssql package ships no types
 * import sql from "mssql";
 * import type { MssqlRequest } from "@quark/persistence/mssql";
 * const pool = new sql.ConnectionPool("Server=127.0.0.1,1433;Database=quark;User Id=sa;Password=Quark_pass1;Encrypt=false");
 * const request: MssqlRequest = pool.request().input("id", sql.NVarChar(100), "42");
 * ```
 */
export interface MssqlRequest {
  /** Binds a named parameter with an explicit type. */
  input(name: string, type: unknown, value: unknown): MssqlRequest;
  /** Returns rows as arrays rather than objects. */
  arrayRowMode: boolean | null;
  /** Runs a T-SQL batch. */
  query(text: string): PromiseLike<{ recordsets: unknown[][] | Record<string, unknown[]> }>;
}

/**
 * The part of an `mssql` `ConnectionPool` this adapter uses, so a ready one can be passed in.
 *
 * @example Passing in a pool you own
 * ```ts
 * // @ts-ignore: the mssql package ships no types
 * import sql from "mssql";
 * import { mssqlStorage, type MssqlPool } from "@quark/persistence/mssql";
 * const pool: MssqlPool = new sql.ConnectionPool("Server=127.0.0.1,1433;Database=quark;User Id=sa;Password=Quark_pass1;Encrypt=false");
 * const storage = mssqlStorage({ pool }); // connect the pool before the first call
 * ```
 */
export interface MssqlPool {
  /** Makes a request on the pool. */
  request(): MssqlRequest;
  /** Closes the pool. */
  close(): PromiseLike<void>;
}

/**
 * Options for {@linkcode mssqlStorage} and {@linkcode mssqlEventStore}.
 *
 * @example A connection string and a table name of your own
 * ```ts
 * import type { MssqlOptions } from "@quark/persistence/mssql";
 * const options: MssqlOptions = { url: "Server=127.0.0.1,1433;Database=quark;User Id=sa;Password=Quark_pass1;Encrypt=false", stateTable: "actor_state" };
 * ```
 */
export interface MssqlOptions extends SqlTableOptions {
  /** A connection string (`Server=…;Database=…;User Id=…;Password=…`) or an `mssql` config object. */
  readonly url?: string | Record<string, unknown>;
  /** A connected `mssql` `ConnectionPool`, or a function that makes one. Not closed by `close()`. */
  readonly pool?: MssqlPool | (() => MssqlPool | Promise<MssqlPool>);
  /** Create missing tables on first use. Defaults to `false`: call `ensureSchema()` once instead. */
  readonly autoCreateSchema?: boolean;
  /** The largest value accepted, in bytes. Defaults to 16 MiB. */
  readonly maxValueBytes?: number;
  /** The most operations one `transact` accepts. Defaults to 1000. */
  readonly maxTransactionOperations?: number;
  /**
   * How often, and how patiently, to run again a batch or transaction that the server chose
   * as a deadlock victim (error 1205) before giving up with `ContentionError`. Defaults to 8
   * attempts, pauses up to 250 ms.
   */
  readonly contentionRetry?: ContentionRetryOptions;
}

const DRIVER_NAME = "mssql";

/** The parts of the `mssql` module this adapter uses (it ships no types of its own). */
interface MssqlModule {
  VarBinary(length: number): unknown;
  NVarChar(length: number): unknown;
  readonly BigInt: unknown;
  readonly Float: unknown;
  readonly MAX: number;
  Transaction: new (pool: never) => { begin(isolationLevel?: unknown): Promise<unknown>; commit(): Promise<void>; rollback(): Promise<void> };
  readonly ISOLATION_LEVEL?: { readonly READ_COMMITTED?: unknown };
  Request: new (parent: unknown) => unknown;
  ConnectionPool: new (config: never) => { on(event: string, listener: () => void): unknown; connect(): Promise<unknown> };
}


function bindAll(driver: MssqlModule, request: MssqlRequest, params: readonly SqlParam[]): void {
  params.forEach((value, index) => {
    const name = `p${index + 1}`;
    if (value instanceof Uint8Array) {
      request.input(name, driver.VarBinary(driver.MAX), Buffer.from(value.buffer, value.byteOffset, value.byteLength));
    } else if (typeof value === "number") {
      request.input(name, Number.isSafeInteger(value) ? driver.BigInt : driver.Float, value);
    } else {
      request.input(name, driver.NVarChar(driver.MAX), value);
    }
  });
}

function lastRecordset(result: { recordsets: unknown[][] | Record<string, unknown[]> }): SqlRow[] {
  const sets = Array.isArray(result.recordsets) ? result.recordsets : Object.values(result.recordsets);
  return (sets[sets.length - 1] ?? []) as SqlRow[];
}

function executorOver(driver: MssqlModule, pool: MssqlPool, owned: boolean): SqlExecutor {
  const run = async (request: MssqlRequest, statement: SqlStatement) => {
    request.arrayRowMode = true;
    bindAll(driver, request, statement.params);
    return lastRecordset(await request.query(statement.text));
  };
  return {
    query: (statement) => run(pool.request(), statement),
    batch: async (statements) => {
      const transaction = new driver.Transaction(pool as never);
      // READ COMMITTED whatever the server's default: the sorted batches wait, never abort.
      await transaction.begin(driver.ISOLATION_LEVEL?.READ_COMMITTED);
      try {
        const results: SqlRow[][] = [];
        for (const statement of statements) results.push(await run(new driver.Request(transaction) as unknown as MssqlRequest, statement));
        await transaction.commit();
        return results;
      } catch (error) {
        // With XACT_ABORT ON the server may have rolled back already; that is fine.
        await transaction.rollback().catch(() => {});
        throw error;
      }
    },
    close: async () => {
      if (owned) await pool.close();
    },
  };
}

function openExecutor(options: MssqlOptions): () => Promise<SqlExecutor> {
  if (options.pool === undefined && options.url === undefined) throw new ConfigurationError("The mssql adapter needs a url or a pool");
  return async () => {
    // @ts-ignore: the driver ships no types; MssqlModule describes the part this adapter uses.
    const loaded = (await loadDriverPackage("mssql", "mssql", () => import("mssql"))) as { default?: MssqlModule } & MssqlModule;
    const driver = loaded.default ?? loaded;
    const given = options.pool;
    if (given !== undefined) return executorOver(driver, typeof given === "function" ? await given() : given, false);
    const pool = new driver.ConnectionPool(options.url as never);
    pool.on("error", () => {});
    await pool.connect();
    return executorOver(driver, pool as unknown as MssqlPool, true);
  };
}

/**
 * Opens SQL Server state storage. Nothing connects until the first call.
 *
 * @param options The server and table names.
 * @returns A storage with `ensureSchema()` and `purgeExpired()` besides the contract.
 * @throws {ConfigurationError} When neither `url` nor `pool` is given, or a table name is invalid.
 *
 * @example
 * ```ts ignore
 * import { mssqlStorage } from "@quark/persistence/mssql";
 * const storage = mssqlStorage({ url: "Server=127.0.0.1,1433;Database=quark;User Id=sa;Password=Quark_pass1;Encrypt=false", autoCreateSchema: true });
 * const key = { actorType: "account", actorId: "42", stateName: "balance" };
 * await storage.write({ key, value: new Uint8Array([1]), etag: crypto.randomUUID(), lastWriteWins: true });
 * await storage.close();
 * ```
 */
export function mssqlStorage(options: MssqlOptions): SqlStateStorage {
  return sqlStorage({
    name: DRIVER_NAME,
    dialect: mssqlDialect,
    tables: resolveTables(options, MSSQL_MAX_IDENTIFIER),
    executor: openExecutor(options),
    autoCreateSchema: options.autoCreateSchema ?? false,
    maxValueBytes: options.maxValueBytes,
    maxTransactionOperations: options.maxTransactionOperations,
    contentionRetry: options.contentionRetry,
    endpoint: endpointOf(options.url, 1433),
  });
}

/**
 * Opens a SQL Server event store. Nothing connects until the first call.
 *
 * @param options The server and table names.
 * @returns An event store with `ensureSchema()` besides the contract.
 * @throws {ConfigurationError} When neither `url` nor `pool` is given, or a table name is invalid.
 *
 * @example
 * ```ts ignore
 * import { mssqlEventStore } from "@quark/persistence/mssql";
 * const store = mssqlEventStore({ url: "Server=127.0.0.1,1433;Database=quark;User Id=sa;Password=Quark_pass1;Encrypt=false", autoCreateSchema: true });
 * await store.append(`ledger-${crypto.randomUUID()}`, [{ type: "Opened", data: new Uint8Array() }], "no_stream");
 * await store.close();
 * ```
 */
export function mssqlEventStore(options: MssqlOptions): SqlEventStore {
  return sqlEventStore({
    name: DRIVER_NAME,
    dialect: mssqlDialect,
    tables: resolveTables(options, MSSQL_MAX_IDENTIFIER),
    executor: openExecutor(options),
    autoCreateSchema: options.autoCreateSchema ?? false,
    contentionRetry: options.contentionRetry,
    endpoint: endpointOf(options.url, 1433),
  });
}

/**
 * PostgreSQL through postgres.js, as state storage and event store. It shares its statements
 * with the PGlite and Neon adapters: each conditional write is one statement
 * (`INSERT … ON CONFLICT … DO UPDATE … WHERE …` or `UPDATE … WHERE etag = $n`) that also
 * reports the conflicting etag, so a write is one round trip.
 *
 * Table layout: docs/backends/postgres.md.
 *
 * @example
 * ```ts
 * import { postgresStorage } from "@quark/persistence/postgres";
 * const storage = postgresStorage({ url: "postgres://quark:quark@127.0.0.1:15432/quark" });
 * await storage.ensureSchema();
 * await storage.close();
 * ```
 *
 * @module
 */

import { assertNativeRuntime } from "../_shared/native_only.ts";
import type { SqlExecutor, SqlParam, SqlRow, SqlStatement } from "../_sql/executor.ts";
import { resolveTables, type SqlTableOptions } from "../_sql/dialect.ts";
import { POSTGRES_MAX_IDENTIFIER, postgresDialect } from "../_sql/postgres_dialect.ts";
import { sqlStorage, type SqlStateStorage } from "../_sql/storage.ts";
import { sqlEventStore, type SqlEventStore } from "../_sql/event_store.ts";
import { endpointOf } from "../_sql/errors.ts";
import { loadDriverPackage } from "../_shared/driver.ts";
import type { ContentionRetryOptions } from "../_sql/retry.ts";
import { ConfigurationError } from "../../src/errors.ts";

export type { ContentionRetryOptions } from "../_sql/retry.ts";

assertNativeRuntime("postgres");

/**
 * The part of a postgres.js transaction (`TransactionSql`) this adapter uses.
 *
 * @example Any postgres.js client or transaction fits
 * ```ts
 * import postgres from "postgres";
 * import type { PostgresJsTransaction } from "@quark/persistence/postgres";
 * const sql: PostgresJsTransaction = postgres("postgres://quark:quark@127.0.0.1:15432/quark");
 * ```
 */
export interface PostgresJsTransaction {
  /** Runs one statement with parameters. */
  unsafe(text: string, params?: unknown[], options?: { prepare?: boolean }): { values(): PromiseLike<unknown[][]> };
}

/**
 * The part of a postgres.js `Sql` instance this adapter uses, so a ready one can be passed in.
 *
 * @example Passing in a postgres.js pool you own
 * ```ts
 * import postgres from "postgres";
 * import { postgresStorage, type PostgresJsClient } from "@quark/persistence/postgres";
 * const sql = postgres("postgres://quark:quark@127.0.0.1:15432/quark", { max: 20 });
 * const client: PostgresJsClient = sql;
 * const storage = postgresStorage({ client });
 * await storage.close(); // leaves `sql` open: it is yours
 * await sql.end();
 * ```
 */
export interface PostgresJsClient extends PostgresJsTransaction {
  /** Runs a callback inside one transaction; `options` follow `BEGIN`, such as an isolation level. */
  begin<T>(options: string, callback: (sql: PostgresJsTransaction) => Promise<T>): PromiseLike<T>;
  /** Closes the pool. */
  end(options?: { timeout?: number }): PromiseLike<void>;
}

/**
 * Options for {@linkcode postgresStorage} and {@linkcode postgresEventStore}.
 *
 * @example A connection string and a table name of your own
 * ```ts
 * import type { PostgresOptions } from "@quark/persistence/postgres";
 * const options: PostgresOptions = { url: "postgres://quark:quark@127.0.0.1:15432/quark", stateTable: "actor_state" };
 * ```
 */
export interface PostgresOptions extends SqlTableOptions {
  /** A connection string, such as `postgres://user:password@host:5432/database`. */
  readonly url?: string;
  /** A ready postgres.js instance, or a function that makes one. It is not closed by `close()`. */
  readonly client?: PostgresJsClient | (() => PostgresJsClient | Promise<PostgresJsClient>);
  /** postgres.js options for the pool this adapter opens from `url`, such as `{ max: 20 }`. */
  readonly driverOptions?: Record<string, unknown>;
  /** Create missing tables on first use. Defaults to `false`: call `ensureSchema()` once instead. */
  readonly autoCreateSchema?: boolean;
  /** The largest value accepted, in bytes. Defaults to 16 MiB. */
  readonly maxValueBytes?: number;
  /** The most operations one `transact` accepts. Defaults to 1000. */
  readonly maxTransactionOperations?: number;
  /**
   * How often, and how patiently, to run again a statement or transaction that the server
   * aborted as a deadlock victim or serialization failure (40P01, 40001) before giving up
   * with `ContentionError`. Defaults to 8 attempts, pauses up to 250 ms.
   */
  readonly contentionRetry?: ContentionRetryOptions;
}

const DRIVER_NAME = "postgres";

function executorOver(client: PostgresJsClient, owned: boolean): SqlExecutor {
  // `unsafe` does not prepare by default, and then postgres.js describes every statement in
  // a round trip of its own before running it. Prepared, a write is one round trip.
  const run = (target: PostgresJsTransaction, statement: SqlStatement) =>
    Promise.resolve(target.unsafe(statement.text, statement.params as SqlParam[], { prepare: !statement.oneOff }).values()) as Promise<SqlRow[]>;
  return {
    query: (statement) => run(client, statement),
    // READ COMMITTED whatever the server's default: each statement locks its row and then
    // sees the latest commit, so the sorted statements of a transaction wait, never abort.
    batch: (statements) =>
      Promise.resolve(client.begin("isolation level read committed", async (tx) => {
        const results: SqlRow[][] = [];
        for (const statement of statements) results.push(await run(tx, statement));
        return results;
      })),
    close: async () => {
      if (owned) await client.end({ timeout: 5 });
    },
  };
}

function openExecutor(options: PostgresOptions): () => Promise<SqlExecutor> {
  if (options.client === undefined && options.url === undefined) {
    throw new ConfigurationError("The postgres adapter needs a url or a client");
  }
  return async () => {
    const given = options.client;
    // A postgres.js instance is itself a function (the tagged template), so tell it from a
    // factory by its methods.
    if (given !== undefined) return executorOver("unsafe" in given ? given : await given(), false);
    const { default: postgres } = await loadDriverPackage("postgres", "postgres", () => import("postgres"));
    const client = postgres(options.url!, { max: 10, onnotice: () => {}, ...options.driverOptions });
    return executorOver(client, true);
  };
}

/**
 * Opens PostgreSQL state storage over postgres.js. Nothing connects until the first call.
 *
 * @param options The server and table names.
 * @returns A storage with `ensureSchema()` and `purgeExpired()` besides the contract.
 * @throws {ConfigurationError} When neither `url` nor `client` is given, or a table name is invalid.
 *
 * @example
 * ```ts
 * import { postgresStorage } from "@quark/persistence/postgres";
 * const storage = postgresStorage({ url: "postgres://quark:quark@127.0.0.1:15432/quark", autoCreateSchema: true });
 * const key = { actorType: "account", actorId: "42", stateName: "balance" };
 * await storage.write({ key, value: new Uint8Array([1]), etag: crypto.randomUUID(), lastWriteWins: true });
 * await storage.close();
 * ```
 */
export function postgresStorage(options: PostgresOptions): SqlStateStorage {
  return sqlStorage({
    name: DRIVER_NAME,
    dialect: postgresDialect,
    tables: resolveTables(options, POSTGRES_MAX_IDENTIFIER),
    executor: openExecutor(options),
    autoCreateSchema: options.autoCreateSchema ?? false,
    maxValueBytes: options.maxValueBytes,
    maxTransactionOperations: options.maxTransactionOperations,
    contentionRetry: options.contentionRetry,
    endpoint: endpointOf(options.url, 5432),
  });
}

/**
 * Opens a PostgreSQL event store over postgres.js. Nothing connects until the first call.
 *
 * @param options The server and table names.
 * @returns An event store with `ensureSchema()` besides the contract.
 * @throws {ConfigurationError} When neither `url` nor `client` is given, or a table name is invalid.
 *
 * @example
 * ```ts
 * import { postgresEventStore } from "@quark/persistence/postgres";
 * const store = postgresEventStore({ url: "postgres://quark:quark@127.0.0.1:15432/quark", autoCreateSchema: true });
 * await store.append(`ledger-${crypto.randomUUID()}`, [{ type: "Opened", data: new Uint8Array() }], "no_stream");
 * await store.close();
 * ```
 */
export function postgresEventStore(options: PostgresOptions): SqlEventStore {
  return sqlEventStore({
    name: DRIVER_NAME,
    dialect: postgresDialect,
    tables: resolveTables(options, POSTGRES_MAX_IDENTIFIER),
    executor: openExecutor(options),
    autoCreateSchema: options.autoCreateSchema ?? false,
    contentionRetry: options.contentionRetry,
    endpoint: endpointOf(options.url, 5432),
  });
}

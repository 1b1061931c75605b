/**
 * Neon serverless PostgreSQL, as state storage and event store, over either of the driver's
 * two transports:
 *
 * - `"http"` (the default): the `neon()` function, one `fetch` per operation, which suits
 *   edge runtimes; `transact` is one `transaction()` batch, also one fetch.
 * - `"websocket"`: the driver's `Pool`, a PostgreSQL session over a WebSocket.
 *
 * It shares its statements with the PGlite and postgres adapters. Table layout:
 * docs/backends/neon.md.
 *
 * @example Over HTTP, as on an edge runtime
 * ```ts ignore
 * import { neonStorage } from "@quark/persistence/neon";
 * const storage = neonStorage({ url: "postgres://user:password@ep-example.eu-central-1.aws.neon.tech/db" });
 * await storage.ensureSchema();
 * ```
 *
 * @module
 */

import type { SqlExecutor, SqlParam, SqlRow, SqlStatement } from "../_sql/executor.ts";
import { byteaHex } from "../_sql/executor.ts";
import { resolveTables, type SqlTableOptions } from "../_sql/dialect.ts";
import { POSTGRES_MAX_IDENTIFIER, postgresDialect } from "../_sql/postgres_dialect.ts";
import { sqlStorage, type SqlStateStorage } from "../_sql/storage.ts";
import { sqlEventStore, type SqlEventStore } from "../_sql/event_store.ts";
import { endpointOf } from "../_sql/errors.ts";
import { loadDriverPackage } from "../_shared/driver.ts";
import type { ContentionRetryOptions } from "../_sql/retry.ts";
import { ConfigurationError } from "../../src/errors.ts";

export type { ContentionRetryOptions } from "../_sql/retry.ts";

/**
 * The part of a `neon()` query function this adapter uses, so a ready one can be passed in.
 *
 * @example Passing in a `neon()` query function
 * ```ts
 * import { neon } from "@neondatabase/serverless";
 * import { neonStorage, type NeonHttpClient } from "@quark/persistence/neon";
 * const sql: NeonHttpClient = neon("postgres://user:password@ep-example.eu-central-1.aws.neon.tech/db");
 * const storage = neonStorage({ sql });
 * ```
 */
export interface NeonHttpClient {
  /** Runs one statement in one fetch. */
  query(text: string, params?: unknown[], options?: { arrayMode?: boolean }): PromiseLike<unknown>;
  /** Runs queries made by `query` as one transaction in one fetch. */
  // `any`: the driver accepts only its own query objects here, which this interface cannot name.
  // deno-lint-ignore no-explicit-any
  transaction(queries: any[], options?: { arrayMode?: boolean; isolationLevel?: string }): PromiseLike<unknown[]>;
}

/**
 * One pooled session of a Neon `Pool`.
 *
 * @example The driver's pooled client is one
 * ```ts
 * import type { Pool } from "@neondatabase/serverless";
 * import type { NeonPoolSession } from "@quark/persistence/neon";
 * async function takeSession(pool: Pool): Promise<NeonPoolSession> {
 *   return await pool.connect();
 * }
 * ```
 */
export interface NeonPoolSession {
  /** Runs one statement. */
  query(config: { text: string; values?: unknown[]; rowMode?: "array" }): PromiseLike<{ rows: unknown[] }>;
  /** Returns the session to the pool; an error discards it. */
  release(error?: Error | boolean): void;
}

/**
 * The part of a Neon `Pool` this adapter uses, so a ready one can be passed in.
 *
 * @example Passing in a `Pool` you own
 * ```ts
 * import { Pool } from "@neondatabase/serverless";
 * import { neonStorage, type NeonPoolClient } from "@quark/persistence/neon";
 * const pool: NeonPoolClient = new Pool({ connectionString: "postgres://user:password@ep-example.eu-central-1.aws.neon.tech/db" });
 * const storage = neonStorage({ transport: "websocket", pool });
 * await storage.close(); // leaves `pool` open: it is yours
 * await pool.end();
 * ```
 */
export interface NeonPoolClient {
  /** Runs one statement on any session. */
  query(config: { text: string; values?: unknown[]; rowMode?: "array" }): PromiseLike<{ rows: unknown[] }>;
  /** Takes a session for a transaction. */
  connect(): PromiseLike<NeonPoolSession>;
  /** Closes every session. */
  end(): PromiseLike<void>;
}

/**
 * Settings for the driver's `neonConfig`. The driver keeps these process-wide, so they apply
 * to every Neon client in the process; they are set when the adapter first connects.
 *
 * @example A WebSocket class for Node 20, which has no global one
 * ```ts
 * import { WebSocket } from "ws";
 * import type { NeonDriverConfig } from "@quark/persistence/neon";
 * const neonConfig: NeonDriverConfig = { webSocketConstructor: WebSocket };
 * ```
 */
export interface NeonDriverConfig {
  /** Where HTTP queries go: a URL, or a function of host and port. */
  readonly fetchEndpoint?: string | ((host: string, port: number | string) => string);
  /** The `fetch` to use for HTTP queries. */
  readonly fetchFunction?: unknown;
  /** The WebSocket class, needed on runtimes without a global `WebSocket` (Node 20). */
  readonly webSocketConstructor?: unknown;
  /** The WebSocket proxy: a `host:port/path`, or a function of the database host and port. */
  readonly wsProxy?: string | ((host: string, port: number | string) => string);
  /** Whether the WebSocket uses TLS (`wss:`). */
  readonly useSecureWebSocket?: boolean;
  /** `"password"` pipelines the start-up messages (needs cleartext password auth); `false` does not. */
  readonly pipelineConnect?: "password" | false;
  /** Turns off PostgreSQL's own TLS inside the WebSocket. */
  readonly forceDisablePgSSL?: boolean;
}

/**
 * Options for {@linkcode neonStorage} and {@linkcode neonEventStore}.
 *
 * @example The WebSocket transport with a larger pool
 * ```ts
 * import type { NeonOptions } from "@quark/persistence/neon";
 * const options: NeonOptions = { url: "postgres://user:password@ep-example.eu-central-1.aws.neon.tech/db", transport: "websocket", poolOptions: { max: 20 } };
 * ```
 */
export interface NeonOptions extends SqlTableOptions {
  /** The Neon connection string. Needed unless `sql` or `pool` is given. */
  readonly url?: string;
  /** `"http"` for `neon()` over fetch (the default), `"websocket"` for the `Pool`. */
  readonly transport?: "http" | "websocket";
  /** A ready `neon()` query function for the HTTP transport. */
  readonly sql?: NeonHttpClient;
  /** A ready `Pool`, or a function that makes one, for the WebSocket transport. Not closed by `close()`. */
  readonly pool?: NeonPoolClient | (() => NeonPoolClient | Promise<NeonPoolClient>);
  /** Options for the `Pool` the adapter opens itself, such as `{ max: 20 }`. */
  readonly poolOptions?: Record<string, unknown>;
  /** Settings for the driver's process-wide `neonConfig`. */
  readonly neonConfig?: NeonDriverConfig;
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

const DRIVER_NAME = "neon";

type NeonModule = typeof import("@neondatabase/serverless");

// The driver sends parameters as text; bytes go as bytea hex so no runtime's Buffer is needed.
function textParams(params: readonly SqlParam[]): unknown[] {
  return params.map((value) => (value instanceof Uint8Array ? byteaHex(value) : value));
}

async function loadNeon(config: NeonDriverConfig | undefined, transport: "http" | "websocket"): Promise<NeonModule> {
  const driver = await loadDriverPackage("neon", "@neondatabase/serverless", () => import("@neondatabase/serverless"));
  const target = driver.neonConfig as unknown as Record<string, unknown>;
  for (const [name, value] of Object.entries(config ?? {})) {
    if (value !== undefined) target[name] = value;
  }
  if (transport === "websocket" && target.webSocketConstructor === undefined && typeof globalThis.WebSocket === "undefined") {
    throw new ConfigurationError(
      "This runtime has no global WebSocket: pass neonConfig.webSocketConstructor (for example the `ws` package's WebSocket)",
    );
  }
  return driver;
}

function httpExecutor(sql: NeonHttpClient): SqlExecutor {
  return {
    query: async (statement) => (await sql.query(statement.text, textParams(statement.params), { arrayMode: true })) as SqlRow[],
    batch: async (statements: readonly SqlStatement[]) => {
      const queries = statements.map((statement) => sql.query(statement.text, textParams(statement.params), { arrayMode: true }));
      return (await sql.transaction(queries, { arrayMode: true, isolationLevel: "ReadCommitted" })) as SqlRow[][];
    },
    close: async () => {},
  };
}

function poolExecutor(pool: NeonPoolClient, owned: boolean): SqlExecutor {
  const run = async (target: NeonPoolClient | NeonPoolSession, statement: SqlStatement) =>
    (await target.query({ text: statement.text, values: textParams(statement.params), rowMode: "array" })).rows as SqlRow[];
  return {
    query: (statement) => run(pool, statement),
    batch: async (statements) => {
      const session = await pool.connect();
      let broken: Error | undefined;
      try {
        // READ COMMITTED whatever the server's default: the sorted statements wait, never abort.
        await session.query({ text: "BEGIN ISOLATION LEVEL READ COMMITTED" });
        try {
          const results: SqlRow[][] = [];
          for (const statement of statements) results.push(await run(session, statement));
          await session.query({ text: "COMMIT" });
          return results;
        } catch (error) {
          await Promise.resolve(session.query({ text: "ROLLBACK" })).catch((rollbackError: Error) => {
            broken = rollbackError;
          });
          throw error;
        }
      } finally {
        session.release(broken);
      }
    },
    close: async () => {
      if (owned) await pool.end();
    },
  };
}

function openExecutor(options: NeonOptions): () => Promise<SqlExecutor> {
  const transport = options.transport ?? (options.pool !== undefined ? "websocket" : "http");
  if (transport !== "http" && transport !== "websocket") throw new ConfigurationError(`Unknown Neon transport ${JSON.stringify(transport)}`);
  if (options.url === undefined && options.sql === undefined && options.pool === undefined) {
    throw new ConfigurationError("The neon adapter needs a url, an sql function or a pool");
  }
  return async () => {
    if (transport === "http") {
      if (options.sql !== undefined) return httpExecutor(options.sql);
      const driver = await loadNeon(options.neonConfig, transport);
      return httpExecutor(driver.neon(options.url!));
    }
    const given = options.pool;
    if (given !== undefined) return poolExecutor("connect" in given ? given : await given(), false);
    const driver = await loadNeon(options.neonConfig, transport);
    const pool = new driver.Pool({ connectionString: options.url, max: 10, ...options.poolOptions });
    // An idle session that drops is replaced on next use; unhandled, it would crash the process.
    pool.on("error", () => {});
    return poolExecutor(pool as unknown as NeonPoolClient, true);
  };
}

/**
 * Opens Neon state storage. Nothing connects until the first call.
 *
 * @param options The connection, transport and table names.
 * @returns A storage with `ensureSchema()` and `purgeExpired()` besides the contract.
 * @throws {ConfigurationError} When no connection is given, or a table name is invalid.
 *
 * @example Over a WebSocket pool
 * ```ts ignore
 * import { neonStorage } from "@quark/persistence/neon";
 * const storage = neonStorage({ url: "postgres://user:password@ep-example.eu-central-1.aws.neon.tech/db", transport: "websocket" });
 * const key = { actorType: "account", actorId: "42", stateName: "balance" };
 * await storage.write({ key, value: new Uint8Array([1]), etag: crypto.randomUUID(), lastWriteWins: true });
 * await storage.close();
 * ```
 */
export function neonStorage(options: NeonOptions): SqlStateStorage {
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
 * Opens a Neon event store. Nothing connects until the first call.
 *
 * @param options The connection, transport and table names.
 * @returns An event store with `ensureSchema()` besides the contract.
 * @throws {ConfigurationError} When no connection is given, or a table name is invalid.
 *
 * @example
 * ```ts ignore
 * import { neonEventStore } from "@quark/persistence/neon";
 * const store = neonEventStore({ url: "postgres://user:password@ep-example.eu-central-1.aws.neon.tech/db" });
 * await store.append(`ledger-${crypto.randomUUID()}`, [{ type: "Opened", data: new Uint8Array() }], "no_stream");
 * ```
 */
export function neonEventStore(options: NeonOptions): SqlEventStore {
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

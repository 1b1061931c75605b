/**
 * PGlite (PostgreSQL compiled to WebAssembly, in-process) as state storage and event store:
 * the embedded default. Give it a `dataDir` and the data survives restarts; without one it
 * lives in memory. It shares the Postgres statements of the `postgres` and `neon` adapters.
 *
 * Table layout: docs/backends/pglite.md.
 *
 * @example Durable state in a local folder, no server
 * ```ts
 * import { pgliteStorage } from "@quark/persistence/pglite";
 * const storage = pgliteStorage({ dataDir: "./quark-data", autoCreateSchema: true });
 * const key = { actorType: "account", actorId: "42", stateName: "balance" };
 * await storage.write({ key, value: new Uint8Array([1]), etag: crypto.randomUUID(), expectedEtag: null });
 * await storage.close();
 * ```
 *
 * @module
 */

import type { SqlExecutor, SqlParam, SqlRow, SqlStatement } from "../_sql/executor.ts";
import { resolveTables, type SqlTableOptions } from "../_sql/dialect.ts";
import { POSTGRES_MAX_IDENTIFIER, postgresDialect } from "../_sql/postgres_dialect.ts";
import { sqlStorage, type SqlStateStorage } from "../_sql/storage.ts";
import { sqlEventStore, type SqlEventStore } from "../_sql/event_store.ts";
import { loadDriverPackage } from "../_shared/driver.ts";
import { ConfigurationError } from "../../src/errors.ts";
import { type DataDirLock, lockDataDir } from "./_lock.ts";
import { preparedRunner } from "./_prepared.ts";

/**
 * The part of a PGlite instance this adapter uses, so a ready instance can be passed in.
 *
 * @example Passing in a PGlite instance you own
 * ```ts
 * import { PGlite } from "@electric-sql/pglite";
 * import { pgliteStorage, type PGliteClient } from "@quark/persistence/pglite";
 * const client: PGliteClient = new PGlite();
 * const storage = pgliteStorage({ client });
 * await storage.ensureSchema();
 * await storage.close();
 * await client.close();
 * ```
 */
export interface PGliteClient {
  /** Runs one statement. */
  query(text: string, params?: unknown[], options?: { rowMode?: "array" | "object" }): Promise<{ rows: unknown[] }>;
  /** Runs a callback inside one transaction. */
  transaction<T>(callback: (tx: { query: PGliteClient["query"] }) => Promise<T>): Promise<T>;
  /** Closes the database. */
  close(): Promise<void>;
}

/**
 * Options for {@linkcode pgliteStorage} and {@linkcode pgliteEventStore}.
 *
 * @example In memory, with a table name of your own
 * ```ts
 * import { pgliteStorage, type PGliteOptions } from "@quark/persistence/pglite";
 * const options: PGliteOptions = { stateTable: "actor_state", autoCreateSchema: true };
 * const storage = pgliteStorage(options);
 * await storage.close();
 * ```
 */
export interface PGliteOptions extends SqlTableOptions {
  /**
   * A folder for a durable database (`./.data/quark`), or a PGlite URL such as `idb://name`.
   * Storages and event stores opened on the same `dataDir` in one process share one PGlite
   * instance, which closes when the last of them closes. Omit it for an in-memory database.
   *
   * One process at a time: on Node, Deno and Bun the folder gets a `quark.lock` file naming
   * the owner's pid, and another process opening it is refused with `ConfigurationError`
   * until the owner closes (or dies: a lock of a pid that no longer runs is taken over).
   */
  readonly dataDir?: string;
  /** A ready PGlite instance, or a function that makes one. It is not closed by `close()`. */
  readonly client?: PGliteClient | (() => PGliteClient | Promise<PGliteClient>);
  /** Create missing tables on first use. Defaults to `true` for in-memory databases, else `false`. */
  readonly autoCreateSchema?: boolean;
  /** The largest value accepted, in bytes. Defaults to 16 MiB. */
  readonly maxValueBytes?: number;
  /** The most operations one `transact` accepts. Defaults to 1000. */
  readonly maxTransactionOperations?: number;
}

const DRIVER_NAME = "pglite";

interface SharedDatabase {
  client: Promise<PGliteClient>;
  lock: Promise<DataDirLock | undefined>;
  users: number;
}

// PGlite allows one instance per data directory, so every user of a directory shares one.
const shared = new Map<string, SharedDatabase>();

function loadPGlite() {
  return loadDriverPackage("pglite", "@electric-sql/pglite", () => import("@electric-sql/pglite"));
}

async function createPGlite(dataDir: string | undefined): Promise<PGliteClient> {
  const { PGlite } = await loadPGlite();
  const db = dataDir === undefined ? new PGlite() : new PGlite(dataDir);
  await db.waitReady;
  return db as unknown as PGliteClient;
}

async function executorOver(client: PGliteClient, release: () => Promise<void>): Promise<SqlExecutor> {
  const run = (target: { query: PGliteClient["query"] }, statement: SqlStatement) =>
    target.query(statement.text, statement.params as SqlParam[], { rowMode: "array" }).then((result) => result.rows as SqlRow[]);
  // A client that is PGlite itself runs repeated statements prepared; a wrapper keeps `query`.
  const prepared = "execProtocol" in client ? preparedRunner(client, await loadPGlite()) : undefined;
  return {
    query: (statement) => (prepared === undefined || statement.oneOff ? run(client, statement) : prepared(statement.text, statement.params)),
    batch: (statements) =>
      client.transaction(async (tx) => {
        const results: SqlRow[][] = [];
        for (const statement of statements) results.push(await run(tx, statement));
        return results;
      }),
    close: release,
  };
}

function openExecutor(options: PGliteOptions): () => Promise<SqlExecutor> {
  return async () => {
    const given = options.client;
    if (given !== undefined) {
      const client = typeof given === "function" ? await given() : given;
      return executorOver(client, async () => {});
    }
    if (options.dataDir === undefined) {
      const client = await createPGlite(undefined);
      return executorOver(client, () => client.close());
    }
    const dataDir = options.dataDir;
    let entry = shared.get(dataDir);
    if (entry === undefined) {
      // The lock comes first, so a second process never starts PostgreSQL on the files.
      const lock = lockDataDir(dataDir);
      const client = lock.then((held) =>
        createPGlite(dataDir).catch(async (error) => {
          await held?.release();
          throw error;
        })
      );
      entry = { client, lock, users: 0 };
      shared.set(dataDir, entry);
      entry.client.catch(() => shared.delete(dataDir));
    }
    entry.users += 1;
    const current = entry;
    const client = await current.client;
    let released = false;
    return executorOver(client, async () => {
      if (released) return;
      released = true;
      current.users -= 1;
      if (current.users === 0 && shared.get(dataDir) === current) {
        shared.delete(dataDir);
        try {
          await client.close();
        } finally {
          await (await current.lock)?.release();
        }
      }
    });
  };
}

function checkOptions(options: PGliteOptions): void {
  if (options.client !== undefined && options.dataDir !== undefined) {
    throw new ConfigurationError("Give PGlite either a client or a dataDir, not both");
  }
}

/**
 * Opens PGlite state storage. Nothing is opened until the first call.
 *
 * @param options Where the database lives and what its tables are called.
 * @returns A storage with `ensureSchema()` and `purgeExpired()` besides the contract.
 * @throws {ConfigurationError} When a table name is not a plain identifier.
 *
 * @example An in-memory database for tests
 * ```ts
 * import { pgliteStorage } from "@quark/persistence/pglite";
 * const storage = pgliteStorage();
 * const key = { actorType: "t", actorId: "1", stateName: "s" };
 * await storage.write({ key, value: new Uint8Array([7]), etag: crypto.randomUUID(), expectedEtag: null });
 * if ((await storage.read(key))?.value[0] !== 7) throw new Error("lost");
 * await storage.close();
 * ```
 */
export function pgliteStorage(options: PGliteOptions = {}): SqlStateStorage {
  checkOptions(options);
  return sqlStorage({
    name: DRIVER_NAME,
    dialect: postgresDialect,
    tables: resolveTables(options, POSTGRES_MAX_IDENTIFIER),
    executor: openExecutor(options),
    autoCreateSchema: options.autoCreateSchema ?? (options.dataDir === undefined && options.client === undefined),
    maxValueBytes: options.maxValueBytes,
    maxTransactionOperations: options.maxTransactionOperations,
  });
}

/**
 * Opens a PGlite event store. Nothing is opened until the first call.
 *
 * @param options Where the database lives and what its tables are called.
 * @returns An event store with `ensureSchema()` besides the contract.
 * @throws {ConfigurationError} When a table name is not a plain identifier.
 *
 * @example Appending to a stream in memory
 * ```ts
 * import { pgliteEventStore } from "@quark/persistence/pglite";
 * const store = pgliteEventStore();
 * await store.append("ledger-1", [{ type: "Opened", data: new Uint8Array() }], "no_stream");
 * if ((await store.version("ledger-1")) !== 1) throw new Error("not appended");
 * await store.close();
 * ```
 */
export function pgliteEventStore(options: PGliteOptions = {}): SqlEventStore {
  checkOptions(options);
  return sqlEventStore({
    name: DRIVER_NAME,
    dialect: postgresDialect,
    tables: resolveTables(options, POSTGRES_MAX_IDENTIFIER),
    executor: openExecutor(options),
    autoCreateSchema: options.autoCreateSchema ?? (options.dataDir === undefined && options.client === undefined),
  });
}

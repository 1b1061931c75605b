/**
 * The connection lifecycle the shared SQL storage and event store have in common: open the
 * executor lazily (retrying after a failed open), create the schema once when asked, and
 * close what was opened.
 *
 * @module
 */

import { StorageUnavailableError } from "../../src/errors.ts";
import type { SqlExecutor, SqlStatement } from "./executor.ts";

/** What {@linkcode executorLifecycle} hands back. */
export interface ExecutorLifecycle {
  /** The executor, opened on first use, with the schema created first when auto-creation is on. */
  ready(operation: string): Promise<SqlExecutor>;
  /** Creates the schema; runs once per instance, and again after a failure. */
  ensureSchema(): Promise<void>;
  /** Closes the executor if it was opened; later calls fail with StorageUnavailableError. */
  close(): Promise<void>;
}

/**
 * Manages one lazily opened executor.
 *
 * @param name The backend's name, for messages.
 * @param openExecutor Opens the executor.
 * @param schema The statements that create the tables, run in one transaction.
 * @param autoCreateSchema Whether `ready` creates the schema first.
 * @param fail Turns a driver error into the caller's error type and throws it.
 * @returns The lifecycle functions.
 */
export function executorLifecycle(
  name: string,
  openExecutor: () => Promise<SqlExecutor>,
  schema: () => SqlStatement[],
  autoCreateSchema: boolean,
  fail: (operation: string, error: unknown) => never,
): ExecutorLifecycle {
  let executor: Promise<SqlExecutor> | undefined;
  let closed = false;
  let schemaCreated: Promise<void> | undefined;

  function open(): Promise<SqlExecutor> {
    if (closed) return Promise.reject(new StorageUnavailableError(name, "open", new Error(`This ${name} store is closed`)));
    executor ??= openExecutor().catch((error) => {
      executor = undefined;
      throw error;
    });
    return executor;
  }

  function ensureSchema(): Promise<void> {
    schemaCreated ??= (async () => {
      const sql = await open().catch((error) => fail("ensureSchema", error));
      await sql.batch(schema()).catch((error) => fail("ensureSchema", error));
    })().catch((error) => {
      schemaCreated = undefined;
      throw error;
    });
    return schemaCreated;
  }

  return {
    async ready(operation) {
      try {
        const sql = await open();
        if (autoCreateSchema) await ensureSchema();
        return sql;
      } catch (error) {
        return fail(operation, error);
      }
    },
    ensureSchema,
    async close() {
      if (closed) return;
      closed = true;
      const pending = executor;
      executor = undefined;
      if (pending !== undefined) await (await pending.catch(() => undefined))?.close();
    },
  };
}

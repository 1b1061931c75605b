/**
 * Named prepared statements for PGlite. `PGlite.query` parses, plans and describes every
 * statement anew, in six calls into the WebAssembly backend; the conditional write's planning
 * alone costs several times its execution. Here each statement text is parsed once per
 * database under a name of its own, and each run afterwards is one call carrying Bind,
 * Describe, Execute and Sync, so PostgreSQL reuses the plan as it does for postgres.js.
 *
 * @module
 */

import type { SqlParam, SqlRow } from "../_sql/executor.ts";
import { concatBytes } from "../../src/codec/concat_bytes.ts";

/** The protocol-level part of a PGlite instance, present on `PGlite` itself. */
interface PGliteProtocol {
  readonly waitReady?: Promise<void>;
  readonly parsers: Record<number | string, (value: string, typeId?: number) => unknown>;
  execProtocol(message: Uint8Array): Promise<{ messages: unknown[] }>;
  runExclusive<T>(fn: () => Promise<T>): Promise<T>;
  _runExclusiveTransaction<T>(fn: () => Promise<T>): Promise<T>;
}

/** The module's wire-protocol helpers, loaded with the driver. */
interface PGliteWire {
  protocol: {
    serialize: {
      parse(query: { name: string; text: string; types: number[] }): Uint8Array;
      bind(config: { statement: string; values: Array<string | Uint8Array | null> }): Uint8Array;
      describe(message: { type: "P" }): Uint8Array;
      execute(config: Record<string, never>): Uint8Array;
      sync(): Uint8Array;
    };
  };
  parse: {
    parseResults(messages: never[], parsers: PGliteProtocol["parsers"], options: { rowMode: "array" }): Array<{ rows: unknown[] }>;
  };
}

/** Runs one statement as a named prepared statement and returns its rows in column order. */
export type PreparedRun = (text: string, params: readonly SqlParam[]) => Promise<SqlRow[]>;

/** SQLSTATE 26000: the name is unknown, as after `DEALLOCATE ALL` by code sharing the database. */
const UNKNOWN_STATEMENT = "26000";

// Names are unique in the process, so that two objects reaching one database (PGlite and a
// proxy of it, or two copies of this module) never prepare the same name twice.
const NAME_PREFIX = `quark_${Math.random().toString(36).slice(2, 8)}_`;
let nextName = 0;

// The statements prepared in one database session, which every executor over it shares.
const sessions = new WeakMap<object, Map<string, Promise<string>>>();

function isProtocolClient(client: object): client is PGliteProtocol {
  const candidate = client as Partial<PGliteProtocol>;
  return typeof candidate.execProtocol === "function" && typeof candidate.runExclusive === "function" &&
    typeof candidate._runExclusiveTransaction === "function" && typeof candidate.parsers === "object";
}

/**
 * A runner of named prepared statements over `client`, or `undefined` when the client is not
 * a PGlite instance (a wrapper that offers only `query`), which then keeps using `query`.
 *
 * @param client The client the adapter was given or made.
 * @param wire The driver module's `protocol` and `parse` exports.
 * @returns The runner, or `undefined`.
 */
export function preparedRunner(client: object, wire: PGliteWire): PreparedRun | undefined {
  if (!isProtocolClient(client)) return undefined;
  const db = client;
  const { serialize } = wire.protocol;
  const names = sessions.get(db) ?? new Map<string, Promise<string>>();
  sessions.set(db, names);

  // Both of PGlite's locks, as `query` takes them, so nothing runs inside another's transaction.
  async function exchange(parts: readonly Uint8Array[]): Promise<unknown[]> {
    await db.waitReady;
    const result = await db._runExclusiveTransaction(() => db.runExclusive(() => db.execProtocol(concatBytes(...parts))));
    return result.messages;
  }

  // One Parse per text, shared by concurrent first uses; a failed one is forgotten.
  function nameFor(text: string): Promise<string> {
    let name = names.get(text);
    if (name === undefined) {
      const fresh = `${NAME_PREFIX}${nextName++}`;
      name = exchange([serialize.parse({ name: fresh, text, types: [] }), serialize.sync()]).then(() => fresh);
      const pending = name;
      names.set(text, pending);
      pending.catch(() => {
        if (names.get(text) === pending) names.delete(text);
      });
    }
    return name;
  }

  async function runOnce(text: string, params: readonly SqlParam[]): Promise<SqlRow[]> {
    const statement = await nameFor(text);
    // Bytes travel in binary format (raw bytea), everything else as text, as `query` sends it.
    const values = params.map((param) => (param === null || param instanceof Uint8Array ? param : String(param)));
    const messages = await exchange([
      serialize.bind({ statement, values }),
      serialize.describe({ type: "P" }),
      serialize.execute({}),
      serialize.sync(),
    ]);
    return (wire.parse.parseResults(messages as never[], db.parsers, { rowMode: "array" })[0]?.rows ?? []) as SqlRow[];
  }

  return async (text, params) => {
    try {
      return await runOnce(text, params);
    } catch (error) {
      if ((error as { code?: unknown } | null)?.code !== UNKNOWN_STATEMENT) throw error;
      names.delete(text);
      return runOnce(text, params);
    }
  };
}

// The event store over a Durable Object's SQLite database. Every append runs in one
// `transactionSync` on the object's single thread, so appends commit one at a time in the
// order their positions are taken: an AUTOINCREMENT position is then a global order a reader
// can follow safely (no append can commit later behind a position already read). The order
// is the object's own: it covers the streams this object holds.
import type { AppendResult, EventStore, ExpectedVersion, GlobalEvent, NewEvent, ReadAllOptions, ReadStreamOptions, StoredEvent, StoredSnapshot } from "../../src/events/types.ts";
import { assertExpectedVersion, assertNewEvents, readAllBounds } from "../../src/events/guards.ts";
import { assertValidKeyPart } from "../../src/storage/keys.ts";
import { EventStoreConflictError } from "../../src/errors.ts";
import { blob, bytesOf, DRIVER_NAME, type DurableObjectSqlStorage, guarded, rows, tableName } from "./_sql.ts";

/**
 * Options for {@linkcode durableObjectEventStore}.
 *
 * @example Table names of your own
 * ```ts
 * import type { DurableObjectEventStoreOptions } from "@quark/persistence/durable-objects";
 * const options: DurableObjectEventStoreOptions = { eventsTable: "ledger_events", snapshotsTable: "ledger_snapshots" };
 * ```
 */
export interface DurableObjectEventStoreOptions {
  /** The events table's name, a plain identifier. Defaults to `quark_events`. */
  readonly eventsTable?: string;
  /** The snapshots table's name, a plain identifier. Defaults to `quark_snapshots`. */
  readonly snapshotsTable?: string;
}

const DEFAULT_PAGE_SIZE = 500;

/**
 * An {@linkcode EventStore} in a SQLite-backed Durable Object's own database (`ctx.storage`).
 * It creates its tables when made. Appends are one SQLite transaction each; `readAll` follows
 * the object's own global order (`capabilities.readAll` is `true`), which covers the streams
 * of this one object.
 *
 * @param storage The object's `ctx.storage`.
 * @param options The table names.
 * @returns The event store; `close()` leaves the object's storage as it is.
 * @throws {ConfigurationError} When a table name is not a plain identifier.
 *
 * @example An event-sourced actor system inside a Durable Object
 * ```ts ignore
 * import { createActorSystem } from "@quark/persistence";
 * import { durableObjectEventStore, durableObjectStorage, type DurableObjectSqlStorage } from "@quark/persistence/durable-objects";
 * export class Ledgers {
 *   readonly system;
 *   constructor(ctx: { storage: DurableObjectSqlStorage }) {
 *     this.system = createActorSystem({ storage: durableObjectStorage(ctx.storage), eventStore: durableObjectEventStore(ctx.storage) });
 *   }
 * }
 * ```
 */
export function durableObjectEventStore(storage: DurableObjectSqlStorage, options: DurableObjectEventStoreOptions = {}): EventStore {
  const events = tableName("events table name", options.eventsTable ?? "quark_events");
  const snapshots = tableName("snapshots table name", options.snapshotsTable ?? "quark_snapshots");
  storage.transactionSync(() => {
    rows(storage, `CREATE TABLE IF NOT EXISTS ${events} (
      position INTEGER PRIMARY KEY AUTOINCREMENT, stream TEXT NOT NULL, version INTEGER NOT NULL,
      type TEXT NOT NULL, data BLOB NOT NULL, metadata BLOB, created_at INTEGER NOT NULL,
      UNIQUE (stream, version))`);
    rows(storage, `CREATE TABLE IF NOT EXISTS ${snapshots} (stream TEXT PRIMARY KEY, version INTEGER NOT NULL, data BLOB NOT NULL)`);
  });

  function head(stream: string): number {
    return Number(rows(storage, `SELECT COALESCE(MAX(version), 0) AS head FROM ${events} WHERE stream = ?`, stream)[0]?.head ?? 0);
  }

  function appendNow(stream: string, batch: readonly NewEvent[], expected: ExpectedVersion): AppendResult {
    const actual = head(stream);
    const matches = expected === "any" || (expected === "no_stream" ? actual === 0 : actual === expected);
    if (!matches) throw new EventStoreConflictError(stream, expected, actual);
    const createdAt = Date.now();
    let lastPosition = 0;
    for (const [index, event] of batch.entries()) {
      const [row] = rows(storage, `INSERT INTO ${events} (stream, version, type, data, metadata, created_at)
        VALUES (?, ?, ?, ?, ?, ?) RETURNING position`,
      stream, actual + index + 1, event.type, blob(event.data), event.metadata === undefined ? null : blob(event.metadata), createdAt);
      lastPosition = Number(row!.position);
    }
    return { nextVersion: actual + batch.length, lastPosition: BigInt(lastPosition) };
  }

  return {
    name: DRIVER_NAME,
    capabilities: { readAll: true },
    append(stream, batch, expected) {
      return guarded("append", () => {
        assertValidKeyPart("stream", stream);
        assertExpectedVersion(expected);
        assertNewEvents(batch);
        return storage.transactionSync(() => appendNow(stream, batch, expected));
      });
    },
    async *read(stream: string, readOptions: ReadStreamOptions = {}): AsyncIterable<StoredEvent> {
      assertValidKeyPart("stream", stream);
      const pageSize = readOptions.pageSize ?? DEFAULT_PAGE_SIZE;
      let next = Math.max(1, readOptions.fromVersion ?? 1);
      while (true) {
        const page = await guarded("read", () => rows(storage, `SELECT version, type, data, metadata, created_at FROM ${events}
          WHERE stream = ? AND version >= ? ORDER BY version LIMIT ?`, stream, next, pageSize));
        for (const row of page) yield eventOf(stream, row);
        if (page.length < pageSize) return;
        next += page.length;
      }
    },
    async *readAll(readOptions: ReadAllOptions = {}): AsyncIterable<GlobalEvent> {
      const { after, pageSize } = readAllBounds(readOptions, DEFAULT_PAGE_SIZE);
      // No position reaches 2^53 (SQLite would need that many appends), so past it nothing follows.
      if (after >= BigInt(Number.MAX_SAFE_INTEGER)) return;
      let from = Number(after);
      while (true) {
        const page = await guarded("readAll", () => rows(storage, `SELECT position, stream, version, type, data, metadata, created_at FROM ${events}
          WHERE position > ? ORDER BY position LIMIT ?`, from, pageSize));
        for (const row of page) yield { ...eventOf(String(row.stream), row), position: BigInt(Number(row.position)) };
        if (page.length < pageSize) return;
        from = Number(page.at(-1)!.position);
      }
    },
    version(stream) {
      return guarded("version", () => {
        assertValidKeyPart("stream", stream);
        return head(stream);
      });
    },
    saveSnapshot(stream: string, snapshot: StoredSnapshot) {
      return guarded("saveSnapshot", () => {
        assertValidKeyPart("stream", stream);
        // The update applies only to an older snapshot; RETURNING yields a row only when saved.
        return rows(storage, `INSERT INTO ${snapshots} (stream, version, data) VALUES (?, ?, ?)
          ON CONFLICT (stream) DO UPDATE SET version = excluded.version, data = excluded.data
          WHERE excluded.version > ${snapshots}.version RETURNING 1`, stream, snapshot.version, blob(snapshot.data)).length === 1;
      });
    },
    loadSnapshot(stream) {
      return guarded("loadSnapshot", () => {
        assertValidKeyPart("stream", stream);
        const [row] = rows(storage, `SELECT version, data FROM ${snapshots} WHERE stream = ?`, stream);
        return row === undefined ? null : { version: Number(row.version), data: bytesOf(row.data) };
      });
    },
    close() {
      return Promise.resolve();
    },
  };
}

function eventOf(stream: string, row: Record<string, unknown>): StoredEvent {
  return {
    stream,
    version: Number(row.version),
    type: String(row.type),
    data: bytesOf(row.data),
    ...(row.metadata === null ? {} : { metadata: bytesOf(row.metadata) }),
    createdAt: new Date(Number(row.created_at)),
  };
}

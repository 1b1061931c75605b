/**
 * The event store shared by every SQL adapter. An append is one statement that reads the
 * stream's head and inserts after it when the head is as expected; the unique key on
 * (stream, version) makes exactly one of two racing appends win. The same statement takes the
 * events' global positions from a one-row counter whose lock it holds until it commits, so
 * positions are handed out in commit order and `readAll` can follow them safely.
 *
 * @module
 */

import type { AppendResult, EventStore, ExpectedVersion, GlobalEvent, NewEvent, ReadAllOptions, ReadStreamOptions, StoredEvent, StoredSnapshot } from "../../src/events/types.ts";
import { assertExpectedVersion, assertNewEvents, readAllBounds } from "../../src/events/guards.ts";
import { CorruptDataError, EventStoreConflictError, isQuarkError } from "../../src/errors.ts";
import { assertKeyWithinLimit, assertValidKeyPart } from "../../src/storage/keys.ts";
import type { SqlExecutor, SqlRow, SqlStatement } from "./executor.ts";
import { toBytes, toNumber, toOptionalNumber } from "./executor.ts";
import type { SqlDialect, SqlTables } from "./dialect.ts";
import { executorLifecycle } from "./lifecycle.ts";
import { toText } from "./storage.ts";
import { failureMapper, sanitizeDriverError } from "./errors.ts";
import { contentionRetry, type ContentionRetryOptions } from "./retry.ts";

const DEFAULT_PAGE_SIZE = 500;
/** How often an `"any"` append retries after losing a race before it gives up. */
const MAX_ANY_ATTEMPTS = 200;

/** What the shared event store needs from an adapter. */
export interface SqlEventStoreConfig {
  /** The backend's name, for messages. */
  readonly name: string;
  /** The dialect's statements. */
  readonly dialect: SqlDialect;
  /** The validated table names. */
  readonly tables: SqlTables;
  /** Opens the executor on first use. */
  readonly executor: () => Promise<SqlExecutor>;
  /** Whether to create missing tables on first use. */
  readonly autoCreateSchema: boolean;
  /** How to retry what the server aborts under contention (deadlock, serialization failure). */
  readonly contentionRetry?: ContentionRetryOptions | undefined;
  /** `host:port` of the server, for messages, when the adapter knows it. */
  readonly endpoint?: string | undefined;
}

/** A SQL-backed {@linkcode EventStore} with an explicit schema call. */
export interface SqlEventStore extends EventStore {
  /**
   * Creates the events and snapshots tables and the position counter if they are missing,
   * upgrades tables of an earlier format in place, and gives events stored without a global
   * position one. Safe to call concurrently.
   */
  ensureSchema(): Promise<void>;
}

/** What one append statement, or the last of a chunked append, reports. */
interface AppendOutcome {
  readonly head: number;
  readonly inserted: number;
  readonly lastPosition: bigint | undefined;
}

function appendOutcome(row: SqlRow | undefined, head?: number, inserted?: number): AppendOutcome {
  const position = row?.[2];
  return {
    head: head ?? toNumber(row?.[0] ?? 0),
    inserted: inserted ?? toNumber(row?.[1] ?? 0),
    lastPosition: position === null || position === undefined ? undefined : BigInt(toText(position)),
  };
}

/** Reads an event row in the column order of `SqlDialect.readEvents`, from column `first`. */
function eventFromRow(stream: string, row: SqlRow, first: number): StoredEvent {
  const [version, type, data, metadata, createdMs, position] = row.slice(first);
  const created = toOptionalNumber(createdMs);
  return {
    stream,
    version: toNumber(version),
    type: toText(type),
    data: toBytes(data),
    ...(metadata === null || metadata === undefined ? {} : { metadata: toBytes(metadata) }),
    ...(created === undefined ? {} : { createdAt: new Date(created) }),
    ...(position === null || position === undefined ? {} : { position: BigInt(toText(position)) }),
  };
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/**
 * Builds an {@linkcode EventStore} over a SQL executor and dialect.
 *
 * @param config The dialect, tables and executor.
 * @returns The event store, with `ensureSchema`.
 */
export function sqlEventStore(config: SqlEventStoreConfig): SqlEventStore {
  const { name, dialect, tables } = config;
  const fail = failureMapper(name, dialect, config.endpoint);
  const retry = contentionRetry(name, (error) => dialect.classify(error).kind === "contention", config.contentionRetry);

  function assertStream(stream: string): void {
    if (typeof stream !== "string") throw new TypeError(`Stream names must be strings, got ${typeof stream}`);
    assertValidKeyPart("stream", stream);
    if (dialect.maxStreamBytes !== undefined) assertKeyWithinLimit(name, "stream", stream, dialect.maxStreamBytes);
  }

  const { ready, ensureSchema, close } = executorLifecycle(name, config.executor, () => dialect.eventSchema(tables), config.autoCreateSchema, fail);

  // Each statement binds three parameters per event (type, data, metadata), so long batches are
  // split into chunks that run in one transaction; every chunk is guarded so that a mismatch
  // rolls the whole back.
  function chunks(events: readonly NewEvent[]): NewEvent[][] {
    const size = Math.max(1, Math.min(5_000, Math.floor((dialect.maxParameters - 8) / 3)));
    const out: NewEvent[][] = [];
    for (let start = 0; start < events.length; start += size) out.push(events.slice(start, start + size));
    return out;
  }

  async function appendOnce(sql: SqlExecutor, stream: string, events: readonly NewEvent[], expected: number | null): Promise<AppendOutcome> {
    const parts = chunks(events);
    if (parts.length === 1) return appendOutcome((await sql.query(dialect.appendEvents(tables, stream, events, expected)))[0]);
    return appendChunked(sql, stream, parts, expected);
  }

  // The first chunk locks the position counter until the transaction ends, so the chunks'
  // positions follow each other with nothing in between.
  async function appendChunked(sql: SqlExecutor, stream: string, parts: NewEvent[][], expected: number | null): Promise<AppendOutcome> {
    // For a fixed expectation the chunks' heads are known in advance. For "any" the head is
    // read first; a race then surfaces as a guard or unique failure and the caller retries.
    let head = expected;
    if (head === null) head = toNumber((await sql.query(dialect.streamVersion(tables, stream)))[0]?.[0] ?? 0);
    const statements: SqlStatement[] = [];
    let at = head;
    for (const [index, part] of parts.entries()) {
      statements.push(dialect.appendEvents(tables, stream, part, at, index));
      at += part.length;
    }
    const results = await sql.batch(statements);
    return appendOutcome(results.at(-1)?.[0], head, at - head);
  }

  async function append(stream: string, events: readonly NewEvent[], expected: ExpectedVersion): Promise<AppendResult> {
    assertStream(stream);
    assertExpectedVersion(expected);
    assertNewEvents(events);
    const sql = await ready("append");
    const wanted = expected === "any" ? null : expected === "no_stream" ? 0 : expected;
    for (let attempt = 1; ; attempt++) {
      let result: AppendOutcome;
      try {
        // A deadlock or serialization failure aborted the attempt whole: run it again as is.
        result = await retry("append", () => appendOnce(sql, stream, events, wanted));
      } catch (error) {
        if (isQuarkError(error)) throw error;
        const kind = dialect.classify(error);
        if (kind.kind === "unique" || kind.kind === "guard") {
          // "any" promises gap-free versions, not a particular one: take the next head.
          if (wanted === null && attempt < MAX_ANY_ATTEMPTS) {
            await delay(Math.random() * Math.min(20, attempt));
            continue;
          }
          const actual = kind.kind === "guard" && /^\d+$/.test(kind.detail) ? Number(kind.detail) : undefined;
          throw new EventStoreConflictError(stream, expected, actual, { cause: sanitizeDriverError(error) });
        }
        return fail("append", error);
      }
      if (result.inserted !== events.length) throw new EventStoreConflictError(stream, expected, result.head);
      return { nextVersion: result.head + events.length, lastPosition: result.lastPosition };
    }
  }

  return {
    name,
    append,
    capabilities: { readAll: true },
    async *readAll(options: ReadAllOptions = {}): AsyncIterable<GlobalEvent> {
      let { after, pageSize } = readAllBounds(options, DEFAULT_PAGE_SIZE);
      const sql = await ready("readAll");
      while (true) {
        let rows: SqlRow[];
        try {
          rows = await sql.query(dialect.readAllEvents(tables, after, pageSize));
        } catch (error) {
          return fail("readAll", error);
        }
        for (const row of rows) {
          let event: StoredEvent;
          try {
            event = eventFromRow(toText(row[0]), row, 1);
          } catch (error) {
            throw new CorruptDataError(`Event store ${name} returned a malformed event row in its global order after position ${after}`, { cause: error });
          }
          yield event as GlobalEvent;
          after = event.position!;
        }
        if (rows.length < pageSize) return;
      }
    },
    async *read(stream: string, options: ReadStreamOptions = {}): AsyncIterable<StoredEvent> {
      assertStream(stream);
      const pageSize = options.pageSize ?? DEFAULT_PAGE_SIZE;
      if (!Number.isSafeInteger(pageSize) || pageSize < 1) throw new RangeError(`Page size must be a whole number of at least 1, got ${pageSize}`);
      let next = Math.max(1, options.fromVersion ?? 1);
      const sql = await ready("read");
      while (true) {
        let rows: SqlRow[];
        try {
          rows = await sql.query(dialect.readEvents(tables, stream, next, pageSize));
        } catch (error) {
          return fail("read", error);
        }
        for (const row of rows) {
          let event: StoredEvent;
          try {
            event = eventFromRow(stream, row, 0);
          } catch (error) {
            throw new CorruptDataError(`Event store ${name} returned a malformed event row in stream ${JSON.stringify(stream)}`, { cause: error });
          }
          yield event;
          next = event.version + 1;
        }
        if (rows.length < pageSize) return;
      }
    },
    async version(stream: string): Promise<number> {
      assertStream(stream);
      const sql = await ready("version");
      try {
        return toNumber((await sql.query(dialect.streamVersion(tables, stream)))[0]?.[0] ?? 0);
      } catch (error) {
        return fail("version", error);
      }
    },
    async saveSnapshot(stream: string, snapshot: StoredSnapshot): Promise<boolean> {
      assertStream(stream);
      if (!Number.isSafeInteger(snapshot.version) || snapshot.version < 0) {
        throw new RangeError(`Snapshot version must be a whole number of at least 0, got ${snapshot.version}`);
      }
      const sql = await ready("saveSnapshot");
      try {
        const rows = await retry("saveSnapshot", () => sql.query(dialect.saveSnapshot(tables, stream, snapshot.version, snapshot.data)));
        return rows.length > 0;
      } catch (error) {
        // Two first snapshots racing on a dialect without upsert: the other one is kept.
        if (dialect.classify(error).kind === "unique") return false;
        return fail("saveSnapshot", error);
      }
    },
    async loadSnapshot(stream: string): Promise<StoredSnapshot | null> {
      assertStream(stream);
      const sql = await ready("loadSnapshot");
      let rows: SqlRow[];
      try {
        rows = await sql.query(dialect.loadSnapshot(tables, stream));
      } catch (error) {
        return fail("loadSnapshot", error);
      }
      if (rows.length === 0) return null;
      try {
        return { version: toNumber(rows[0]![0]), data: toBytes(rows[0]![1]) };
      } catch (error) {
        throw new CorruptDataError(`Event store ${name} returned a malformed snapshot row for ${JSON.stringify(stream)}`, { cause: error });
      }
    },
    ensureSchema,
    close,
  };
}

// The Cassandra event store: one partition per stream, one LWT batch per append.
// Exported through adapters/cassandra/mod.ts.

import type {
  AppendResult,
  EventStore,
  ExpectedVersion,
  NewEvent,
  ReadStreamOptions,
  StoredEvent,
  StoredSnapshot,
} from "../../src/events/types.ts";
import { assertExpectedVersion, assertNewEvents, readAllUnsupported } from "../../src/events/guards.ts";
import {
  ContentionError,
  CorruptDataError,
  EventStoreConflictError,
  InvalidKeyError,
  isQuarkError,
  StorageUnavailableError,
} from "../../src/errors.ts";
import { assertKeyWithinLimit, assertValidKeyPart } from "../../src/storage/keys.ts";
import { attemptsOption } from "../_shared/attempts.ts";
import {
  backoff,
  blobParam,
  type CassandraClient,
  type CassandraConnectionOptions,
  type CassandraManaged,
  type CassandraQueryOptions,
  type CassandraRow,
  context,
  DRIVER_NAME,
  isUnavailable,
  isUnknownOutcome,
  quoteIdentifier,
  toBytes,
  toNumber,
  toQuarkError,
} from "./_driver.ts";

/**
 * Options for {@linkcode cassandraEventStore}.
 *
 * @example Own table names
 * ```ts ignore
 * import { cassandraEventStore } from "@quark/persistence/cassandra";
 * const store = cassandraEventStore({
 *   contactPoints: ["127.0.0.1:9042"],
 *   localDataCenter: "datacenter1",
 *   eventsTable: "ledger_events",
 *   snapshotsTable: "ledger_snapshots",
 * });
 * ```
 */
export interface CassandraEventStoreOptions extends CassandraConnectionOptions {
  /** The events table. Defaults to `"quark_events"`. */
  readonly eventsTable?: string;
  /** The snapshots table. Defaults to `"quark_snapshots"`. */
  readonly snapshotsTable?: string;
  /**
   * The most conditional batches one `"any"` append sends while other appends keep moving
   * the stream's head first. Each re-send uses the head the refusal reported, without
   * another read, after a jittered backoff (`lwtBackoffMs`, `lwtMaxBackoffMs`). Past the
   * bound the append throws `ContentionError`: nothing was appended. Defaults to 64.
   */
  readonly maxAnyAppendAttempts?: number;
  /** Events fetched per round trip when `read` is given no `pageSize`. Defaults to 500. */
  readonly pageSize?: number;
}

/**
 * An {@linkcode EventStore} on Cassandra, with schema management and the raw client.
 *
 * @example
 * ```ts ignore
 * import { cassandraEventStore, type CassandraEventStore } from "@quark/persistence/cassandra";
 * const store: CassandraEventStore = cassandraEventStore({ contactPoints: ["127.0.0.1:9042"], localDataCenter: "datacenter1" });
 * await store.ensureSchema();
 * ```
 */
export interface CassandraEventStore extends EventStore, CassandraManaged {}

/**
 * An event store on Apache Cassandra. A stream is one partition clustered by version, with
 * the head version in a static column; an append is one conditional batch in that
 * partition (`IF head_version = ?`), so a batch lands whole or not at all and of racing
 * appends at one version exactly one wins. Snapshots only move forward (`IF version < ?`).
 *
 * @param options A client or contact points, keyspace and tables.
 * @returns A {@linkcode CassandraEventStore}.
 * @throws {ConfigurationError} When a name is not a valid identifier or no client is configured.
 *
 * @example Appending and reading
 * ```ts ignore
 * import { cassandraEventStore } from "@quark/persistence/cassandra";
 * const store = cassandraEventStore({ contactPoints: ["127.0.0.1:9042"], localDataCenter: "datacenter1", createSchema: true });
 * await store.append("ledger-1", [{ type: "Opened", data: new Uint8Array() }], "no_stream");
 * for await (const event of store.read("ledger-1")) console.log(event.version, event.type);
 * await store.close();
 * ```
 */
export function cassandraEventStore(options: CassandraEventStoreOptions): CassandraEventStore {
  const ks = quoteIdentifier(options.keyspace ?? "quark", "keyspace");
  const events = `${ks}.${quoteIdentifier(options.eventsTable ?? "quark_events", "table")}`;
  const snapshots = `${ks}.${quoteIdentifier(options.snapshotsTable ?? "quark_snapshots", "table")}`;
  const shared = context(options, [
    `CREATE TABLE IF NOT EXISTS ${events} (stream text, version bigint, head_version bigint static, type text, ` +
    `data blob, metadata blob, created_at timestamp, append_id text, PRIMARY KEY ((stream), version))`,
    // Tables made by 0.1 lack the metadata and created_at columns; their rows read with both null.
    `ALTER TABLE ${events} ADD IF NOT EXISTS (metadata blob, created_at timestamp)`,
    `CREATE TABLE IF NOT EXISTS ${snapshots} (stream text PRIMARY KEY, version bigint, data blob)`,
  ]);
  const { settings, read, serialRead, lwt } = shared;
  const maxAnyAttempts = attemptsOption("maxAnyAppendAttempts", options.maxAnyAppendAttempts, 64);
  const defaultPageSize = options.pageSize ?? 500;
  const client = (operation: string) => shared.client(operation);

  const selectHead = `SELECT head_version FROM ${events} WHERE stream = ? LIMIT 1`;
  const selectAppendId = `SELECT append_id FROM ${events} WHERE stream = ? AND version = ?`;
  // created_at is the coordinator's clock; an event without metadata leaves the column unset
  // (binding null would write a tombstone per event).
  const insertEvent = `INSERT INTO ${events} (stream, version, type, data, created_at, append_id) VALUES (?, ?, ?, ?, toTimestamp(now()), ?)`;
  const insertEventWithMetadata =
    `INSERT INTO ${events} (stream, version, type, data, metadata, created_at, append_id) VALUES (?, ?, ?, ?, ?, toTimestamp(now()), ?)`;

  async function head(db: CassandraClient, stream: string, options: CassandraQueryOptions): Promise<number> {
    const rows = (await db.execute(selectHead, [stream], options)).rows;
    const value = rows[0]?.head_version;
    return value === null || value === undefined ? 0 : toNumber(value);
  }

  function batchOf(stream: string, batch: readonly NewEvent[], base: number, appendId: string) {
    const condition = base === 0
      ? { query: `UPDATE ${events} SET head_version = ? WHERE stream = ? IF head_version = null`, params: [String(base + batch.length), stream] }
      : { query: `UPDATE ${events} SET head_version = ? WHERE stream = ? IF head_version = ?`, params: [String(base + batch.length), stream, String(base)] };
    return [
      condition,
      ...batch.map((event, index) => {
        const row = [stream, String(base + index + 1), event.type, blobParam(event.data)];
        return event.metadata === undefined
          ? { query: insertEvent, params: [...row, appendId] }
          : { query: insertEventWithMetadata, params: [...row, blobParam(event.metadata), appendId] };
      }),
    ];
  }

  /** After a timeout: did the batch that expected `base` land? A serial read settles it. */
  async function settle(db: CassandraClient, stream: string, base: number, appendId: string): Promise<{ applied: boolean; head: number }> {
    const current = await head(db, stream, serialRead);
    if (current <= base) return { applied: false, head: current };
    const rows = (await db.execute(selectAppendId, [stream, String(base + 1)], read)).rows;
    return { applied: rows[0]?.append_id === appendId, head: current };
  }

  return {
    name: DRIVER_NAME,
    capabilities: { readAll: false },
    readAll: () => readAllUnsupported(DRIVER_NAME, "Cassandra change data capture (CDC) on the events table"),
    ensureSchema: shared.ensureSchema,
    getInstance: shared.getInstance,

    async append(stream: string, batch: readonly NewEvent[], expected: ExpectedVersion): Promise<AppendResult> {
      assertExpectedVersion(expected);
      assertNewEvents(batch);
      assertStreamName(stream);
      const db = await client("append");
      const appendId = crypto.randomUUID();
      const any = expected === "any";
      const attempts = any ? maxAnyAttempts : settings.maxLwtAttempts;
      let lastError: unknown;
      // Whether the last batch sent may have applied: a timeout that no serial read settled.
      let unsettled = false;
      try {
        let base = expected === "any" ? await head(db, stream, read) : expected === "no_stream" ? 0 : expected;
        for (let attempt = 1; attempt <= attempts; attempt++) {
          await backoff(attempt, settings);
          unsettled = false;
          try {
            const result = await db.batch(batchOf(stream, batch, base, appendId), lwt);
            if (result.rows[0]?.["[applied]"] === true) return { nextVersion: base + batch.length };
            const reported = result.rows[0]?.head_version;
            const actual = reported === null || reported === undefined ? 0 : toNumber(reported);
            if (!any) throw new EventStoreConflictError(stream, expected, actual);
            base = actual;
          } catch (error) {
            if (isQuarkError(error)) throw error;
            if (isUnavailable(error) || !isUnknownOutcome(error)) throw toQuarkError(error, "append", settings);
            lastError = error;
            let settled: { applied: boolean; head: number };
            try {
              settled = await settle(db, stream, base, appendId);
            } catch (readError) {
              if (!isUnknownOutcome(readError)) throw toQuarkError(readError, "append", settings);
              lastError = readError;
              unsettled = true;
              continue;
            }
            if (settled.applied) return { nextVersion: base + batch.length };
            if (settled.head !== base) {
              if (!any) throw new EventStoreConflictError(stream, expected, settled.head);
              base = settled.head;
            }
          }
        }
      } catch (error) {
        throw toQuarkError(error, "append", settings);
      }
      if (unsettled) {
        throw new StorageUnavailableError(
          DRIVER_NAME,
          `append against ${settings.endpoint}`,
          new Error(`The last of ${attempts} conditional batches timed out and no serial read settled whether it was applied`, { cause: lastError }),
        );
      }
      // Every batch sent was refused or proven unapplied by a serial read: nothing was appended.
      throw new ContentionError(DRIVER_NAME, `append to stream ${JSON.stringify(stream)}`, attempts, { cause: lastError });
    },

    async *read(stream: string, readOptions: ReadStreamOptions = {}): AsyncIterable<StoredEvent> {
      assertStreamName(stream);
      const pageSize = readOptions.pageSize ?? defaultPageSize;
      if (!Number.isSafeInteger(pageSize) || pageSize < 1) throw new RangeError(`Page size must be a whole number of at least 1, got ${pageSize}`);
      const from = Math.max(1, readOptions.fromVersion ?? 1);
      const db = await client("read");
      const query = `SELECT version, type, data, metadata, created_at FROM ${events} WHERE stream = ? AND version >= ?`;
      let pageState: string | undefined;
      do {
        let rows: readonly CassandraRow[];
        try {
          const page = await db.execute(query, [stream, String(from)], { ...read, fetchSize: pageSize, pageState });
          rows = page.rows;
          pageState = page.pageState ? String(page.pageState) : undefined;
        } catch (error) {
          throw toQuarkError(error, "read", settings);
        }
        for (const row of rows) yield eventOf(stream, row);
      } while (pageState !== undefined);
    },

    async version(stream: string): Promise<number> {
      assertStreamName(stream);
      const db = await client("version");
      try {
        return await head(db, stream, read);
      } catch (error) {
        throw toQuarkError(error, "version", settings);
      }
    },

    async saveSnapshot(stream: string, snapshot: StoredSnapshot): Promise<boolean> {
      assertStreamName(stream);
      if (!Number.isSafeInteger(snapshot.version) || snapshot.version < 0) {
        throw new RangeError(`Snapshot version must be a whole number of at least 0, got ${snapshot.version}`);
      }
      const db = await client("saveSnapshot");
      const version = String(snapshot.version);
      const data = blobParam(snapshot.data);
      const newer = `UPDATE ${snapshots} SET version = ?, data = ? WHERE stream = ? IF version < ?`;
      const first = `UPDATE ${snapshots} SET version = ?, data = ? WHERE stream = ? IF version = null`;
      let lastError: unknown;
      let unsettled = false;
      for (let attempt = 1; attempt <= settings.maxLwtAttempts; attempt++) {
        await backoff(attempt, settings);
        unsettled = false;
        try {
          // `version < ?` is false for a missing row, so a first snapshot takes the second statement.
          const replaced = await db.execute(newer, [version, data, stream, version], lwt);
          if (replaced.rows[0]?.["[applied]"] === true) return true;
          if (replaced.rows[0]?.version != null) return false;
          const created = await db.execute(first, [version, data, stream], lwt);
          if (created.rows[0]?.["[applied]"] === true) return true;
          if (toNumber(created.rows[0]?.version) >= snapshot.version) return false;
        } catch (error) {
          if (isUnavailable(error) || !isUnknownOutcome(error)) throw toQuarkError(error, "saveSnapshot", settings);
          lastError = error;
          unsettled = true;
          try {
            const rows = (await db.execute(`SELECT version FROM ${snapshots} WHERE stream = ?`, [stream], serialRead)).rows;
            const stored = rows[0]?.version;
            // An equal version is ours or an equivalent one; either way that snapshot is kept.
            if (stored != null && toNumber(stored) >= snapshot.version) return toNumber(stored) === snapshot.version;
            // Older or no snapshot stored, read serially: ours did not apply and never will.
            unsettled = false;
          } catch (readError) {
            if (!isUnknownOutcome(readError)) throw toQuarkError(readError, "saveSnapshot", settings);
            lastError = readError;
          }
        }
      }
      if (unsettled) {
        throw new StorageUnavailableError(
          DRIVER_NAME,
          `saveSnapshot against ${settings.endpoint}`,
          new Error("The last snapshot write timed out and no serial read settled whether it was applied", { cause: lastError }),
        );
      }
      throw new ContentionError(DRIVER_NAME, `saveSnapshot of stream ${JSON.stringify(stream)}`, settings.maxLwtAttempts, { cause: lastError });
    },

    async loadSnapshot(stream: string): Promise<StoredSnapshot | null> {
      assertStreamName(stream);
      const db = await client("loadSnapshot");
      let rows: readonly CassandraRow[];
      try {
        rows = (await db.execute(`SELECT version, data FROM ${snapshots} WHERE stream = ?`, [stream], read)).rows;
      } catch (error) {
        throw toQuarkError(error, "loadSnapshot", settings);
      }
      const row = rows[0];
      if (row === undefined || row.version == null) return null;
      const version = toNumber(row.version);
      const data = toBytes(row.data);
      if (!Number.isSafeInteger(version) || data === undefined) {
        throw new CorruptDataError(`Cassandra snapshot of stream ${JSON.stringify(stream)} lacks a version or data`);
      }
      return { version, data };
    },

    close: shared.close,
  };
}

function eventOf(stream: string, row: CassandraRow): StoredEvent {
  const version = toNumber(row.version);
  const data = toBytes(row.data);
  if (!Number.isSafeInteger(version) || typeof row.type !== "string" || data === undefined) {
    throw new CorruptDataError(`Cassandra event of stream ${JSON.stringify(stream)} lacks a version, type or data`);
  }
  const metadata = toBytes(row.metadata);
  return {
    stream,
    version,
    type: row.type,
    data,
    ...(metadata === undefined ? {} : { metadata }),
    // Rows written by 0.1 have no created_at.
    ...(row.created_at instanceof Date ? { createdAt: row.created_at } : {}),
  };
}

/** Cassandra refuses a partition key that is empty or longer than 65,535 bytes. */
const MAX_STREAM_BYTES = 65_535;

/**
 * Refuses a stream name before any CQL is sent: one that is not well-formed (lone
 * surrogates, NUL), empty (Cassandra refuses an empty partition key) or too long.
 */
function assertStreamName(stream: string): void {
  assertValidKeyPart("stream", stream);
  if (stream === "") throw new InvalidKeyError("stream", "is empty, which Cassandra cannot store as a partition key");
  assertKeyWithinLimit(DRIVER_NAME, "stream", stream, MAX_STREAM_BYTES);
}

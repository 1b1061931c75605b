/**
 * The PostgreSQL dialect, shared unchanged by the PGlite, postgres.js and Neon adapters.
 * Table layouts are documented in docs/backends/postgres.md.
 *
 * @module
 */

import type { SqlParam, SqlStatement } from "./executor.ts";
import { GUARD_MARKER, parseGuard, positionCounterTable, type ErrorKind, type SqlDialect, type SqlTables } from "./dialect.ts";
import type { DeleteRequest, ListRequest, StateKey, WriteRequest } from "../../src/storage/types.ts";
import type { NewEvent } from "../../src/events/types.ts";

/** PostgreSQL truncates identifiers at 63 bytes; derived index names add up to 12. */
export const POSTGRES_MAX_IDENTIFIER = 48;

/**
 * The longest key, in UTF-8 bytes of `encodeKey(key)`, that the primary key index holds. A
 * B-tree entry may take at most 2704 bytes of an 8 KiB page; the three key columns, their
 * length headers and the entry header stay within that below this bound, so no write fails
 * with "index row size exceeds maximum" (54000). Stream names get the same bound.
 */
export const POSTGRES_MAX_KEY_BYTES = 2600;

/** Serialises `CREATE … IF NOT EXISTS` across processes, which PostgreSQL does not do itself. */
const SCHEMA_LOCK_KEY = 0x51_75_61_72; // "Quar"

function quote(name: string): string {
  return `"${name}"`;
}

function table(tables: SqlTables, name: string): string {
  return tables.schema === undefined ? quote(name) : `${quote(tables.schema)}.${quote(name)}`;
}

/** Collects parameters and hands out their `$n` placeholders. */
function binder(): { bind: (value: SqlParam) => string; params: SqlParam[] } {
  const params: SqlParam[] = [];
  return {
    params,
    bind(value) {
      params.push(value);
      return `$${params.length}`;
    },
  };
}

const ALIVE = "(s.expires_at IS NULL OR s.expires_at > now())";
const EPOCH_MS = (column: string) => `floor(extract(epoch FROM ${column}) * 1000)::float8`;

function keyMatch(bind: (value: SqlParam) => string, key: StateKey): string {
  return `s.actor_type = ${bind(key.actorType)} AND s.actor_id = ${bind(key.actorId)} AND s.state_name = ${bind(key.stateName)}`;
}

/**
 * Turns the one row a write or delete leaves in `o` into the statement's result, and, with a
 * guard, fails the statement (and so its transaction) when the outcome is not one of `ok`.
 * The failure carries the outcome and the stored etag as hex, read under the same row lock
 * that refused the operation, so a transaction reports what it collided with without reading
 * again after its rollback. The failing cast depends on a column, so PostgreSQL cannot fold
 * it into a constant and raise it early.
 */
function outcomeRow(rows: string, columns: string, ok: readonly string[], bind: (value: SqlParam) => string, guard?: number): string {
  const outcome = "coalesce(o.outcome, 'absent')";
  const guardColumn = guard === undefined
    ? ""
    : `, CASE WHEN ${outcome} IN (${ok.map((value) => `'${value}'`).join(", ")}) THEN 0 ELSE CAST(${bind(`${GUARD_MARKER}:${guard}:`)}::text || ${outcome} || ':' || coalesce(encode(convert_to(o.etag, 'UTF8'), 'hex'), '') AS integer) END AS guard`;
  return `SELECT ${columns}${guardColumn} FROM (SELECT 1) AS one LEFT JOIN (${rows}) AS o ON true`;
}

function stateSchema(tables: SqlTables): SqlStatement[] {
  const state = table(tables, tables.state);
  return [
    { text: `SELECT pg_advisory_xact_lock(${SCHEMA_LOCK_KEY})`, params: [] },
    ...(tables.schema === undefined ? [] : [{ text: `CREATE SCHEMA IF NOT EXISTS ${quote(tables.schema)}`, params: [] }]),
    {
      // COLLATE "C" orders keys by code point, so the primary key serves prefix ranges and
      // keyset pages the same way on every server, whatever its default collation.
      text: `CREATE TABLE IF NOT EXISTS ${state} (
  actor_type text COLLATE "C" NOT NULL,
  actor_id text COLLATE "C" NOT NULL,
  state_name text COLLATE "C" NOT NULL,
  value bytea NOT NULL,
  etag text NOT NULL,
  revision bigint NOT NULL,
  expires_at timestamptz,
  updated_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (actor_type, actor_id, state_name)
)`,
      params: [],
    },
    {
      text: `CREATE INDEX IF NOT EXISTS ${quote(`${tables.state}_expires`)} ON ${state} (expires_at) WHERE expires_at IS NOT NULL`,
      params: [],
    },
  ];
}

function eventSchema(tables: SqlTables): SqlStatement[] {
  const events = table(tables, tables.events);
  const counter = table(tables, positionCounterTable(tables));
  const statement = (text: string) => ({ text, params: [] });
  return [
    statement(`SELECT pg_advisory_xact_lock(${SCHEMA_LOCK_KEY})`),
    ...(tables.schema === undefined ? [] : [statement(`CREATE SCHEMA IF NOT EXISTS ${quote(tables.schema)}`)]),
    statement(`CREATE TABLE IF NOT EXISTS ${events} (
  stream text COLLATE "C" NOT NULL,
  version bigint NOT NULL,
  type text NOT NULL,
  data bytea NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  metadata bytea,
  position bigint,
  PRIMARY KEY (stream, version)
)`),
    statement(upgradeEvents(tables)),
    statement(`CREATE TABLE IF NOT EXISTS ${counter} (
  id smallint PRIMARY KEY CHECK (id = 1),
  last bigint NOT NULL
)`),
    // NOT EXISTS first: the conflict check alone would wait for an append holding the row.
    statement(`INSERT INTO ${counter} (id, last) SELECT 1, (SELECT coalesce(max(e.position), 0) FROM ${events} AS e)
WHERE NOT EXISTS (SELECT 1 FROM ${counter}) ON CONFLICT (id) DO NOTHING`),
    statement(backfillPositions(events, counter)),
    statement(`CREATE TABLE IF NOT EXISTS ${table(tables, tables.snapshots)} (
  stream text COLLATE "C" NOT NULL PRIMARY KEY,
  version bigint NOT NULL,
  data bytea NOT NULL,
  saved_at timestamptz NOT NULL DEFAULT now()
)`),
  ];
}

/**
 * Adds what format 0.1 tables lack: the metadata and position columns (existing rows kept) and
 * the position index, which serves readAll's pages and, since a B-tree indexes NULLs, finds
 * events without a position. The catalog is checked first because `ALTER TABLE` and `CREATE
 * INDEX` lock the table even when `IF NOT EXISTS` makes them do nothing, and `ensureSchema`
 * runs at every start: a lock queued behind a long reader would stall every append.
 */
function upgradeEvents(tables: SqlTables): string {
  const events = table(tables, tables.events);
  const index = `${tables.events}_by_position`;
  return `DO $$ BEGIN
  IF (SELECT count(*) FROM pg_attribute WHERE attrelid = '${events}'::regclass AND attname IN ('metadata', 'position') AND NOT attisdropped) < 2 THEN
    ALTER TABLE ${events} ADD COLUMN IF NOT EXISTS metadata bytea, ADD COLUMN IF NOT EXISTS position bigint;
  END IF;
  IF to_regclass('${table(tables, index)}') IS NULL THEN
    CREATE UNIQUE INDEX ${quote(index)} ON ${events} (position);
  END IF;
END $$`;
}

/**
 * Gives events written without a position (by format 0.1, or by a writer of that version
 * still running during an upgrade) the next positions, under the counter's lock like an
 * append, so they land after every position handed out so far and no reader misses them.
 * Their order follows `created_at`, each stream's running maximum of it, so that a stream's
 * events keep their version order even where a late transaction's clock read earlier. The
 * counter is locked only when there is something to number.
 */
function backfillPositions(events: string, counter: string): string {
  return `WITH unpositioned AS (
  SELECT e.stream, e.version, max(e.created_at) OVER (PARTITION BY e.stream ORDER BY e.version) AS settled
  FROM ${events} AS e WHERE e.position IS NULL
),
taken AS (
  UPDATE ${counter} AS c SET last = c.last + (SELECT count(*) FROM unpositioned)
  WHERE c.id = 1 AND EXISTS (SELECT 1 FROM unpositioned)
  RETURNING c.last - (SELECT count(*) FROM unpositioned) AS base
),
numbered AS (
  SELECT u.stream, u.version, taken.base + row_number() OVER (ORDER BY u.settled, u.stream, u.version) AS position
  FROM unpositioned AS u, taken
)
UPDATE ${events} AS e SET position = n.position FROM numbered AS n WHERE e.stream = n.stream AND e.version = n.version`;
}

function readState(tables: SqlTables, key: StateKey): SqlStatement {
  const { bind, params } = binder();
  return {
    text: `SELECT s.value, s.etag, s.revision, ${EPOCH_MS("s.expires_at")} FROM ${table(tables, tables.state)} AS s WHERE ${keyMatch(bind, key)} AND ${ALIVE}`,
    params,
  };
}

/**
 * One statement per write, and it locks at most the key's row. The `ON CONFLICT` arm of a
 * create-only or last-write-wins insert always locks the row it met, so it sets every column
 * to either the new value or the stored one: its `RETURNING` then shows the etag the server
 * held when it refused, under the row lock, never one from a snapshot that a concurrent
 * commit made stale. (A refused create costs a row version that changes nothing.) A
 * statement that locks exactly one row cannot take part in a deadlock.
 */
function writeState(tables: SqlTables, request: WriteRequest, guard?: number): SqlStatement {
  const { bind, params } = binder();
  const state = table(tables, tables.state);
  const key = request.key;
  const type = bind(key.actorType);
  const id = bind(key.actorId);
  const name = bind(key.stateName);
  const value = `${bind(request.value)}::bytea`;
  const etag = `${bind(request.etag)}::text`;
  const ttl = bind(request.ttlMs ?? null);
  const expires = `CASE WHEN ${ttl}::float8 IS NULL THEN NULL ELSE now() + ${ttl}::float8 * interval '1 millisecond' END`;
  const either = (when: string, then: string, column: string) => `${column} = CASE WHEN ${when} THEN ${then} ELSE s.${column} END`;
  const sets = (when: string, revision: string, source: { value: string; etag: string; expires: string }) =>
    [
      either(when, source.value, "value"),
      either(when, source.etag, "etag"),
      `revision = CASE WHEN ${when} THEN ${revision} ELSE s.revision END`,
      either(when, source.expires, "expires_at"),
      either(when, "now()", "updated_at"),
    ].join(", ");
  const insert = `INSERT INTO ${state} AS s (actor_type, actor_id, state_name, value, etag, revision, expires_at)
VALUES (${type}, ${id}, ${name}, ${value}, ${etag}, 1, ${expires})
ON CONFLICT (actor_type, actor_id, state_name) DO UPDATE SET `;
  const excluded = { value: "excluded.value", etag: "excluded.etag", expires: "excluded.expires_at" };
  let write: string;
  if (request.lastWriteWins) {
    // The same etag stored already is this write, applied by an attempt whose reply was lost.
    write = `${insert}${sets("s.etag <> excluded.etag", `CASE WHEN ${ALIVE} THEN s.revision + 1 ELSE 1 END`, excluded)}`;
  } else if (request.expectedEtag === null) {
    // Create-only: an expired row counts as absent and is replaced; a live one is kept.
    write = `${insert}${sets(`NOT ${ALIVE}`, "1", excluded)}`;
  } else {
    return conditionalWrite(state, { type, id, name, value, etag, expires }, bind(request.expectedEtag), params, bind, guard);
  }
  // After the write the row holds either this write's etag or the one that refused it.
  const rows = `SELECT CASE WHEN a.etag = ${etag} THEN 'written' WHEN a.alive THEN 'conflict' ELSE 'absent' END AS outcome,
  a.revision, CASE WHEN a.alive THEN a.etag END AS etag, a.expires_ms FROM applied AS a`;
  return {
    text: `WITH applied AS (${write}
RETURNING s.etag, s.revision, ${ALIVE} AS alive, ${EPOCH_MS("s.expires_at")} AS expires_ms)
${outcomeRow(rows, "coalesce(o.outcome, 'absent'), o.revision, o.etag, o.expires_ms", ["written"], bind, guard)}`,
    params,
  };
}

/**
 * The conditional write, the hot path under contention. The update locks the row only when
 * the statement's snapshot shows the expected etag, as a plain `UPDATE … WHERE etag = $n`
 * does; a writer whose etag is already stale is refused at once, with the etag of that
 * snapshot, without waiting for anyone's lock. When the update waited for a concurrent writer
 * and then found the etag changed, `latest` re-reads the row `FOR KEY SHARE`, which follows
 * that commit, so the conflict names the etag stored now and never the stale one it expected.
 * A key-share lock neither waits for a writer that holds the row nor holds one up.
 */
function conditionalWrite(
  state: string,
  p: { type: string; id: string; name: string; value: string; etag: string; expires: string },
  expectedParam: string,
  params: SqlParam[],
  bind: (value: SqlParam) => string,
  guard: number | undefined,
): SqlStatement {
  const match = `s.actor_type = ${p.type} AND s.actor_id = ${p.id} AND s.state_name = ${p.name}`;
  const expected = `${expectedParam}::text`;
  const rows = `SELECT 'written' AS outcome, a.revision, NULL::text AS etag, a.expires_ms FROM applied AS a
UNION ALL SELECT CASE WHEN r.etag = ${p.etag} THEN 'written' WHEN r.alive THEN 'conflict' ELSE 'absent' END, r.revision, CASE WHEN r.alive AND r.etag <> ${p.etag} THEN r.etag END, r.expires_ms
FROM (SELECT * FROM latest UNION ALL SELECT * FROM seen WHERE NOT (seen.etag = ${expected} AND seen.alive)) AS r
WHERE NOT EXISTS (SELECT 1 FROM applied)`;
  const columns = (alias: string) => `${alias}.etag, ${alias}.revision, ${ALIVE.replaceAll("s.", `${alias}.`)} AS alive, ${EPOCH_MS(`${alias}.expires_at`)} AS expires_ms`;
  return {
    text: `WITH applied AS (UPDATE ${state} AS s
SET value = ${p.value}, etag = ${p.etag}, revision = s.revision + 1, expires_at = ${p.expires}, updated_at = now()
WHERE ${match} AND s.etag = ${expected} AND ${ALIVE}
RETURNING s.revision, ${EPOCH_MS("s.expires_at")} AS expires_ms),
seen AS (SELECT ${columns("s")} FROM ${state} AS s WHERE ${match} AND NOT EXISTS (SELECT 1 FROM applied)),
latest AS (SELECT ${columns("s")} FROM ${state} AS s
  WHERE ${match} AND EXISTS (SELECT 1 FROM seen WHERE seen.etag = ${expected} AND seen.alive)
  FOR KEY SHARE)
${outcomeRow(rows, "coalesce(o.outcome, 'absent'), o.revision, o.etag, o.expires_ms", ["written"], bind, guard)}`,
    params,
  };
}

function deleteState(tables: SqlTables, request: DeleteRequest, guard?: number): SqlStatement {
  const { bind, params } = binder();
  const state = table(tables, tables.state);
  const match = keyMatch(bind, request.key);
  const ok = ["deleted", "absent"];
  const columns = "coalesce(o.outcome, 'absent'), o.etag";
  if (request.lastWriteWins) {
    const rows = `SELECT CASE WHEN a.alive THEN 'deleted' ELSE 'absent' END AS outcome, NULL::text AS etag FROM applied AS a`;
    return {
      text: `WITH applied AS (DELETE FROM ${state} AS s WHERE ${match} RETURNING ${ALIVE} AS alive) ${outcomeRow(rows, columns, ok, bind, guard)}`,
      params,
    };
  }
  // With `expectedEtag: null` the etag comparison is never true, so nothing is deleted and a
  // live row reads as a conflict, which is what "must not exist" means for a delete.
  const expected = bind(request.expectedEtag);
  const rows = `SELECT CASE WHEN EXISTS (SELECT 1 FROM applied) THEN 'deleted' WHEN l.alive THEN 'conflict' ELSE 'absent' END AS outcome,
  CASE WHEN l.alive THEN l.etag END AS etag FROM locked AS l`;
  return {
    text: `WITH locked AS (SELECT s.etag, ${ALIVE} AS alive FROM ${state} AS s WHERE ${match} FOR UPDATE),
applied AS (DELETE FROM ${state} AS s USING locked AS l WHERE ${match} AND l.alive AND l.etag = ${expected}::text RETURNING 1)
${outcomeRow(rows, columns, ok, bind, guard)}`,
    params,
  };
}

function listState(tables: SqlTables, request: ListRequest, after: readonly [string, string] | undefined, limit: number): SqlStatement {
  const { bind, params } = binder();
  const conditions = [`s.actor_type = ${bind(request.actorType)}`, ALIVE];
  const prefix = request.actorIdPrefix ?? "";
  if (prefix !== "") {
    const placeholder = bind(prefix);
    // The range lets the primary key find the first match; starts_with ends the scan's matches.
    conditions.push(`s.actor_id >= ${placeholder}`, `starts_with(s.actor_id, ${placeholder})`);
  }
  if (after !== undefined) conditions.push(`(s.actor_id, s.state_name) > (${bind(after[0])}, ${bind(after[1])})`);
  return {
    text: `SELECT convert_to(s.actor_id, 'UTF8'), convert_to(s.state_name, 'UTF8') FROM ${table(tables, tables.state)} AS s WHERE ${conditions.join(" AND ")} ORDER BY s.actor_id, s.state_name LIMIT ${bind(limit)}`,
    params,
  };
}

function purgeExpired(tables: SqlTables): SqlStatement {
  return {
    // SKIP LOCKED: rows a writer holds are left for the next purge, so a purge never waits
    // for a writer and can take part in no deadlock.
    text: `WITH doomed AS (SELECT d.actor_type, d.actor_id, d.state_name FROM ${table(tables, tables.state)} AS d WHERE d.expires_at <= now() FOR UPDATE SKIP LOCKED),
purged AS (DELETE FROM ${table(tables, tables.state)} AS s USING doomed AS d
  WHERE s.actor_type = d.actor_type AND s.actor_id = d.actor_id AND s.state_name = d.state_name RETURNING 1)
SELECT count(*) FROM purged`,
    params: [],
  };
}

/**
 * One statement: read the head, take the batch's positions from the counter row, insert. The
 * counter's `UPDATE` locks its row until the append commits, so a later append waits there
 * and takes its positions only after this one is visible: positions are handed out in commit
 * order, and a reader that has seen position p can never meet a smaller one later. The row is
 * locked only when the head matches, so a stale expectation costs no one a wait.
 *
 * The batch size is a parameter and the rows are padded with nulls up to a size class (exact
 * up to 16 events, then powers of two), so a few texts serve every size: each one is prepared
 * once per connection, and an append of any size is then one round trip. An unprepared text
 * costs postgres.js a second round trip to learn its parameter types.
 */
function appendEvents(tables: SqlTables, stream: string, events: readonly NewEvent[], expected: number | null, guard?: number): SqlStatement {
  const { bind, params } = binder();
  const eventsTable = table(tables, tables.events);
  const streamParam = bind(stream);
  const expectedParam = bind(expected);
  const count = `${bind(events.length)}::bigint`;
  // Offsets are literals made here from the loop; every value is a parameter.
  const slots = sizeClass(events.length);
  const rows = Array.from({ length: slots }, (_, index) => {
    const event = events[index];
    return `(${index + 1}, ${bind(event?.type ?? null)}::text, ${bind(event?.data ?? null)}::bytea, ${bind(event?.metadata ?? null)}::bytea)`;
  }).join(", ");
  const matches = `(${expectedParam}::bigint IS NULL OR head.version = ${expectedParam}::bigint)`;
  const guardColumn = guard === undefined
    ? ""
    : `, CASE WHEN ${matches} THEN 0 ELSE CAST(${bind(`${GUARD_MARKER}:${guard}:`)}::text || head.version::text AS integer) END`;
  return {
    text: `WITH head AS (SELECT coalesce(max(e.version), 0)::bigint AS version FROM ${eventsTable} AS e WHERE e.stream = ${streamParam}),
taken AS (
  UPDATE ${table(tables, positionCounterTable(tables))} AS c SET last = c.last + ${count}
  WHERE c.id = 1 AND EXISTS (SELECT 1 FROM head WHERE ${matches})
  RETURNING c.last - ${count} AS base
),
appended AS (
  INSERT INTO ${eventsTable} (stream, version, type, data, metadata, position)
  SELECT ${streamParam}, head.version + batch.ordinal, batch.type, batch.data, batch.metadata, taken.base + batch.ordinal
  FROM head, taken, (VALUES ${rows}) AS batch (ordinal, type, data, metadata)
  WHERE batch.ordinal <= ${count}
  RETURNING position
)
SELECT head.version, (SELECT count(*) FROM appended), (SELECT max(a.position)::text FROM appended AS a)${guardColumn} FROM head`,
    params,
    oneOff: slots > MAX_PREPARED_APPEND,
  };
}

// Above this many events an append's text is not kept prepared: PostgreSQL takes at most
// 65,535 parameters, three per event, and batches this large are rare.
const MAX_PREPARED_APPEND = 16_384;

/** The number of rows an append of `count` events sends: exact up to 16, then a power of two. */
function sizeClass(count: number): number {
  if (count <= 16 || count > MAX_PREPARED_APPEND) return count;
  return 2 ** Math.ceil(Math.log2(count));
}

/** The columns of an event read, after the stream: see `SqlDialect.readEvents`. */
const EVENT_COLUMNS = `e.version, convert_to(e.type, 'UTF8'), e.data, e.metadata, ${EPOCH_MS("e.created_at")}, e.position::text`;

function readEvents(tables: SqlTables, stream: string, fromVersion: number, limit: number): SqlStatement {
  const { bind, params } = binder();
  return {
    text: `SELECT ${EVENT_COLUMNS} FROM ${table(tables, tables.events)} AS e WHERE e.stream = ${bind(stream)} AND e.version >= ${bind(fromVersion)} ORDER BY e.version LIMIT ${bind(limit)}`,
    params,
  };
}

/**
 * A page of the global order. Only committed events are visible, and positions are handed out
 * in commit order (see `appendEvents`), so everything at or below the last position returned
 * is already here. Events without a position (written by format 0.1) wait for `eventSchema`.
 */
function readAllEvents(tables: SqlTables, after: bigint, limit: number): SqlStatement {
  return {
    text: `SELECT convert_to(e.stream, 'UTF8'), ${EVENT_COLUMNS} FROM ${table(tables, tables.events)} AS e WHERE e.position > $1::bigint ORDER BY e.position LIMIT $2`,
    params: [after.toString(), limit],
  };
}

function streamVersion(tables: SqlTables, stream: string): SqlStatement {
  return {
    text: `SELECT coalesce(max(e.version), 0) FROM ${table(tables, tables.events)} AS e WHERE e.stream = $1`,
    params: [stream],
  };
}

function saveSnapshot(tables: SqlTables, stream: string, version: number, data: Uint8Array): SqlStatement {
  return {
    text: `INSERT INTO ${table(tables, tables.snapshots)} AS s (stream, version, data) VALUES ($1, $2, $3::bytea)
ON CONFLICT (stream) DO UPDATE SET version = excluded.version, data = excluded.data, saved_at = now()
WHERE s.version < excluded.version
RETURNING 1`,
    params: [stream, version, data],
  };
}

function loadSnapshot(tables: SqlTables, stream: string): SqlStatement {
  return {
    text: `SELECT s.version, s.data FROM ${table(tables, tables.snapshots)} AS s WHERE s.stream = $1`,
    params: [stream],
  };
}

/**
 * Reads a PostgreSQL error by its SQLSTATE, class first: class 22 (data exception), 23
 * (integrity, besides the unique key) and 54 (program limit) refuse this input for good; 40
 * is contention; 28 and 3D name a configuration mistake. Anything without a SQLSTATE (a
 * refused connection, a timeout) is an outage.
 */
function classify(error: unknown): ErrorKind {
  const candidate = error as { code?: unknown; message?: unknown } | null;
  const code = typeof candidate?.code === "string" && /^[0-9A-Z]{5}$/.test(candidate.code) ? candidate.code : undefined;
  const message = typeof candidate?.message === "string" ? candidate.message : "";
  // The guard's failing cast is a 22P02 too, so look for its marker before the class.
  const guard = code === "22P02" || code === undefined ? parseGuard(message) : undefined;
  if (guard !== undefined) return { kind: "guard", ...guard };
  if (code === undefined) return { kind: "unavailable" };
  if (code === "23505") return { kind: "unique" };
  if (code === "40001" || code === "40P01") return { kind: "contention" };
  if (code === "42P01" || code === "3F000") return { kind: "missing-schema" };
  const sqlClass = code.slice(0, 2);
  if (sqlClass === "22" || sqlClass === "23" || sqlClass === "54") return { kind: "invalid-input", problem: `${message} (SQLSTATE ${code})` };
  if (sqlClass === "28" || sqlClass === "3D" || code === "42501") return { kind: "configuration", problem: `${message} (SQLSTATE ${code})` };
  return { kind: "unavailable" };
}

/** The PostgreSQL dialect: statements for PGlite, postgres.js and Neon. */
export const postgresDialect: SqlDialect = {
  stateSchema,
  eventSchema,
  readState,
  writeState,
  deleteState,
  listState,
  purgeExpired,
  appendEvents,
  readEvents,
  readAllEvents,
  streamVersion,
  saveSnapshot,
  loadSnapshot,
  classify,
  maxParameters: 65_535,
  maxKeyBytes: POSTGRES_MAX_KEY_BYTES,
  maxStreamBytes: POSTGRES_MAX_KEY_BYTES,
};

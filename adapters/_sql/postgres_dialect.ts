/**
 * The PostgreSQL dialect, shared unchanged by the PGlite, postgres.js and Neon adapters.
 * Table layouts are documented in docs/backends/postgres.md.
 *
 * @module
 */

import type { SqlParam, SqlStatement } from "./executor.ts";
import { GUARD_MARKER, parseGuard, type ErrorKind, type SqlDialect, type SqlTables } from "./dialect.ts";
import type { DeleteRequest, ListRequest, StateKey, WriteRequest } from "../../src/storage/types.ts";
import type { NewEvent } from "../../src/events/types.ts";

/** PostgreSQL truncates identifiers at 63 bytes; derived index names add up to 12. */
export const POSTGRES_MAX_IDENTIFIER = 48;

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
const EXPIRES_MS = (column: string) => `floor(extract(epoch FROM ${column}) * 1000)::float8`;

function keyMatch(bind: (value: SqlParam) => string, key: StateKey): string {
  return `s.actor_type = ${bind(key.actorType)} AND s.actor_id = ${bind(key.actorId)} AND s.state_name = ${bind(key.stateName)}`;
}

/**
 * Wraps the outcome union so the statement returns exactly one row, and, with a guard, fails
 * the statement (and so its transaction) when the outcome is not one of `ok`. The failing
 * cast depends on a column, so PostgreSQL cannot fold it into a constant and raise it early.
 */
function outcomeRow(union: string, columns: string, ok: readonly string[], bind: (value: SqlParam) => string, guard?: number): string {
  const guardColumn = guard === undefined
    ? ""
    : `, CASE WHEN o.outcome IN (${ok.map((value) => `'${value}'`).join(", ")}) THEN 0 ELSE CAST(${bind(`${GUARD_MARKER}:${guard}:`)}::text || coalesce(o.outcome, 'absent') AS integer) END AS guard`;
  return `SELECT ${columns}${guardColumn} FROM (SELECT 1) AS one LEFT JOIN (${union}) AS o ON true`;
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
  return [
    { text: `SELECT pg_advisory_xact_lock(${SCHEMA_LOCK_KEY})`, params: [] },
    ...(tables.schema === undefined ? [] : [{ text: `CREATE SCHEMA IF NOT EXISTS ${quote(tables.schema)}`, params: [] }]),
    {
      text: `CREATE TABLE IF NOT EXISTS ${table(tables, tables.events)} (
  stream text COLLATE "C" NOT NULL,
  version bigint NOT NULL,
  type text NOT NULL,
  data bytea NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (stream, version)
)`,
      params: [],
    },
    {
      text: `CREATE TABLE IF NOT EXISTS ${table(tables, tables.snapshots)} (
  stream text COLLATE "C" NOT NULL PRIMARY KEY,
  version bigint NOT NULL,
  data bytea NOT NULL,
  saved_at timestamptz NOT NULL DEFAULT now()
)`,
      params: [],
    },
  ];
}

function readState(tables: SqlTables, key: StateKey): SqlStatement {
  const { bind, params } = binder();
  return {
    text: `SELECT s.value, s.etag, s.revision, ${EXPIRES_MS("s.expires_at")} FROM ${table(tables, tables.state)} AS s WHERE ${keyMatch(bind, key)} AND ${ALIVE}`,
    params,
  };
}

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
  const match = `s.actor_type = ${type} AND s.actor_id = ${id} AND s.state_name = ${name}`;
  const columns = "o.outcome, o.revision, o.etag, o.expires_ms";
  const applied = `SELECT 'written' AS outcome, a.revision, NULL::text AS etag, ${EXPIRES_MS("a.expires_at")} AS expires_ms FROM applied AS a`;
  let write: string;
  let found: string;
  if (request.lastWriteWins) {
    write = `INSERT INTO ${state} AS s (actor_type, actor_id, state_name, value, etag, revision, expires_at)
VALUES (${type}, ${id}, ${name}, ${value}, ${etag}, 1, ${expires})
ON CONFLICT (actor_type, actor_id, state_name) DO UPDATE
SET value = excluded.value, etag = excluded.etag, expires_at = excluded.expires_at, updated_at = now(),
    revision = CASE WHEN ${ALIVE} THEN s.revision + 1 ELSE 1 END
WHERE s.etag <> excluded.etag
RETURNING s.revision, s.expires_at`;
    found = `SELECT CASE WHEN s.etag = ${etag} THEN 'retried' ELSE 'conflict' END, s.revision, s.etag, ${EXPIRES_MS("s.expires_at")}`;
  } else if (request.expectedEtag === null) {
    // Create-only: an expired row counts as absent and is replaced; a live one is left alone.
    write = `INSERT INTO ${state} AS s (actor_type, actor_id, state_name, value, etag, revision, expires_at)
VALUES (${type}, ${id}, ${name}, ${value}, ${etag}, 1, ${expires})
ON CONFLICT (actor_type, actor_id, state_name) DO UPDATE
SET value = excluded.value, etag = excluded.etag, expires_at = excluded.expires_at, updated_at = now(), revision = 1
WHERE NOT ${ALIVE}
RETURNING s.revision, s.expires_at`;
    found = `SELECT CASE WHEN s.etag = ${etag} THEN 'retried' WHEN ${ALIVE} THEN 'conflict' ELSE 'absent' END, s.revision, s.etag, ${EXPIRES_MS("s.expires_at")}`;
  } else {
    write = `UPDATE ${state} AS s
SET value = ${value}, etag = ${etag}, revision = s.revision + 1, expires_at = ${expires}, updated_at = now()
WHERE ${match} AND s.etag = ${bind(request.expectedEtag)}::text AND ${ALIVE}
RETURNING s.revision, s.expires_at`;
    found = `SELECT CASE WHEN s.etag = ${etag} THEN 'retried' WHEN ${ALIVE} THEN 'conflict' ELSE 'absent' END, s.revision, CASE WHEN ${ALIVE} THEN s.etag END, ${EXPIRES_MS("s.expires_at")}`;
  }
  const union = `${applied} UNION ALL ${found} FROM ${state} AS s WHERE ${match} AND NOT EXISTS (SELECT 1 FROM applied)`;
  return {
    text: `WITH applied AS (${write}) ${outcomeRow(union, columns, ["written", "retried"], bind, guard)}`,
    params,
  };
}

function deleteState(tables: SqlTables, request: DeleteRequest, guard?: number): SqlStatement {
  const { bind, params } = binder();
  const state = table(tables, tables.state);
  const match = keyMatch(bind, request.key);
  const ok = ["deleted", "absent"];
  if (request.lastWriteWins) {
    const union = `SELECT CASE WHEN a.alive THEN 'deleted' ELSE 'absent' END AS outcome, NULL::text AS etag FROM applied AS a`;
    return {
      text: `WITH applied AS (DELETE FROM ${state} AS s WHERE ${match} RETURNING ${ALIVE} AS alive) ${outcomeRow(union, "o.outcome, o.etag", ok, bind, guard)}`,
      params,
    };
  }
  // With `expectedEtag: null` the etag comparison is never true, so nothing is deleted and a
  // live row reads as a conflict, which is what "must not exist" means for a delete.
  const expected = bind(request.expectedEtag);
  const union = `SELECT 'deleted' AS outcome, NULL::text AS etag FROM applied
UNION ALL SELECT CASE WHEN ${ALIVE} THEN 'conflict' ELSE 'absent' END, s.etag FROM ${state} AS s WHERE ${match} AND NOT EXISTS (SELECT 1 FROM applied)`;
  return {
    text: `WITH applied AS (DELETE FROM ${state} AS s WHERE ${match} AND s.etag = ${expected}::text AND ${ALIVE} RETURNING 1) ${outcomeRow(union, "o.outcome, o.etag", ok, bind, guard)}`,
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
    text: `SELECT s.actor_id, s.state_name FROM ${table(tables, tables.state)} AS s WHERE ${conditions.join(" AND ")} ORDER BY s.actor_id, s.state_name LIMIT ${bind(limit)}`,
    params,
  };
}

function purgeExpired(tables: SqlTables): SqlStatement {
  return {
    text: `WITH purged AS (DELETE FROM ${table(tables, tables.state)} WHERE expires_at <= now() RETURNING 1) SELECT count(*) FROM purged`,
    params: [],
  };
}

function appendEvents(tables: SqlTables, stream: string, events: readonly NewEvent[], expected: number | null, guard?: number): SqlStatement {
  const { bind, params } = binder();
  const eventsTable = table(tables, tables.events);
  const streamParam = bind(stream);
  const expectedParam = bind(expected);
  // Positions are literals made here from the loop index; every value is a parameter.
  const rows = events.map((event, index) => `(${index + 1}, ${bind(event.type)}::text, ${bind(event.data)}::bytea)`).join(", ");
  const matches = `(${expectedParam}::bigint IS NULL OR head.version = ${expectedParam}::bigint)`;
  const guardColumn = guard === undefined
    ? ""
    : `, CASE WHEN ${matches} THEN 0 ELSE CAST(${bind(`${GUARD_MARKER}:${guard}:`)}::text || head.version::text AS integer) END`;
  return {
    text: `WITH head AS (SELECT coalesce(max(e.version), 0)::bigint AS version FROM ${eventsTable} AS e WHERE e.stream = ${streamParam}),
appended AS (
  INSERT INTO ${eventsTable} (stream, version, type, data)
  SELECT ${streamParam}, head.version + batch.position, batch.type, batch.data
  FROM head, (VALUES ${rows}) AS batch (position, type, data)
  WHERE ${matches}
  RETURNING 1
)
SELECT head.version, (SELECT count(*) FROM appended)${guardColumn} FROM head`,
    params,
    oneOff: events.length > 16,
  };
}

function readEvents(tables: SqlTables, stream: string, fromVersion: number, limit: number): SqlStatement {
  const { bind, params } = binder();
  return {
    text: `SELECT e.version, e.type, e.data FROM ${table(tables, tables.events)} AS e WHERE e.stream = ${bind(stream)} AND e.version >= ${bind(fromVersion)} ORDER BY e.version LIMIT ${bind(limit)}`,
    params,
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

function classify(error: unknown): ErrorKind {
  const candidate = error as { code?: unknown; message?: unknown; sourceError?: unknown } | null;
  const code = typeof candidate?.code === "string" ? candidate.code : undefined;
  const message = typeof candidate?.message === "string" ? candidate.message : "";
  if (code === "23505") return { kind: "unique" };
  if (code === "40001" || code === "40P01") return { kind: "contention" };
  if (code === "42P01") return { kind: "missing-schema" };
  const guard = code === "22P02" || code === undefined ? parseGuard(message) : undefined;
  if (guard !== undefined) return { kind: "guard", ...guard };
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
  streamVersion,
  saveSnapshot,
  loadSnapshot,
  classify,
  maxParameters: 65_535,
};

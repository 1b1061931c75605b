/**
 * The T-SQL dialect for SQL Server. Each operation is one request: a T-SQL batch whose write
 * is a single statement (`UPDATE … WHERE etag = … OUTPUT`, or `MERGE … WITH (HOLDLOCK)`), then
 * a read of the row only to report the outcome. Table layout: docs/backends/mssql.md.
 *
 * SQL Server compares strings ignoring trailing spaces and binary values ignoring trailing
 * zero bytes, so keys are stored as the UTF-8 bytes of the injective key encoding followed by
 * a 0x01 terminator: no two keys compare equal, and byte order gives prefix ranges.
 *
 * @module
 */

import type { SqlParam, SqlStatement } from "../_sql/executor.ts";
import { GUARD_MARKER, parseGuard, positionCounterTable, type ErrorKind, type SqlDialect, type SqlTables } from "../_sql/dialect.ts";
import type { DeleteRequest, ListRequest, StateKey, WriteRequest } from "../../src/storage/types.ts";
import type { NewEvent } from "../../src/events/types.ts";
import { assertKeyWithinLimit, encodeKey, encodeKeyPrefix } from "../../src/storage/keys.ts";

/** SQL Server allows 128-character identifiers; derived constraint names add up to 12. */
export const MSSQL_MAX_IDENTIFIER = 100;

/**
 * The longest key, in UTF-8 bytes of `encodeKey(key)`: the clustered key `key_bytes` is
 * `varbinary(900)` (SQL Server's limit for a clustered index key) and holds the key and a
 * one-byte terminator. A longer key would be cut short, silently, when bound to `@key`.
 */
export const MSSQL_MAX_KEY_BYTES = 899;

/** The longest stream name, in UTF-8 bytes: `stream_key` is `varbinary(850)` with a terminator. */
export const MSSQL_MAX_STREAM_BYTES = 849;

const encoder = new TextEncoder();
const TERMINATOR = 0x01;

function terminated(text: string): Uint8Array {
  const bytes = encoder.encode(text);
  const out = new Uint8Array(bytes.length + 1);
  out.set(bytes);
  out[bytes.length] = TERMINATOR;
  return out;
}

/**
 * The stored key bytes of a state.
 *
 * @throws {InvalidKeyError} When the key is longer than {@linkcode MSSQL_MAX_KEY_BYTES}.
 */
export function stateKeyBytes(key: StateKey): Uint8Array {
  const encoded = encodeKey(key);
  assertKeyWithinLimit("mssql", "key", encoded, MSSQL_MAX_KEY_BYTES);
  return terminated(encoded);
}

/**
 * The stored key bytes of a stream.
 *
 * @throws {InvalidKeyError} When the name is longer than {@linkcode MSSQL_MAX_STREAM_BYTES}.
 */
export function streamKeyBytes(stream: string): Uint8Array {
  assertKeyWithinLimit("mssql", "stream", stream, MSSQL_MAX_STREAM_BYTES);
  return terminated(stream);
}

function quote(name: string): string {
  return `[${name}]`;
}

function table(tables: SqlTables, name: string): string {
  return `${quote(tables.schema ?? "dbo")}.${quote(name)}`;
}

/** The name as a string literal for OBJECT_ID; identifiers are validated plain words. */
function objectName(tables: SqlTables, name: string): string {
  return `N'${table(tables, name)}'`;
}

function binder(): { bind: (value: SqlParam) => string; params: SqlParam[] } {
  const params: SqlParam[] = [];
  return {
    params,
    bind(value) {
      params.push(value);
      return `@p${params.length}`;
    },
  };
}

const HEADER = "SET NOCOUNT ON; SET XACT_ABORT ON; DECLARE @now datetime2(3) = SYSUTCDATETIME();";
const ALIVE = (alias: string) => `(${alias}.expires_at IS NULL OR ${alias}.expires_at > @now)`;
const EXPIRED = (alias: string) => `(${alias}.expires_at IS NOT NULL AND ${alias}.expires_at <= @now)`;
const EPOCH_MS = (expression: string) => `DATEDIFF_BIG(millisecond, CAST('1970-01-01' AS datetime2(3)), ${expression})`;

/**
 * Fails the batch (and so the transaction around it) when the outcome is not one of `ok`. No
 * outcome means no row: absent. The message carries the outcome and the stored etag as hex,
 * read under the statement's own lock, so the caller learns what refused it without reading
 * again after the rollback.
 */
function guardThrow(ok: readonly string[], guard: number | undefined, bind: (value: SqlParam) => string): string {
  const absent = "SET @outcome = COALESCE(@outcome, 'absent');";
  if (guard === undefined) return absent;
  return `${absent}
IF @outcome NOT IN (${ok.map((value) => `'${value}'`).join(", ")})
BEGIN
  DECLARE @guard nvarchar(2000) = CONCAT(${bind(`${GUARD_MARKER}:${guard}:`)}, @outcome, ':', CONVERT(varchar(max), CONVERT(varbinary(max), @etag), 2));
  THROW 50000, @guard, 1;
END;`;
}

function lockSchema(): string {
  // Serialises concurrent `ensureSchema` calls; released when the transaction ends.
  return "EXEC sp_getapplock @Resource = N'quark_schema', @LockMode = N'Exclusive', @LockOwner = N'Transaction', @LockTimeout = 30000;";
}

function stateSchema(tables: SqlTables): SqlStatement[] {
  const state = table(tables, tables.state);
  const schemaStep = tables.schema === undefined
    ? []
    : [{ text: `IF SCHEMA_ID(N'${tables.schema}') IS NULL EXEC(N'CREATE SCHEMA ${quote(tables.schema)}');`, params: [] }];
  return [
    { text: lockSchema(), params: [] },
    ...schemaStep,
    {
      text: `IF OBJECT_ID(${objectName(tables, tables.state)}, N'U') IS NULL
CREATE TABLE ${state} (
  key_bytes varbinary(900) NOT NULL CONSTRAINT ${quote(`${tables.state}_pk`)} PRIMARY KEY CLUSTERED,
  actor_type nvarchar(max) NOT NULL,
  actor_id nvarchar(max) NOT NULL,
  state_name nvarchar(max) NOT NULL,
  [value] varbinary(max) NOT NULL,
  etag varchar(200) COLLATE Latin1_General_100_BIN2 NOT NULL,
  revision bigint NOT NULL,
  expires_at datetime2(3) NULL,
  updated_at datetime2(3) NOT NULL CONSTRAINT ${quote(`${tables.state}_updated`)} DEFAULT SYSUTCDATETIME()
);`,
      params: [],
    },
    {
      text: `IF NOT EXISTS (SELECT 1 FROM sys.indexes WHERE name = N'${tables.state}_expires' AND object_id = OBJECT_ID(${objectName(tables, tables.state)}))
CREATE INDEX ${quote(`${tables.state}_expires`)} ON ${state} (expires_at) WHERE expires_at IS NOT NULL;`,
      params: [],
    },
  ];
}

/**
 * Each statement is its own batch: SQL Server compiles a whole batch before running it, and a
 * batch that names a column added earlier in the same batch fails to compile.
 */
function eventSchema(tables: SqlTables): SqlStatement[] {
  const schemaStep = tables.schema === undefined
    ? []
    : [{ text: `IF SCHEMA_ID(N'${tables.schema}') IS NULL EXEC(N'CREATE SCHEMA ${quote(tables.schema)}');`, params: [] }];
  const events = table(tables, tables.events);
  const eventsName = objectName(tables, tables.events);
  const counterTable = positionCounterTable(tables);
  const counter = table(tables, counterTable);
  const statement = (text: string) => ({ text, params: [] });
  return [
    statement(lockSchema()),
    ...schemaStep,
    statement(`IF OBJECT_ID(${eventsName}, N'U') IS NULL
CREATE TABLE ${events} (
  stream_key varbinary(850) NOT NULL,
  [version] bigint NOT NULL,
  stream nvarchar(max) NOT NULL,
  [type] nvarchar(400) NOT NULL,
  [data] varbinary(max) NOT NULL,
  created_at datetime2(3) NOT NULL CONSTRAINT ${quote(`${tables.events}_created`)} DEFAULT SYSUTCDATETIME(),
  metadata varbinary(max) NULL,
  [position] bigint NULL,
  CONSTRAINT ${quote(`${tables.events}_pk`)} PRIMARY KEY CLUSTERED (stream_key, [version])
);`),
    // Format 0.1 tables had neither column: they are added in place, existing rows kept.
    statement(`IF COL_LENGTH(${eventsName}, 'metadata') IS NULL ALTER TABLE ${events} ADD metadata varbinary(max) NULL;`),
    statement(`IF COL_LENGTH(${eventsName}, 'position') IS NULL ALTER TABLE ${events} ADD [position] bigint NULL;`),
    // Filtered: a unique index of SQL Server counts NULLs as equal to each other.
    statement(`IF NOT EXISTS (SELECT 1 FROM sys.indexes WHERE name = N'${tables.events}_by_position' AND object_id = OBJECT_ID(${eventsName}))
CREATE UNIQUE INDEX ${quote(`${tables.events}_by_position`)} ON ${events} ([position]) WHERE [position] IS NOT NULL;`),
    // Seeded only when created: reading the row later would wait for an append that holds it.
    statement(`IF OBJECT_ID(${objectName(tables, counterTable)}, N'U') IS NULL
BEGIN
  CREATE TABLE ${counter} (
    id tinyint NOT NULL CONSTRAINT ${quote(`${counterTable}_pk`)} PRIMARY KEY CLUSTERED CONSTRAINT ${quote(`${counterTable}_one`)} CHECK (id = 1),
    [last] bigint NOT NULL
  );
  INSERT INTO ${counter} (id, [last]) SELECT 1, COALESCE(MAX(e.[position]), 0) FROM ${events} AS e;
END;`),
    statement(backfillPositions(events, counter)),
    statement(`IF OBJECT_ID(${objectName(tables, tables.snapshots)}, N'U') IS NULL
CREATE TABLE ${table(tables, tables.snapshots)} (
  stream_key varbinary(900) NOT NULL CONSTRAINT ${quote(`${tables.snapshots}_pk`)} PRIMARY KEY CLUSTERED,
  stream nvarchar(max) NOT NULL,
  [version] bigint NOT NULL,
  [data] varbinary(max) NOT NULL,
  saved_at datetime2(3) NOT NULL CONSTRAINT ${quote(`${tables.snapshots}_saved`)} DEFAULT SYSUTCDATETIME()
);`),
  ];
}

/**
 * Gives events written without a position (by format 0.1, or by a writer of that version still
 * running during an upgrade) the next positions, under the counter's lock like an append, so
 * they land after every position handed out so far. Their order follows each stream's running
 * maximum of `created_at`, which keeps a stream's version order. Rows that appear between the
 * count and the numbering are left for the next run.
 */
function backfillPositions(events: string, counter: string): string {
  return `SET NOCOUNT ON; SET XACT_ABORT ON;
DECLARE @missing bigint = (SELECT COUNT_BIG(*) FROM ${events} WHERE [position] IS NULL), @last bigint;
IF @missing > 0
BEGIN
  DECLARE @numbered TABLE (stream_key varbinary(850) NOT NULL, [version] bigint NOT NULL, ordinal bigint NOT NULL, PRIMARY KEY (stream_key, [version]));
  UPDATE ${counter} WITH (ROWLOCK) SET @last = [last] = [last] + @missing WHERE id = 1;
  INSERT INTO @numbered (stream_key, [version], ordinal)
  SELECT TOP (@missing) u.stream_key, u.[version], ROW_NUMBER() OVER (ORDER BY u.settled, u.stream_key, u.[version])
  FROM (
    SELECT e.stream_key, e.[version], MAX(e.created_at) OVER (PARTITION BY e.stream_key ORDER BY e.[version] ROWS UNBOUNDED PRECEDING) AS settled
    FROM ${events} AS e WHERE e.[position] IS NULL
  ) AS u
  ORDER BY u.settled, u.stream_key, u.[version];
  UPDATE e SET [position] = @last - @missing + n.ordinal FROM ${events} AS e JOIN @numbered AS n ON e.stream_key = n.stream_key AND e.[version] = n.[version];
END;`;
}

function readState(tables: SqlTables, key: StateKey): SqlStatement {
  const { bind, params } = binder();
  return {
    text: `${HEADER}
DECLARE @key varbinary(900) = ${bind(stateKeyBytes(key))};
SELECT s.[value], s.etag, s.revision, ${EPOCH_MS("s.expires_at")} FROM ${table(tables, tables.state)} AS s WHERE s.key_bytes = @key AND ${ALIVE("s")};`,
    params,
  };
}

/**
 * One statement per write, which always updates the row it matched: every column is set to
 * either the new value or the stored one. `OUTPUT` then shows the etag the row holds after
 * the statement, under the statement's own lock: the request's etag when written, or the one
 * that refused it. A refused write costs an update that changes nothing.
 */
function writeState(tables: SqlTables, request: WriteRequest, guard?: number): SqlStatement {
  const { bind, params } = binder();
  const state = table(tables, tables.state);
  const key = request.key;
  const declarations = `${HEADER}
DECLARE @key varbinary(900) = ${bind(stateKeyBytes(key))};
DECLARE @actor_type nvarchar(max) = ${bind(key.actorType)}, @actor_id nvarchar(max) = ${bind(key.actorId)}, @state_name nvarchar(max) = ${bind(key.stateName)};
DECLARE @value varbinary(max) = ${bind(request.value)};
DECLARE @new_etag varchar(200) = ${bind(request.etag)};
DECLARE @ttl bigint = ${bind(request.ttlMs === undefined ? null : Math.ceil(request.ttlMs))};
DECLARE @expires datetime2(3) = CASE WHEN @ttl IS NULL THEN NULL ELSE DATEADD(millisecond, CAST(@ttl % 1000 AS int), DATEADD(second, CAST(@ttl / 1000 AS int), @now)) END;
DECLARE @out TABLE (etag varchar(200) COLLATE Latin1_General_100_BIN2, revision bigint, expires_at datetime2(3));
DECLARE @outcome varchar(10), @revision bigint, @etag varchar(200), @stored_expires datetime2(3);`;
  const insertColumns = "(key_bytes, actor_type, actor_id, state_name, [value], etag, revision, expires_at)";
  const insertValues = "(@key, @actor_type, @actor_id, @state_name, @value, @new_etag, 1, @expires)";
  const either = (when: string, then: string, column: string) => `${column} = CASE WHEN ${when} THEN ${then} ELSE s.${column} END`;
  const sets = (when: string, revision: string) =>
    [
      either(when, "@value", "[value]"),
      either(when, "@new_etag", "etag"),
      `revision = CASE WHEN ${when} THEN ${revision} ELSE s.revision END`,
      either(when, "@expires", "expires_at"),
      either(when, "@now", "updated_at"),
    ].join(", ");
  const output = "OUTPUT inserted.etag, inserted.revision, inserted.expires_at INTO @out";
  // HOLDLOCK makes MERGE hold a key-range lock from its check to its write, so two creators
  // cannot both see "not matched" (Microsoft documents MERGE alone as not safe for this).
  const merge = (when: string, revision: string) =>
    `MERGE ${state} WITH (HOLDLOCK) AS s
USING (SELECT @key AS key_bytes) AS src ON s.key_bytes = src.key_bytes
WHEN MATCHED THEN UPDATE SET ${sets(when, revision)}
WHEN NOT MATCHED THEN INSERT ${insertColumns} VALUES ${insertValues}
${output};`;
  let write: string;
  if (request.lastWriteWins) {
    // The same etag stored already is this write, applied by an attempt whose reply was lost.
    write = merge("s.etag <> @new_etag", `CASE WHEN ${ALIVE("s")} THEN s.revision + 1 ELSE 1 END`);
  } else if (request.expectedEtag === null) {
    // Create-only: an expired row counts as absent and is replaced; a live one is kept.
    write = merge(EXPIRED("s"), "1");
  } else {
    write = `DECLARE @expected varchar(200) = ${bind(request.expectedEtag)};
UPDATE s SET ${sets(`s.etag = @expected AND ${ALIVE("s")}`, "s.revision + 1")}
${output}
FROM ${state} AS s WITH (ROWLOCK)
WHERE s.key_bytes = @key;`;
  }
  return {
    text: `${declarations}
${write}
SELECT TOP (1) @outcome = CASE WHEN o.etag = @new_etag THEN 'written' WHEN ${ALIVE("o")} THEN 'conflict' ELSE 'absent' END,
  @revision = o.revision, @etag = CASE WHEN o.etag <> @new_etag AND ${ALIVE("o")} THEN o.etag END, @stored_expires = o.expires_at
FROM @out AS o;
${guardThrow(["written"], guard, bind)}
SELECT @outcome, @revision, @etag, ${EPOCH_MS("@stored_expires")};`,
    params,
  };
}

/**
 * A conditional delete takes an update lock on the key's row first (waiting for a concurrent
 * writer and then reading its commit), and deletes it if the etag still matches, all in one
 * transaction. Racing deletes of one etag therefore find the row gone and report `absent`.
 */
function deleteState(tables: SqlTables, request: DeleteRequest, guard?: number): SqlStatement {
  const { bind, params } = binder();
  const state = table(tables, tables.state);
  const head = `${HEADER}
DECLARE @key varbinary(900) = ${bind(stateKeyBytes(request.key))};
DECLARE @out TABLE (alive bit);
DECLARE @outcome varchar(10), @etag varchar(200), @alive bit;`;
  const ok = ["deleted", "absent"];
  if (request.lastWriteWins) {
    return {
      text: `${head}
DELETE FROM ${state} OUTPUT CASE WHEN ${ALIVE("deleted")} THEN 1 ELSE 0 END INTO @out WHERE key_bytes = @key;
SELECT @outcome = CASE WHEN EXISTS (SELECT 1 FROM @out WHERE alive = 1) THEN 'deleted' ELSE 'absent' END;
${guardThrow(ok, guard, bind)}
SELECT @outcome, @etag;`,
      params,
    };
  }
  return {
    text: `${head}
DECLARE @expected varchar(200) = ${bind(request.expectedEtag)};
BEGIN TRANSACTION;
SELECT @etag = s.etag, @alive = CASE WHEN ${ALIVE("s")} THEN 1 ELSE 0 END FROM ${state} AS s WITH (UPDLOCK, ROWLOCK) WHERE s.key_bytes = @key;
IF @alive = 1 AND @etag = @expected COLLATE Latin1_General_100_BIN2
BEGIN
  DELETE FROM ${state} WHERE key_bytes = @key;
  SET @outcome = 'deleted';
END
ELSE SET @outcome = CASE WHEN @alive = 1 THEN 'conflict' ELSE 'absent' END;
COMMIT TRANSACTION;
SET @etag = CASE WHEN @outcome = 'conflict' THEN @etag END;
${guardThrow(ok, guard, bind)}
SELECT @outcome, @etag;`,
    params,
  };
}

function successor(bytes: Uint8Array): Uint8Array {
  // UTF-8 never contains 0xFF, so incrementing the last byte cannot carry.
  const out = bytes.slice();
  out[out.length - 1] = out[out.length - 1]! + 1;
  return out;
}

function listState(tables: SqlTables, request: ListRequest, after: readonly [string, string] | undefined, limit: number): SqlStatement {
  const { bind, params } = binder();
  const low = encoder.encode(encodeKeyPrefix(request.actorType, request.actorIdPrefix ?? ""));
  const conditions = [`s.key_bytes >= ${bind(low)}`, `s.key_bytes < ${bind(successor(low))}`, ALIVE("s")];
  if (after !== undefined) {
    conditions.push(`s.key_bytes > ${bind(stateKeyBytes({ actorType: request.actorType, actorId: after[0], stateName: after[1] }))}`);
  }
  return {
    text: `${HEADER}
SELECT TOP (${bind(limit)}) s.actor_id, s.state_name FROM ${table(tables, tables.state)} AS s WHERE ${conditions.join(" AND ")} ORDER BY s.key_bytes;`,
    params,
  };
}

function purgeExpired(tables: SqlTables): SqlStatement {
  return {
    text: `${HEADER}
-- READPAST skips rows a writer holds: they wait for the next purge, and a purge never waits.
DELETE FROM ${table(tables, tables.state)} WITH (READPAST) WHERE expires_at <= @now;
SELECT @@ROWCOUNT;`,
    params: [],
  };
}

/**
 * UPDLOCK + HOLDLOCK on the stream's key range makes concurrent appenders to one stream queue
 * behind each other from the head read to the insert, so versions stay gap-free. The batch's
 * positions come from the counter row, whose exclusive lock the `UPDATE` holds until the
 * transaction commits: a later append waits there and takes its positions only after this one
 * committed, so positions are handed out in commit order. The counter is always the last lock
 * an append takes, and only once its head matched.
 */
function appendEvents(tables: SqlTables, stream: string, events: readonly NewEvent[], expected: number | null, guard?: number): SqlStatement {
  const { bind, params } = binder();
  const eventsTable = table(tables, tables.events);
  const streamKey = bind(streamKeyBytes(stream));
  const streamName = bind(stream);
  const expectedParam = bind(expected);
  // A NULL parameter is bound as nvarchar, which SQL Server will not turn into varbinary by itself.
  const rows = events
    .map((event, index) => `(${index + 1}, ${bind(event.type)}, ${bind(event.data)}, CAST(${bind(event.metadata ?? null)} AS varbinary(max)))`)
    .join(", ");
  const count = events.length;
  const guardStep = guard === undefined
    ? ""
    : `IF @expected IS NOT NULL AND @head <> @expected
BEGIN
  DECLARE @guard nvarchar(200) = CONCAT(${bind(`${GUARD_MARKER}:${guard}:`)}, @head);
  THROW 50000, @guard, 1;
END;`;
  return {
    text: `${HEADER}
DECLARE @stream_key varbinary(850) = ${streamKey}, @stream nvarchar(max) = ${streamName}, @expected bigint = ${expectedParam};
DECLARE @head bigint, @inserted bigint = 0, @last bigint;
BEGIN TRANSACTION;
SELECT @head = COALESCE(MAX(e.[version]), 0) FROM ${eventsTable} AS e WITH (UPDLOCK, HOLDLOCK) WHERE e.stream_key = @stream_key;
${guardStep}
IF @expected IS NULL OR @head = @expected
BEGIN
  UPDATE ${table(tables, positionCounterTable(tables))} WITH (ROWLOCK) SET @last = [last] = [last] + ${count} WHERE id = 1;
  INSERT INTO ${eventsTable} (stream_key, [version], stream, [type], [data], metadata, [position])
  SELECT @stream_key, @head + batch.ordinal, @stream, batch.[type], batch.[data], batch.metadata, @last - ${count} + batch.ordinal
  FROM (VALUES ${rows}) AS batch (ordinal, [type], [data], metadata);
  SET @inserted = @@ROWCOUNT;
END;
COMMIT TRANSACTION;
SELECT @head, @inserted, CASE WHEN @inserted > 0 THEN CAST(@last AS varchar(20)) END;`,
    params,
  };
}

/** The columns of an event read, after the stream: see `SqlDialect.readEvents`. */
const EVENT_COLUMNS = `e.[version], e.[type], e.[data], e.metadata, ${EPOCH_MS("e.created_at")}, CAST(e.[position] AS varchar(20))`;

function readEvents(tables: SqlTables, stream: string, fromVersion: number, limit: number): SqlStatement {
  return {
    text: `${HEADER}
SELECT TOP (@p3) ${EVENT_COLUMNS} FROM ${table(tables, tables.events)} AS e
WHERE e.stream_key = CAST(@p1 AS varbinary(850)) AND e.[version] >= @p2 ORDER BY e.[version];`,
    params: [streamKeyBytes(stream), fromVersion, limit],
  };
}

/**
 * A page of the global order. Positions are handed out in commit order (see `appendEvents`):
 * whether the database reads committed rows by locking or by row versions, everything at or
 * below the last position returned has committed. `IS NOT NULL` lets the filtered index serve
 * a parameterised range.
 */
function readAllEvents(tables: SqlTables, after: bigint, limit: number): SqlStatement {
  return {
    text: `${HEADER}
SELECT TOP (@p2) e.stream, ${EVENT_COLUMNS} FROM ${table(tables, tables.events)} AS e
WHERE e.[position] IS NOT NULL AND e.[position] > CAST(@p1 AS bigint) ORDER BY e.[position];`,
    params: [after.toString(), limit],
  };
}

function streamVersion(tables: SqlTables, stream: string): SqlStatement {
  return {
    text: `${HEADER}
SELECT COALESCE(MAX(e.[version]), 0) FROM ${table(tables, tables.events)} AS e WHERE e.stream_key = CAST(@p1 AS varbinary(850));`,
    params: [streamKeyBytes(stream)],
  };
}

function saveSnapshot(tables: SqlTables, stream: string, version: number, data: Uint8Array): SqlStatement {
  return {
    text: `${HEADER}
DECLARE @stream_key varbinary(900) = @p1;
MERGE ${table(tables, tables.snapshots)} WITH (HOLDLOCK) AS s
USING (SELECT @stream_key AS stream_key) AS source ON s.stream_key = source.stream_key
WHEN MATCHED AND s.[version] < @p3 THEN UPDATE SET [version] = @p3, [data] = @p4, saved_at = @now
WHEN NOT MATCHED THEN INSERT (stream_key, stream, [version], [data]) VALUES (@stream_key, @p2, @p3, @p4)
OUTPUT 1 AS saved;`,
    params: [streamKeyBytes(stream), stream, version, data],
  };
}

function loadSnapshot(tables: SqlTables, stream: string): SqlStatement {
  return {
    text: `${HEADER}
SELECT s.[version], s.[data] FROM ${table(tables, tables.snapshots)} AS s WHERE s.stream_key = CAST(@p1 AS varbinary(900));`,
    params: [streamKeyBytes(stream)],
  };
}

// SQL Server errors that refuse this input for good: truncation (8152, 2628), conversion and
// overflow (245, 8114, 8115, 220, 232, 517, 242), NULL into a NOT NULL column (515), an index
// key too large (1946, 1942), a constraint (547).
const INVALID_INPUT = new Set([8152, 2628, 245, 8114, 8115, 220, 232, 517, 242, 515, 1946, 1942, 547]);
// Login failed, no such database, permission denied.
const CONFIGURATION = new Set([18456, 4060, 229, 230, 262]);

function classify(error: unknown): ErrorKind {
  const candidate = error as { number?: unknown; message?: unknown; originalError?: { info?: { number?: unknown } } } | null;
  const number = typeof candidate?.number === "number" ? candidate.number : candidate?.originalError?.info?.number;
  const message = typeof candidate?.message === "string" ? candidate.message : "";
  const guard = parseGuard(message);
  if (guard !== undefined) return { kind: "guard", ...guard };
  if (number === 2627 || number === 2601) return { kind: "unique" };
  // 1205: chosen as deadlock victim; 3960: snapshot isolation update conflict.
  if (number === 1205 || number === 3960) return { kind: "contention" };
  if (number === 208) return { kind: "missing-schema" };
  if (typeof number === "number" && INVALID_INPUT.has(number)) return { kind: "invalid-input", problem: `${message} (error ${number})` };
  if (typeof number === "number" && CONFIGURATION.has(number)) return { kind: "configuration", problem: `${message} (error ${number})` };
  return { kind: "unavailable" };
}

/** The T-SQL dialect for SQL Server 2016 and later. */
export const mssqlDialect: SqlDialect = {
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
  maxParameters: 2_100,
  maxKeyBytes: MSSQL_MAX_KEY_BYTES,
  maxStreamBytes: MSSQL_MAX_STREAM_BYTES,
};

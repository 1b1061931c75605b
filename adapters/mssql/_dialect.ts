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
import { GUARD_MARKER, parseGuard, type ErrorKind, type SqlDialect, type SqlTables } from "../_sql/dialect.ts";
import type { DeleteRequest, ListRequest, StateKey, WriteRequest } from "../../src/storage/types.ts";
import type { NewEvent } from "../../src/events/types.ts";
import { encodeKey, encodeKeyPrefix } from "../../src/storage/keys.ts";

/** SQL Server allows 128-character identifiers; derived constraint names add up to 12. */
export const MSSQL_MAX_IDENTIFIER = 100;

const encoder = new TextEncoder();
const TERMINATOR = 0x01;

function terminated(text: string): Uint8Array {
  const bytes = encoder.encode(text);
  const out = new Uint8Array(bytes.length + 1);
  out.set(bytes);
  out[bytes.length] = TERMINATOR;
  return out;
}

/** The stored key bytes of a state. */
export function stateKeyBytes(key: StateKey): Uint8Array {
  return terminated(encodeKey(key));
}

/** The stored key bytes of a stream. */
export function streamKeyBytes(stream: string): Uint8Array {
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
const EPOCH_MS = (expression: string) => `DATEDIFF_BIG(millisecond, CAST('1970-01-01' AS datetime2(3)), ${expression})`;

function guardThrow(ok: readonly string[], guard: number | undefined, bind: (value: SqlParam) => string): string {
  if (guard === undefined) return "";
  return `IF @outcome IS NULL OR @outcome NOT IN (${ok.map((value) => `'${value}'`).join(", ")})
BEGIN
  DECLARE @guard nvarchar(200) = CONCAT(${bind(`${GUARD_MARKER}:${guard}:`)}, COALESCE(@outcome, 'absent'));
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

function eventSchema(tables: SqlTables): SqlStatement[] {
  const schemaStep = tables.schema === undefined
    ? []
    : [{ text: `IF SCHEMA_ID(N'${tables.schema}') IS NULL EXEC(N'CREATE SCHEMA ${quote(tables.schema)}');`, params: [] }];
  return [
    { text: lockSchema(), params: [] },
    ...schemaStep,
    {
      text: `IF OBJECT_ID(${objectName(tables, tables.events)}, N'U') IS NULL
CREATE TABLE ${table(tables, tables.events)} (
  stream_key varbinary(850) NOT NULL,
  [version] bigint NOT NULL,
  stream nvarchar(max) NOT NULL,
  [type] nvarchar(400) NOT NULL,
  [data] varbinary(max) NOT NULL,
  created_at datetime2(3) NOT NULL CONSTRAINT ${quote(`${tables.events}_created`)} DEFAULT SYSUTCDATETIME(),
  CONSTRAINT ${quote(`${tables.events}_pk`)} PRIMARY KEY CLUSTERED (stream_key, [version])
);`,
      params: [],
    },
    {
      text: `IF OBJECT_ID(${objectName(tables, tables.snapshots)}, N'U') IS NULL
CREATE TABLE ${table(tables, tables.snapshots)} (
  stream_key varbinary(900) NOT NULL CONSTRAINT ${quote(`${tables.snapshots}_pk`)} PRIMARY KEY CLUSTERED,
  stream nvarchar(max) NOT NULL,
  [version] bigint NOT NULL,
  [data] varbinary(max) NOT NULL,
  saved_at datetime2(3) NOT NULL CONSTRAINT ${quote(`${tables.snapshots}_saved`)} DEFAULT SYSUTCDATETIME()
);`,
      params: [],
    },
  ];
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
DECLARE @out TABLE (revision bigint, expires_at datetime2(3));
DECLARE @outcome varchar(10), @revision bigint, @etag varchar(200), @stored_expires datetime2(3);`;
  const insertColumns = "(key_bytes, actor_type, actor_id, state_name, [value], etag, revision, expires_at)";
  const insertValues = "(@key, @actor_type, @actor_id, @state_name, @value, @new_etag, 1, @expires)";
  let write: string;
  if (request.lastWriteWins) {
    write = `MERGE ${state} WITH (HOLDLOCK) AS s
USING (SELECT @key AS key_bytes) AS src ON s.key_bytes = src.key_bytes
WHEN MATCHED AND s.etag <> @new_etag THEN
  UPDATE SET [value] = @value, etag = @new_etag, expires_at = @expires, updated_at = @now,
    revision = CASE WHEN ${ALIVE("s")} THEN s.revision + 1 ELSE 1 END
WHEN NOT MATCHED THEN INSERT ${insertColumns} VALUES ${insertValues}
OUTPUT inserted.revision, inserted.expires_at INTO @out;`;
  } else if (request.expectedEtag === null) {
    // HOLDLOCK makes MERGE hold a key-range lock from its check to its write, so two creators
    // cannot both see "not matched" (Microsoft documents MERGE alone as not safe for this).
    write = `MERGE ${state} WITH (HOLDLOCK) AS s
USING (SELECT @key AS key_bytes) AS src ON s.key_bytes = src.key_bytes
WHEN MATCHED AND s.expires_at IS NOT NULL AND s.expires_at <= @now AND s.etag <> @new_etag THEN
  UPDATE SET [value] = @value, etag = @new_etag, expires_at = @expires, updated_at = @now, revision = 1
WHEN NOT MATCHED THEN INSERT ${insertColumns} VALUES ${insertValues}
OUTPUT inserted.revision, inserted.expires_at INTO @out;`;
  } else {
    write = `DECLARE @expected varchar(200) = ${bind(request.expectedEtag)};
UPDATE s SET [value] = @value, etag = @new_etag, revision = s.revision + 1, expires_at = @expires, updated_at = @now
OUTPUT inserted.revision, inserted.expires_at INTO @out
FROM ${state} AS s
WHERE s.key_bytes = @key AND s.etag = @expected AND ${ALIVE("s")};`;
  }
  return {
    text: `${declarations}
${write}
IF EXISTS (SELECT 1 FROM @out)
  SELECT TOP (1) @outcome = 'written', @revision = revision, @stored_expires = expires_at FROM @out;
ELSE
  SELECT @outcome = CASE WHEN s.etag = @new_etag THEN 'retried' WHEN ${ALIVE("s")} THEN 'conflict' ELSE 'absent' END,
    @revision = s.revision, @etag = CASE WHEN ${ALIVE("s")} THEN s.etag END, @stored_expires = s.expires_at
  FROM ${state} AS s WHERE s.key_bytes = @key;
${guardThrow(["written", "retried"], guard, bind)}
SELECT @outcome, @revision, @etag, ${EPOCH_MS("@stored_expires")};`,
    params,
  };
}

function deleteState(tables: SqlTables, request: DeleteRequest, guard?: number): SqlStatement {
  const { bind, params } = binder();
  const state = table(tables, tables.state);
  const head = `${HEADER}
DECLARE @key varbinary(900) = ${bind(stateKeyBytes(request.key))};
DECLARE @out TABLE (alive bit);
DECLARE @outcome varchar(10), @etag varchar(200);`;
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
DELETE s OUTPUT 1 INTO @out FROM ${state} AS s WHERE s.key_bytes = @key AND s.etag = @expected AND ${ALIVE("s")};
IF EXISTS (SELECT 1 FROM @out)
  SET @outcome = 'deleted';
ELSE
  SELECT @outcome = CASE WHEN ${ALIVE("s")} THEN 'conflict' ELSE 'absent' END, @etag = s.etag FROM ${state} AS s WHERE s.key_bytes = @key;
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
DELETE FROM ${table(tables, tables.state)} WHERE expires_at <= @now;
SELECT @@ROWCOUNT;`,
    params: [],
  };
}

function appendEvents(tables: SqlTables, stream: string, events: readonly NewEvent[], expected: number | null, guard?: number): SqlStatement {
  const { bind, params } = binder();
  const eventsTable = table(tables, tables.events);
  const streamKey = bind(streamKeyBytes(stream));
  const streamName = bind(stream);
  const expectedParam = bind(expected);
  const rows = events.map((event, index) => `(${index + 1}, ${bind(event.type)}, ${bind(event.data)})`).join(", ");
  const guardStep = guard === undefined
    ? ""
    : `IF @expected IS NOT NULL AND @head <> @expected
BEGIN
  DECLARE @guard nvarchar(200) = CONCAT(${bind(`${GUARD_MARKER}:${guard}:`)}, @head);
  THROW 50000, @guard, 1;
END;`;
  // UPDLOCK + HOLDLOCK on the stream's key range makes concurrent appenders to one stream
  // queue behind each other from the head read to the insert, so versions stay gap-free.
  return {
    text: `${HEADER}
DECLARE @stream_key varbinary(850) = ${streamKey}, @stream nvarchar(max) = ${streamName}, @expected bigint = ${expectedParam};
DECLARE @head bigint, @inserted bigint = 0;
BEGIN TRANSACTION;
SELECT @head = COALESCE(MAX(e.[version]), 0) FROM ${eventsTable} AS e WITH (UPDLOCK, HOLDLOCK) WHERE e.stream_key = @stream_key;
${guardStep}
IF @expected IS NULL OR @head = @expected
BEGIN
  INSERT INTO ${eventsTable} (stream_key, [version], stream, [type], [data])
  SELECT @stream_key, @head + batch.[position], @stream, batch.[type], batch.[data]
  FROM (VALUES ${rows}) AS batch ([position], [type], [data]);
  SET @inserted = @@ROWCOUNT;
END;
COMMIT TRANSACTION;
SELECT @head, @inserted;`,
    params,
  };
}

function readEvents(tables: SqlTables, stream: string, fromVersion: number, limit: number): SqlStatement {
  return {
    text: `${HEADER}
SELECT TOP (@p3) e.[version], e.[type], e.[data] FROM ${table(tables, tables.events)} AS e
WHERE e.stream_key = CAST(@p1 AS varbinary(850)) AND e.[version] >= @p2 ORDER BY e.[version];`,
    params: [streamKeyBytes(stream), fromVersion, limit],
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

function classify(error: unknown): ErrorKind {
  const candidate = error as { number?: unknown; message?: unknown; originalError?: { info?: { number?: unknown } } } | null;
  const number = typeof candidate?.number === "number" ? candidate.number : candidate?.originalError?.info?.number;
  const message = typeof candidate?.message === "string" ? candidate.message : "";
  if (number === 2627 || number === 2601) return { kind: "unique" };
  if (number === 1205) return { kind: "contention" };
  if (number === 208) return { kind: "missing-schema" };
  const guard = parseGuard(message);
  if (guard !== undefined) return { kind: "guard", ...guard };
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
  streamVersion,
  saveSnapshot,
  loadSnapshot,
  classify,
  maxParameters: 2_100,
};

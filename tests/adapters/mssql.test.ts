import { test } from "node:test";
import assert from "node:assert/strict";
import process from "node:process";
import { MSSQL_MAX_KEY_BYTES, mssqlDialect, stateKeyBytes, streamKeyBytes } from "../../adapters/mssql/_dialect.ts";
import { resolveTables } from "../../adapters/_sql/dialect.ts";
import { encodeKey } from "../../src/storage/keys.ts";
import { isQuarkError } from "../../src/errors.ts";
import { mssqlEventStore, mssqlStorage, type MssqlPool } from "../../adapters/mssql/mod.ts";
import { runContentionConformance, runLeaseConformance, runEventStoreConformance, runStorageConformance } from "../../src/testing/mod.ts";
import { sqlEventStore } from "../../adapters/_sql/event_store.ts";
import { registerSqlAdapterCases } from "./_sql_cases.ts";
import { registerSqlGlobalOrderCases } from "./_sql_global_order.ts";

// No SQL Server can run on the machine this project is built on, so these run only where
// MSSQL_URL points at one (docker/mssql/compose.yaml, .github/workflows/mssql.yml).
const url = process.env.MSSQL_URL;

if (url === undefined) {
  const reason = "MSSQL_URL is not set (no SQL Server here; start one with docker compose -f docker/mssql/compose.yaml up)";
  console.log(`SKIP mssql: ${reason}`);
  test(`mssql conformance (skipped: ${reason})`, { skip: reason }, () => {});
} else {
  const driverModule = "mssql";
  // deno-lint-ignore no-explicit-any
  const sql: any = ((await import(driverModule)) as { default?: unknown }).default ?? (await import(driverModule));
  const pool = await new sql.ConnectionPool(url).connect();
  const shared = pool as unknown as MssqlPool;
  await mssqlStorage({ pool: shared }).ensureSchema();
  await mssqlEventStore({ pool: shared }).ensureSchema();

  const raw = async (text: string, params?: readonly unknown[]) => {
    const request = pool.request();
    request.arrayRowMode = true;
    (params ?? []).forEach((value: unknown, index: number) => request.input(`p${index + 1}`, value));
    const result = await request.query(text);
    return (result.recordset ?? []) as unknown as unknown[][];
  };

  runStorageConformance(test, { name: "mssql", open: () => mssqlStorage({ pool: shared }) });
  runContentionConformance(test, { name: "mssql", open: () => mssqlStorage({ pool: shared }) });
  runLeaseConformance(test, { name: "mssql", open: () => mssqlStorage({ pool: shared }) });
  runEventStoreConformance(test, { name: "mssql", open: () => mssqlEventStore({ pool: shared }) });

  registerSqlAdapterCases(test, {
    name: "mssql",
    dialect: "mssql",
    storage: (options) => mssqlStorage({ pool: shared, ...options }),
    eventStore: (options) => mssqlEventStore({ pool: shared, ...options }),
    raw,
    countingStorage: () => {
      let statements = 0;
      const counted: MssqlPool = {
        request: () => {
          statements++;
          return pool.request() as never;
        },
        close: async () => {},
      };
      return { storage: mssqlStorage({ pool: counted }), statements: () => statements };
    },
    deadStorage: () => mssqlStorage({ url: "Server=127.0.0.1,1;Database=quark;User Id=sa;Password=x;Encrypt=false;Connect Timeout=3" }),
  });

  registerSqlGlobalOrderCases(test, {
    name: "mssql",
    dialect: "mssql",
    eventStore: (options) => mssqlEventStore({ pool: shared, ...options }),
    raw,
  });

  test("mssql: the shared pool closes after the cases", async () => {
    await pool.close();
  });
}

// No SQL Server runs here, so these check the T-SQL and the parameters the dialect builds,
// and what the storage sends to a pool that records requests instead of running them.
test("mssql unit: keys over 899 bytes and streams over 849 are refused before binding, never truncated", async () => {
  const atLimit = { actorType: "t", actorId: `${"\u00e9".repeat(447)}x`, stateName: "s" };
  assert.equal(new TextEncoder().encode(encodeKey(atLimit)).byteLength, 899);
  assert.equal(stateKeyBytes(atLimit).byteLength, 900, "the key and its terminator fill varbinary(900)");
  const over = { ...atLimit, actorId: `${atLimit.actorId}x` };
  assert.throws(() => stateKeyBytes(over), (error: unknown) => isQuarkError(error, "INVALID_KEY") && (error as { limit?: number }).limit === MSSQL_MAX_KEY_BYTES);
  assert.equal(streamKeyBytes("s".repeat(849)).byteLength, 850);
  assert.throws(() => streamKeyBytes("s".repeat(850)), (error: unknown) => isQuarkError(error, "INVALID_KEY"));
  const tables = resolveTables({}, 100);
  assert.throws(() => mssqlDialect.writeState(tables, { key: over, value: new Uint8Array([1]), etag: "e", expectedEtag: null }), (error: unknown) => isQuarkError(error, "INVALID_KEY"));
  assert.throws(() => mssqlDialect.appendEvents(tables, "s".repeat(850), [{ type: "E", data: new Uint8Array() }], null), (error: unknown) => isQuarkError(error, "INVALID_KEY"));

  let requests = 0;
  const pool: MssqlPool = { request: () => { requests++; throw new Error("no server here"); }, close: async () => {} };
  const storage = mssqlStorage({ pool });
  assert.equal(storage.capabilities.maxKeyBytes, MSSQL_MAX_KEY_BYTES);
  for (const attempt of [() => storage.read(over), () => storage.write({ key: over, value: new Uint8Array([1]), etag: "e", expectedEtag: null }), () => storage.delete({ key: over, lastWriteWins: true })]) {
    await assert.rejects(attempt(), (error: unknown) => isQuarkError(error, "INVALID_KEY"));
  }
  const events = mssqlEventStore({ pool });
  await assert.rejects(events.append("s".repeat(850), [{ type: "E", data: new Uint8Array() }], "any"), (error: unknown) => isQuarkError(error, "INVALID_KEY"));
  assert.equal(requests, 0, "nothing reached the pool");
});

test("mssql unit: a guarded delete of an absent state passes its guard; a conflict's guard carries the etag", () => {
  const tables = resolveTables({}, 100);
  const key = { actorType: "t", actorId: "1", stateName: "s" };
  for (const request of [{ key, expectedEtag: "e1" }, { key, expectedEtag: null }, { key, lastWriteWins: true as const }]) {
    const { text } = mssqlDialect.deleteState(tables, request, 3);
    // No row leaves @outcome NULL: it must read as absent, which the guard lets through.
    assert.match(text, /SET @outcome = COALESCE\(@outcome, 'absent'\);\s*IF @outcome NOT IN \('deleted', 'absent'\)/);
    assert.doesNotMatch(text, /@outcome IS NULL OR/);
  }
  const write = mssqlDialect.writeState(tables, { key, value: new Uint8Array([1]), etag: "e2", expectedEtag: "e1" }, 0);
  assert.match(write.text, /CONCAT\(@p\d+, @outcome, ':', CONVERT\(varchar\(max\), CONVERT\(varbinary\(max\), @etag\), 2\)\)/);
  assert.ok(write.params.includes("quark_guard:0:"));
  // The conditional update matches the key alone and keeps the stored row when the etag differs,
  // so its OUTPUT shows the etag that refused it.
  assert.match(write.text, /UPDATE s SET \[value\] = CASE WHEN s\.etag = @expected AND .* THEN @value ELSE s\.\[value\] END/);
  assert.match(write.text, /WHERE s\.key_bytes = @key;/);
  assert.match(mssqlDialect.deleteState(tables, { key, expectedEtag: "e1" }).text, /WITH \(UPDLOCK, ROWLOCK\)/);
  // Variables and table variables take the database's collation, often case-insensitive:
  // etags compare byte for byte, as the etag column does.
  assert.match(write.text, /DECLARE @out TABLE \(etag varchar\(200\) COLLATE Latin1_General_100_BIN2/);
  assert.match(mssqlDialect.deleteState(tables, { key, expectedEtag: "e1" }).text, /@etag = @expected COLLATE Latin1_General_100_BIN2/);
  assert.match(mssqlDialect.purgeExpired(tables).text, /WITH \(READPAST\)/);
});

test("mssql unit: deadlock victims are contention, refused input is InvalidInputError", () => {
  const kind = (number: number) => mssqlDialect.classify(Object.assign(new Error(`error ${number}`), { number })).kind;
  assert.equal(kind(1205), "contention");
  assert.equal(kind(2627), "unique");
  for (const number of [8152, 2628, 8115, 517, 515]) assert.equal(kind(number), "invalid-input", String(number));
  assert.equal(kind(18456), "configuration");
  assert.equal(kind(208), "missing-schema");
  assert.equal(mssqlDialect.classify(Object.assign(new Error("x"), { code: "ESOCKET" })).kind, "unavailable");
});

test("mssql unit: an append takes its positions from the counter last, under a lock held to commit; long batches fit 2,100 parameters", async () => {
  const tables = resolveTables({}, 100);
  const { text, params } = mssqlDialect.appendEvents(tables, "s", [{ type: "A", data: new Uint8Array([1]) }, { type: "B", data: new Uint8Array([2]), metadata: new Uint8Array([3]) }], 4);
  // The counter is the last lock an append takes, only once its head matched, inside the
  // transaction that commits the events: a later append takes its positions after this commit.
  const head = text.indexOf("WITH (UPDLOCK, HOLDLOCK)");
  const counter = text.indexOf("UPDATE [dbo].[quark_events_position] WITH (ROWLOCK) SET @last = [last] = [last] + 2 WHERE id = 1;");
  const commit = text.indexOf("COMMIT TRANSACTION;");
  assert.ok(head > 0 && counter > head && commit > counter, text);
  assert.match(text, /IF @expected IS NULL OR @head = @expected\s+BEGIN\s+UPDATE \[dbo\]\.\[quark_events_position\]/);
  assert.match(text, /@last - 2 \+ batch\.ordinal/);
  assert.match(text, /\(1, @p4, @p5, CAST\(@p6 AS varbinary\(max\)\)\), \(2, @p7, @p8, CAST\(@p9 AS varbinary\(max\)\)\)/, "metadata, bound as nvarchar when NULL, is cast to varbinary");
  assert.deepEqual(params.slice(-2), [new Uint8Array([2]), new Uint8Array([3])]);
  assert.equal(params[5], null, "the first event has no metadata");

  // A batch longer than one request binds goes as chunks in one transaction, each within the limit.
  const sent: { text: string; params: readonly unknown[] }[][] = [];
  const store = sqlEventStore({
    name: "mssql",
    dialect: mssqlDialect,
    tables,
    executor: async () => ({
      query: () => Promise.reject(new Error("a long batch must not go as one request")),
      batch: async (statements) => {
        sent.push([...statements]);
        return statements.map((_, index) => [[0, 697, String((index + 1) * 697)]]);
      },
      close: async () => {},
    }),
    autoCreateSchema: false,
  });
  const events = Array.from({ length: 1_394 }, () => ({ type: "E", data: new Uint8Array([1]), metadata: new Uint8Array([2]) }));
  const result = await store.append("long", events, "no_stream");
  assert.equal(sent.length, 1, "one transaction");
  assert.equal(sent[0]!.length, 2);
  for (const statement of sent[0]!) assert.ok(statement.params.length <= 2_100, `${statement.params.length} parameters`);
  assert.equal(result.lastPosition, 1_394n, "the last chunk's last position");
});

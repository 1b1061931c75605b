// Cases every SQL adapter runs besides the conformance suites: identifier validation and
// quoting, explicit schema creation, TTL purge, one statement per write, transactions that
// apply nothing on conflict, and a dead server. Each adapter's test file calls this once.
import assert from "node:assert/strict";
import { inspect } from "node:util";
import { sqlStorage, type SqlStateStorage } from "../../adapters/_sql/storage.ts";
import { parseGuard, resolveTables } from "../../adapters/_sql/dialect.ts";
import { POSTGRES_MAX_KEY_BYTES, postgresDialect } from "../../adapters/_sql/postgres_dialect.ts";
import type { SqlExecutor, SqlRow, SqlStatement } from "../../adapters/_sql/executor.ts";
import { endpointOf } from "../../adapters/_sql/errors.ts";
import { loadDriverPackage } from "../../adapters/_shared/driver.ts";
import type { ContentionRetryOptions } from "../../adapters/_sql/retry.ts";
import type { SqlEventStore } from "../../adapters/_sql/event_store.ts";
import type { SqlTableOptions } from "../../adapters/_sql/dialect.ts";
import { isQuarkError } from "../../src/errors.ts";
import type { TestRegistrar } from "../../src/testing/mod.ts";

export interface SqlAdapterCases {
  /** The adapter's name, as its storages report it. */
  readonly name: string;
  /** Opens a storage on the test database with extra options. */
  readonly storage: (options: SqlTableOptions & { autoCreateSchema?: boolean }) => SqlStateStorage;
  /** Opens an event store on the test database with extra options. */
  readonly eventStore: (options: SqlTableOptions & { autoCreateSchema?: boolean }) => SqlEventStore;
  /** Runs SQL directly on the test database (placeholders `$1` or `@p1`), rows as arrays. */
  readonly raw: (text: string, params?: readonly unknown[]) => Promise<unknown[][]>;
  /** A storage whose driver counts the statements it is given. */
  readonly countingStorage: () => { storage: SqlStateStorage; statements: () => number };
  /** A storage pointed at a server that is not there. */
  readonly deadStorage: () => SqlStateStorage | Promise<SqlStateStorage>;
  /** How the dialect quotes an identifier and counts rows of a table, for checks. */
  readonly dialect?: "postgres" | "mssql";
  /** What the dead storage's errors must name: the endpoint it tried, and the root cause. */
  readonly deadMessage?: RegExp;
}

const uid = () => crypto.randomUUID().slice(0, 8);
const bytes = (...values: number[]) => Uint8Array.from(values);

export function registerSqlAdapterCases(test: TestRegistrar, cases: SqlAdapterCases): void {
  const { name } = cases;
  const mssql = cases.dialect === "mssql";
  const quote = (identifier: string) => (mssql ? `[${identifier}]` : `"${identifier}"`);
  const dropTable = (table: string) => cases.raw(mssql ? `DROP TABLE IF EXISTS ${quote(table)}` : `DROP TABLE IF EXISTS ${quote(table)}`);

  test(`${name}: table names that are not plain identifiers are refused`, async () => {
    for (const stateTable of ['quark"; DROP TABLE quark_state; --', "1table", "a-b", "a b", "", "x".repeat(200), "ünïcødé"]) {
      assert.throws(() => cases.storage({ stateTable }), (error: unknown) => isQuarkError(error, "CONFIGURATION"), JSON.stringify(stateTable));
    }
    assert.throws(() => cases.eventStore({ eventsTable: "e; DELETE" }), (error: unknown) => isQuarkError(error, "CONFIGURATION"));
    assert.throws(() => cases.eventStore({ schema: "public.x" }), (error: unknown) => isQuarkError(error, "CONFIGURATION"));
  });

  test(`${name}: ensureSchema creates quoted, case-kept table names; autoCreateSchema is opt-in`, async () => {
    const suffix = uid();
    const stateTable = `Custom_State_${suffix}`;
    const eventsTable = `Custom_Events_${suffix}`;
    const snapshotsTable = `Custom_Snapshots_${suffix}`;
    const key = { actorType: "t", actorId: "1", stateName: "s" };
    const storage = cases.storage({ stateTable, autoCreateSchema: false });
    const events = cases.eventStore({ eventsTable, snapshotsTable, autoCreateSchema: false });
    try {
      await assert.rejects(storage.read(key), (error: unknown) => isQuarkError(error, "CONFIGURATION") && /ensureSchema/.test((error as Error).message));
      await assert.rejects(events.version("s"), (error: unknown) => isQuarkError(error, "CONFIGURATION") && (error as Error).message.includes(name));
      await storage.ensureSchema();
      await storage.ensureSchema();
      await events.ensureSchema();
      await storage.write({ key, value: bytes(1), etag: crypto.randomUUID(), expectedEtag: null });
      await events.append("s", [{ type: "E", data: bytes(2) }], "no_stream");
      await events.saveSnapshot("s", { version: 1, data: bytes(3) });
      const stateRows = await cases.raw(`SELECT count(*) FROM ${quote(stateTable)}`);
      assert.equal(Number(stateRows[0]![0]), 1, "the row is in the case-kept table");
      const eventRows = await cases.raw(`SELECT count(*) FROM ${quote(eventsTable)}`);
      assert.equal(Number(eventRows[0]![0]), 1);
      const auto = cases.storage({ stateTable: `Auto_${suffix}`, autoCreateSchema: true });
      await auto.write({ key, value: bytes(1), etag: crypto.randomUUID(), expectedEtag: null });
      await auto.close();
    } finally {
      await storage.close();
      await events.close();
      for (const table of [stateTable, eventsTable, `${eventsTable}_position`, snapshotsTable, `Auto_${suffix}`]) await dropTable(table);
    }
  });

  test(`${name}: a single-state write is exactly one statement`, async () => {
    const { storage, statements } = cases.countingStorage();
    try {
      const key = { actorType: `trips-${uid()}`, actorId: "1", stateName: "s" };
      await storage.read(key);
      const counts: number[] = [];
      let etag: string | null = null;
      for (let index = 0; index < 5; index++) {
        const before = statements();
        const next: string = crypto.randomUUID();
        await storage.write(etag === null ? { key, value: bytes(index), etag: next, expectedEtag: null } : { key, value: bytes(index), etag: next, expectedEtag: etag });
        counts.push(statements() - before);
        etag = next;
      }
      const before = statements();
      await assert.rejects(storage.write({ key, value: bytes(9), etag: crypto.randomUUID(), expectedEtag: crypto.randomUUID() }));
      const conflictStatements = statements() - before;
      assert.deepEqual(counts, [1, 1, 1, 1, 1], "statements per write");
      assert.equal(conflictStatements, 1, "a conflict is reported by the write statement itself");
    } finally {
      await storage.close();
    }
  });

  test(`${name}: purgeExpired deletes expired rows that reads already hid`, async () => {
    const storage = cases.storage({});
    try {
      const actorType = `purge-${uid()}`;
      await storage.write({ key: { actorType, actorId: "short", stateName: "s" }, value: bytes(1), etag: crypto.randomUUID(), expectedEtag: null, ttlMs: 1 });
      await storage.write({ key: { actorType, actorId: "long", stateName: "s" }, value: bytes(2), etag: crypto.randomUUID(), expectedEtag: null, ttlMs: 600_000 });
      await new Promise((resolve) => setTimeout(resolve, 50));
      assert.equal(await storage.read({ actorType, actorId: "short", stateName: "s" }), null);
      assert.deepEqual((await storage.list({ actorType })).keys.map((key) => key.actorId), ["long"]);
      assert.ok((await storage.purgeExpired()) >= 1);
      const rows = await cases.raw(`SELECT actor_id FROM ${quote("quark_state")} WHERE actor_type = ${mssql ? "@p1" : "$1"}`, [actorType]);
      assert.deepEqual(rows.map((row) => row[0]), ["long"]);
    } finally {
      await storage.close();
    }
  });

  test(`${name}: a transaction with one stale etag applies nothing and names that state`, async () => {
    const storage = cases.storage({});
    try {
      const actorType = `tx-${uid()}`;
      const a = { actorType, actorId: "a", stateName: "s" };
      const b = { actorType, actorId: "b", stateName: "s" };
      const first = await storage.write({ key: a, value: bytes(1), etag: crypto.randomUUID(), expectedEtag: null });
      const results = await storage.transact([
        { kind: "write", key: a, value: bytes(2), etag: crypto.randomUUID(), expectedEtag: first.etag },
        { kind: "write", key: b, value: bytes(3), etag: crypto.randomUUID(), expectedEtag: null },
      ]);
      assert.equal(results[0]?.revision, 2);
      assert.equal(results[1]?.revision, 1);
      await assert.rejects(
        storage.transact([
          { kind: "write", key: b, value: bytes(4), etag: crypto.randomUUID(), expectedEtag: results[1]!.etag },
          { kind: "write", key: a, value: bytes(5), etag: crypto.randomUUID(), expectedEtag: first.etag },
          { kind: "delete", key: { actorType, actorId: "c", stateName: "s" }, lastWriteWins: true },
        ]),
        (error: unknown) => isQuarkError(error, "STATE_CONFLICT") && (error as { key?: { actorId?: string } }).key?.actorId === "a",
      );
      assert.deepEqual((await storage.read(b))?.value, bytes(3), "the first operation was rolled back");
      assert.deepEqual((await storage.read(a))?.value, bytes(2));
    } finally {
      await storage.close();
    }
  });

  test(`${name}: values that are not strings never reach SQL`, async () => {
    const storage = cases.storage({});
    try {
      const key = { actorType: `types-${uid()}`, actorId: "1", stateName: "s" };
      await storage.write({ key, value: bytes(1), etag: crypto.randomUUID(), expectedEtag: null });
      await assert.rejects(storage.write({ key, value: bytes(2), etag: crypto.randomUUID(), expectedEtag: { $ne: null } as unknown as string }), TypeError);
      await assert.rejects(storage.read({ ...key, actorId: 7 as unknown as string }), TypeError);
      await assert.rejects(storage.delete({ key, expectedEtag: ["x"] as unknown as string }), TypeError);
      assert.deepEqual((await storage.read(key))?.value, bytes(1));
    } finally {
      await storage.close();
    }
  });

  test(`${name}: input the server refuses for good is InvalidInputError, and the errors carry no state bytes`, async () => {
    const storage = cases.storage({});
    const events = cases.eventStore({});
    const secret = new TextEncoder().encode("SECRET-STATE-BYTES");
    const leaks = ["SECRET-STATE", "5345435245542d5354415445", "53 45 43 52", "83, 69, 67, 82"];
    const refused = (what: string) => (error: unknown) => {
      assert.ok(isQuarkError(error, "INVALID_INPUT"), `${what}: got ${String(error)}`);
      assert.ok((error as Error).message.includes(name), (error as Error).message);
      const seen = inspect(error, { showHidden: true, depth: 10 });
      for (const leak of leaks) assert.ok(!seen.includes(leak), `${what}: the error shows ${leak}`);
      return true;
    };
    try {
      const key = { actorType: `input-${uid()}`, actorId: "1", stateName: "s" };
      // Three hundred million years: out of range for every timestamp type.
      await assert.rejects(storage.write({ key, value: secret, etag: crypto.randomUUID(), expectedEtag: null, ttlMs: 1e19 }), refused("a TTL out of range"));
      if (!mssql) {
        // PostgreSQL text holds no NUL (22021); SQL Server's nvarchar does.
        await assert.rejects(storage.write({ key, value: secret, etag: "etag\0with-nul", expectedEtag: null }), refused("an etag with NUL"));
        await assert.rejects(events.append(`input-${uid()}`, [{ type: "Bad\0Type", data: secret }], "any"), refused("an event type with NUL"));
      }
      assert.equal(await storage.read(key), null, "nothing was stored");
    } finally {
      await storage.close();
      await events.close();
    }
  });

  test(`${name}: an unreachable server gives StorageUnavailableError naming the backend`, async () => {
    const storage = await cases.deadStorage();
    try {
      const key = { actorType: "t", actorId: "1", stateName: "s" };
      for (const attempt of [() => storage.read(key), () => storage.write({ key, value: bytes(1), etag: crypto.randomUUID(), expectedEtag: null })]) {
        await assert.rejects(attempt(), (error: unknown) => {
          assert.ok(isQuarkError(error, "STORAGE_UNAVAILABLE"), `got ${String(error)}`);
          assert.ok((error as Error).message.includes(name), (error as Error).message);
          if (cases.deadMessage) assert.match((error as Error).message, cases.deadMessage);
          assert.ok((error as Error).cause !== undefined, "the driver error is kept as cause");
          return true;
        });
      }
    } finally {
      await storage.close();
    }
  });
}

/**
 * Cases of the shared SQL layer that need no server: a fake executor stands in for the
 * driver, so they check what the layer sends and how it reads what comes back.
 */
export function registerSqlUnitCases(test: TestRegistrar): void {
  const tables = resolveTables({}, 48);
  const key = (actorId: string) => ({ actorType: "unit", actorId, stateName: "s" });
  const failing = (code: string, message = `failed with ${code}`) => Object.assign(new Error(message), { code });

  function fakeStorage(behaviour: { query?: (statement: SqlStatement) => SqlRow[]; batch?: (statements: readonly SqlStatement[]) => SqlRow[][] }, retry?: ContentionRetryOptions) {
    const sent: SqlStatement[][] = [];
    const executor: SqlExecutor = {
      query: async (statement) => {
        sent.push([statement]);
        return behaviour.query!(statement);
      },
      batch: async (statements) => {
        sent.push([...statements]);
        return behaviour.batch!(statements);
      },
      close: async () => {},
    };
    const storage = sqlStorage({ name: "unit", dialect: postgresDialect, tables, executor: async () => executor, autoCreateSchema: false, contentionRetry: { baseDelayMs: 0, ...retry } });
    return { storage, sent };
  }

  test("sql unit: a transaction takes its row locks in key order, whatever order it was given", async () => {
    const { storage, sent } = fakeStorage({ batch: (statements) => statements.map((_, index) => [["written", index + 1, null, null]]) });
    const ids = ["m", "b", "z", "a", "\u00e9", "B"];
    const results = await storage.transact(ids.map((id) => ({ kind: "write" as const, key: key(id), value: bytes(1), etag: `etag-${id}`, lastWriteWins: true as const })));
    const lockedIds = sent[0]!.map((statement) => statement.params[1]);
    assert.deepEqual(lockedIds, ["B", "a", "b", "m", "z", "\u00e9"], "statements in UTF-8 byte order of the encoded key");
    // Results come back in the caller's order, each with its own statement's revision.
    assert.deepEqual(results.map((result) => result?.etag), ids.map((id) => `etag-${id}`));
    assert.deepEqual(results.map((result) => result?.revision), [4, 3, 5, 2, 6, 1]);
  });

  test("sql unit: deadlocks and serialization failures are retried, then end in ContentionError", async () => {
    let calls = 0;
    const flaky = fakeStorage({
      query: () => {
        calls++;
        if (calls <= 2) throw failing(calls === 1 ? "40P01" : "40001");
        return [["written", 1, null, null]];
      },
    });
    assert.equal((await flaky.storage.write({ key: key("1"), value: bytes(1), etag: "e1", expectedEtag: null })).revision, 1);
    assert.equal(calls, 3, "two aborted attempts, then the one that succeeded");

    const hopeless = fakeStorage({ query: () => { throw failing("40P01", "deadlock detected"); }, batch: () => { throw failing("40P01", "deadlock detected"); } }, { maxAttempts: 3 });
    for (const attempt of [
      () => hopeless.storage.write({ key: key("1"), value: bytes(1), etag: "e1", lastWriteWins: true }),
      () => hopeless.storage.transact([{ kind: "delete", key: key("1"), lastWriteWins: true }, { kind: "delete", key: key("2"), lastWriteWins: true }]),
    ]) {
      const before = hopeless.sent.length;
      await assert.rejects(attempt(), (error: unknown) => {
        assert.ok(isQuarkError(error, "CONTENTION"), String(error));
        assert.equal((error as { attempts?: number }).attempts, 3);
        assert.equal(((error as Error).cause as { code?: string }).code, "40P01");
        return true;
      });
      assert.equal(hopeless.sent.length - before, 3, "exactly maxAttempts attempts");
    }
    assert.throws(() => sqlStorage({ name: "unit", dialect: postgresDialect, tables, executor: async () => ({} as SqlExecutor), autoCreateSchema: false, contentionRetry: { maxAttempts: 0 } }), (error: unknown) => isQuarkError(error, "CONFIGURATION"));
  });

  test("sql unit: a refused transaction names the etag its guard read under the lock, not one read after", async () => {
    const { storage, sent } = fakeStorage({
      batch: () => {
        throw failing("22P02", `invalid input syntax for type integer: "quark_guard:1:conflict:${Array.from(new TextEncoder().encode("stored-etag"), (byte) => byte.toString(16).padStart(2, "0")).join("")}"`);
      },
    });
    await assert.rejects(
      storage.transact([
        { kind: "write", key: key("b"), value: bytes(1), etag: "new-b", expectedEtag: "old-b" },
        { kind: "write", key: key("a"), value: bytes(1), etag: "new-a", expectedEtag: null },
      ]),
      (error: unknown) => {
        assert.ok(isQuarkError(error, "STATE_CONFLICT"), String(error));
        const conflict = error as unknown as { key: { actorId: string }; expectedEtag: string | null; actualEtag: string | null | undefined };
        // Position 1 in lock order is key b, the caller's first operation.
        assert.equal(conflict.key.actorId, "b");
        assert.equal(conflict.expectedEtag, "old-b");
        assert.equal(conflict.actualEtag, "stored-etag");
        return true;
      },
    );
    assert.equal(sent.length, 1, "nothing is read after the rollback");
    assert.deepEqual(parseGuard('"quark_guard:0:absent:"'), { index: 0, detail: "absent", etag: null });
  });

  test("sql unit: PostgreSQL errors are read by SQLSTATE class", async () => {
    const kinds = Object.fromEntries(["22021", "22003", "22008", "22P05", "54000", "23502", "23514", "40001", "40P01", "23505", "28P01", "3D000", "42P01", "57P01", "08006"]
      .map((code) => [code, postgresDialect.classify(failing(code)).kind]));
    assert.deepEqual(kinds, {
      "22021": "invalid-input", "22003": "invalid-input", "22008": "invalid-input", "22P05": "invalid-input", "54000": "invalid-input",
      "23502": "invalid-input", "23514": "invalid-input", "40001": "contention", "40P01": "contention", "23505": "unique",
      "28P01": "configuration", "3D000": "configuration", "42P01": "missing-schema", "57P01": "unavailable", "08006": "unavailable",
    });
    assert.equal(postgresDialect.classify(failing("ECONNREFUSED")).kind, "unavailable", "a Node network code is no SQLSTATE");
  });

  test("sql unit: permanent input errors are InvalidInputError, and no error carries the statement's values", async () => {
    const secret = new TextEncoder().encode("SECRET-STATE-BYTES");
    const { storage } = fakeStorage({
      query: (statement) => {
        // What postgres.js and PGlite attach to their errors: the text and every parameter.
        throw Object.assign(failing("54000", "index row requires 9000 bytes, maximum size is 8191"), {
          query: statement.text,
          parameters: statement.params,
          params: statement.params,
          detail: "Failing row contains (unit, 1, s, \\x5345435245542d5354415445).",
        });
      },
    });
    await assert.rejects(storage.write({ key: key("1"), value: secret, etag: "e1", expectedEtag: null }), (error: unknown) => {
      assert.ok(isQuarkError(error, "INVALID_INPUT"), String(error));
      assert.match((error as Error).message, /index row requires 9000 bytes/);
      const seen = inspect(error, { showHidden: true, depth: 10 });
      for (const leak of ["SECRET-STATE", "5345435245542d5354415445", "53 45 43 52", "83, 69, 67, 82"]) assert.ok(!seen.includes(leak), `the error shows ${leak}: ${seen}`);
      return true;
    });
  });

  test("sql unit: keys over the backend's limit and malformed keys are refused before anything is sent", async () => {
    const { storage, sent } = fakeStorage({ query: () => [] });
    assert.equal(storage.capabilities.maxKeyBytes, POSTGRES_MAX_KEY_BYTES);
    const long = key("x".repeat(POSTGRES_MAX_KEY_BYTES));
    for (const attempt of [
      () => storage.read(long),
      () => storage.write({ key: long, value: bytes(1), etag: "e", expectedEtag: null }),
      () => storage.delete({ key: long, lastWriteWins: true }),
      () => storage.transact([{ kind: "delete", key: long, lastWriteWins: true }]),
      () => storage.read(key("a\0b")),
      () => storage.list({ actorType: "unit", actorIdPrefix: "\ud800" }),
    ]) {
      await assert.rejects(attempt(), (error: unknown) => isQuarkError(error, "INVALID_KEY"));
    }
    assert.equal(sent.length, 0);
  });

  test("sql unit: a missing driver package is a ConfigurationError naming the install command", async () => {
    // What Node says when the optional peer dependency was never installed.
    const simulated = Object.assign(new Error("Cannot find package 'postgres' imported from /app/node_modules/@quark/persistence/dist/adapters/postgres/mod.js"), { code: "ERR_MODULE_NOT_FOUND" });
    await assert.rejects(loadDriverPackage("postgres", "postgres", () => Promise.reject(simulated)), (error: unknown) => {
      assert.ok(isQuarkError(error, "CONFIGURATION"), String(error));
      assert.match((error as Error).message, /npm install postgres/);
      return true;
    });
    assert.equal(endpointOf("postgres://quark:secret@127.0.0.1:15432/quark", 5432), "127.0.0.1:15432");
  });
}

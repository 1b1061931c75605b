// Cases every SQL adapter runs besides the conformance suites: identifier validation and
// quoting, explicit schema creation, TTL purge, one statement per write, transactions that
// apply nothing on conflict, and a dead server. Each adapter's test file calls this once.
import assert from "node:assert/strict";
import type { SqlStateStorage } from "../../adapters/_sql/storage.ts";
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
      for (const table of [stateTable, eventsTable, snapshotsTable, `Auto_${suffix}`]) await dropTable(table);
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

  test(`${name}: an unreachable server gives StorageUnavailableError naming the backend`, async () => {
    const storage = await cases.deadStorage();
    try {
      const key = { actorType: "t", actorId: "1", stateName: "s" };
      for (const attempt of [() => storage.read(key), () => storage.write({ key, value: bytes(1), etag: crypto.randomUUID(), expectedEtag: null })]) {
        await assert.rejects(attempt(), (error: unknown) => {
          assert.ok(isQuarkError(error, "STORAGE_UNAVAILABLE"), `got ${String(error)}`);
          assert.ok((error as Error).message.includes(name), (error as Error).message);
          assert.ok((error as Error).cause !== undefined, "the driver error is kept as cause");
          return true;
        });
      }
    } finally {
      await storage.close();
    }
  });
}

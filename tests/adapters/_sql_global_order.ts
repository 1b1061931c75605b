// Cases of the SQL event stores' global order besides the conformance suite: a table of
// format 0.1 upgraded in place, a chunked append's positions, and the gap problem (a slow
// transaction that took its position first commits after a later append) on a real server.
import assert from "node:assert/strict";
import postgres from "postgres";
import { sqlEventStore, type SqlEventStore } from "../../adapters/_sql/event_store.ts";
import { positionCounterTable, resolveTables, type SqlTableOptions } from "../../adapters/_sql/dialect.ts";
import { postgresDialect } from "../../adapters/_sql/postgres_dialect.ts";
import type { SqlParam } from "../../adapters/_sql/executor.ts";
import type { GlobalEvent } from "../../src/events/types.ts";
import type { TestRegistrar } from "../../src/testing/mod.ts";

export interface SqlGlobalOrderCases {
  /** The adapter's name, for the case names. */
  readonly name: string;
  /** Opens an event store on the test database with extra options. */
  readonly eventStore: (options: SqlTableOptions & { autoCreateSchema?: boolean }) => SqlEventStore;
  /** Runs SQL directly on the test database (placeholders `$1` or `@p1`), rows as arrays. */
  readonly raw: (text: string, params?: readonly unknown[]) => Promise<unknown[][]>;
  /** The dialect of `raw`. */
  readonly dialect?: "postgres" | "mssql";
}

const uid = () => crypto.randomUUID().slice(0, 8);
const encoder = new TextEncoder();
const decoder = new TextDecoder();

async function readAll(store: SqlEventStore, after?: bigint): Promise<GlobalEvent[]> {
  const events: GlobalEvent[] = [];
  for await (const event of store.readAll({ after })) events.push(event);
  return events;
}

/** The events table exactly as format 0.1 created it, and a row as its appends wrote it. */
function formatV01(mssql: boolean, eventsTable: string) {
  if (mssql) {
    return {
      create: `CREATE TABLE [${eventsTable}] (stream_key varbinary(850) NOT NULL, [version] bigint NOT NULL, stream nvarchar(max) NOT NULL,
  [type] nvarchar(400) NOT NULL, [data] varbinary(max) NOT NULL,
  created_at datetime2(3) NOT NULL CONSTRAINT [${eventsTable}_created] DEFAULT SYSUTCDATETIME(),
  CONSTRAINT [${eventsTable}_pk] PRIMARY KEY CLUSTERED (stream_key, [version]))`,
      // Stream names here are ASCII, so varchar bytes are their UTF-8; 0x01 ends a stream key.
      insert: (stream: string, version: number, createdAt: string) =>
        `INSERT INTO [${eventsTable}] (stream_key, [version], stream, [type], [data], created_at)
VALUES (CAST('${stream}' AS varbinary(850)) + 0x01, ${version}, N'${stream}', N'Old', CAST('${stream}.${version}' AS varbinary(max)), '${createdAt}')`,
      drop: (table: string) => `DROP TABLE IF EXISTS [${table}]`,
    };
  }
  return {
    create: `CREATE TABLE "${eventsTable}" (stream text COLLATE "C" NOT NULL, version bigint NOT NULL, type text NOT NULL, data bytea NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (stream, version))`,
    insert: (stream: string, version: number, createdAt: string) =>
      `INSERT INTO "${eventsTable}" (stream, version, type, data, created_at) VALUES ('${stream}', ${version}, 'Old', convert_to('${stream}.${version}', 'UTF8'), '${createdAt}')`,
    drop: (table: string) => `DROP TABLE IF EXISTS "${table}"`,
  };
}

export function registerSqlGlobalOrderCases(test: TestRegistrar, cases: SqlGlobalOrderCases): void {
  const { name } = cases;
  const mssql = cases.dialect === "mssql";

  test(`${name}: an events table of format 0.1 is upgraded in place; its events read, and get positions after every earlier one`, async () => {
    const eventsTable = `Old_Events_${uid()}`;
    const snapshotsTable = `Old_Snapshots_${uid()}`;
    const old = formatV01(mssql, eventsTable);
    const options = { eventsTable, snapshotsTable, autoCreateSchema: false };
    const store = cases.eventStore(options);
    const again = cases.eventStore(options);
    try {
      await cases.raw(old.create);
      // Stream a's second append ran in a transaction whose clock read earlier than its
      // first's commit: the upgrade still numbers a's events in version order.
      await cases.raw(old.insert("a", 1, "2026-01-01T10:00:02.000Z"));
      await cases.raw(old.insert("a", 2, "2026-01-01T10:00:01.000Z"));
      await cases.raw(old.insert("b", 1, "2026-01-01T10:00:01.500Z"));
      await store.ensureSchema();

      const streamA: { version: number; data: string; metadata: unknown; createdAt?: string; position?: bigint }[] = [];
      for await (const event of store.read("a")) {
        streamA.push({ version: event.version, data: decoder.decode(event.data), metadata: event.metadata, createdAt: event.createdAt?.toISOString(), position: event.position });
      }
      assert.deepEqual(streamA.map(({ position: _, ...rest }) => rest), [
        { version: 1, data: "a.1", metadata: undefined, createdAt: "2026-01-01T10:00:02.000Z" },
        { version: 2, data: "a.2", metadata: undefined, createdAt: "2026-01-01T10:00:01.000Z" },
      ], "format 0.1 kept created_at; it had no metadata");
      const upgraded = await readAll(store);
      assert.deepEqual(upgraded.map((event) => `${event.stream}${event.version}`), ["b1", "a1", "a2"], "ordered by each stream's running maximum of created_at");
      assert.deepEqual(upgraded.map((event) => event.position), [1n, 2n, 3n]);

      const appended = await store.append("a", [{ type: "New", data: encoder.encode("a.3"), metadata: encoder.encode("m") }], 2);
      assert.equal(appended.lastPosition, 4n);
      // A writer of format 0.1 still running during the upgrade writes a row without a position:
      // readAll leaves it out until the next ensureSchema numbers it after everything so far.
      await cases.raw(old.insert("c", 1, "2025-01-01T00:00:00.000Z"));
      assert.deepEqual((await readAll(store, 3n)).map((event) => `${event.stream}${event.version}`), ["a3"]);
      await again.ensureSchema();
      assert.deepEqual((await readAll(store, 3n)).map((event) => [`${event.stream}${event.version}`, event.position]), [["a3", 4n], ["c1", 5n]]);
      assert.equal((await store.append("b", [{ type: "New", data: encoder.encode("b.2") }], 1)).lastPosition, 6n);
    } finally {
      await store.close();
      await again.close();
      for (const table of [eventsTable, snapshotsTable, positionCounterTable(resolveTables(options, 100))]) await cases.raw(old.drop(table));
    }
  });

  test(`${name}: an append too long for one statement is atomic and takes consecutive positions`, async () => {
    const eventsTable = `Chunked_${uid()}`;
    const options = { eventsTable, snapshotsTable: `${eventsTable}_snapshots`, autoCreateSchema: true };
    const store = cases.eventStore(options);
    try {
      // More events than one statement binds (SQL Server: about 700, PostgreSQL: 5,000).
      const size = mssql ? 1_500 : 5_001;
      const batch = Array.from({ length: size }, (_, index) => ({ type: "E", data: encoder.encode(String(index)), metadata: encoder.encode(`m${index}`) }));
      await store.append("other", [{ type: "E", data: encoder.encode("x") }], "no_stream");
      const result = await store.append("long", batch, "no_stream");
      const events = (await readAll(store)).filter((event) => event.stream === "long");
      assert.equal(events.length, size);
      assert.equal(result.lastPosition, events.at(-1)!.position);
      events.forEach((event, index) => {
        assert.equal(event.position, events[0]!.position + BigInt(index), `position of event ${index + 1}`);
        assert.equal(decoder.decode(event.metadata), `m${index}`);
      });
      // A stale expectation fails the whole batch, and no position is taken.
      await assert.rejects(store.append("long", batch, 1));
      assert.equal(await store.version("long"), size);
      assert.equal((await store.append("other", [{ type: "E", data: encoder.encode("y") }], 1)).lastPosition, result.lastPosition! + 1n);
    } finally {
      await store.close();
      const old = formatV01(mssql, eventsTable);
      for (const table of [eventsTable, options.snapshotsTable, positionCounterTable(resolveTables(options, 100))]) await cases.raw(old.drop(table));
    }
  });
}

/** A session held open by the raw driver, for the slow transaction. */
interface HeldSession {
  readonly pid: number;
  query(text: string, params?: readonly SqlParam[]): Promise<unknown[][]>;
  release(): void;
}

async function holdSession(sql: postgres.Sql): Promise<HeldSession> {
  const reserved = await sql.reserve();
  const query = (text: string, params: readonly SqlParam[] = []) => reserved.unsafe(text, params as never[]).values() as Promise<unknown[][]>;
  const pid = Number((await query("SELECT pg_backend_pid()"))[0]![0]);
  return { pid, query, release: () => reserved.release() };
}

/** One way of numbering events and reading them back in that order. */
interface OrderedLog {
  /** Appends `tag` inside the transaction the session holds open. */
  appendHeld(session: HeldSession, tag: string): Promise<void>;
  /** Appends `tag` on its own, committing when it returns. */
  append(tag: string): Promise<unknown>;
  /** The tags after `checkpoint`, in the log's order, with their positions. */
  readAfter(checkpoint: bigint): Promise<{ position: bigint; tag: string }[]>;
}

/**
 * The gap problem, step by step: a slow transaction appends first and stays open; a second
 * append starts; the scenario waits (on the server's lock table, not a timer) until that
 * append is either committed or waiting for the slow one's lock; a follower polls; the slow
 * transaction commits; the follower polls again. Returns the tags the follower saw.
 */
async function followThroughLateCommit(log: OrderedLog, session: HeldSession, raw: SqlGlobalOrderCases["raw"]): Promise<{ seen: string[]; fastWas: "blocked" | "committed" }> {
  let checkpoint = 0n;
  const seen: string[] = [];
  const poll = async () => {
    for (const { position, tag } of await log.readAfter(checkpoint)) {
      seen.push(tag);
      checkpoint = position;
    }
  };
  await session.query("BEGIN");
  await log.appendHeld(session, "slow");
  let settled = false;
  const fast = log.append("fast").finally(() => (settled = true));
  fast.catch(() => {}); // awaited below; this only keeps an early failure from counting as unhandled
  let fastWas: "blocked" | "committed" | undefined;
  while (fastWas === undefined) {
    const waiting = await raw("SELECT count(*) FROM pg_stat_activity WHERE $1 = ANY(pg_blocking_pids(pid))", [session.pid]);
    if (settled) fastWas = "committed";
    else if (Number(waiting[0]![0]) > 0) fastWas = "blocked";
    else await new Promise((resolve) => setTimeout(resolve, 5));
  }
  await poll();
  await session.query("COMMIT");
  await fast;
  await poll();
  return { seen, fastWas };
}

/**
 * The gap-problem cases on a PostgreSQL server: the adapter's follower never skips a late
 * commit, and the same scenario catches a naive reader that orders by a sequence.
 *
 * @param serverUrl A postgres.js URL of the server the adapter talks to, for the raw sessions.
 */
export function registerGapCases(test: TestRegistrar, cases: SqlGlobalOrderCases & { readonly serverUrl: string }): void {
  const { name } = cases;

  test(`${name}: gap problem: a follower never skips an append that took its position first and commits last`, async () => {
    const eventsTable = `Gap_${uid()}`;
    const options = { eventsTable, snapshotsTable: `${eventsTable}_snapshots` };
    const tables = resolveTables(options, 48);
    const store = cases.eventStore(options);
    const sql = postgres(cases.serverUrl, { max: 1, idle_timeout: 1, onnotice: () => {} });
    const session = await holdSession(sql);
    try {
      await store.ensureSchema();
      const positions: Record<string, bigint | undefined> = {};
      // The slow side runs the adapters' own append code over the held session.
      const held = sqlEventStore({
        name: `${name} (held)`,
        dialect: postgresDialect,
        tables,
        executor: async () => ({ query: (statement) => session.query(statement.text, statement.params), batch: () => Promise.reject(new Error("not used")), close: async () => {} }),
        autoCreateSchema: false,
      });
      const log: OrderedLog = {
        appendHeld: async (_, tag) => void (positions[tag] = (await held.append(tag, [{ type: tag, data: encoder.encode(tag) }], "no_stream")).lastPosition),
        append: async (tag) => void (positions[tag] = (await store.append(tag, [{ type: tag, data: encoder.encode(tag) }], "no_stream")).lastPosition),
        readAfter: async (checkpoint) => (await readAll(store, checkpoint)).map((event) => ({ position: event.position, tag: event.type })),
      };
      const { seen, fastWas } = await followThroughLateCommit(log, session, cases.raw);
      assert.equal(fastWas, "blocked", "the later append waited for the slow one's position lock");
      assert.deepEqual(seen, ["slow", "fast"], "the follower saw both, in commit order");
      assert.ok(positions.slow! < positions.fast!, "the slow append, first to take a position, has the smaller one");
    } finally {
      session.release();
      await sql.end({ timeout: 5 });
      await store.close();
      for (const table of [eventsTable, options.snapshotsTable, positionCounterTable(tables)]) await cases.raw(`DROP TABLE IF EXISTS "${table}"`);
    }
  });

  test(`${name}: gap problem: the same scenario catches a reader that follows a sequence`, async () => {
    const naive = `Naive_${uid()}`;
    const sql = postgres(cases.serverUrl, { max: 1, idle_timeout: 1, onnotice: () => {} });
    const session = await holdSession(sql);
    try {
      await cases.raw(`CREATE TABLE "${naive}" (position bigserial PRIMARY KEY, tag text NOT NULL)`);
      const insert = `INSERT INTO "${naive}" (tag) VALUES ($1)`;
      const log: OrderedLog = {
        appendHeld: async (held, tag) => void (await held.query(insert, [tag])),
        append: (tag) => cases.raw(insert, [tag]),
        readAfter: async (checkpoint) =>
          (await cases.raw(`SELECT position::text, tag FROM "${naive}" WHERE position > $1::bigint ORDER BY position`, [checkpoint.toString()]))
            .map(([position, tag]) => ({ position: BigInt(String(position)), tag: String(tag) })),
      };
      const { seen, fastWas } = await followThroughLateCommit(log, session, cases.raw);
      assert.equal(fastWas, "committed", "a sequence lets the later append commit first");
      assert.deepEqual(seen, ["fast"], "the naive follower moved past the slow event's position before it committed, and skipped it");
    } finally {
      session.release();
      await sql.end({ timeout: 5 });
      await cases.raw(`DROP TABLE IF EXISTS "${naive}"`);
    }
  });
}

import { test } from "node:test";
import process from "node:process";
import assert from "node:assert/strict";
import postgres from "postgres";
import { postgresEventStore, postgresStorage, type PostgresJsClient } from "../../adapters/postgres/mod.ts";
import type { SqlTableOptions } from "../../adapters/_sql/dialect.ts";
import { runContentionConformance, runLeaseConformance, runEventStoreConformance, runStorageConformance, type TestRegistrar } from "../../src/testing/mod.ts";
import { registerSqlAdapterCases } from "./_sql_cases.ts";
import { registerGapCases, registerSqlGlobalOrderCases } from "./_sql_global_order.ts";
import { countingRelay } from "../../scripts/bench/_relay.ts";

const url = process.env.POSTGRES_URL;

if (url === undefined) {
  const reason = "POSTGRES_URL is not set (start it with scripts/services/postgres.sh start)";
  console.log(`SKIP postgres: ${reason}`);
  test(`postgres conformance (skipped: ${reason})`, { skip: reason }, () => {});
} else {
  const serverUrl = url;
  // One pool for the file, as an app would hold one; the race needs more than the default.
  // Idle connections close after a second, so the process ends when the cases are done.
  const sql = postgres(serverUrl, { max: 20, idle_timeout: 1, onnotice: () => {} });
  const client: PostgresJsClient = sql;
  await postgresStorage({ client }).ensureSchema();
  await postgresEventStore({ client }).ensureSchema();

  runStorageConformance(test, { name: "postgres", open: () => postgresStorage({ client }) });
  runLeaseConformance(test, { name: "postgres", open: () => postgresStorage({ client }) });
  runEventStoreConformance(test, { name: "postgres", open: () => postgresEventStore({ client }) });

  registerSqlAdapterCases(test, {
    name: "postgres",
    storage: (options) => postgresStorage({ client, ...options }),
    eventStore: (options) => postgresEventStore({ client, ...options }),
    raw: (text, params) => sql.unsafe(text, (params ?? []) as never[]).values() as Promise<unknown[][]>,
    countingStorage: () => {
      let statements = 0;
      // postgres.js reports every query it sends to the server through `debug`.
      const counted = postgres(serverUrl, { max: 1, idle_timeout: 1, onnotice: () => {}, debug: () => statements++ });
      return { storage: postgresStorage({ client: counted as unknown as PostgresJsClient }), statements: () => statements };
    },
    deadStorage: () => postgresStorage({ url: "postgres://quark:quark@127.0.0.1:1/quark", driverOptions: { connect_timeout: 2, max: 1 } }),
    deadMessage: /ECONNREFUSED.*endpoint 127\.0\.0\.1:1\b|endpoint 127\.0\.0\.1:1\b.*ECONNREFUSED/,
  });

  const globalOrder = {
    name: "postgres",
    eventStore: (options: SqlTableOptions & { autoCreateSchema?: boolean }) => postgresEventStore({ client, ...options }),
    raw: (text: string, params?: readonly unknown[]) => sql.unsafe(text, (params ?? []) as never[]).values() as Promise<unknown[][]>,
  };
  registerSqlGlobalOrderCases(test, globalOrder);
  registerGapCases(test, { ...globalOrder, serverUrl });

  // The server counts every deadlock it breaks. A backend reports its counts when it exits,
  // so each contention case runs on a pool of its own that its storage closes at the end.
  const deadlocks = async () => {
    await sql.unsafe("SELECT pg_stat_clear_snapshot()");
    const rows = await sql.unsafe("SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()").values();
    return Number(rows[0]![0]);
  };
  const noNewDeadlock: TestRegistrar = (name, body) =>
    test(name, async () => {
      const before = await deadlocks();
      await body();
      await new Promise((resolve) => setTimeout(resolve, 300));
      assert.equal(await deadlocks(), before, "deadlocks the server detected during the case");
    });
  runContentionConformance(noNewDeadlock, {
    name: "postgres",
    open: () => postgresStorage({ url: serverUrl, driverOptions: { max: 8, onnotice: () => {} } }),
  });
  // Under SERIALIZABLE the server refuses racing single statements with 40001 instead of
  // waiting; the adapter retries them, and runs its own transactions READ COMMITTED.
  runContentionConformance(noNewDeadlock, {
    name: "postgres (serializable by default)",
    open: () => postgresStorage({ url: serverUrl, driverOptions: { max: 8, onnotice: () => {}, connection: { default_transaction_isolation: "serializable" } } }),
  });

  test("postgres: an append is one round trip at every size, once its statement is prepared", async () => {
    // Counted on the wire, by a relay in front of the server, not inferred from the driver.
    const server = new URL(serverUrl);
    const relay = await countingRelay(server.hostname, Number(server.port || 5432));
    server.hostname = "127.0.0.1";
    server.port = String(relay.port);
    const relayed = postgres(server.toString(), { max: 1, idle_timeout: 1, onnotice: () => {} });
    const store = postgresEventStore({ client: relayed as unknown as PostgresJsClient });
    try {
      const event = { type: "Counted", data: new Uint8Array([1]) };
      const counts: Record<number, number> = {};
      for (const size of [1, 16, 17, 100, 1_000]) {
        const batch = Array.from({ length: size }, () => event);
        const stream = `round-trips-${crypto.randomUUID()}`;
        await store.append(stream, batch, "no_stream"); // prepares the statement for this size
        const before = relay.roundTrips();
        await store.append(stream, batch, size);
        counts[size] = relay.roundTrips() - before;
      }
      assert.deepEqual(counts, { 1: 1, 16: 1, 17: 1, 100: 1, 1000: 1 });
    } finally {
      await relayed.end();
      relay.close();
    }
  });
}

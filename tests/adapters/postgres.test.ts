import { test } from "node:test";
import process from "node:process";
import postgres from "postgres";
import { postgresEventStore, postgresStorage, type PostgresJsClient } from "../../adapters/postgres/mod.ts";
import { runEventStoreConformance, runStorageConformance } from "../../src/testing/mod.ts";
import { registerSqlAdapterCases } from "./_sql_cases.ts";

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
  });

}

import { test } from "node:test";
import process from "node:process";
import { neon } from "@neondatabase/serverless";
import { neonEventStore, neonStorage, type NeonDriverConfig, type NeonOptions } from "../../adapters/neon/mod.ts";
import type { SqlTableOptions } from "../../adapters/_sql/dialect.ts";
import { runContentionConformance, runLeaseConformance, runEventStoreConformance, runStorageConformance } from "../../src/testing/mod.ts";
import { registerSqlAdapterCases } from "./_sql_cases.ts";
import { registerGapCases, registerSqlGlobalOrderCases } from "./_sql_global_order.ts";

const endpoint = process.env.NEON_HTTP_ENDPOINT;
const url = process.env.NEON_URL;

if (endpoint === undefined || url === undefined) {
  const reason = "NEON_HTTP_ENDPOINT is not set (start it with scripts/services/neon-http.sh start)";
  console.log(`SKIP neon-http: ${reason}`);
  test(`neon-http conformance (skipped: ${reason})`, { skip: reason }, () => {});
} else {
  let fetches = 0;
  // The bridge stands in for Neon's endpoint for the test server's host; any other host is
  // sent to a port where nothing listens, which is how the dead-server case reaches no one.
  const neonConfig: NeonDriverConfig = {
    fetchEndpoint: (host) => (host === "127.0.0.1" ? endpoint : "http://127.0.0.1:1/sql"),
    fetchFunction: (input: string, init: RequestInit) => {
      fetches++;
      return fetch(input, init);
    },
  };
  const connection: NeonOptions = { url, transport: "http", neonConfig };
  await neonStorage(connection).ensureSchema();
  await neonEventStore(connection).ensureSchema();

  runStorageConformance(test, { name: "neon-http", open: () => neonStorage(connection) });
  runEventStoreConformance(test, { name: "neon-http", open: () => neonEventStore(connection) });
  runContentionConformance(test, { name: "neon-http", open: () => neonStorage(connection) });
  runLeaseConformance(test, { name: "neon-http", open: () => neonStorage(connection) });

  const sql = neon(url);
  const raw = async (text: string, params?: readonly unknown[]) => (await sql.query(text, (params ?? []) as unknown[], { arrayMode: true })) as unknown[][];
  registerSqlAdapterCases(test, {
    name: "neon",
    storage: (options) => neonStorage({ ...connection, ...options }),
    eventStore: (options) => neonEventStore({ ...connection, ...options }),
    raw,
    // Every HTTP query is one fetch, so the fetch count is the round-trip count.
    countingStorage: () => ({ storage: neonStorage(connection), statements: () => fetches }),
    deadStorage: () => neonStorage({ ...connection, url: "postgres://quark:quark@db.invalid:5432/quark" }),
    // Port 1 is one fetch itself refuses ("bad port" in Node, "blocked" in Deno): that is the root cause.
    deadMessage: /^(?=.*endpoint db\.invalid:5432)(?=.*(bad port|blocked|ECONNREFUSED))/s,
  });

  const globalOrder = { name: "neon-http", eventStore: (options: SqlTableOptions) => neonEventStore({ ...connection, ...options }), raw };
  registerSqlGlobalOrderCases(test, globalOrder);
  // The slow transaction is held open by postgres.js on the same server: HTTP cannot hold one.
  registerGapCases(test, { ...globalOrder, serverUrl: url });
}

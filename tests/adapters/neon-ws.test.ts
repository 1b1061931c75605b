import { test } from "node:test";
import process from "node:process";
import { Pool } from "@neondatabase/serverless";
import ws from "ws";
import { neonEventStore, neonStorage, type NeonDriverConfig, type NeonOptions, type NeonPoolClient } from "../../adapters/neon/mod.ts";
import type { SqlTableOptions } from "../../adapters/_sql/dialect.ts";
import { runContentionConformance, runLeaseConformance, runEventStoreConformance, runStorageConformance } from "../../src/testing/mod.ts";
import { registerSqlAdapterCases } from "./_sql_cases.ts";
import { registerGapCases, registerSqlGlobalOrderCases } from "./_sql_global_order.ts";

const proxy = process.env.NEON_WS_PROXY;
const url = process.env.NEON_URL ?? process.env.POSTGRES_URL;

if (proxy === undefined || url === undefined) {
  const reason = "NEON_WS_PROXY is not set (start it with scripts/services/wsproxy.sh start)";
  console.log(`SKIP neon-ws: ${reason}`);
  test(`neon-ws conformance (skipped: ${reason})`, { skip: reason }, () => {});
} else {
  // Node 20 has no global WebSocket, so the `ws` package provides it, as SERVICES.md says.
  // Hosts other than the test server's go to a port where nothing listens (the dead case).
  const neonConfig: NeonDriverConfig = {
    webSocketConstructor: typeof globalThis.WebSocket === "undefined" ? ws : undefined,
    useSecureWebSocket: false,
    pipelineConnect: false,
    wsProxy: (host, port) => (host === "127.0.0.1" ? `${proxy}?address=${host}:${port}` : "127.0.0.1:1/v1"),
  };
  const connection: NeonOptions = { url, transport: "websocket", neonConfig, poolOptions: { max: 20, idleTimeoutMillis: 1000 } };
  const setup = neonStorage(connection);
  await setup.ensureSchema();
  await setup.close();
  const setupEvents = neonEventStore(connection);
  await setupEvents.ensureSchema();
  await setupEvents.close();

  runStorageConformance(test, { name: "neon-ws", open: () => neonStorage(connection) });
  runEventStoreConformance(test, { name: "neon-ws", open: () => neonEventStore(connection) });
  runContentionConformance(test, { name: "neon-ws", open: () => neonStorage(connection) });
  runLeaseConformance(test, { name: "neon-ws", open: () => neonStorage(connection) });

  const raw = async (text: string, params?: readonly unknown[]) => {
    const pool = new Pool({ connectionString: url, max: 1 });
    try {
      return (await pool.query({ text, values: (params ?? []) as unknown[], rowMode: "array" })).rows as unknown[][];
    } finally {
      await pool.end();
    }
  };
  const globalOrder = { name: "neon-ws", eventStore: (options: SqlTableOptions) => neonEventStore({ ...connection, ...options }), raw };
  registerSqlGlobalOrderCases(test, globalOrder);
  registerGapCases(test, { ...globalOrder, serverUrl: url });

  registerSqlAdapterCases(test, {
    name: "neon",
    storage: (options) => neonStorage({ ...connection, ...options }),
    eventStore: (options) => neonEventStore({ ...connection, ...options }),
    raw,
    countingStorage: () => {
      let statements = 0;
      const pool = new Pool({ connectionString: url, max: 1, idleTimeoutMillis: 1000 });
      const counted: NeonPoolClient = {
        query: (config) => {
          statements++;
          return pool.query(config);
        },
        connect: () => pool.connect(),
        end: () => pool.end(),
      };
      return { storage: neonStorage({ ...connection, pool: counted }), statements: () => statements };
    },
    deadStorage: () => neonStorage({ ...connection, url: "postgres://quark:quark@db.invalid:5432/quark", poolOptions: { max: 1, connectionTimeoutMillis: 3000 } }),
    deadMessage: /endpoint db\.invalid:5432/,
  });
}

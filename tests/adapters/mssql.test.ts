import { test } from "node:test";
import process from "node:process";
import { mssqlEventStore, mssqlStorage, type MssqlPool } from "../../adapters/mssql/mod.ts";
import { runEventStoreConformance, runStorageConformance } from "../../src/testing/mod.ts";
import { registerSqlAdapterCases } from "./_sql_cases.ts";

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

  runStorageConformance(test, { name: "mssql", open: () => mssqlStorage({ pool: shared }) });
  runEventStoreConformance(test, { name: "mssql", open: () => mssqlEventStore({ pool: shared }) });

  registerSqlAdapterCases(test, {
    name: "mssql",
    dialect: "mssql",
    storage: (options) => mssqlStorage({ pool: shared, ...options }),
    eventStore: (options) => mssqlEventStore({ pool: shared, ...options }),
    raw: async (text, params) => {
      const request = pool.request();
      request.arrayRowMode = true;
      (params ?? []).forEach((value: unknown, index: number) => request.input(`p${index + 1}`, value));
      const result = await request.query(text);
      return (result.recordset ?? []) as unknown as unknown[][];
    },
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

  test("mssql: the shared pool closes after the cases", async () => {
    await pool.close();
  });
}

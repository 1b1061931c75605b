// A small stand-in for Neon's HTTP SQL endpoint, in front of a real PostgreSQL, so that the
// `neon()` HTTP path of @neondatabase/serverless runs against a real server in tests. It serves
// the protocol described in SERVICES.md:
//   POST /sql  headers Neon-Connection-String, Neon-Raw-Text-Output, Neon-Array-Mode and, for
//              batches, Neon-Batch-Isolation-Level / -Read-Only / -Deferrable
//   body {query, params} -> {command, rowCount, rows, fields}
//   body {queries: [...]} -> {results: [...]}, run inside BEGIN ... COMMIT, rolled back on error
//   errors -> 400 {message, code, detail, constraint, ...} with PostgreSQL's error fields
// Environment: NEON_HTTP_LISTEN (host:port, default 127.0.0.1:4444).
import { createServer } from "node:http";
import pg from "pg";

const listen = process.env.NEON_HTTP_LISTEN ?? "127.0.0.1:4444";
const separator = listen.lastIndexOf(":");
const host = listen.slice(0, separator);
const port = Number(listen.slice(separator + 1));

// node-postgres sends parameters as text with no declared type and, with these parsers,
// returns every value as PostgreSQL's own text: exactly what Neon's endpoint relays.
const rawText = { getTypeParser: () => (value) => value };
const pools = new Map();

function poolFor(connectionString) {
  let pool = pools.get(connectionString);
  if (pool === undefined) {
    pool = new pg.Pool({ connectionString, max: 20, idleTimeoutMillis: 30_000, connectionTimeoutMillis: 10_000 });
    pool.on("error", () => {});
    pools.set(connectionString, pool);
  }
  return pool;
}

const isolationLevels = {
  ReadUncommitted: "READ UNCOMMITTED",
  ReadCommitted: "READ COMMITTED",
  RepeatableRead: "REPEATABLE READ",
  Serializable: "SERIALIZABLE",
};

function beginStatement(headers) {
  const parts = ["BEGIN"];
  const isolation = headers["neon-batch-isolation-level"];
  if (isolation !== undefined) {
    const level = isolationLevels[isolation];
    if (level === undefined) throw Object.assign(new Error(`Unknown isolation level ${isolation}`), { status: 400 });
    parts.push(`ISOLATION LEVEL ${level}`);
  }
  const readOnly = headers["neon-batch-read-only"];
  if (readOnly !== undefined) parts.push(readOnly === "true" ? "READ ONLY" : "READ WRITE");
  const deferrable = headers["neon-batch-deferrable"];
  if (deferrable !== undefined) parts.push(deferrable === "true" ? "DEFERRABLE" : "NOT DEFERRABLE");
  return parts.join(" ");
}

async function run(client, item, arrayMode) {
  if (typeof item?.query !== "string") throw Object.assign(new Error("Each query needs a \"query\" string"), { status: 400 });
  const values = Array.isArray(item.params) ? item.params : [];
  const result = await client.query({ text: item.query, values, rowMode: arrayMode ? "array" : undefined, types: rawText });
  const fields = result.fields.map((field) => ({
    name: field.name,
    tableID: field.tableID,
    columnID: field.columnID,
    dataTypeID: field.dataTypeID,
    dataTypeSize: field.dataTypeSize,
    dataTypeModifier: field.dataTypeModifier,
    format: "text",
  }));
  return { command: result.command ?? "", rowCount: result.rowCount ?? 0, rows: result.rows, fields, rowAsArray: arrayMode };
}

async function runBatch(pool, queries, headers, arrayMode) {
  const begin = beginStatement(headers);
  const client = await pool.connect();
  let healthy = true;
  try {
    await client.query(begin);
    try {
      const results = [];
      for (const item of queries) results.push(await run(client, item, arrayMode));
      await client.query("COMMIT");
      return results;
    } catch (error) {
      await client.query("ROLLBACK").catch(() => {
        healthy = false;
      });
      throw error;
    }
  } catch (error) {
    if (!(typeof error?.code === "string" && /^[0-9A-Z]{5}$/.test(error.code))) healthy = false;
    throw error;
  } finally {
    client.release(healthy ? undefined : true);
  }
}

function errorBody(error) {
  return {
    message: error.message,
    severity: error.severity,
    code: error.code,
    detail: error.detail,
    hint: error.hint,
    position: error.position,
    internalPosition: error.internalPosition,
    internalQuery: error.internalQuery,
    where: error.where,
    schema: error.schema,
    table: error.table,
    column: error.column,
    dataType: error.dataType,
    constraint: error.constraint,
    file: error.file,
    line: error.line,
    routine: error.routine,
  };
}

function send(response, status, body) {
  const text = JSON.stringify(body);
  response.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
  response.end(text);
}

async function handle(request, response) {
  const url = new URL(request.url ?? "/", "http://bridge");
  if (request.method === "GET" && url.pathname === "/healthz") return send(response, 200, { ok: true });
  if (request.method !== "POST" || url.pathname !== "/sql") return send(response, 404, { message: "Not found" });
  const chunks = [];
  for await (const chunk of request) chunks.push(chunk);
  let body;
  try {
    body = JSON.parse(Buffer.concat(chunks).toString("utf8"));
  } catch {
    return send(response, 400, { message: "Request body is not JSON" });
  }
  const connectionString = request.headers["neon-connection-string"];
  if (typeof connectionString !== "string") return send(response, 400, { message: "Missing Neon-Connection-String header" });
  const arrayMode = request.headers["neon-array-mode"] === "true";
  let pool;
  try {
    pool = poolFor(connectionString);
  } catch (error) {
    return send(response, 400, { message: `Invalid connection string: ${error.message}` });
  }
  try {
    if (Array.isArray(body.queries)) {
      return send(response, 200, { results: await runBatch(pool, body.queries, request.headers, arrayMode) });
    }
    return send(response, 200, await run(pool, body, arrayMode));
  } catch (error) {
    if (error?.status === 400) return send(response, 400, { message: error.message });
    // PostgreSQL errors carry a SQLSTATE; anything else is the bridge failing to reach it.
    if (typeof error?.code === "string" && /^[0-9A-Z]{5}$/.test(error.code)) return send(response, 400, errorBody(error));
    return send(response, 502, { message: `Could not reach PostgreSQL: ${error?.message ?? error}` });
  }
}

const server = createServer((request, response) => {
  handle(request, response).catch((error) => send(response, 500, { message: String(error?.message ?? error) }));
});
server.keepAliveTimeout = 30_000;
server.listen(port, host, () => console.log(`neon-http-bridge listening on ${host}:${port}`));

async function shutdown() {
  server.close();
  await Promise.allSettled([...pools.values()].map((pool) => pool.end()));
  process.exit(0);
}
for (const signal of ["SIGINT", "SIGTERM"]) process.on(signal, shutdown);

#!/usr/bin/env node
// A test stand-in for Upstash's REST front end: it serves the Upstash REST protocol over HTTP
// and talks raw RESP to a real redis-server. Only the protocol is imitated; every command runs
// on Redis itself, and Redis error text passes through unchanged (NOSCRIPT matters).
//
//   POST /             ["SET","k","v"]            -> {"result": …} | 4xx {"error": "…"}
//   POST /pipeline     [["SET","k","v"],["GET","k"]] -> [{"result": …} | {"error": "…"}, …]
//   POST /multi-exec   same body, run in MULTI/EXEC on a dedicated connection
//   Authorization: Bearer <token> on every request (401 otherwise)
//   Upstash-Encoding: base64 -> every bulk string in the result is base64, nested ones too
//
// Environment: UPSTASH_BRIDGE_TOKEN (required), UPSTASH_BRIDGE_PORT (8079),
// UPSTASH_BRIDGE_HOST (127.0.0.1), REDIS_URL (redis://127.0.0.1:16379),
// UPSTASH_BRIDGE_MAX_REQUEST_BYTES (10000000: Upstash's 10 MB cap on Free and Pay-as-you-go
// databases; a larger body is answered 400 "ERR max request size exceeded", as Upstash does).
// A replies-only client is written here on purpose: libraries such as ioredis turn some replies
// (HGETALL) into objects, which would break the wire format.

import { createServer } from "node:http";
import { connect } from "node:net";
import { timingSafeEqual } from "node:crypto";

const TOKEN = process.env.UPSTASH_BRIDGE_TOKEN ?? "";
const PORT = Number(process.env.UPSTASH_BRIDGE_PORT ?? 8079);
const HOST = process.env.UPSTASH_BRIDGE_HOST ?? "127.0.0.1";
const REDIS = new URL(process.env.REDIS_URL ?? "redis://127.0.0.1:16379");
const MAX_BODY_BYTES = Number(process.env.UPSTASH_BRIDGE_MAX_REQUEST_BYTES ?? 10_000_000);
const MAX_IDLE_DEDICATED = 8;

if (!TOKEN) {
  console.error("upstash-bridge: UPSTASH_BRIDGE_TOKEN is not set");
  process.exit(2);
}

/** A Redis error reply, kept apart from bulk strings that merely look like errors. */
class RedisReplyError {
  constructor(message) {
    this.message = message;
  }
}

/** The end of the line starting at `offset`, or -1 when it has not arrived yet. */
function lineEnd(buffer, offset) {
  const end = buffer.indexOf("\r\n", offset, "latin1");
  return end;
}

/**
 * Parses one RESP2 reply at `offset`. Returns `[value, nextOffset]`, or `null` when the buffer
 * ends before the reply does. Bulk strings stay Buffers so binary data survives untouched.
 */
function parseReply(buffer, offset) {
  if (offset >= buffer.length) return null;
  const end = lineEnd(buffer, offset + 1);
  if (end === -1) return null;
  const type = buffer[offset];
  const line = buffer.toString("utf8", offset + 1, end);
  const next = end + 2;
  switch (type) {
    case 0x2b: // +
      return [line, next];
    case 0x2d: // -
      return [new RedisReplyError(line), next];
    case 0x3a: // :
      return [Number(line), next];
    case 0x24: { // $
      const length = Number(line);
      if (length < 0) return [null, next];
      if (buffer.length < next + length + 2) return null;
      return [buffer.subarray(next, next + length), next + length + 2];
    }
    case 0x2a: { // *
      const count = Number(line);
      if (count < 0) return [null, next];
      const items = [];
      let position = next;
      for (let i = 0; i < count; i++) {
        const parsed = parseReply(buffer, position);
        if (parsed === null) return null;
        items.push(parsed[0]);
        position = parsed[1];
      }
      return [items, position];
    }
    default:
      throw new Error(`Unexpected RESP type byte 0x${type.toString(16)}`);
  }
}

/** Encodes one command as a RESP array of bulk strings. */
function encodeCommand(args) {
  const parts = [Buffer.from(`*${args.length}\r\n`)];
  for (const arg of args) {
    const bytes = Buffer.from(arg, "utf8");
    parts.push(Buffer.from(`$${bytes.length}\r\n`), bytes, Buffer.from("\r\n"));
  }
  return parts;
}

/** One RESP connection with pipelining: replies resolve in the order commands were sent. */
class RespConnection {
  constructor() {
    this.pending = [];
    this.buffer = Buffer.alloc(0);
    this.closed = false;
    this.socket = connect({ host: REDIS.hostname, port: Number(REDIS.port || 6379) });
    this.socket.setNoDelay(true);
    this.ready = new Promise((resolve, reject) => {
      this.socket.once("connect", resolve);
      this.socket.once("error", reject);
    });
    this.ready.catch(() => {});
    this.socket.on("data", (chunk) => this.onData(chunk));
    this.socket.on("error", (error) => this.fail(error));
    this.socket.on("close", () => this.fail(new Error("Redis connection closed")));
  }

  onData(chunk) {
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    let offset = 0;
    while (this.pending.length > 0) {
      let parsed;
      try {
        parsed = parseReply(this.buffer, offset);
      } catch (error) {
        this.socket.destroy(error);
        return;
      }
      if (parsed === null) break;
      offset = parsed[1];
      this.pending.shift().resolve(parsed[0]);
    }
    this.buffer = offset === this.buffer.length ? Buffer.alloc(0) : this.buffer.subarray(offset);
  }

  fail(error) {
    this.closed = true;
    const waiting = this.pending;
    this.pending = [];
    for (const entry of waiting) entry.reject(error);
  }

  /** Sends commands in one write; resolves with their replies in order. */
  async send(commands) {
    await this.ready;
    if (this.closed) throw new Error("Redis connection closed");
    const replies = commands.map(() => new Promise((resolve, reject) => this.pending.push({ resolve, reject })));
    this.socket.write(Buffer.concat(commands.flatMap(encodeCommand)));
    return Promise.all(replies);
  }

  close() {
    this.closed = true;
    this.socket.end();
  }
}

let shared = null;
const idleDedicated = [];

function sharedConnection() {
  if (shared === null || shared.closed) shared = new RespConnection();
  return shared;
}

/** Turns a reply into its JSON form; with base64 on, every bulk string is base64. */
function toJson(reply, base64) {
  if (reply === null || typeof reply === "number" || typeof reply === "string") return reply;
  if (Buffer.isBuffer(reply)) return base64 ? reply.toString("base64") : reply.toString("utf8");
  if (reply instanceof RedisReplyError) return reply.message;
  if (Array.isArray(reply)) return reply.map((item) => toJson(item, base64));
  return null;
}

function toEntry(reply, base64) {
  return reply instanceof RedisReplyError ? { error: reply.message } : { result: toJson(reply, base64) };
}

/** Checks a command body and turns its arguments into strings, as Upstash does. */
function toCommand(value) {
  if (!Array.isArray(value) || value.length === 0) throw new TypeError("ERR a command must be a non-empty array");
  return value.map((arg) => {
    if (typeof arg === "string") return arg;
    if (typeof arg === "number" || typeof arg === "boolean") return String(arg);
    if (arg === null) return "";
    return JSON.stringify(arg);
  });
}

function authorized(header) {
  if (typeof header !== "string" || !header.startsWith("Bearer ")) return false;
  const given = Buffer.from(header.slice("Bearer ".length));
  const expected = Buffer.from(TOKEN);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

/** A request body over MAX_BODY_BYTES: read to the end (so the client gets the answer) but not kept. */
class TooLarge {}

function readBody(request) {
  return new Promise((resolve, reject) => {
    let chunks = [];
    let size = 0;
    request.on("data", (chunk) => {
      size += chunk.length;
      if (size > MAX_BODY_BYTES) {
        chunks = null;
        return;
      }
      chunks?.push(chunk);
    });
    request.on("end", () => resolve(chunks === null ? new TooLarge() : Buffer.concat(chunks).toString("utf8")));
    request.on("error", reject);
  });
}

function reply(response, status, body) {
  const text = JSON.stringify(body);
  response.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(text) });
  response.end(text);
}

async function runMultiExec(commands, base64) {
  const connection = idleDedicated.pop() ?? new RespConnection();
  try {
    const replies = await connection.send([["MULTI"], ...commands, ["EXEC"]]);
    const exec = replies[replies.length - 1];
    if (exec instanceof RedisReplyError) {
      const queued = replies.slice(1, -1).find((r) => r instanceof RedisReplyError);
      return { status: 400, body: { error: queued ? queued.message : exec.message } };
    }
    if (exec === null) return { status: 400, body: { error: "EXECABORT Transaction discarded" } };
    return { status: 200, body: exec.map((r) => toEntry(r, base64)) };
  } finally {
    if (!connection.closed && idleDedicated.length < MAX_IDLE_DEDICATED) idleDedicated.push(connection);
    else connection.close();
  }
}

const server = createServer(async (request, response) => {
  try {
    if (!authorized(request.headers.authorization)) {
      reply(response, 401, { error: "Unauthorized" });
      return;
    }
    const path = (request.url ?? "/").split("?")[0].replace(/\/+$/, "") || "/";
    if (request.method !== "POST") {
      reply(response, 405, { error: "ERR only POST is served by this bridge" });
      return;
    }
    const base64 = String(request.headers["upstash-encoding"] ?? "").toLowerCase() === "base64";
    let body;
    try {
      const text = await readBody(request);
      if (text instanceof TooLarge) {
        reply(response, 400, { error: "ERR max request size exceeded" });
        return;
      }
      body = JSON.parse(text);
    } catch (error) {
      reply(response, 400, { error: `ERR failed to parse the request body: ${error.message}` });
      return;
    }
    if (path === "/") {
      let command;
      try {
        command = toCommand(body);
      } catch (error) {
        reply(response, 400, { error: error.message });
        return;
      }
      const [result] = await sharedConnection().send([command]);
      const entry = toEntry(result, base64);
      reply(response, "error" in entry ? 400 : 200, entry);
      return;
    }
    if (path === "/pipeline" || path === "/multi-exec") {
      let commands;
      try {
        if (!Array.isArray(body) || body.length === 0) throw new TypeError("ERR a pipeline must be a non-empty array of commands");
        commands = body.map(toCommand);
      } catch (error) {
        reply(response, 400, { error: error.message });
        return;
      }
      if (path === "/pipeline") {
        const results = await sharedConnection().send(commands);
        reply(response, 200, results.map((r) => toEntry(r, base64)));
      } else {
        const { status, body: answer } = await runMultiExec(commands, base64);
        reply(response, status, answer);
      }
      return;
    }
    reply(response, 404, { error: `ERR unknown endpoint ${path}` });
  } catch (error) {
    // Redis itself is unreachable: answer like an unavailable upstream, not like a command error.
    if (!response.headersSent) reply(response, 503, { error: `ERR Redis is unavailable: ${error.message}` });
  }
});

server.keepAliveTimeout = 30_000;
server.listen(PORT, HOST, () => {
  console.log(`upstash-bridge: listening on http://${HOST}:${PORT}, Redis at ${REDIS.host}`);
});

function shutdown() {
  server.close();
  server.closeAllConnections?.();
  shared?.close();
  for (const connection of idleDedicated) connection.close();
  setTimeout(() => process.exit(0), 200).unref();
}
process.on("SIGTERM", shutdown);
process.on("SIGINT", shutdown);

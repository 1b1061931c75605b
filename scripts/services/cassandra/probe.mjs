// CQL readiness probe with no dependencies: speaks native protocol v4 over node:net,
// sends STARTUP, then `SELECT release_version FROM system.local`, and prints the version.
// Exits 0 only when the server answered the query with a row; 1 otherwise.
// Usage: node probe.mjs [host] [port]
import { connect } from "node:net";

const host = process.argv[2] ?? "127.0.0.1";
const port = Number(process.argv[3] ?? 9042);

function frame(stream, opcode, body) {
  const header = Buffer.alloc(9);
  header.writeUInt8(0x04, 0);
  header.writeUInt8(0, 1);
  header.writeInt16BE(stream, 2);
  header.writeUInt8(opcode, 4);
  header.writeInt32BE(body.length, 5);
  return Buffer.concat([header, body]);
}

function shortString(text) {
  const bytes = Buffer.from(text, "utf8");
  const length = Buffer.alloc(2);
  length.writeUInt16BE(bytes.length);
  return Buffer.concat([length, bytes]);
}

function startupBody() {
  const count = Buffer.alloc(2);
  count.writeUInt16BE(1);
  return Buffer.concat([count, shortString("CQL_VERSION"), shortString("3.0.0")]);
}

function queryBody(cql) {
  const bytes = Buffer.from(cql, "utf8");
  const length = Buffer.alloc(4);
  length.writeInt32BE(bytes.length);
  // consistency ONE (0x0001), no flags
  return Buffer.concat([length, bytes, Buffer.from([0x00, 0x01, 0x00])]);
}

function firstCell(body) {
  let offset = 0;
  const int = () => { const v = body.readInt32BE(offset); offset += 4; return v; };
  const str = () => { const n = body.readUInt16BE(offset); offset += 2; const s = body.toString("utf8", offset, offset + n); offset += n; return s; };
  if (int() !== 2) return null; // result kind: Rows
  const flags = int();
  const columns = int();
  if (flags & 0x0002) { const n = int(); if (n >= 0) offset += n; } // paging state
  if (!(flags & 0x0004)) {
    if (flags & 0x0001) { str(); str(); }
    for (let i = 0; i < columns; i++) {
      if (!(flags & 0x0001)) { str(); str(); }
      str();
      offset += 2; // type id; release_version is varchar, which has no parameters
    }
  }
  if (int() < 1) return null;
  const length = int();
  return length < 0 ? null : body.toString("utf8", offset, offset + length);
}

const socket = connect({ host, port });
const timer = setTimeout(() => fail("timed out"), 5000);
let buffered = Buffer.alloc(0);

function fail(reason) {
  clearTimeout(timer);
  socket.destroy();
  console.error(`cassandra probe: ${reason}`);
  process.exit(1);
}

socket.on("error", (error) => fail(error.message));
socket.on("connect", () => socket.write(frame(1, 0x01, startupBody())));
socket.on("data", (chunk) => {
  buffered = Buffer.concat([buffered, chunk]);
  while (buffered.length >= 9) {
    const length = buffered.readInt32BE(5);
    if (buffered.length < 9 + length) return;
    const opcode = buffered.readUInt8(4);
    const body = buffered.subarray(9, 9 + length);
    buffered = buffered.subarray(9 + length);
    if (opcode === 0x00) return fail(`server error: ${body.toString("utf8", 6)}`);
    if (opcode === 0x02) {
      socket.write(frame(2, 0x07, queryBody("SELECT release_version FROM system.local")));
    } else if (opcode === 0x08) {
      const version = firstCell(body);
      if (version === null) return fail("system.local returned no row");
      clearTimeout(timer);
      console.log(version);
      socket.end();
      process.exit(0);
    } else {
      return fail(`unexpected opcode ${opcode}`);
    }
  }
});

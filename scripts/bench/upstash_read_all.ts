/**
 * Upstash global order benchmark: how fast `readAll` reads, and what taking positions costs
 * an append. Side by side, in one run, each cycle running every case once in a random order,
 * so drift on a shared machine hits all sides alike:
 *
 * - `readAll` events per second over a log of EVENTS events, pages of 500:
 *   - `adapter`: `store.readAll()`, decoding every event;
 *   - `raw script`: the raw `@upstash/redis` client sending the very READ_ALL script the
 *     adapter sends (EVALSHA), keeping the replies undecoded: the adapter's own cost is the
 *     difference;
 *   - `minimal`: the floor a hand-made global order could reach: the same events, already
 *     encoded, in one Redis list read with `LRANGE` pages (no per-event lookup);
 * - appends per second of one event each, one appender on a stream of its own:
 *   - `append after`: the adapter (`store.append`), which takes a position and logs the event;
 *   - `append raw after`: the raw client sending the very APPEND script the adapter sends;
 *   - `append before`: the raw client sending format 0.1's append script (kept below, as
 *     text: receipt and `RPUSH`, no counter, no log, no time).
 *
 * Run: `set -a; . .services/upstash/env; set +a; node --import tsx scripts/bench/upstash_read_all.ts`
 * (`QUARK_BENCH_EVENTS` sets the log's size, default 20,000). The bridge and Redis run on this
 * machine: compare the rows with each other, not with Upstash's network latency.
 */
import { Redis } from "@upstash/redis";
import { deleteKeysWithPrefix } from "./_upstash_cleanup.ts";
import { upstashEventStore } from "../../adapters/upstash/mod.ts";
import { APPEND, READ_ALL, withReceipt } from "../../adapters/upstash/_scripts.ts";
import { locateGlobalOrder, locateStream } from "../../adapters/upstash/_keys.ts";
import { encodeEvent } from "../../adapters/upstash/_events.ts";

const url = process.env.UPSTASH_REDIS_REST_URL;
const token = process.env.UPSTASH_REDIS_REST_TOKEN;
if (!url || !token) {
  console.log("SKIP upstash readAll bench: UPSTASH_REDIS_REST_URL is not set (start it with scripts/services/upstash.sh start)");
  process.exit(0);
}

const EVENTS = Number(process.env.QUARK_BENCH_EVENTS ?? 20_000);
const PAGE_SIZE = 500;
const CYCLES = 11;
const APPENDS_PER_SAMPLE = 300;
const STREAMS = 100;
const data = crypto.getRandomValues(new Uint8Array(64));
const prefix = `quark-bench-${crypto.randomUUID().slice(0, 8)}`;

// Format 0.1's append script: the receipt, the version check and RPUSH, nothing global.
const APPEND_0_1 = withReceipt(`
local function run()
  local length = redis.call('LLEN', KEYS[2])
  if (ARGV[2] == 'no_stream' and length ~= 0) or (ARGV[2] == 'exact' and length ~= tonumber(ARGV[3])) then
    return {0, length}
  end
  local i = 4
  while i <= #ARGV do
    local j = math.min(i + 999, #ARGV)
    redis.call('RPUSH', KEYS[2], unpack(ARGV, i, j))
    i = j + 1
  end
  return {1, length + #ARGV - 3}
end`);

// One client for every side, so HTTP keep-alive and SDK overhead are the same.
const client = new Redis({ url, token, automaticDeserialization: false, enableTelemetry: false, enableAutoPipelining: false });
const store = upstashEventStore({ client, keyPrefix: prefix });
// Appends go to a prefix of their own, so the log that readAll measures keeps its size.
const appendStore = upstashEventStore({ client, keyPrefix: `${prefix}-append` });
const global = locateGlobalOrder(prefix);
const minimalList = `${prefix}:bench:all`;
const [readAllSha, appendSha, append01Sha] = await Promise.all([READ_ALL.source, APPEND.source, APPEND_0_1].map((source) => client.scriptLoad(source))) as [string, string, string];

console.log(`filling the log: ${EVENTS} events of ${data.length} bytes over ${STREAMS} streams, key prefix ${prefix}`);
const perStream = Math.ceil(EVENTS / STREAMS);
for (let stream = 0; stream < STREAMS; stream++) {
  for (let done = 0; done < perStream; done += 100) {
    const batch = Array.from({ length: Math.min(100, perStream - done) }, () => ({ type: "Deposited", data }));
    await store.append(`account-${stream}`, batch, done);
  }
}
// The minimal side holds the same events, encoded once, in one list.
for (let page = 0; ; page++) {
  const reply = await client.evalsha(readAllSha, [global.log], [String(page * PAGE_SIZE), String(PAGE_SIZE), global.streamBase]) as string[];
  if (reply.length === 0) break;
  const items = reply.filter((_, index) => index % 2 === 1);
  await client.rpush(minimalList, ...items);
}

async function adapterReadAll(): Promise<number> {
  let count = 0;
  for await (const _ of store.readAll({ pageSize: PAGE_SIZE })) count++;
  return count;
}

async function rawScriptReadAll(): Promise<number> {
  let count = 0;
  let after = 0;
  while (true) {
    const reply = await client.evalsha(readAllSha, [global.log], [String(after), String(PAGE_SIZE), global.streamBase]) as string[];
    count += reply.length / 2;
    if (reply.length < PAGE_SIZE * 2) return count;
    // Members are "<version>:<tag>"; the position is the element's first item.
    const last = reply[reply.length - 1]!;
    after = Number(last.slice(2, last.indexOf(",")));
  }
}

async function minimalReadAll(): Promise<number> {
  let count = 0;
  for (let start = 0; ; start += PAGE_SIZE) {
    const items = await client.lrange(minimalList, start, start + PAGE_SIZE - 1);
    count += items.length;
    if (items.length < PAGE_SIZE) return count;
  }
}

const appendStream = `append-${crypto.randomUUID().slice(0, 8)}`;
async function appendsAfter(): Promise<number> {
  for (let index = 0; index < APPENDS_PER_SAMPLE; index++) await appendStore.append(appendStream, [{ type: "E", data }], "any");
  return APPENDS_PER_SAMPLE;
}

const appendGlobal = locateGlobalOrder(`${prefix}-append`);
const rawAfterStream = locateStream(`${prefix}-append`, `raw-after-${crypto.randomUUID().slice(0, 8)}`);
const encoded = encodeEvent({ type: "E", data });
async function appendsRawAfter(): Promise<number> {
  for (let index = 0; index < APPENDS_PER_SAMPLE; index++) {
    const receipt = `${prefix}-append:r:{${rawAfterStream.slot}}:${crypto.randomUUID()}`;
    const keys = [receipt, rawAfterStream.events, appendGlobal.counter, appendGlobal.log];
    await client.evalsha(appendSha, keys, ["600000", "any", "0", rawAfterStream.slot, encoded]);
  }
  return APPENDS_PER_SAMPLE;
}

const beforeKey = `${prefix}-append:e:{before-${crypto.randomUUID().slice(0, 8)}}`;
const beforeEvent = JSON.stringify(["E", btoa(String.fromCharCode(...data))]);
async function appendsBefore(): Promise<number> {
  for (let index = 0; index < APPENDS_PER_SAMPLE; index++) {
    const receipt = `${prefix}-append:r:{before}:${crypto.randomUUID()}`;
    await client.evalsha(append01Sha, [receipt, beforeKey], ["600000", "any", "0", beforeEvent]);
  }
  return APPENDS_PER_SAMPLE;
}

const cases: Record<string, () => Promise<number>> = {
  "readAll adapter": adapterReadAll,
  "readAll raw script": rawScriptReadAll,
  "readAll minimal": minimalReadAll,
  "append after": appendsAfter,
  "append raw after": appendsRawAfter,
  "append before": appendsBefore,
};
const rates: Record<string, number[]> = Object.fromEntries(Object.keys(cases).map((name) => [name, []]));

// Warm-up: connections, script caches, JIT.
for (const run of Object.values(cases)) await run();
for (const [name, run] of Object.entries(cases)) {
  const counted = await run();
  if (name.startsWith("readAll") && counted !== STREAMS * perStream) throw new Error(`${name} read ${counted} events, expected ${STREAMS * perStream}`);
}

for (let cycle = 0; cycle < CYCLES; cycle++) {
  const order = Object.keys(cases).sort(() => Math.random() - 0.5);
  for (const name of order) {
    const started = performance.now();
    const count = await cases[name]!();
    rates[name]!.push(count / ((performance.now() - started) / 1000));
  }
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;
const perSecond = (name: string) => Math.round(median(rates[name]!));
console.log(`upstash readAll bench: ${url} (REST bridge in front of redis-server), ${CYCLES} cycles in random order, medians`);
for (const name of Object.keys(cases)) console.log(`${name.padEnd(20)} ${String(perSecond(name)).padStart(8)} per second`);
console.log(`ratio readAll adapter / raw script:   ${(perSecond("readAll adapter") / perSecond("readAll raw script")).toFixed(2)}`);
console.log(`ratio readAll adapter / minimal list: ${(perSecond("readAll adapter") / perSecond("readAll minimal")).toFixed(2)}`);
console.log(`ratio append after / before (0.1):    ${(perSecond("append after") / perSecond("append before")).toFixed(2)}`);
console.log(`ratio append raw after / before (0.1):${(perSecond("append raw after") / perSecond("append before")).toFixed(2)}`);

// Leave nothing behind: every key of this run starts with its own prefix (receipts expire).
await deleteKeysWithPrefix(client, prefix);

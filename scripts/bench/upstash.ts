/**
 * Upstash benchmark: HTTP round trips per single-state conditional write, counted by wrapping
 * `fetch` (every SDK request goes through it), and the latency of the adapter's conditional write next to the raw
 * `@upstash/redis` client sending the equivalent compare-and-set script with EVALSHA, and a
 * plain SET as the floor, on the same bridge and server, in one run.
 *
 * Run: `set -a; . .services/upstash/env; set +a; node --import tsx scripts/bench/upstash.ts`
 */
import { Redis } from "@upstash/redis";
import { upstashStorage } from "../../adapters/upstash/mod.ts";

const url = process.env.UPSTASH_REDIS_REST_URL;
const token = process.env.UPSTASH_REDIS_REST_TOKEN;
if (!url || !token) {
  console.log("SKIP upstash bench: UPSTASH_REDIS_REST_URL is not set (start it with scripts/services/upstash.sh start)");
  process.exit(0);
}

const ROUNDS = 7;
const WRITES_PER_ROUND = 300;
const value = crypto.getRandomValues(new Uint8Array(64));
const valueText = btoa(String.fromCharCode(...value));

let requests = 0;
const originalFetch = globalThis.fetch;
globalThis.fetch = ((input: RequestInfo | URL, init?: RequestInit) => {
  requests++;
  return originalFetch(input, init);
}) as typeof fetch;

// One client for both sides, so HTTP keep-alive and SDK overhead are the same.
const client = new Redis({ url, token, automaticDeserialization: false, enableTelemetry: false, enableAutoPipelining: false });
const storage = upstashStorage({ client, keyPrefix: "quark-bench" });

// What a hand-written compare-and-set looks like with the raw driver: check the etag and
// write value and etag in one script.
const RAW_CAS = `
local stored = redis.call('HGET', KEYS[1], 'e')
if (stored or '') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'v', ARGV[3], 'e', ARGV[2])
return 1`;
const rawSha = await client.scriptLoad(RAW_CAS);

async function adapterWrites(count: number): Promise<number[]> {
  const key = { actorType: "bench", actorId: crypto.randomUUID(), stateName: "s" };
  let etag = (await storage.write({ key, value, etag: crypto.randomUUID(), expectedEtag: null })).etag;
  const times: number[] = [];
  for (let i = 0; i < count; i++) {
    const started = performance.now();
    etag = (await storage.write({ key, value, etag: crypto.randomUUID(), expectedEtag: etag })).etag;
    times.push(performance.now() - started);
  }
  return times;
}

async function rawCasWrites(count: number): Promise<number[]> {
  const key = `quark-bench:raw:{${crypto.randomUUID()}}`;
  let etag = "";
  const times: number[] = [];
  for (let i = 0; i < count; i++) {
    const next = crypto.randomUUID();
    const started = performance.now();
    const applied = await client.evalsha(rawSha, [key], [etag, next, valueText]);
    times.push(performance.now() - started);
    if (Number(applied) !== 1) throw new Error("raw compare-and-set lost its own etag");
    etag = next;
  }
  return times;
}

async function rawSetWrites(count: number): Promise<number[]> {
  const key = `quark-bench:set:${crypto.randomUUID()}`;
  const times: number[] = [];
  for (let i = 0; i < count; i++) {
    const started = performance.now();
    await client.set(key, valueText);
    times.push(performance.now() - started);
  }
  return times;
}

const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
};
const mean = (values: number[]) => values.reduce((sum, v) => sum + v, 0) / values.length;

// Warm-up: connections, script caches, JIT.
await adapterWrites(100);
await rawCasWrites(100);
await rawSetWrites(100);

// Round trips: HTTP requests of conditional writes only (each carries one EVALSHA).
const counted = 200;
const key = { actorType: "bench", actorId: crypto.randomUUID(), stateName: "count" };
let etag = (await storage.write({ key, value, etag: crypto.randomUUID(), expectedEtag: null })).etag;
const requestsBefore = requests;
for (let i = 0; i < counted; i++) {
  etag = (await storage.write({ key, value, etag: crypto.randomUUID(), expectedEtag: etag })).etag;
}
const adapterRequests = requests - requestsBefore;

const rawBefore = requests;
await rawCasWrites(counted);
const rawRequests = requests - rawBefore;

// Latency: interleave the three so drift on a shared machine hits all alike.
const adapter: number[] = [];
const rawCas: number[] = [];
const rawSet: number[] = [];
for (let round = 0; round < ROUNDS; round++) {
  adapter.push(...await adapterWrites(WRITES_PER_ROUND));
  rawCas.push(...await rawCasWrites(WRITES_PER_ROUND));
  rawSet.push(...await rawSetWrites(WRITES_PER_ROUND));
}

const fmt = (ms: number) => `${ms.toFixed(3)} ms`;
console.log(`upstash bench: ${url} (REST bridge in front of redis-server), ${ROUNDS} x ${WRITES_PER_ROUND} writes each, 64-byte values`);
console.log(`round trips per single-state conditional write: ${(adapterRequests / counted).toFixed(2)} HTTP requests (${adapterRequests} for ${counted} writes; goal 1)`);
console.log(`raw driver EVALSHA compare-and-set: ${(rawRequests / counted).toFixed(2)} HTTP requests per write`);
console.log(`adapter conditional write:        median ${fmt(median(adapter))}, mean ${fmt(mean(adapter))}`);
console.log(`raw EVALSHA compare-and-set:      median ${fmt(median(rawCas))}, mean ${fmt(mean(rawCas))}`);
console.log(`raw SET (unconditional floor):    median ${fmt(median(rawSet))}, mean ${fmt(mean(rawSet))}`);
console.log(`ratio adapter / raw EVALSHA CAS:  ${(median(adapter) / median(rawCas)).toFixed(2)} (median), ${(mean(adapter) / mean(rawCas)).toFixed(2)} (mean)`);
console.log(`ratio adapter / raw SET:          ${(median(adapter) / median(rawSet)).toFixed(2)} (median)`);

globalThis.fetch = originalFetch;

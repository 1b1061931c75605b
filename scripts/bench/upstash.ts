/**
 * The Upstash suite of `npm run bench`, on the local REST bridge in front of redis-server:
 *
 * - the adapter's conditional write next to the raw `@upstash/redis` client sending the very
 *   same WRITE script with EVALSHA, with the same keys and arguments the adapter sends (a
 *   fresh receipt key, the state hash, the type index); this file used to compare with a
 *   shorter hand-written script than the adapter runs, which flattered the raw side;
 * - that minimal compare-and-set script as the floor, and the extra work the adapter's
 *   script buys is named beside the ratio;
 * - an actor call that saves, against the raw write, one caller and 16 callers at once;
 * - HTTP requests per write, counted by wrapping `fetch`.
 */
import { Redis } from "@upstash/redis";
import { upstashStorage } from "../../adapters/upstash/mod.ts";
import { WRITE } from "../../adapters/upstash/_scripts.ts";
import { locateState, receiptKey } from "../../adapters/upstash/_keys.ts";
import { createActorSystem, type StateKey } from "../../mod.ts";
import { BenchNote, concurrently, type BenchSuite, type OpenSuite } from "./_harness.ts";

const CALLERS = 16;
const PER_CALLER = 4;
const PREFIX = "quark-bench";
// The adapter's default receipt window.
const RECEIPT_WINDOW_MS = "600000";

// The least a conditional write can do: check the etag, then write value and etag.
const MINIMAL_CAS = `
local stored = redis.call('HGET', KEYS[1], 'e')
if (stored or '') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'v', ARGV[3], 'e', ARGV[2])
return 1`;


async function sha1(text: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-1", new TextEncoder().encode(text)));
  return [...digest].map((byte) => byte.toString(16).padStart(2, "0")).join("");
}

export const open: OpenSuite = async (env) => {
  const url = env.UPSTASH_REDIS_REST_URL;
  const token = env.UPSTASH_REDIS_REST_TOKEN;
  if (!url || !token) return "UPSTASH_REDIS_REST_URL is not set (start it with scripts/services/upstash.sh start)";
  let requests = 0;
  const originalFetch = globalThis.fetch;
  const countingFetch = ((input: RequestInfo | URL, init?: RequestInit) => {
    requests++;
    return originalFetch(input, init);
  }) as typeof fetch;
  // One client for every side, so HTTP keep-alive and SDK overhead are the same.
  const client = new Redis({ url, token, automaticDeserialization: false, enableTelemetry: false, enableAutoPipelining: false });
  globalThis.fetch = countingFetch;
  const storage = upstashStorage({ client, keyPrefix: PREFIX });
  const value = crypto.getRandomValues(new Uint8Array(64));
  const valueText = btoa(String.fromCharCode(...value));
  const writeSha = await client.scriptLoad(WRITE.source);
  const minimalSha = await client.scriptLoad(MINIMAL_CAS);
  if (writeSha !== await sha1(WRITE.source)) throw new Error("the server hashed the WRITE script differently");

  function adapterChain() {
    const key: StateKey = { actorType: "bench", actorId: crypto.randomUUID(), stateName: "s" };
    let etag: string | null = null;
    return async () => {
      etag = (await storage.write({ key, value, etag: crypto.randomUUID(), expectedEtag: etag })).etag;
    };
  }

  // The adapter's own script, keys and arguments, sent by the raw client.
  function rawSameScriptChain() {
    const key: StateKey = { actorType: "bench", actorId: crypto.randomUUID(), stateName: "s" };
    const where = locateState(PREFIX, key);
    let etag = "";
    return async () => {
      const next = crypto.randomUUID();
      const args = [RECEIPT_WINDOW_MS, etag === "" ? "none" : "match", etag, next, valueText, "", where.member];
      const reply = await client.evalsha(writeSha, [receiptKey(PREFIX, where.slot), where.state, where.index], args) as unknown[];
      if (Number(reply[0]) !== 1) throw new Error("raw WRITE lost its own etag");
      etag = next;
    };
  }

  function rawMinimalChain() {
    const key = `${PREFIX}:raw:{${crypto.randomUUID()}}`;
    let etag = "";
    return async () => {
      const next = crypto.randomUUID();
      if (Number(await client.evalsha(minimalSha, [key], [etag, next, valueText])) !== 1) throw new Error("raw compare-and-set lost its own etag");
      etag = next;
    };
  }

  const adapter = adapterChain();
  const same = rawSameScriptChain();
  const minimal = rawMinimalChain();
  const callers = Array.from({ length: CALLERS }, rawSameScriptChain);
  const system = createActorSystem({ storage });
  const one = system.actor(BenchNote, crypto.randomUUID());
  const many = Array.from({ length: CALLERS }, () => system.actor(BenchNote, crypto.randomUUID()));

  const suite: BenchSuite = {
    name: "upstash",
    cases: [
      { name: "adapter write", ops: 1, sample: adapter },
      { name: "raw same script", ops: 1, sample: same },
      { name: "raw minimal CAS script", ops: 1, sample: minimal },
      { name: "raw SET", ops: 1, sample: async () => void await client.set(`${PREFIX}:set`, valueText) },
      { name: "actor save", ops: 1, sample: () => one.bump() },
      { name: `raw same script, ${CALLERS} callers`, ops: CALLERS * PER_CALLER, sample: () => concurrently(CALLERS, PER_CALLER, (caller) => callers[caller]!()) },
      { name: `actor save, ${CALLERS} callers`, ops: CALLERS * PER_CALLER, sample: () => concurrently(CALLERS, PER_CALLER, (caller) => many[caller]!.bump()) },
    ],
    ratios: [
      { label: "upstash: actor save / raw same script (p50)", of: "actor save", to: "raw same script", target: "≤ 1.15" },
      { label: `upstash: ${CALLERS} callers, actor save / raw (time per op)`, of: `actor save, ${CALLERS} callers`, to: `raw same script, ${CALLERS} callers`, target: "≤ 1.11 (≥ 0.90× throughput)" },
      { label: "upstash: adapter write / raw same script", of: "adapter write", to: "raw same script" },
      { label: "upstash: adapter script / minimal CAS script", of: "raw same script", to: "raw minimal CAS script", target: "≤ 1.10, or the extra work named" },
    ],
    facts: async () => {
      const before = requests;
      for (let index = 0; index < 20; index++) await adapter();
      const afterWrites = requests;
      for (let index = 0; index < 20; index++) await one.bump();
      return {
        "HTTP requests per adapter write": ((afterWrites - before) / 20).toFixed(2),
        "HTTP requests per actor save": ((requests - afterWrites) / 20).toFixed(2),
        "what the adapter's script does beyond the minimal CAS": "a receipt (LRANGE, RPUSH, PEXPIRE) so a resent request returns its first reply, the revision and TTL fields, and the type index (ZADD) that list() reads",
      };
    },
    close: async () => {
      await system.shutdown();
      await storage.close();
      globalThis.fetch = originalFetch;
    },
  };
  return suite;
};

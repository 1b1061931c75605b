import { upstashEventStore, upstashStorage } from "../../../adapters/upstash/mod.ts";
import { runEventStoreConformance, runStorageConformance } from "../../../src/testing/mod.ts";
import type { RuntimeSuite } from "../protocol.ts";

const suite: RuntimeSuite = {
  name: "upstash",
  register(test, env) {
    const connection = { url: env.UPSTASH_REDIS_REST_URL!, token: env.UPSTASH_REDIS_REST_TOKEN! };
    // A wider backoff than the suite's default (40 ms): 64 writers over HTTP otherwise spend
    // most requests on conflicts (over 100,000 requests for 3,200 increments on Node).
    const raceRetry = { maxAttempts: 1000, maxDelayMs: 1000 };
    runStorageConformance(test, { name: "upstash", open: () => upstashStorage(connection), raceRetry });
    runEventStoreConformance(test, { name: "upstash", open: () => upstashEventStore(connection) });
  },
};

export default suite;

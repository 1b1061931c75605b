// Benchmarks leave nothing behind in Redis: every key of a run starts with the run's prefix.
import type { Redis } from "@upstash/redis";

export async function deleteKeysWithPrefix(client: Redis, prefix: string): Promise<void> {
  let cursor = "0";
  do {
    const [next, keys] = await client.scan(cursor, { match: `${prefix}*`, count: 1000 });
    cursor = String(next);
    if (keys.length > 0) await client.del(...keys);
  } while (cursor !== "0");
}

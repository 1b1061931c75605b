// The edge recipes keep their state in Redis through the Upstash REST bridge; without it
// their tests skip, by name, as the adapter tests do.
import process from "node:process";
import { runner } from "./server_process.ts";

const names = ["UPSTASH_REDIS_REST_URL", "UPSTASH_REDIS_REST_TOKEN"] as const;

export const upstashEnv: Record<string, string> = Object.fromEntries(names.flatMap((name) => process.env[name] ? [[name, process.env[name]]] : []));

const missing = names.filter((name) => !upstashEnv[name]);

/** Why an edge recipe test cannot run here, if it cannot. */
export const edgeSkip: string | undefined = runner !== "node"
  ? "the edge runtimes are driven from Node (Miniflare, edge-runtime)"
  : missing.length
    ? `${missing.join(", ")} not set (start it with scripts/services/upstash.sh start)`
    : undefined;

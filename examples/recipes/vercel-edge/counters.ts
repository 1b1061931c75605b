// A Vercel Edge Function, as `api/counters.ts` in a Vercel project (Next.js route handlers
// take the same `Request` and return the same `Response`). Set UPSTASH_REDIS_REST_URL and
// UPSTASH_REDIS_REST_TOKEN in the project's environment variables.
//
// Where the system lives: at module scope, which on the edge means one per isolate. An
// isolate serves many requests, so they share its actors; but Vercel runs many isolates
// that share no memory, so the state lives in Redis through Upstash's REST API, over fetch.
// When two isolates hold the same counter, the etag check refuses the second writer and
// `conflict: "retry"` reloads and re-runs its turn.
//
// Shutdown: an isolate is dropped without notice and there is no hook to run. Nothing is
// lost, because each turn saves before it answers, and the Upstash client holds no
// connection to close.
import { createActorSystem } from "../../../mod.ts";
import { upstashStorage } from "../../../adapters/upstash/mod.ts";
import { counterRoutes } from "../counter_routes.ts";

export const config = { runtime: "edge" };

const system = createActorSystem({
  storage: upstashStorage({ url: process.env.UPSTASH_REDIS_REST_URL, token: process.env.UPSTASH_REDIS_REST_TOKEN }),
});

export default function handler(request: Request): Promise<Response> {
  return counterRoutes(system, request);
}

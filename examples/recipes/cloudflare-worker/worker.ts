// A Cloudflare Worker (module syntax). Deploy with wrangler, with the Upstash REST URL and
// token as secrets: `wrangler secret put UPSTASH_REDIS_REST_URL` (and `…_TOKEN`).
//
// Where the system lives: one per isolate, made by the isolate's first request, because
// bindings (`env`) arrive with requests, not at module load. Later requests to the same
// isolate reuse it and its active actors. Isolates share no memory (Cloudflare runs many, in
// many places), so the state must live in a backend they all reach: here Redis through
// Upstash's REST API, over fetch. Two isolates may each hold the same counter; the etag check
// refuses the second writer, and `conflict: "retry"` reloads and re-runs its turn.
//
// Shutdown: Workers have no shutdown hook; an isolate is evicted without notice. Nothing is
// lost, because each turn saves before it answers, and the Upstash client holds no
// connection to close.
import { createActorSystem, type ActorSystem } from "../../../mod.ts";
import { upstashStorage } from "../../../adapters/upstash/mod.ts";
import { counterRoutes } from "../counter_routes.ts";

interface Env {
  readonly UPSTASH_REDIS_REST_URL: string;
  readonly UPSTASH_REDIS_REST_TOKEN: string;
}

let system: ActorSystem | undefined;

export default {
  fetch(request: Request, env: Env): Promise<Response> {
    system ??= createActorSystem({
      storage: upstashStorage({ url: env.UPSTASH_REDIS_REST_URL, token: env.UPSTASH_REDIS_REST_TOKEN }),
    });
    return counterRoutes(system, request);
  },
};

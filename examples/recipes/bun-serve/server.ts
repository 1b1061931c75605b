// A plain `Bun.serve` server with Bun's own router: `bun examples/recipes/bun-serve/server.ts`
// (PORT and DATA_DIR optional).
//
// The actor system lives in the block below, declared with `await using`: it is shut down,
// and with `closeStorages: true` PGlite is closed, when the block ends, which is after the
// server has stopped. A signal stops the server (requests in flight finish first).
import { mkdirSync } from "node:fs";
import { createActorSystem } from "../../../mod.ts";
import { pgliteStorage } from "../../../adapters/pglite/mod.ts";
import { Counter } from "../counter.ts";

const dataDir = Bun.env.DATA_DIR ?? ".data/bun-serve";
mkdirSync(dataDir, { recursive: true }); // PGlite makes its own folder, not the parents
{
  await using system = createActorSystem({ storage: pgliteStorage({ dataDir, autoCreateSchema: true }), closeStorages: true });

  const server = Bun.serve({
    hostname: "127.0.0.1",
    port: Number(Bun.env.PORT ?? 8000),
    routes: {
      "/counters/:id": {
        POST: async (request) => Response.json({ count: await system.actor(Counter, request.params.id).increment() }),
        GET: async (request) => Response.json({ count: await system.actor(Counter, request.params.id).read() }),
      },
    },
    fetch: () => Response.json({ error: "not found" }, { status: 404 }),
  });
  console.log(`listening on ${server.url}`);

  await new Promise((resolve) => {
    process.once("SIGINT", resolve);
    process.once("SIGTERM", resolve);
  });
  await server.stop();
}
console.log("shut down");

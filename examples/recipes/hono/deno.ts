// Hono on Deno: `deno run -A examples/recipes/hono/deno.ts` (PORT and DATA_DIR optional).
//
// The actor system lives at module scope: one per process, shared by every request, with its
// state in PGlite under DATA_DIR. `closeStorages: true` makes shutdown close PGlite, since
// this process is its only user. On SIGINT or SIGTERM the server stops taking requests and
// finishes those in flight, then the system shuts down and the process exits on its own.
import { createActorSystem } from "../../../mod.ts";
import { pgliteStorage } from "../../../adapters/pglite/mod.ts";
import { counterApp } from "./app.ts";

const dataDir = Deno.env.get("DATA_DIR") ?? ".data/hono-deno";
await Deno.mkdir(dataDir, { recursive: true }); // PGlite makes its own folder, not the parents
const system = createActorSystem({ storage: pgliteStorage({ dataDir, autoCreateSchema: true }), closeStorages: true });

const server = Deno.serve({
  hostname: "127.0.0.1",
  port: Number(Deno.env.get("PORT") ?? 3000),
  onListen: ({ port }) => console.log(`listening on http://127.0.0.1:${port}`),
}, counterApp(system).fetch);

async function stop(): Promise<void> {
  Deno.removeSignalListener("SIGINT", stop);
  Deno.removeSignalListener("SIGTERM", stop);
  await server.shutdown();
  await system.shutdown();
  console.log("shut down");
}
Deno.addSignalListener("SIGINT", stop);
Deno.addSignalListener("SIGTERM", stop);

// Hono on Deno: `deno run -A examples/recipes/hono/deno.ts` (PORT and DATA_DIR optional).
//
// The actor system lives at module scope: one per process, shared by every request, with its
// state in PGlite under DATA_DIR. `closeStorages: true` makes shutdown close PGlite, since
// this process is its only user. On SIGINT or SIGTERM the server stops taking requests and
// finishes those in flight, then the system shuts down and the process exits on its own.
import { createActorSystem, createProjector } from "../../../mod.ts";
import { pgliteEventStore, pgliteStorage } from "../../../adapters/pglite/mod.ts";
import { Balances } from "../ledger.ts";
import { counterApp } from "./app.ts";

const dataDir = Deno.env.get("DATA_DIR") ?? ".data/hono-deno";
await Deno.mkdir(dataDir, { recursive: true }); // PGlite makes its own folder, not the parents
const storage = pgliteStorage({ dataDir, autoCreateSchema: true });
const eventStore = pgliteEventStore({ dataDir, autoCreateSchema: true }); // shares the PGlite of dataDir
const system = createActorSystem({ storage, eventStore, closeStorages: true });
// The read model is kept up to date by this process, polling the global order of events.
const balances = createProjector(Balances, { eventStore, storage });
const following = balances.start({ pollIntervalMs: 20, maxPollIntervalMs: 200 });

const server = Deno.serve({
  hostname: "127.0.0.1",
  port: Number(Deno.env.get("PORT") ?? 3000),
  onListen: ({ port }) => console.log(`listening on http://127.0.0.1:${port}`),
}, counterApp(system, balances).fetch);

async function stop(): Promise<void> {
  Deno.removeSignalListener("SIGINT", stop);
  Deno.removeSignalListener("SIGTERM", stop);
  await server.shutdown();
  await following.stop();
  await system.shutdown();
  console.log("shut down");
}
Deno.addSignalListener("SIGINT", stop);
Deno.addSignalListener("SIGTERM", stop);

// Hono on Node: `node --import tsx examples/recipes/hono/node.ts` (PORT and DATA_DIR optional).
//
// The actor system lives at module scope: one per process, made before the server listens,
// shared by every request. PGlite keeps the state in DATA_DIR, and this process is its only
// user, so `closeStorages: true` lets shutdown close it. SIGINT and SIGTERM stop accepting
// requests, let the ones in flight finish, then shut the system down; the process then exits
// on its own, with nothing left open.
import { mkdirSync } from "node:fs";
import process from "node:process";
import { serve } from "@hono/node-server";
import { createActorSystem, createProjector } from "../../../mod.ts";
import { pgliteEventStore, pgliteStorage } from "../../../adapters/pglite/mod.ts";
import { Balances } from "../ledger.ts";
import { counterApp } from "./app.ts";

const dataDir = process.env.DATA_DIR ?? ".data/hono-node";
mkdirSync(dataDir, { recursive: true }); // PGlite makes its own folder, not the parents
const storage = pgliteStorage({ dataDir, autoCreateSchema: true });
const eventStore = pgliteEventStore({ dataDir, autoCreateSchema: true }); // shares the PGlite of dataDir
const system = createActorSystem({ storage, eventStore, closeStorages: true });
// The read model is kept up to date by this process, polling the global order of events.
const balances = createProjector(Balances, { eventStore, storage });
const following = balances.start({ pollIntervalMs: 20, maxPollIntervalMs: 200 });

const server = serve({ fetch: counterApp(system, balances).fetch, hostname: "127.0.0.1", port: Number(process.env.PORT ?? 3000) }, (info) => {
  console.log(`listening on http://127.0.0.1:${info.port}`);
});

async function stop(): Promise<void> {
  await new Promise((resolve) => server.close(resolve));
  await following.stop();
  await system.shutdown();
  console.log("shut down");
}
process.once("SIGINT", stop);
process.once("SIGTERM", stop);

// A plain `Deno.serve` handler: `deno run -A examples/recipes/deno-serve/server.ts`
// (PORT and DATA_DIR optional).
//
// The actor system lives in the block below, declared with `await using`: it is shut down,
// and with `closeStorages: true` PGlite is closed, when the block ends, which is once the
// server has finished. A signal aborts the server's `signal`, which stops it taking requests
// and lets the ones in flight finish; `server.finished` then resolves and the block ends.
import { createActorSystem } from "../../../mod.ts";
import { pgliteStorage } from "../../../adapters/pglite/mod.ts";
import { counterRoutes } from "../counter_routes.ts";

const dataDir = Deno.env.get("DATA_DIR") ?? ".data/deno-serve";
await Deno.mkdir(dataDir, { recursive: true }); // PGlite makes its own folder, not the parents
{
  await using system = createActorSystem({ storage: pgliteStorage({ dataDir, autoCreateSchema: true }), closeStorages: true });

  const stopping = new AbortController();
  const abort = () => stopping.abort();
  Deno.addSignalListener("SIGINT", abort);
  Deno.addSignalListener("SIGTERM", abort);

  const server = Deno.serve({
    hostname: "127.0.0.1",
    port: Number(Deno.env.get("PORT") ?? 8000),
    signal: stopping.signal,
    onListen: ({ port }) => console.log(`listening on http://127.0.0.1:${port}`),
  }, (request) => counterRoutes(system, request));

  await server.finished;
  // A listener left registered would keep the process alive.
  Deno.removeSignalListener("SIGINT", abort);
  Deno.removeSignalListener("SIGTERM", abort);
}
console.log("shut down");

// Entries for the bundles. `serveWorker` is the default export of a Workers module (settings
// arrive as bindings); `serveEdge` registers a Vercel Edge fetch listener (settings arrive as
// the `QUARK_ENV` global, since edge-runtime has no `process.env`). Both use one handler.
import { createHandler } from "./handler.ts";
import type { RuntimeEnv, RuntimeSuite } from "./protocol.ts";

/** A Workers module that serves the given suites. */
export function serveWorker(suites: readonly RuntimeSuite[]): { fetch(request: Request, env: RuntimeEnv): Promise<Response> } {
  const handle = createHandler(suites);
  return { fetch: (request, env) => handle(request, env) };
}

interface FetchEvent {
  readonly request: Request;
  respondWith(response: Promise<Response>): void;
}

/** Registers a fetch listener in an edge-runtime context for the given suites. */
export function serveEdge(suites: readonly RuntimeSuite[]): void {
  const handle = createHandler(suites);
  const scope = globalThis as unknown as {
    QUARK_ENV?: RuntimeEnv;
    addEventListener(type: "fetch", listener: (event: FetchEvent) => void): void;
  };
  scope.addEventListener("fetch", (event) => event.respondWith(handle(event.request, scope.QUARK_ENV ?? {})));
}

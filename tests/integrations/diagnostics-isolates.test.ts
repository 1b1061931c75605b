// The diagnostics observer in isolates, bundled as their tools bundle: in workerd with
// nodejs_compat a subscriber sees a turn's storage calls; in workerd without it and in Vercel's
// edge-runtime, which have no node:diagnostics_channel, the observer has no callbacks and the
// turn runs as before. Miniflare and edge-runtime are Node packages, so this runs on Node.
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { fileURLToPath } from "node:url";

const onNode = !("Deno" in globalThis) && !("Bun" in globalThis);
const skip = onNode ? false : "Miniflare and edge-runtime run on Node only";
const root = fileURLToPath(new URL("../..", import.meta.url));

// Subscribes when the runtime has diagnostics_channel, runs one turn, and answers with the
// observer's callbacks and the storage operations the subscriber saw.
const handler = `
import { createActorSystem, memoryStorage } from "./mod.ts";
import { Counter } from "./tests/integrations/_counter.ts";
import { diagnosticsObserver } from "./adapters/diagnostics/mod.ts";
async function handle() {
  const seen = [];
  const diagnostics = await import("node:diagnostics_channel").catch(() => undefined);
  diagnostics?.subscribe("quark:storage", (event) => seen.push(event.operation));
  const observer = await diagnosticsObserver();
  const system = createActorSystem({ storage: memoryStorage(), observer });
  const count = await system.actor(Counter, "c").add(2);
  await system.shutdown();
  return Response.json({ callbacks: Object.keys(observer), count, seen });
}
`;

async function bundle(format: "esm" | "iife", entry: string): Promise<string> {
  const { build } = await import("esbuild");
  const result = await build({
    stdin: { contents: handler + entry, resolveDir: root, sourcefile: "diagnostics-probe.js", loader: "js" },
    bundle: true,
    write: false,
    format,
    platform: "browser",
    conditions: format === "esm" ? ["workerd", "worker", "browser"] : ["edge-light", "worker", "browser"],
    // Left as an import, as wrangler and the edge bundler leave a Node built-in.
    external: ["node:*"],
    logLevel: "silent",
  });
  return result.outputFiles[0]!.text;
}

const noCallbacks = { callbacks: [], count: 2, seen: [] };
const cleanups: Array<() => Promise<void>> = [];
after(() => Promise.all(cleanups.map((cleanup) => cleanup())));

async function inWorkerd(compatibilityFlags: string[]): Promise<unknown> {
  const { Miniflare } = await import("miniflare");
  const worker = new Miniflare({
    modules: [{ type: "ESModule", path: `${root}/.cache/diagnostics-probe.mjs`, contents: await bundle("esm", "export default { fetch: handle };") }],
    compatibilityDate: "2025-09-01",
    compatibilityFlags,
  });
  cleanups.push(() => worker.dispose());
  return (await worker.dispatchFetch("http://probe.test/")).json();
}

test("workerd with nodejs_compat: a subscriber sees the turn's storage calls", { skip }, async () => {
  assert.deepEqual(await inWorkerd(["nodejs_compat"]), { callbacks: ["storageOperation", "actor", "write", "snapshot"], count: 2, seen: ["read", "write"] });
});

test("workerd without nodejs_compat: the observer has no callbacks and the turn runs", { skip }, async () => {
  assert.deepEqual(await inWorkerd([]), noCallbacks);
});

test("edge-runtime: the observer has no callbacks and the turn runs", { skip }, async () => {
  const { EdgeRuntime } = await import("edge-runtime");
  const edge = new EdgeRuntime({ initialCode: await bundle("iife", `addEventListener("fetch", (event) => event.respondWith(handle()));`) });
  assert.deepEqual(await (await edge.dispatchFetch("http://probe.test/")).json(), noCallbacks);
});

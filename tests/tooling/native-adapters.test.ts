// Adapters with native drivers (postgres, mongodb, cassandra, mssql) refuse to load on the
// edge with a message that names the adapter and the edge adapters to use instead, not an
// error from inside a driver.
import { after, test } from "node:test";
import assert from "node:assert/strict";
import { Miniflare } from "miniflare";
import { EdgeRuntime } from "edge-runtime";
import { join } from "node:path";
import { bundleImportProbe, NATIVE_ADAPTERS, root } from "../runtimes/harness.ts";

interface ProbeAnswer {
  readonly imported?: boolean;
  readonly name?: string;
  readonly code?: string;
  readonly message?: string;
}

function assertRefused(answer: ProbeAnswer, adapter: string, runtime: string): void {
  assert.notEqual(answer.imported, true, `${adapter} loaded on ${runtime}`);
  assert.equal(answer.code, "CONFIGURATION", `${adapter}: ${JSON.stringify(answer)}`);
  assert.match(answer.message ?? "", new RegExp(`The ${adapter} adapter cannot run on ${runtime}`));
  for (const edge of ["neon", "upstash", "dynamodb", "durable-objects"]) assert.match(answer.message ?? "", new RegExp(`@quark/persistence/${edge}`));
}

// nodejs_compat, because the cassandra and mssql entries import node:buffer; without it
// workerd refuses the Worker before any code runs.
const worker = new Miniflare({
  modules: [{ type: "ESModule", path: join(root, ".cache/native-probe.mjs"), contents: await bundleImportProbe("workerd", NATIVE_ADAPTERS) }],
  compatibilityDate: "2025-09-01",
  compatibilityFlags: ["nodejs_compat"],
});
after(() => worker.dispose());

for (const adapter of NATIVE_ADAPTERS) {
  test(`workerd: importing the ${adapter} adapter fails with a clear message`, async () => {
    const response = await worker.dispatchFetch(`http://probe.test/?adapter=${adapter}`);
    assertRefused(await response.json() as ProbeAnswer, adapter, "Cloudflare Workers");
  });
}

// Vercel's edge bundler rejects Node built-ins itself, so only the entries without one are
// probed on edge-runtime.
const edgeAdapters = ["postgres", "mongodb"];
const edge = new EdgeRuntime({ initialCode: await bundleImportProbe("edge-runtime", edgeAdapters) });
for (const adapter of edgeAdapters) {
  test(`edge-runtime: importing the ${adapter} adapter fails with a clear message`, async () => {
    const response = await edge.dispatchFetch(`http://probe.test/?adapter=${adapter}`);
    assertRefused(await response.json() as ProbeAnswer, adapter, "Vercel Edge");
  });
}

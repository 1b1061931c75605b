// The Durable Objects backend inside workerd (Miniflare): the storage, contention and event
// store conformance suites run inside a SQLite-backed object, on its own `ctx.storage`.
import { after, test } from "node:test";
import { join } from "node:path";
import { Miniflare } from "miniflare";
import { bundleForTarget, registerRemoteCases, root } from "../runtimes/harness.ts";

const entry = join(root, "tests/tooling/durable-objects/conformance_object.ts");
const script = await bundleForTarget("workerd", `export { default, ConformanceObject } from ${JSON.stringify(entry)};`, "conformance.js");
const worker = new Miniflare({
  modules: true,
  script,
  compatibilityDate: "2025-09-01",
  durableObjects: { CONFORMANCE: { className: "ConformanceObject", useSQLite: true } },
});
after(() => worker.dispose());

await registerRemoteCases(test, "workerd durable object", { suites: ["durable-objects"], skipped: [], env: {} }, (path, init) =>
  worker.dispatchFetch(`http://quark.test${path}`, init as never));

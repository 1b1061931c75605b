// Runs the core and the edge adapters' conformance suites inside workerd (Miniflare), one
// node:test test per case. Service settings travel as Worker bindings.
import { after, test } from "node:test";
import process from "node:process";
import { Miniflare } from "miniflare";
import { bundleSuites, registerRemoteCases, selectSuites } from "../runtimes/harness.ts";

const only = process.env.QUARK_RUNTIME_SUITES?.split(",");
const selection = selectSuites(process.env, only);
const script = await bundleSuites("workerd", selection.suites);
const worker = new Miniflare({
  modules: true,
  script,
  compatibilityDate: "2025-09-01",
  bindings: selection.env,
});
after(() => worker.dispose());

await registerRemoteCases(test, "workerd", selection, (path, init) => worker.dispatchFetch(`http://quark.test${path}`, init as never));

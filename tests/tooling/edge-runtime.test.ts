// Runs the core and the edge adapters' conformance suites inside Vercel's edge-runtime, one
// node:test test per case. Service settings travel as the `QUARK_ENV` global, since the edge
// has no `process.env`.
import { test } from "node:test";
import process from "node:process";
import { EdgeRuntime } from "edge-runtime";
import { bundleSuites, registerRemoteCases, selectSuites } from "../runtimes/harness.ts";

const only = process.env.QUARK_RUNTIME_SUITES?.split(",");
const selection = selectSuites(process.env, only);
const script = await bundleSuites("edge-runtime", selection.suites);
const runtime = new EdgeRuntime({
  extend: (context) => Object.assign(context, { QUARK_ENV: selection.env }),
});
runtime.evaluate(script);

await registerRemoteCases(test, "edge-runtime", selection, async (path, init) => {
  const response = await runtime.dispatchFetch(`http://quark.test${path}`, init);
  await response.waitUntil();
  return response;
});

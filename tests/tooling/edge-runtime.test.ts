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
// Six outgoing requests at a time, as workerd allows per request. Nothing in edge-runtime
// caps them, and 64 racing writers against a one-request-at-a-time moto then spend the time
// on conflicts (the dynamodb race took over 12 minutes uncapped, 4 in workerd).
function limitConcurrency(fetch: typeof globalThis.fetch, limit: number): typeof globalThis.fetch {
  let active = 0;
  const waiting: Array<() => void> = [];
  return async (input, init) => {
    if (active >= limit) await new Promise<void>((resolve) => waiting.push(resolve));
    active++;
    try {
      // The slot is freed once the headers arrive; the replies here are small.
      return await fetch(input, init);
    } finally {
      active--;
      waiting.shift()?.();
    }
  };
}

const runtime = new EdgeRuntime({
  extend: (context) => {
    const fetch = context.fetch as typeof globalThis.fetch;
    return Object.assign(context, { QUARK_ENV: selection.env, fetch: limitConcurrency(fetch, 6) });
  },
});
runtime.evaluate(script);

await registerRemoteCases(test, "edge-runtime", selection, async (path, init) => {
  const response = await runtime.dispatchFetch(`http://quark.test${path}`, init);
  await response.waitUntil();
  return response;
});

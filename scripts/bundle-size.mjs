#!/usr/bin/env node
// Prints the minified + gzipped size of the core entry (mod.ts, valibot external since it is
// a peer) and of a Worker that uses defineState, one actor and the upstash adapter (everything
// bundled, as wrangler would). `--json` prints the numbers for tests/tooling/bundle-size.test.ts.
import { build } from "esbuild";
import { gzipSync } from "node:zlib";
import { join } from "node:path";

const root = new URL("..", import.meta.url).pathname;
/**
 * The core entry's budget, min+gz, valibot excluded. Raised from 15 KiB to 20 KiB when turns
 * became units of work, the observer, bounded decoding and the key rule joined the core
 * (17.8 KiB then); raised to 26 KiB when event metadata, subscriptions, projections and
 * leases joined it (22.8 KiB then). It guards against accidental growth, not against features.
 */
export const CORE_BUDGET_BYTES = 26 * 1024;

const worker = `
import * as v from "valibot";
import { createActorSystem, defineActor, defineState } from "./mod.ts";
import { upstashStorage } from "./adapters/upstash/mod.ts";

const count = defineState("count", { schema: v.object({ n: v.number() }), initial: { n: 0 } });
const Counter = defineActor("counter", {
  states: { count },
  handlers: {
    async increment({ states }) {
      states.count.value = { n: states.count.value.n + 1 };
      await states.count.save();
      return states.count.value.n;
    },
  },
});

export default {
  async fetch(request, env) {
    const system = createActorSystem({ storage: upstashStorage({ url: env.UPSTASH_REDIS_REST_URL, token: env.UPSTASH_REDIS_REST_TOKEN }) });
    const n = await system.actor(Counter, new URL(request.url).pathname).increment();
    await system.shutdown();
    return new Response(String(n));
  },
};
`;

async function measure(options) {
  const result = await build({
    bundle: true,
    minify: true,
    write: false,
    format: "esm",
    platform: "browser",
    target: "es2022",
    conditions: ["workerd", "worker", "browser"],
    logLevel: "silent",
    ...options,
  });
  const code = result.outputFiles[0].contents;
  return { minified: code.length, gzipped: gzipSync(code, { level: 9 }).length };
}

const core = await measure({ entryPoints: [join(root, "mod.ts")], external: ["valibot"] });
const workerSize = await measure({ stdin: { contents: worker, resolveDir: root, sourcefile: "worker.js", loader: "js" } });
const sizes = { core: { ...core, budget: CORE_BUDGET_BYTES }, worker: workerSize };

if (process.argv.includes("--json")) {
  console.log(JSON.stringify(sizes));
} else {
  const kb = (bytes) => `${(bytes / 1024).toFixed(1)} KB`;
  console.log(`core entry (mod.ts, valibot external): ${kb(core.minified)} min, ${kb(core.gzipped)} min+gz (budget ${kb(CORE_BUDGET_BYTES)})`);
  console.log(`Worker (defineState + one actor + upstash, all bundled): ${kb(workerSize.minified)} min, ${kb(workerSize.gzipped)} min+gz`);
  if (core.gzipped > CORE_BUDGET_BYTES) {
    console.error(`core entry is over budget by ${core.gzipped - CORE_BUDGET_BYTES} bytes`);
    process.exitCode = 1;
  }
}

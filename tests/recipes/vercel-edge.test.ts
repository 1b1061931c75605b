// The Vercel Edge recipe, bundled as Vercel's build would and served by edge-runtime on a real
// port. Two runtimes are two isolates that share no memory, only Upstash.
import { after, test } from "node:test";
import { join } from "node:path";
import { EdgeRuntime, runServer } from "edge-runtime";
import { bundleForTarget } from "../runtimes/harness.ts";
import { checkIsolatesSharingUpstash } from "./counter_checks.ts";
import { root } from "./server_process.ts";
import { edgeSkip, upstashEnv } from "./upstash_env.ts";

const handler = join(root, "examples/recipes/vercel-edge/counters.ts");

// edge-runtime runs the isolate's timers on this process's event loop, so the actors' idle
// timers (5 minutes) would keep the test process alive after the test; on Vercel nothing
// waits for an isolate's timers. Unreferenced timers keep the behaviour and let it exit.
function unreferencedSetTimeout(callback: () => void, ms?: number): ReturnType<typeof setTimeout> {
  return setTimeout(callback, ms).unref();
}

async function startIsolate(script: string): Promise<string> {
  const runtime = new EdgeRuntime({
    extend: (context) => Object.assign(context, {
      // Vercel gives edge code the project's variables as `process.env`; edge-runtime does not.
      process: { env: upstashEnv },
      setTimeout: unreferencedSetTimeout,
      clearTimeout,
    }),
  });
  runtime.evaluate(script);
  const server = await runServer({ runtime, host: "127.0.0.1", port: 0 });
  after(() => server.close());
  return server.url.replace(/\/$/, "");
}

test("the Vercel Edge function answers in edge-runtime, and isolates share counts through Upstash", edgeSkip ? { skip: edgeSkip } : {}, async () => {
  const entry = `import handler from ${JSON.stringify(handler)};
addEventListener("fetch", (event) => event.respondWith(handler(event.request)));`;
  const script = await bundleForTarget("edge-runtime", entry, "edge.js");
  const [left, right] = await Promise.all([startIsolate(script), startIsolate(script)]);
  await checkIsolatesSharingUpstash(left, right);
});

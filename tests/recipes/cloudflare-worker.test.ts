// The Worker recipe, bundled as wrangler would and served by workerd (Miniflare) on a real
// port. Two Miniflare instances are two isolates that share no memory, only Upstash.
import { after, test } from "node:test";
import { join } from "node:path";
import { Miniflare } from "miniflare";
import { bundleForTarget } from "../runtimes/harness.ts";
import { checkIsolatesSharingUpstash } from "./counter_checks.ts";
import { root } from "./server_process.ts";
import { edgeSkip, upstashEnv } from "./upstash_env.ts";

const worker = join(root, "examples/recipes/cloudflare-worker/worker.ts");

async function startIsolate(script: string): Promise<string> {
  const isolate = new Miniflare({ modules: true, script, compatibilityDate: "2025-09-01", bindings: upstashEnv, host: "127.0.0.1", port: 0 });
  after(() => isolate.dispose());
  return (await isolate.ready).origin;
}

test("the Cloudflare Worker answers in workerd, and isolates share counts through Upstash", edgeSkip ? { skip: edgeSkip } : {}, async () => {
  const script = await bundleForTarget("workerd", `export { default } from ${JSON.stringify(worker)};`, "worker.js");
  const [left, right] = await Promise.all([startIsolate(script), startIsolate(script)]);
  await checkIsolatesSharingUpstash(left, right);
});

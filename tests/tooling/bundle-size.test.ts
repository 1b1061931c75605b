// The core entry stays within its size budget (min+gz, valibot excluded as a peer).
import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { join } from "node:path";
import process from "node:process";

const root = new URL("../..", import.meta.url).pathname;

test("the core entry is within its min+gz budget", () => {
  const output = execFileSync(process.execPath, [join(root, "scripts/bundle-size.mjs"), "--json"], { cwd: root, encoding: "utf8" });
  const sizes = JSON.parse(output) as {
    core: { minified: number; gzipped: number; budget: number };
    worker: { minified: number; gzipped: number };
  };
  console.log(`core ${sizes.core.gzipped} B min+gz (budget ${sizes.core.budget} B); upstash Worker ${sizes.worker.gzipped} B min+gz`);
  assert.ok(sizes.core.gzipped > 1000, "the measurement looks broken");
  assert.ok(sizes.core.gzipped <= sizes.core.budget, `core entry is ${sizes.core.gzipped} B min+gz, over the ${sizes.core.budget} B budget`);
});

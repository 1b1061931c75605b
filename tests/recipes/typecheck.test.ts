// The Deno-only and Bun-only recipes are left out of tsconfig.json, whose Node types know no
// `Deno` or `Bun` global; here each is checked against its own runtime's types instead.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import process from "node:process";
import { join } from "node:path";
import { root, runner } from "./server_process.ts";

test("the Deno recipes pass deno check", runner === "deno" ? {} : { skip: "runs when the tests run on deno" }, () => {
  const result = spawnSync(process.execPath, ["check", "--quiet", "examples/recipes/hono/deno.ts", "examples/recipes/deno-serve/server.ts"], { cwd: root, encoding: "utf8" });
  assert.equal(result.status, 0, result.stdout + result.stderr);
});

test("the Bun recipes type-check with bun-types", runner === "bun" ? {} : { skip: "runs when the tests run on bun" }, () => {
  const tsc = join(root, "node_modules", "typescript", "bin", "tsc");
  const result = spawnSync(process.execPath, [tsc, "-p", "examples/recipes/tsconfig.bun.json", "--noEmit"], { cwd: root, encoding: "utf8" });
  assert.equal(result.status, 0, result.stdout + result.stderr);
});

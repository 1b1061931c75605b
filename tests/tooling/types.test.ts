// Type tests: tsc checks tests/types/*.test-d.ts, where state types are inferred from valibot
// schemas and every `@ts-expect-error` marks a mistake the types must refuse (tsc fails on an
// unused one, so a refusal that stops happening fails this test too).
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";

const root = new URL("../..", import.meta.url).pathname;

test("tests/types/*.test-d.ts type-check", () => {
  const files = readdirSync(join(root, "tests/types")).filter((file) => file.endsWith(".test-d.ts"));
  assert.ok(files.length > 0, "no type tests found");
  const result = spawnSync(process.execPath, [join(root, "node_modules/typescript/bin/tsc"), "-p", join(root, "tests/types/tsconfig.json")], {
    cwd: root,
    encoding: "utf8",
  });
  assert.equal(result.status, 0, `${result.stdout}${result.stderr}`);
});

// Type tests: tsc checks tests/types/*.test-d.ts, where state types are inferred from valibot
// schemas and every `@ts-expect-error` marks a mistake the types must refuse (tsc fails on an
// unused one, so a refusal that stops happening fails this test too). They run under the
// project's config and under the strictest one a user may have (`strict`,
// `exactOptionalPropertyTypes`, `noUncheckedIndexedAccess`), with TypeScript 5 (tsc) and the
// TypeScript 7 native preview (tsgo).
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";

const root = new URL("../..", import.meta.url).pathname;
const compilers = {
  "TypeScript 5 (tsc)": [process.execPath, join(root, "node_modules/typescript/bin/tsc")],
  "TypeScript 7 (tsgo)": [join(root, "node_modules/.bin/tsgo")],
};

assert.ok(readdirSync(join(root, "tests/types")).some((file) => file.endsWith(".test-d.ts")), "no type tests found");

for (const [compiler, [command, ...args]] of Object.entries(compilers)) {
  for (const config of ["tsconfig.json", "tsconfig.strict.json"]) {
    test(`tests/types/*.test-d.ts type-check with ${compiler} under ${config}`, () => {
      const result = spawnSync(command!, [...args, "-p", join(root, "tests/types", config)], { cwd: root, encoding: "utf8" });
      assert.equal(result.status, 0, `${result.stdout}${result.stderr}${result.error ?? ""}`);
    });
  }
}

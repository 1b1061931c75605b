// The JSR package: `deno publish --dry-run` succeeds with no slow types and no other
// warnings, and deno.json (which `deno publish` reads) agrees with jsr.json.
import { before, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { join } from "node:path";
import process from "node:process";

const root = new URL("../..", import.meta.url).pathname;
let output = "";
let status: number | null = null;

before(() => {
  const result = spawnSync(join(root, "node_modules/.bin/deno"), ["publish", "--dry-run", "--allow-dirty"], {
    cwd: root,
    encoding: "utf8",
    env: { ...process.env, NO_COLOR: "1" },
  });
  output = `${result.stdout}${result.stderr}`.replace(/\x1b\[[0-9;]*m/g, "");
  status = result.status;
});

test("deno publish --dry-run succeeds", () => {
  assert.equal(status, 0, output);
  assert.match(output, /Success Dry run complete/, output);
});

test("the public API has no slow types", () => {
  assert.match(output, /Checking for slow types in the public API/, output);
  assert.doesNotMatch(output, /slow-type|missing-explicit-return-type|missing-explicit-type/, output);
});

test("the dry run prints no other warnings", () => {
  const warnings = output.split("\n").filter((line) => /^(warning|error)\[/.test(line.trim()));
  // Each warning block shows the file it is about; keep the report short.
  assert.deepEqual(warnings, [], output.split("\n").filter((line) => /warning\[|error\[|-->/.test(line)).join("\n"));
});

test("deno.json carries the same name, version, license, exports and publish list as jsr.json", () => {
  const read = (file: string) => JSON.parse(readFileSync(join(root, file), "utf8"));
  const deno = read("deno.json");
  const jsr = read("jsr.json");
  for (const field of ["name", "version", "license", "exports", "publish"]) assert.deepEqual(deno[field], jsr[field], field);
});

test("every exported symbol has JSDoc (deno doc --lint)", () => {
  const jsr = JSON.parse(readFileSync(join(root, "jsr.json"), "utf8")) as { exports: Record<string, string> };
  const result = spawnSync(join(root, "node_modules/.bin/deno"), ["doc", "--lint", ...Object.values(jsr.exports)], {
    cwd: root,
    encoding: "utf8",
    env: { ...process.env, NO_COLOR: "1" },
  });
  const lines = `${result.stdout}${result.stderr}`.replace(/\x1b\[[0-9;]*m/g, "").split("\n");
  const missing = lines.flatMap((line, index) =>
    line.includes("error[missing-jsdoc]") ? [(lines[index + 1] ?? "").trim().replace(/^--> /, "").replace(`${root}`, "")] : []);
  // Types referenced from public signatures but not exported (driver types, shared SQL
  // types) are reported by the same lint; they do not break publishing, so they are only counted.
  const privateRefs = lines.filter((line) => line.includes("error[private-type-ref]")).length;
  if (privateRefs) console.log(`deno doc --lint: ${privateRefs} private-type-ref findings (not failing)`);
  assert.deepEqual(missing, [], "exported symbols without JSDoc");
});

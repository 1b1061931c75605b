// package.json and jsr.json export the same subpaths, each JSR target exists, and each npm
// target is what the build emits for that source (`./x.ts` -> `./dist/x.js` + `.d.ts`).
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";

const root = new URL("../..", import.meta.url).pathname;
const read = (file: string) => JSON.parse(readFileSync(join(root, file), "utf8"));
const npm = read("package.json") as { name: string; version: string; exports: Record<string, { types: string; default: string }> };
const jsr = read("jsr.json") as { name: string; version: string; exports: Record<string, string> };

test("package.json and jsr.json export the same subpaths", () => {
  assert.deepEqual(Object.keys(npm.exports).sort(), Object.keys(jsr.exports).sort());
});

test("package.json and jsr.json agree on name and version", () => {
  assert.equal(jsr.name, npm.name);
  assert.equal(jsr.version, npm.version);
});

test("every JSR export is an existing TypeScript source", () => {
  for (const [subpath, target] of Object.entries(jsr.exports)) {
    assert.match(target, /^\.\/.+\.ts$/, `${subpath} target`);
    assert.ok(existsSync(join(root, target)), `${subpath}: ${target} exists`);
  }
});

test("every npm export is the build output of the same source", () => {
  for (const [subpath, source] of Object.entries(jsr.exports)) {
    const built = source.replace(/^\.\//, "./dist/").replace(/\.ts$/, "");
    assert.deepEqual(npm.exports[subpath], { types: `${built}.d.ts`, default: `${built}.js` }, subpath);
  }
});

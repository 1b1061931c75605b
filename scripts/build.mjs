#!/usr/bin/env node
// Builds the npm package: tsc emits JavaScript and .d.ts for mod.ts, src/, adapters/ and cli/ into
// dist/ (relative `.ts` imports are rewritten to `.js`), then every target named in
// package.json `exports` and `bin` is checked to exist.
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";

const root = new URL("..", import.meta.url).pathname;
const dist = join(root, "dist");

rmSync(dist, { recursive: true, force: true });
const tsc = spawnSync(process.execPath, [join(root, "node_modules/typescript/bin/tsc"), "-p", join(root, "tsconfig.build.json")], {
  cwd: root,
  stdio: "inherit",
});
if (tsc.status !== 0) {
  console.error("build: tsc failed");
  process.exit(tsc.status ?? 1);
}

const { exports, bin } = JSON.parse(readFileSync(join(root, "package.json"), "utf8"));
const missing = [...Object.entries(exports), ...Object.entries(bin).map(([name, target]) => [`bin ${name}`, { target }])].flatMap(([subpath, targets]) =>
  Object.values(targets).filter((target) => !existsSync(join(root, target))).map((target) => `${subpath} -> ${target}`));
if (missing.length) {
  console.error(`build: package.json exports point at files the build did not emit:\n  ${missing.join("\n  ")}`);
  process.exit(1);
}
console.log(`build: dist/ holds ${Object.keys(exports).length} entry points`);

// The core must be Web-standard only: it type-checks without Node's types, and names no
// `node:` module and no Deno or Bun global. The whole project type-checks with them, and the
// shipped sources under a user's strictest flags too.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";

const root = new URL("../..", import.meta.url).pathname;
const tsc = join(root, "node_modules", "typescript", "bin", "tsc");

function typecheck(project: string): void {
  const result = spawnSync(process.execPath, [tsc, "-p", project, "--noEmit"], { cwd: root, encoding: "utf8" });
  assert.equal(result.status, 0, `${project}:\n${result.stdout}${result.stderr}`);
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((entry) => {
    const path = join(dir, entry);
    return statSync(path).isDirectory() ? sourceFiles(path) : path.endsWith(".ts") ? [path] : [];
  });
}

test("the core type-checks without Node types", () => typecheck("tsconfig.core.json"));

test("the whole project type-checks", () => typecheck("tsconfig.json"));

// Deno and JSR users type-check the .ts sources we ship under their own flags, so the sources
// must hold under the strictest ones `tsc --init` writes (`exactOptionalPropertyTypes` above all).
test("the shipped sources type-check under the strictest flags tsc --init writes", () => typecheck("tsconfig.strict-sources.json"));

test("the core names no node: module and no Deno or Bun global", () => {
  const code = (file: string) => readFileSync(file, "utf8").split("\n").filter((line) => !/^\s*(\*|\/\/|\/\*)/.test(line)).join("\n");
  const offenders = [join(root, "mod.ts"), ...sourceFiles(join(root, "src"))].filter((file) =>
    /from\s+["']node:|import\(\s*["']node:|\bDeno\.|\bBun\.|\bprocess\./.test(code(file))
  );
  assert.deepEqual(offenders, []);
});

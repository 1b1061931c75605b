// The README's headline example, run twice in one folder as a user would: the second run
// finds the state the first one left, and both must exit on their own (issue 13: the
// second run used to hang because nothing closed the PGlite storage).
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const root = new URL("../..", import.meta.url).pathname;

test("the README's first example exits on its first and its second run, and the state survives", () => {
  const readme = readFileSync(join(root, "README.md"), "utf8");
  const code = /```ts\n([\s\S]*?)```/.exec(readme)![1]!
    .replace(/from "@quark\/persistence(?:\/([a-z]+))?"/g, (_all, subpath: string | undefined) =>
      `from ${JSON.stringify(subpath ? join(root, "adapters", subpath, "mod.ts") : join(root, "mod.ts"))}`);
  mkdirSync(join(root, ".cache"), { recursive: true });
  const folder = mkdtempSync(join(root, ".cache", "readme-twice-"));
  writeFileSync(join(folder, "example.ts"), code);
  const outputs = [1, 2].map((run) => {
    const result = spawnSync(process.execPath, ["--import", import.meta.resolve("tsx"), "example.ts"], { cwd: folder, encoding: "utf8", timeout: 120_000 });
    assert.equal(result.signal, null, `run ${run} did not exit on its own within 120 s`);
    assert.equal(result.status, 0, `run ${run} failed:\n${result.stderr}`);
    return result.stdout.trim();
  });
  assert.deepEqual(outputs, ["500", "1000"], "the second run deposits on top of the first");
});

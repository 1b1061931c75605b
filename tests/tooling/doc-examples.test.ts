// The ```ts examples in the JSDoc of mod.ts, src/ and adapters/: every one type-checks
// (those marked `ignore` included, through an extractor, since Deno skips them), and every
// one not marked `ignore` runs under `deno test --doc`. Adapter examples that need a server
// are the ones allowed to be marked `ignore`.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join, relative } from "node:path";
import { pathToFileURL } from "node:url";
import process from "node:process";

const root = new URL("../..", import.meta.url).pathname;
const deno = join(root, "node_modules/.bin/deno");
const extracted = join(root, ".cache/doc-examples");

function sources(dir: string): string[] {
  return readdirSync(join(root, dir)).flatMap((entry) => {
    const path = join(dir, entry);
    if (statSync(join(root, path)).isDirectory()) return sources(path);
    return path.endsWith(".ts") && !path.endsWith(".test.ts") ? [path] : [];
  });
}

interface Example {
  readonly file: string;
  readonly line: number;
  readonly ignored: boolean;
  readonly code: string;
}

/** The fenced ```ts blocks inside the file's JSDoc comments. */
function examplesOf(file: string): Example[] {
  const lines = readFileSync(join(root, file), "utf8").split("\n");
  const examples: Example[] = [];
  let inComment = false;
  let block: { line: number; ignored: boolean; code: string[] } | undefined;
  lines.forEach((raw, index) => {
    const line = raw.trim();
    if (line.startsWith("/**")) inComment = true;
    if (inComment) {
      const text = line.replace(/^\/\*\*\s?|^\*\/$|^\*\s?/, "");
      const fence = /^```(\w+)?(.*)$/.exec(text);
      if (block && fence && !fence[1]) {
        examples.push({ file, line: block.line, ignored: block.ignored, code: block.code.join("\n") });
        block = undefined;
      } else if (block) {
        block.code.push(raw.replace(/^\s*\*\s?/, ""));
      } else if (fence && /^(ts|typescript)$/.test(fence[1] ?? "")) {
        block = { line: index + 1, ignored: /\bignore\b/.test(fence[2] ?? ""), code: [] };
      }
    }
    if (line.endsWith("*/")) inComment = false;
  });
  return examples;
}

const files = ["mod.ts", ...sources("src"), ...sources("adapters")];
const examples = files.flatMap(examplesOf);

function runDeno(args: readonly string[], cwd = root) {
  const result = spawnSync(deno, args, { cwd, encoding: "utf8", env: { ...process.env, NO_COLOR: "1" }, timeout: 540_000 });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

test("the sources have JSDoc examples", () => {
  assert.ok(examples.length > 20, `found only ${examples.length}`);
});

test("every JSDoc example type-checks, ignored ones included", () => {
  rmSync(extracted, { recursive: true, force: true });
  mkdirSync(extracted, { recursive: true });
  const written = examples.map((example) => {
    const path = join(extracted, `${example.file.replace(/[/.]/g, "_")}_L${example.line}.ts`);
    // A module of its own, so top-level await and repeated names are fine.
    // Relative specifiers resolve from the source file, as `deno test --doc` resolves them.
    const code = example.code.replace(/(from\s+|import\()(["'])(\.\.?\/[^"']+)\2/g, (_all, head: string, quote: string, specifier: string) =>
      `${head}${quote}${new URL(specifier, pathToFileURL(join(root, example.file))).href}${quote}`);
    writeFileSync(path, `${code}\nexport {};\n`);
    return path;
  });
  const { status, output } = runDeno(["check", "--quiet", ...written]);
  const located = output.replace(/file:\/\/[^\s]*?\/\.cache\/doc-examples\/([^\s:]+)/g, (_all, name: string) => {
    const example = examples.find((candidate) => `${candidate.file.replace(/[/.]/g, "_")}_L${candidate.line}.ts` === name);
    return example ? `${example.file}:${example.line} (example)` : name;
  });
  assert.equal(status, 0, located);
});

// Examples run with a scratch folder as the working directory, so files they create stay out
// of the repository.
const scratch = join(root, ".cache/doc-examples-cwd");
const groups = [
  { name: "mod.ts and src/", files: ["mod.ts", ...sources("src")] },
  ...readdirSync(join(root, "adapters"))
    .filter((name) => !name.startsWith("_"))
    .map((name) => ({ name: `adapters/${name}`, files: sources(`adapters/${name}`) })),
];

for (const group of groups) {
  const runnable = group.files.filter((file) => examplesOf(file).some((example) => !example.ignored));
  test(`the examples of ${group.name} run (deno test --doc)`, { skip: runnable.length ? false : "no runnable examples" }, () => {
    rmSync(scratch, { recursive: true, force: true });
    mkdirSync(scratch, { recursive: true });
    const { status, output } = runDeno(
      ["test", "--doc", "-A", "--config", join(root, "deno.json"), ...runnable.map((file) => join(root, file))],
      scratch,
    );
    const failures = output.split("\n").filter((line) => / => .*#\d+-\d+/.test(line) || /^error: /.test(line));
    assert.equal(status, 0, `${relative(root, scratch)}: ${failures.join("\n") || output.slice(-4000)}`);
  });
}

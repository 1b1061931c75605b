// Every TypeScript block of the README and docs/**/*.md, so the documentation cannot drift
// from the code (the fence rules are in docs-blocks.ts):
//   1. every fence carries a known info string;
//   2. every ```ts block, `ts ignore` included, type-checks in one tsc run under the strictest
//      configuration a user may have (strict, exactOptionalPropertyTypes,
//      noUncheckedIndexedAccess), with @quark/persistence mapped to the sources;
//   3. every ```ts block runs on Node (tsx), Deno and Bun: one process per file and runtime,
//      importing its blocks one after another, each a module of its own, in a scratch folder.
//      The process must then exit on its own, so a block that leaves a storage open fails.
import { describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { type CodeBlock, markdownFiles, readBlocks, root, withSourceImports } from "./docs-blocks.ts";

const MIN_RUNNABLE_BLOCKS = 45;
const outDir = join(root, ".cache", "doc-blocks");
rmSync(outDir, { recursive: true, force: true });
mkdirSync(outDir, { recursive: true });

const docs = markdownFiles().map((doc) => ({ doc, ...readBlocks(doc) }));
const blocks = docs.flatMap((entry) => entry.blocks);
const slug = (doc: string) => doc.replace(/\W/g, "_");
const blockFile = (block: CodeBlock) => `block_${slug(block.doc)}_L${block.line}.ts`;
for (const block of blocks) {
  // `export {}` makes each block a module: top-level await, and names of its own.
  writeFileSync(join(outDir, blockFile(block)), `${withSourceImports(block.code, outDir)}\nexport {};\n`);
}

test("every fence in the docs is a known kind", () => {
  const problems = docs.flatMap((entry) => entry.problems).map(({ doc, line, problem }) => `${doc}:${line}: ${problem}`);
  assert.deepEqual(problems, [], "use ```ts, ```ts ignore, or one of sh, bash, console, text, json, jsonc, toml, ndjson, sql");
});

test(`the docs hold at least ${MIN_RUNNABLE_BLOCKS} runnable TypeScript blocks`, () => {
  const runnable = blocks.filter((block) => block.run).length;
  assert.ok(runnable >= MIN_RUNNABLE_BLOCKS, `found ${runnable}`);
});

const runtimes = {
  node: [process.execPath, "--import", import.meta.resolve("tsx")],
  deno: [join(root, "node_modules/.bin/deno"), "run", "-A", "--no-check", "--config", join(root, "deno.json")],
  bun: [join(root, "node_modules/.bin/bun"), "run"],
} as const;

interface RuntimeRun {
  readonly runtime: string;
  readonly exitCode: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly timedOut: boolean;
  readonly results: ReadonlyMap<number, string>;
  /** Milliseconds per block that passed, for the report: never asserted. */
  readonly times: ReadonlyMap<number, number>;
  readonly output: string;
}

const MARKER = "@@quark-doc-block";

/** Runs the blocks of one file, in order, in one process of the runtime. */
function runBlocks(runtime: keyof typeof runtimes, doc: string, runnable: readonly CodeBlock[]): Promise<RuntimeRun> {
  const runner = join(outDir, `run_${slug(doc)}.ts`);
  writeFileSync(runner, [
    `const blocks: [number, string][] = ${JSON.stringify(runnable.map((block) => [block.line, `./${blockFile(block)}`]))};`,
    `for (const [line, path] of blocks) {`,
    `  const started = performance.now();`,
    `  try {`,
    `    await import(path);`,
    `    console.log("\\n${MARKER} " + line + " ok " + Math.round(performance.now() - started));`,
    `  } catch (error) {`,
    `    console.log("\\n${MARKER} " + line + " " + JSON.stringify(String((error as Error)?.stack ?? error)));`,
    `  }`,
    `}`,
    `export {};`,
  ].join("\n"));
  const [command, ...args] = runtimes[runtime];
  return new Promise((resolve) => {
    const child = spawn(command, [...args, runner], {
      cwd: mkdtempSync(join(tmpdir(), `quark-doc-${runtime}-`)),
      env: { ...process.env, NO_COLOR: "1" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let output = "";
    child.stdout.on("data", (chunk) => (output += chunk));
    child.stderr.on("data", (chunk) => (output += chunk));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill("SIGKILL");
    }, 400_000);
    // A process that cannot start (EAGAIN under load, say) reports here, then closes.
    child.on("error", (error) => (output += `spawn failed: ${error.message}\n`));
    child.on("close", (exitCode, signal) => {
      clearTimeout(timer);
      const results = new Map<number, string>();
      const times = new Map<number, number>();
      for (const match of output.matchAll(new RegExp(`^${MARKER} (\\d+) (.*)$`, "gm"))) {
        const passed = /^ok (\d+)$/.exec(match[2]!);
        results.set(Number(match[1]), passed ? "ok" : JSON.parse(match[2]!) as string);
        if (passed) times.set(Number(match[1]), Number(passed[1]));
      }
      resolve({ runtime, exitCode, signal, timedOut, results, times, output });
    });
  });
}

// The checks below run side by side: most of their time is spent waiting (on the servers, on
// PGlite's files, on a machine shared with other work), not computing.
describe("the TypeScript blocks of the docs", { concurrency: 4 }, () => {
  // Errors inside the library's own sources are left to tests/tooling/types.test.ts and
  // typecheck.test.ts: this test holds the blocks to the strict configuration.
  test("every TypeScript block type-checks under the strict configuration", () => {
    writeFileSync(join(outDir, "tsconfig.json"), JSON.stringify({
      extends: join(root, "tests/types/tsconfig.strict.json"),
      compilerOptions: { types: ["node"], noUnusedLocals: false },
      include: ["block_*.ts"],
    }));
    const tsc = join(root, "node_modules/typescript/bin/tsc");
    const result = spawnSync(process.execPath, [tsc, "-p", join(outDir, "tsconfig.json"), "--pretty", "false"], { cwd: root, encoding: "utf8" });
    assert.ok(result.status === 0 || result.status === 2, `tsc did not run:\n${result.stdout}${result.stderr}`);
    // Each error is named by its Markdown file and line; continuation lines stay with it.
    const errors = `${result.stdout}${result.stderr}`.split(/\n(?=\S)/).flatMap((error) => {
      const where = /^\.cache\/doc-blocks\/block_(\w+?)_L(\d+)\.ts\((\d+),(\d+)\)/.exec(error);
      const block = where && blocks.find((candidate) => slug(candidate.doc) === where[1] && candidate.line === Number(where[2]));
      return block ? [error.replace(where[0], `${block.doc}:${block.line + Number(where[3])}:${where[4]}`)] : [];
    });
    assert.deepEqual(errors, []);
  });

  for (const { doc, blocks: found } of docs) {
    const ready = found.filter((block) => block.run && block.needs.every((name) => process.env[name]));
    for (const block of found.filter((candidate) => candidate.run && !ready.includes(candidate))) {
      const missing = block.needs.filter((name) => !process.env[name]).join(", ");
      test(`${doc}:${block.line} runs on Node, Deno and Bun`, { skip: `${missing} not set (npm test starts its server)` }, () => {});
    }
    if (ready.length === 0) continue;
    test(`${doc}: ${ready.length} block(s) run on Node, Deno and Bun (lines ${ready.map((block) => block.line).join(", ")})`, async (t) => {
      const runs = await Promise.all((Object.keys(runtimes) as (keyof typeof runtimes)[]).map(async (runtime) => {
        const run = await runBlocks(runtime, doc, ready);
        // A process that died before printing one byte never reached the docs: a CI run once
        // lost one this way, silently. It gets one more try, and the report says so; a block
        // that fails prints its error, so a real failure is never retried away.
        if (run.output !== "" || run.timedOut) return run;
        t.diagnostic(`${run.runtime}: the first process printed nothing (exit code ${run.exitCode}, signal ${run.signal}); ran it again`);
        return runBlocks(runtime, doc, ready);
      }));
      const failures = runs.flatMap((run) => {
        const failed = ready.flatMap((block) => {
          const result = run.results.get(block.line);
          return result === "ok" ? [] : [`${doc}:${block.line} on ${run.runtime}: ${result ?? "never finished"}`];
        });
        if (failed.length === 0 && run.timedOut) return [`${doc} on ${run.runtime}: every block ran, but the process did not exit (a block left a handle open)`];
        if (failed.length === 0 && run.exitCode !== 0) return [`${doc} on ${run.runtime}: exit code ${run.exitCode}\n${run.output.slice(-3000)}`];
        const ended = `exit code ${run.exitCode}, signal ${run.signal}`;
        return failed.length ? [...failed, `--- ${run.runtime} output (${ended}, tail):\n${run.output.slice(-3000)}`] : [];
      });
      for (const run of runs) t.diagnostic(`${run.runtime}: ${[...run.times].map(([line, ms]) => `L${line} ${ms} ms`).join(", ")}`);
      assert.deepEqual(failures, []);
    });
  }
});

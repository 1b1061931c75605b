#!/usr/bin/env node
// The one test command: starts the services the adapter tests need, then runs every test
// file on Node 20, Node 24, Deno and Bun, and the tooling checks once on Node 20. It prints
// each runtime's results and ends with "N passed, N failed[, N skipped]".
//
// QUARK_SERVICES=none skips starting services (their tests then skip, loudly, by name).
// QUARK_RUNTIMES=node20,deno limits the runtimes. QUARK_KEEP_SERVICES=1 leaves them running.
import { spawn, spawnSync } from "node:child_process";
import { existsSync, readdirSync, statSync } from "node:fs";
import { serviceEnv } from "./service-env.mjs";
import { join, relative } from "node:path";

const root = new URL("..", import.meta.url).pathname;
const bin = (name) => join(root, "node_modules", ".bin", name);

// npm puts node_modules/.bin first on PATH, and the node24 package installs a `node` there,
// so the machine's own Node is found on PATH without that folder.
function machineNode() {
  for (const dir of (process.env.PATH ?? "").split(":")) {
    const candidate = join(dir, "node");
    if (!dir.includes("node_modules") && existsSync(candidate)) return candidate;
  }
  throw new Error("No Node.js found on PATH outside node_modules");
}
const node20 = machineNode();

function findTests(dir) {
  if (!existsSync(dir)) return [];
  return readdirSync(dir).flatMap((entry) => {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) return findTests(path);
    return entry.endsWith(".test.ts") ? [relative(root, path)] : [];
  }).sort();
}

const toolingDir = join(root, "tests", "tooling");
const portable = findTests(join(root, "tests")).filter((file) => !file.startsWith("tests/tooling/"));
const tooling = findTests(toolingDir);

// Each runner: how to run files, and how to read its summary.
const runners = {
  node20: {
    command: node20,
    args: (files) => ["--import", "tsx", "--test", "--test-reporter=spec", ...files],
    counts: nodeCounts,
  },
  node24: {
    command: join(root, "node_modules", "node24", "bin", "node"),
    args: (files) => ["--test", "--test-reporter=spec", ...files],
    counts: nodeCounts,
  },
  deno: {
    command: bin("deno"),
    args: (files) => ["test", "-A", "--no-check", ...files],
    counts: (out) => ({
      passed: lastNumber(out, /(\d+) passed/g),
      failed: lastNumber(out, /(\d+) failed/g),
      skipped: lastNumber(out, /(\d+) ignored/g),
    }),
  },
  bun: {
    command: bin("bun"),
    args: (files) => ["test", "--timeout", "600000", ...files.map((file) => `./${file}`)],
    counts: (out) => ({
      passed: lastNumber(out, /^\s*(\d+) pass$/gm),
      failed: lastNumber(out, /^\s*(\d+) fail$/gm),
      skipped: lastNumber(out, /^\s*(\d+) skip$/gm),
    }),
  },
};

function nodeCounts(out) {
  return {
    passed: lastNumber(out, /^ℹ pass (\d+)$/gm),
    failed: lastNumber(out, /^ℹ fail (\d+)$/gm) + lastNumber(out, /^ℹ cancelled (\d+)$/gm),
    skipped: lastNumber(out, /^ℹ skipped (\d+)$/gm) + lastNumber(out, /^ℹ todo (\d+)$/gm),
  };
}

function lastNumber(text, pattern) {
  const matches = [...text.matchAll(pattern)];
  return matches.length ? Number(matches[matches.length - 1][1]) : 0;
}

// Runs a command and collects its output; `live` also echoes it as it comes.
function run(command, args, env, live) {
  return new Promise((resolve) => {
    const child = spawn(command, args, { cwd: root, env, stdio: ["ignore", "pipe", "pipe"] });
    let out = "";
    const collect = (stream) => stream.on("data", (chunk) => {
      out += chunk;
      if (live) process.stdout.write(chunk);
    });
    collect(child.stdout);
    collect(child.stderr);
    child.on("close", (code) => resolve({ code, out: out.replace(/\x1b\[[0-9;]*m/g, "") }));
  });
}

function services() {
  const dir = join(root, "scripts", "services");
  return existsSync(dir) ? readdirSync(dir).filter((file) => file.endsWith(".sh")).sort() : [];
}

function startServices() {
  if (process.env.QUARK_SERVICES === "none") {
    console.log("QUARK_SERVICES=none: not starting services; adapter tests will skip by name");
    return [];
  }
  const scripts = services().map((script) => join(root, "scripts", "services", script));
  // Some services start others (neon-http starts postgres), so ask every one first.
  const running = new Set(scripts.filter((path) => spawnSync("bash", [path, "status"], { cwd: root, stdio: "ignore" }).status === 0));
  for (const path of scripts) {
    const name = path.split("/").pop().replace(/\.sh$/, "");
    const begin = Date.now();
    console.log(`== starting ${name}${running.has(path) ? " (already running)" : ""}`);
    const result = spawnSync("bash", [path, "start"], { cwd: root, stdio: "inherit" });
    if (result.status !== 0) {
      console.error(`FAILED to start ${name}; its tests cannot run`);
      process.exitCode = 1;
      continue;
    }
    console.log(`   ready in ${((Date.now() - begin) / 1000).toFixed(1)} s`);
  }
  return scripts.filter((path) => !running.has(path));
}


const selected = (process.env.QUARK_RUNTIMES ?? "node20,node24,deno,bun").split(",");
const started = startServices();
const env = serviceEnv(root);
const results = [];

// The runtimes run side by side: most of their time is spent waiting on servers, and every
// case uses names of its own. Each runtime's output is printed whole when it finishes.
const begin = Date.now();
await Promise.all(selected.map(async (name) => {
  const runner = runners[name];
  if (!runner) throw new Error(`Unknown runtime ${name}; choose from ${Object.keys(runners).join(", ")}`);
  const version = spawnSync(runner.command, ["--version"], { encoding: "utf8" }).stdout.split("\n")[0];
  const started = Date.now();
  const { code, out } = await run(runner.command, runner.args(portable), env, selected.length === 1);
  const minutes = ((Date.now() - started) / 60_000).toFixed(1);
  if (selected.length > 1) console.log(`\n== ${name} (${version}): ${portable.length} test files, ${minutes} min\n${out}`);
  results.push({ name, code, ...runner.counts(out) });
}));
if (tooling.length && selected.includes("node20")) {
  console.log(`\n== tooling (node20): ${tooling.length} test files`);
  const { code, out } = await run(node20, runners.node20.args(tooling), env, true);
  results.push({ name: "tooling", code, ...nodeCounts(out) });
}
console.log(`\nTests took ${((Date.now() - begin) / 60_000).toFixed(1)} min`);

if (process.env.QUARK_KEEP_SERVICES !== "1") {
  for (const path of started.reverse()) spawnSync("bash", [path, "stop"], { cwd: root, stdio: "inherit" });
}

console.log("\n== results");
const rank = (name) => (name === "tooling" ? selected.length : selected.indexOf(name));
results.sort((left, right) => rank(left.name) - rank(right.name));
const total = { passed: 0, failed: 0, skipped: 0 };
for (const result of results) {
  // A runner that exits non-zero with no failed test counted still fails the run.
  const failed = result.failed || (result.code === 0 ? 0 : 1);
  console.log(`${result.name.padEnd(8)} ${result.passed} passed, ${failed} failed${result.skipped ? `, ${result.skipped} skipped` : ""}${result.code === 0 ? "" : ` (exit ${result.code})`}`);
  total.passed += result.passed;
  total.failed += failed;
  total.skipped += result.skipped;
}
console.log(`${total.passed} passed, ${total.failed} failed${total.skipped ? `, ${total.skipped} skipped` : ""}`);
if (total.failed > 0 || total.passed === 0) process.exitCode = 1;

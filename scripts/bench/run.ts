/**
 * `npm run bench`: every suite in one run, every case of every suite interleaved in a new
 * random order each cycle. Prints the ratios first, then each case's median and p99 per
 * operation, with the machine and its load; writes `docs/benchmarks.md` and
 * `docs/benchmarks.svg`.
 *
 * Options: `--only memory,pglite` runs some suites; `--cycles 12` sets the cycles (default 10);
 * `--no-write` leaves the docs alone. Started by `scripts/bench/run.mjs`, which puts the URLs
 * of `.services/<name>/env` in the environment.
 */
import os from "node:os";
import process from "node:process";
import { writeFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { quantile, shuffle, type BenchSuite, type OpenSuite } from "./_harness.ts";
import { renderChart, renderMarkdown, type BenchReport, type CaseFigures, type RatioFigure } from "./report.ts";

const SUITES: Record<string, () => Promise<{ open: OpenSuite }>> = {
  memory: () => import("./memory.ts"),
  pglite: () => import("./sql.ts").then((module) => ({ open: module.openPglite })),
  postgres: () => import("./sql.ts").then((module) => ({ open: module.openPostgres })),
  neon: () => import("./sql.ts").then((module) => ({ open: module.openNeon })),
  upstash: () => import("./upstash.ts"),
  dynamodb: () => import("./dynamodb.ts"),
  mongodb: () => import("./mongodb.ts"),
  cassandra: () => import("./cassandra.ts"),
  projections: () => import("./projections.ts"),
  peers: () => import("./peers.ts"),
  events: () => import("./events.ts"),
  footprint: () => import("./footprint.ts"),
};
// Each visit to a case takes samples for about this long, so slow and fast cases get
// comparable slices of the machine.
const VISIT_MS = 150;

function argument(name: string): string | undefined {
  const index = process.argv.indexOf(`--${name}`);
  return index === -1 ? undefined : process.argv[index + 1];
}

async function openSuites(names: readonly string[], env: Record<string, string | undefined>): Promise<{ suites: BenchSuite[]; skipped: string[] }> {
  const suites: BenchSuite[] = [];
  const skipped: string[] = [];
  for (const name of names) {
    const load = SUITES[name];
    if (!load) throw new Error(`Unknown suite ${name}; known: ${Object.keys(SUITES).join(", ")}`);
    const opened = await (await load()).open(env);
    if (typeof opened === "string") skipped.push(`${name}: ${opened}`);
    else suites.push(opened);
  }
  return { suites, skipped };
}

async function measure(suites: readonly BenchSuite[], cycles: number): Promise<Map<string, number[]>> {
  const perOp = new Map<string, number[]>();
  const visits = suites.flatMap((suite) => suite.cases.map((benchCase) => ({ id: `${suite.name}\u0000${benchCase.name}`, benchCase })));
  // Warm-up: JIT, connections, prepared statements, script caches.
  for (const { benchCase } of visits) for (let index = 0; index < 3; index++) await benchCase.sample();
  for (let cycle = 1; cycle <= cycles; cycle++) {
    process.stderr.write(`cycle ${cycle}/${cycles}\r`);
    for (const { id, benchCase } of shuffle([...visits])) {
      const times = perOp.get(id) ?? [];
      const until = performance.now() + VISIT_MS;
      do {
        const started = performance.now();
        await benchCase.sample();
        times.push((performance.now() - started) / benchCase.ops);
      } while (performance.now() < until);
      perOp.set(id, times);
    }
  }
  process.stderr.write("\n");
  return perOp;
}

function figures(suites: readonly BenchSuite[], perOp: Map<string, number[]>): { cases: CaseFigures[]; ratios: RatioFigure[] } {
  const cases: CaseFigures[] = [];
  const medians = new Map<string, number>();
  for (const suite of suites) {
    for (const benchCase of suite.cases) {
      const id = `${suite.name}\u0000${benchCase.name}`;
      const sorted = [...perOp.get(id)!].sort((a, b) => a - b);
      const median = quantile(sorted, 0.5);
      medians.set(id, median);
      cases.push({ suite: suite.name, name: benchCase.name, opsPerSample: benchCase.ops, samples: sorted.length, medianMs: median, p99Ms: quantile(sorted, 0.99) });
    }
  }
  const ratios = suites.flatMap((suite) => suite.ratios.map((ratio) => ({
    label: ratio.label,
    target: ratio.target,
    value: medians.get(`${suite.name}\u0000${ratio.of}`)! / medians.get(`${suite.name}\u0000${ratio.to}`)!,
  })));
  return { cases, ratios };
}

function printReport(report: BenchReport): void {
  const { machine } = report;
  console.log(`${report.date} · ${machine.cpu} · ${machine.cores} cores · ${machine.runtime} · load ${machine.loadBefore.map((load) => load.toFixed(2)).join(" ")} before, ${machine.loadAfter.map((load) => load.toFixed(2)).join(" ")} after`);
  console.log("\nRatios (median time per operation; below 1 means the first is faster):");
  for (const ratio of report.ratios) console.log(`  ${ratio.value.toFixed(2).padStart(7)}  ${ratio.label}${ratio.target ? `  (target ${ratio.target})` : ""}`);
  console.log("\nMedians and p99 per operation:");
  for (const entry of report.cases) {
    console.log(`  ${`${entry.suite}: ${entry.name}`.padEnd(52)} ${Math.round(1000 / entry.medianMs).toLocaleString("en").padStart(12)} ops/s  median ${(entry.medianMs * 1000).toFixed(1).padStart(9)} µs  p99 ${(entry.p99Ms * 1000).toFixed(1).padStart(9)} µs`);
  }
  for (const [suite, facts] of Object.entries(report.facts)) for (const [name, value] of Object.entries(facts)) console.log(`  ${suite}: ${name}: ${value}`);
  for (const line of report.skipped) console.log(`  skipped ${line}`);
}

const root = fileURLToPath(new URL("../../", import.meta.url));
const names = (argument("only") ?? Object.keys(SUITES).join(",")).split(",").filter(Boolean);
const cycles = Number(argument("cycles") ?? 10);
const loadBefore = os.loadavg();
const { suites, skipped } = await openSuites(names, process.env);
const facts: Record<string, Record<string, string>> = {};
try {
  const perOp = await measure(suites, cycles);
  // Counted after the timed cycles, so every pooled connection has prepared its statements.
  for (const suite of suites) if (suite.facts) facts[suite.name] = await suite.facts();
  const report: BenchReport = {
    date: new Date().toISOString(),
    machine: {
      cpu: os.cpus()[0]?.model ?? "unknown CPU",
      cores: os.availableParallelism?.() ?? os.cpus().length,
      memoryGb: Math.round(os.totalmem() / 2 ** 30),
      runtime: `Node ${process.versions.node}`,
      loadBefore,
      loadAfter: os.loadavg(),
    },
    cycles,
    ...figures(suites, perOp),
    facts,
    skipped,
  };
  printReport(report);
  if (!process.argv.includes("--no-write")) {
    writeFileSync(new URL("docs/benchmarks.md", `file://${root}`), renderMarkdown(report));
    writeFileSync(new URL("docs/benchmarks.svg", `file://${root}`), renderChart(report));
    console.log("\nwrote docs/benchmarks.md and docs/benchmarks.svg");
  }
} finally {
  await Promise.all(suites.map((suite) => suite.close()));
}

// Lease contenders in two processes (this runtime, and Node in a child process) race on one
// PostgreSQL on the real clock; the model of the lease conformance case checks their merged
// history: no two holds of one id overlap, and takeovers come only after expiry.
import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import process from "node:process";
import { postgresStorage } from "../../adapters/postgres/mod.ts";
import { checkLeaseHistory, contendForLeases, type LeaseEvent } from "../../src/testing/lease_conformance.ts";
import { generator } from "../../src/testing/contention_conformance.ts";
import { raceOptions, timings } from "./_lease_race.ts";

const url = process.env.POSTGRES_URL;
const here = ["here-0", "here-1"];
const there = ["child-0", "child-1"];

/** Runs the contender script in Node (with tsx), whatever runtime runs this test. */
function contendInChild(actorType: string, seed: number): Promise<LeaseEvent[]> {
  const node = process.versions.bun || process.versions.deno ? "node" : process.execPath;
  const script = new URL("./_lease_contender.ts", import.meta.url).pathname;
  const child = spawn(node, ["--import", "tsx", script, actorType, String(seed), ...there], { env: process.env, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk) => (stdout += chunk));
  child.stderr.on("data", (chunk) => (stderr += chunk));
  return new Promise((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code) => code === 0 ? resolve(JSON.parse(stdout) as LeaseEvent[]) : reject(new Error(`the child contender exited with ${code}:\n${stderr}`)));
  });
}

if (url === undefined) {
  const reason = "POSTGRES_URL is not set (start it with scripts/services/postgres.sh start)";
  test(`leases across processes (skipped: ${reason})`, { skip: reason }, () => {});
} else {
  test("lease contenders in two processes: at most one holds each id at a time", async () => {
    const storage = postgresStorage({ url, driverOptions: { max: 4, onnotice: () => {} } });
    await storage.ensureSchema();
    const actorType = `lease-processes-${crypto.randomUUID().slice(0, 8)}`;
    const seed = Math.floor(Math.random() * 2 ** 31);
    try {
      const [child, ...local] = await Promise.all([
        contendInChild(actorType, seed + 100),
        ...here.map((holder, index) => contendForLeases({ storage, holder, ...raceOptions(actorType, generator(seed + index)) })),
      ]);
      const history = [...child, ...local.flat()];
      assert.deepEqual(checkLeaseHistory(history, timings, [...here, ...there]), [], `seed ${seed}`);
      const acquirers = new Set(history.filter((event) => event.kind === "acquired").map((event) => event.holder));
      // A lost lease was abandoned, then taken over after it expired: the case the race is for.
      assert.ok(history.some((event) => event.kind === "lost"), "no lease was taken over after expiring");
      assert.ok(there.some((holder) => acquirers.has(holder)) && here.some((holder) => acquirers.has(holder)), `both processes acquired leases: ${[...acquirers]}`);
    } finally {
      await storage.close();
    }
  });
}

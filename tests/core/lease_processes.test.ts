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

/**
 * Runs the contender script in Node (with tsx), whatever runtime runs this test. `ready`
 * settles once the child is connected, so that both sides race at the same time.
 */
function contendInChild(actorType: string, seed: number): { ready: Promise<void>; events: Promise<LeaseEvent[]> } {
  const node = process.versions.bun || process.versions.deno ? "node" : process.execPath;
  const script = new URL("./_lease_contender.ts", import.meta.url).pathname;
  const child = spawn(node, ["--import", "tsx", script, actorType, String(seed), ...there], { env: process.env, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  let signalReady = () => {};
  const ready = new Promise<void>((resolve) => (signalReady = resolve));
  child.stdout.on("data", (chunk) => {
    stdout += chunk;
    if (stdout.startsWith("ready\n")) signalReady();
  });
  child.stderr.on("data", (chunk) => (stderr += chunk));
  const events = new Promise<LeaseEvent[]>((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (code) => code === 0 ? resolve(JSON.parse(stdout.slice("ready\n".length)) as LeaseEvent[]) : reject(new Error(`the child contender exited with ${code}:\n${stderr}`)));
  });
  // A child that dies before it is ready must not leave the race waiting.
  return { ready: Promise.race([ready, events.then(() => {})]), events };
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
      const child = contendInChild(actorType, seed + 100);
      await child.ready;
      const [childEvents, ...local] = await Promise.all([
        child.events,
        ...here.map((holder, index) => contendForLeases({ storage, holder, ...raceOptions(actorType, generator(seed + index)) })),
      ]);
      const history = [...childEvents, ...local.flat()];
      assert.deepEqual(checkLeaseHistory(history, timings, [...here, ...there]), [], `seed ${seed}`);
      // A lost lease was abandoned, then taken over after it expired: the case the race is for.
      assert.ok(history.some((event) => event.kind === "lost"), "no lease was taken over after expiring");
      // The processes raced: some lease passed from a holder in one to a holder in the other.
      const acquired = history.filter((event) => event.kind === "acquired").sort((a, b) => a.id.localeCompare(b.id) || a.takeover - b.takeover);
      const side = (holder: string) => holder.split("-")[0];
      const handOvers = acquired.filter((event, index) => index > 0 && acquired[index - 1]!.id === event.id && side(acquired[index - 1]!.holder) !== side(event.holder));
      assert.ok(handOvers.length > 0, "no lease passed between the processes");
    } finally {
      await storage.close();
    }
  });
}

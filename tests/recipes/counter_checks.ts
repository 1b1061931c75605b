// What every recipe test asks of a running server, over real HTTP.
import assert from "node:assert/strict";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runner, startServer, type RunningServer } from "./server_process.ts";

async function call(url: string, method: "GET" | "POST", id: string): Promise<number> {
  const response = await fetch(`${url}/counters/${encodeURIComponent(id)}`, { method });
  const body = await response.text();
  assert.equal(response.status, 200, `${method} ${url}/counters/${id} answered ${response.status}: ${body}`);
  return (JSON.parse(body) as { count: number }).count;
}

function readCount(url: string, id: string): Promise<number> {
  return call(url, "GET", id);
}

/** Two increments in a row, then a read: each request sees what the one before it saved. */
export async function assertCountPersistsAcrossRequests(url: string, id: string): Promise<void> {
  assert.equal(await call(url, "POST", id), 1);
  assert.equal(await call(url, "POST", id), 2);
  assert.equal(await call(url, "GET", id), 2);
}

/**
 * One increment sent to each of `urls` at once, all to the same counter (pass one URL twice
 * for two requests to one server): every increment takes effect once, in some order.
 */
export async function assertConcurrentIncrementsAllCount(urls: readonly string[], id: string): Promise<void> {
  const answers = await Promise.all(urls.map((url) => call(url, "POST", id)));
  assert.deepEqual(answers.sort((a, b) => a - b), urls.map((_, index) => index + 1));
  assert.equal(await call(urls[0]!, "GET", id), urls.length);
}

/**
 * The whole check of a recipe that runs in isolates sharing only Upstash, given two of them:
 * counts persist across requests, concurrent increments to one isolate and across both all
 * count (each isolate holds the counter in memory; a stale writer conflicts, reloads and
 * retries), and each isolate reads what the other wrote.
 */
export async function checkIsolatesSharingUpstash(left: string, right: string): Promise<void> {
  const id = crypto.randomUUID(); // Redis outlives the test: fresh counters each run
  await assertCountPersistsAcrossRequests(left, `${id}-sequential`);
  await assertConcurrentIncrementsAllCount([left, left], `${id}-one-isolate`);
  await assertConcurrentIncrementsAllCount([left, right, left, right], `${id}-two-isolates`);
  assert.equal(await readCount(right, `${id}-sequential`), 2, "the other isolate reads the count");
}

/**
 * Deposits go through the ledger actor; the balances read model, which the server's projector
 * follows, catches up with each of them: every deposit counted once, none twice.
 */
export async function assertReadModelFollows(url: string): Promise<void> {
  const deposits = [250, 100, 5];
  const answers = await Promise.all(deposits.map(async (cents) => {
    const response = await fetch(`${url}/ledgers/ada/deposits?cents=${cents}`, { method: "POST" });
    assert.equal(response.status, 200, `deposit of ${cents} answered ${response.status}: ${await response.clone().text()}`);
    return ((await response.json()) as { balance: number }).balance;
  }));
  assert.equal(Math.max(...answers), 355, "the actor's balance after three deposits");
  let balance = { cents: 0, deposits: 0 };
  // The projector polls; ask until it has caught up, for at most a few hundred polls.
  for (let attempt = 0; attempt < 500 && balance.deposits < deposits.length; attempt++) {
    balance = (await (await fetch(`${url}/balances/ada`)).json()) as typeof balance;
    if (balance.deposits < deposits.length) await new Promise((resolve) => setTimeout(resolve, 20));
  }
  assert.deepEqual({ cents: balance.cents, deposits: balance.deposits }, { cents: 355, deposits: 3 }, "the read model after three deposits");
}

/** SIGTERM ran the recipe's shutdown to its end ("shut down"), and the process then exited. */
async function assertStopsCleanly(server: RunningServer): Promise<void> {
  const exit = await server.stop();
  assert.ok(exit.exitedOnItsOwn, `the server was still running 30 s after SIGTERM:\n${exit.output}`);
  assert.match(exit.output, /^shut down$/m, `the server did not finish its shutdown:\n${exit.output}`);
  // Deno's node:child_process reports the signal it sent rather than the exit status.
  if (runner !== "deno") assert.equal(exit.code, 0, `the server exited with ${exit.code ?? exit.signal}:\n${exit.output}`);
}

/**
 * The whole check of a recipe that keeps its state in PGlite: counts persist across requests,
 * concurrent increments all count, SIGTERM makes the process exit on its own (so shutdown
 * closed everything), and a restart on the same data folder finds the counts.
 */
export async function checkPgliteServer(command: string, args: readonly string[], extra?: (url: string) => Promise<void>): Promise<void> {
  const env = { DATA_DIR: join(await mkdtemp(join(tmpdir(), "quark-recipe-")), "db") };
  const first = await startServer(command, args, env);
  try {
    await assertCountPersistsAcrossRequests(first.url, "sequential");
    await assertConcurrentIncrementsAllCount([first.url, first.url], "concurrent");
    await extra?.(first.url);
  } finally {
    await assertStopsCleanly(first);
  }
  const restarted = await startServer(command, args, env);
  try {
    assert.equal(await readCount(restarted.url, "sequential"), 2, "the count survived a restart");
  } finally {
    await assertStopsCleanly(restarted);
  }
}

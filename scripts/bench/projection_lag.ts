/**
 * The lag rounds of the projections suite (`projections.ts`), run after the timed cycles
 * because their projectors work in the background, which would disturb the other cases.
 * Every side (`projection_sides.ts`) is visited ROUNDS times, in a new random order per round:
 *
 * - lag: one writer appends WRITE_BATCH events every WRITE_EVERY_MS to fresh streams while a
 *   fresh projector folds them; lag is the time from an append's acknowledgement until the
 *   commit of the projector's batch that covers it returns (the earliest moment a
 *   `position()` read could see it, without a poller's sampling error). Appends of the first
 *   WARM_MS of a window are not counted, so every side is past its start-up backoff;
 * - catch-up: BACKLOG events are appended first, then a fresh projector starts before them;
 *   events per second from its first commit to the one that covers the last event, so that
 *   neither side's start-up counts.
 *
 * Each window and catch-up then checks every document of the read model against the sums its
 * writer appended. `QUARK_BENCH_LAG_ROUNDS` sets the rounds (default 5).
 */
import process from "node:process";
import { quantile, shuffle } from "./_harness.ts";
import { SETTINGS, shortId, type Follower, type Side } from "./projection_sides.ts";

const WRITE_BATCH = 10;
const WRITE_EVERY_MS = 50;
const WRITE_STREAMS = 10;
const WINDOW_MS = 3_000;
const WARM_MS = 500;
const ROUNDS = Number(process.env.QUARK_BENCH_LAG_ROUNDS ?? 5);
const BACKLOG = 2_000;
const CATCH_UP_TIMEOUT_MS = 120_000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** What one follower committed when: the lags of acknowledged appends, and waits for a position. */
function commitWatcher() {
  let committed = -1n;
  let committedAt = 0;
  let first: { position: bigint; at: number } | undefined;
  const waiters: { target: bigint; resolve: () => void }[] = [];
  const lags: number[] = [];
  const pending: { position: bigint; at: number }[] = [];
  return {
    lags,
    onCommit(position: bigint) {
      const now = performance.now();
      if (position <= committed) return;
      committed = position;
      committedAt = now;
      first ??= { position, at: now };
      while (pending.length > 0 && pending[0]!.position <= position) lags.push(now - pending.shift()!.at);
      for (const waiter of waiters.filter((entry) => entry.target <= position)) {
        waiters.splice(waiters.indexOf(waiter), 1);
        waiter.resolve();
      }
    },
    /** An acknowledged append; a commit that covered it before the writer resumed counts as 0. */
    onAck(position: bigint, at: number, counted: boolean) {
      if (!counted) return;
      if (position <= committed) lags.push(0);
      else pending.push({ position, at });
    },
    /** Events per second from the first commit to the last: start-up and the first batch left out. */
    rateAfterFirstCommit(): number {
      return Number(committed - first!.position) / ((committedAt - first!.at) / 1000);
    },
    reached(target: bigint): Promise<void> {
      if (target <= committed) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`no commit reached position ${target} within ${CATCH_UP_TIMEOUT_MS} ms (last ${committed})`)), CATCH_UP_TIMEOUT_MS);
        waiters.push({ target, resolve: () => (clearTimeout(timer), resolve()) });
      });
    },
  };
}

/** Each append adds deposits of 1 to WRITE_BATCH to one stream. */
async function checkReadModel(follower: Follower, appendsPerStream: Map<string, number>): Promise<void> {
  for (const [stream, appends] of appendsPerStream) {
    const expected = { sum: appends * WRITE_BATCH * (WRITE_BATCH + 1) / 2, count: appends * WRITE_BATCH };
    const document = await follower.read(stream);
    if (document?.sum !== expected.sum || document.count !== expected.count) {
      throw new Error(`the read model of ${stream} is ${JSON.stringify(document)}, expected ${JSON.stringify(expected)}`);
    }
  }
}

/** Makes `count` appends of WRITE_BATCH deposits over WRITE_STREAMS fresh streams in turn; `before` paces them. */
async function write(side: Side, count: number, before: (index: number) => Promise<void>, after: (index: number, position: bigint) => void) {
  const round = shortId();
  const appendsPerStream = new Map<string, number>();
  let last = await side.last();
  for (let index = 0; index < count; index++) {
    await before(index);
    const stream = `bench-ledger/${round}-${index % WRITE_STREAMS}`;
    last = await side.append(stream, WRITE_BATCH);
    appendsPerStream.set(stream, (appendsPerStream.get(stream) ?? 0) + 1);
    after(index, last);
  }
  return { last, appendsPerStream };
}

/** One lag window: the writer appends at a steady pace while a fresh projector follows. */
async function lagWindow(side: Side): Promise<number[]> {
  const watcher = commitWatcher();
  const follower = await side.follow(await side.last(), watcher.onCommit);
  const started = performance.now();
  try {
    const written = await write(side, Math.ceil(WINDOW_MS / WRITE_EVERY_MS), async (index) => {
      const wait = started + index * WRITE_EVERY_MS - performance.now();
      if (wait > 0) await sleep(wait);
    }, (index, position) => watcher.onAck(position, performance.now(), index * WRITE_EVERY_MS >= WARM_MS));
    await watcher.reached(written.last);
    await checkReadModel(follower, written.appendsPerStream);
  } finally {
    await follower.stop();
  }
  return watcher.lags;
}

/**
 * Appends a backlog, then follows it with a fresh projector: events per second between its
 * first and its last commit (Emmett's start-up registers its projection and takes a lock).
 */
async function catchUp(side: Side): Promise<number> {
  const from = await side.last();
  const written = await write(side, BACKLOG / WRITE_BATCH, () => Promise.resolve(), () => {});
  const watcher = commitWatcher();
  const follower = await side.follow(from, watcher.onCommit);
  try {
    await watcher.reached(written.last);
    await checkReadModel(follower, written.appendsPerStream);
    return watcher.rateAfterFirstCommit();
  } finally {
    await follower.stop();
  }
}

const ms = (value: number) => `${value.toFixed(1)} ms`;

/** Every side, ROUNDS times, in a new random order per round. */
export async function lagFacts(sides: readonly Side[]): Promise<Record<string, string>> {
  const lags = new Map<string, number[]>(sides.map((side) => [side.name, []]));
  const rates = new Map<string, number[]>(sides.map((side) => [side.name, []]));
  for (let round = 1; round <= ROUNDS; round++) {
    process.stderr.write(`projection lag round ${round}/${ROUNDS}\r`);
    for (const side of shuffle([...sides])) {
      lags.get(side.name)!.push(...await lagWindow(side));
      rates.get(side.name)!.push(await catchUp(side));
    }
  }
  process.stderr.write("\n");
  const facts: Record<string, string> = {};
  const pace = `${WRITE_BATCH} events every ${WRITE_EVERY_MS} ms = ${Math.round(WRITE_BATCH * 1000 / WRITE_EVERY_MS)} events/s`;
  for (const side of sides) {
    const measured = lags.get(side.name)!.sort((a, b) => a - b);
    const rate = quantile(rates.get(side.name)!.sort((a, b) => a - b), 0.5);
    facts[`${side.name}: projection lag p50 / p99 / max, writer at ${pace}`] = `${ms(quantile(measured, 0.5))} / ${ms(quantile(measured, 0.99))} / ${ms(measured.at(-1)!)} (${measured.length} appends)`;
    facts[`${side.name}: projection catch-up of ${BACKLOG.toLocaleString("en")} events`] = `${Math.round(rate).toLocaleString("en")} events/s (median of ${ROUNDS})`;
  }
  facts["projection settings"] = `${SETTINGS}; per-stream sum over ${WRITE_STREAMS} fresh streams per window; ${ROUNDS} rounds of a ${WINDOW_MS} ms window (first ${WARM_MS} ms not counted) and a catch-up per side`;
  return facts;
}

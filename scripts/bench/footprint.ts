/**
 * The `footprint` suite of `npm run bench`: heap bytes per actor, counted rather than timed.
 * 10,000 `BenchNote` actors on the memory storage are each called once (activated, one state
 * saved), then let go: once by idle deactivation in a running system, once by shutdown.
 *
 * Heap figures need a forced collection before each reading, so the measurement runs in a
 * child process started with `--expose-gc` (this same file, run directly): `run.mjs` starts
 * the runner without that flag, and the child's heap holds nothing of the other suites.
 */
import { execFile } from "node:child_process";
import { promisify } from "node:util";
import { fileURLToPath, pathToFileURL } from "node:url";
import process from "node:process";
import { createActorSystem, memoryStorage } from "../../mod.ts";
import { BenchNote, type OpenSuite } from "./_harness.ts";

const ACTORS = 10_000;
const AT_ONCE = 500;
const IDLE_MS = 50;

interface Footprint {
  readonly activeBytes: number;
  readonly afterIdleBytes: number;
  readonly afterShutdownBytes: number;
}

function heapAfterGc(): number {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error("run with node --expose-gc");
  // A few rounds, so objects freed by finalisation in one round are gone too.
  for (let round = 0; round < 4; round++) gc();
  return process.memoryUsage().heapUsed;
}

/** Calls `ACTORS` fresh actors once each, a batch at a time, keeping no reference to them. */
async function activateAll(system: ReturnType<typeof createActorSystem>): Promise<void> {
  for (let first = 0; first < ACTORS; first += AT_ONCE) {
    await Promise.all(Array.from({ length: AT_ONCE }, (_, offset) => system.actor(BenchNote, `n${first + offset}`).bump()));
  }
  if (system.activeCount !== ACTORS) throw new Error(`${system.activeCount} actors active, expected ${ACTORS}`);
}

async function measure(): Promise<Footprint> {
  // Warm-up, so code, caches and the actor type's own records are in the baseline.
  const warm = createActorSystem({ storage: memoryStorage() });
  await warm.actor(BenchNote, "warm").bump();
  await warm.shutdown();

  const baseline = heapAfterGc();
  const kept = createActorSystem({ storage: memoryStorage() });
  await activateAll(kept);
  const active = heapAfterGc();
  await kept.shutdown();
  const afterShutdown = heapAfterGc();

  const idleBaseline = heapAfterGc();
  const idle = createActorSystem({ storage: memoryStorage(), idleTimeoutMs: IDLE_MS });
  await activateAll(idle);
  while (idle.activeCount > 0) await new Promise((resolve) => setTimeout(resolve, IDLE_MS));
  const afterIdle = heapAfterGc();
  await idle.shutdown();

  return {
    activeBytes: (active - baseline) / ACTORS,
    afterShutdownBytes: (afterShutdown - baseline) / ACTORS,
    afterIdleBytes: (afterIdle - idleBaseline) / ACTORS,
  };
}

const thisFile = fileURLToPath(import.meta.url);

export const open: OpenSuite = async () => ({
  name: "footprint",
  cases: [],
  ratios: [],
  facts: async () => {
    const root = fileURLToPath(new URL("../../", import.meta.url));
    const { stdout } = await promisify(execFile)(process.execPath, [...process.execArgv, "--expose-gc", thisFile], { cwd: root });
    const figures = JSON.parse(stdout) as Footprint;
    const bytes = (value: number) => `${Math.round(value).toLocaleString("en")} bytes`;
    return {
      [`heap per active actor (${ACTORS.toLocaleString("en")} actors, one small state each, the memory storage's copy included)`]: bytes(figures.activeBytes),
      "heap per actor after idle deactivation (the memory storage's copy remains)": bytes(figures.afterIdleBytes),
      "heap per actor after shutdown (the memory storage's copy remains)": bytes(figures.afterShutdownBytes),
      "heap per activation alone (active minus after shutdown)": bytes(figures.activeBytes - figures.afterShutdownBytes),
    };
  },
  close: async () => {},
});

if (process.argv[1] && pathToFileURL(process.argv[1]).href === import.meta.url) {
  process.stdout.write(JSON.stringify(await measure()));
}

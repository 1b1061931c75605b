/**
 * Lease benchmark: conflicts per 1,000 calls on one hot actor called from 4 actor systems,
 * with leases and without. Each system has its own connection pool (on PostgreSQL), as 4
 * processes would. Every caller calls the system it belongs to:
 *
 * - `no lease`: every system activates the actor, and their saves race; a conflict re-runs
 *   the turn (the `retry` policy), and the turn events count each conflicting attempt;
 * - `lease`: the first system to activate the actor holds its lease. A caller whose system
 *   gets `LeaseHeldError` forwards the call to the holder it names and keeps calling there,
 *   as a router that learns where an actor lives would (each forward is counted).
 *
 * The modes run interleaved, in rounds, each round on a fresh actor id. The final count
 * must equal the number of calls (no update lost), or the run stops. No test asserts these
 * figures.
 *
 * Run: `set -a; . .services/postgres/env; set +a; node --import tsx scripts/bench/leases.ts`
 * (without POSTGRES_URL it runs on PGlite only). `QUARK_BENCH_CALLS` sets calls per round.
 */
import * as v from "valibot";
import { PGlite } from "@electric-sql/pglite";
import { postgresStorage } from "../../adapters/postgres/mod.ts";
import { pgliteStorage, type PGliteClient } from "../../adapters/pglite/mod.ts";
import { createActorSystem, defineActor, defineState, LeaseHeldError, type ActorEvent, type ActorSystem, type StateStorage } from "../../mod.ts";

const SYSTEMS = 4;
const CALLERS_PER_SYSTEM = 4;
const CALLS = Number(process.env.QUARK_BENCH_CALLS ?? 1000);
const ROUNDS = 3;

const count = defineState("count", { schema: v.number(), initial: 0 });
const Hot = defineActor("hot", {
  states: { count },
  conflict: { retry: { maxAttempts: 1000, baseDelayMs: 1, maxDelayMs: 20 } },
  handlers: {
    async add({ states }) {
      states.count.value += 1;
      await states.count.save();
      return states.count.value;
    },
    read: ({ states }) => states.count.value,
  },
});

interface Mode {
  readonly name: string;
  readonly lease: boolean;
}
const MODES: Mode[] = [
  { name: "no lease", lease: false },
  { name: "lease", lease: true },
];

interface Tally {
  calls: number;
  conflicts: number;
  forwards: number;
  ms: number;
}

async function round(open: () => StateStorage, mode: Mode, actorId: string): Promise<Tally> {
  const tally: Tally = { calls: 0, conflicts: 0, forwards: 0, ms: 0 };
  const observer = {
    actor(event: ActorEvent) {
      if (event.kind === "turn" && event.outcome === "error" && event.errorCode === "STATE_CONFLICT") tally.conflicts++;
    },
  };
  const storages = Array.from({ length: SYSTEMS }, open);
  const systems: ActorSystem[] = storages.map((storage, index) =>
    createActorSystem({
      storage,
      observer,
      lease: mode.lease ? { holder: `system-${index}`, ttlMs: 5_000, onHeld: "fail" } : undefined,
    }));
  const byHolder = new Map(systems.map((system, index) => [`system-${index}`, system]));
  let remaining = CALLS;
  const caller = async (home: ActorSystem) => {
    let system = home;
    while (remaining > 0) {
      remaining--;
      for (;;) {
        try {
          await system.actor(Hot, actorId).add();
          break;
        } catch (error) {
          if (!(error instanceof LeaseHeldError)) throw error;
          tally.forwards++;
          system = byHolder.get(error.holder)!;
        }
      }
      tally.calls++;
    }
  };
  const begin = performance.now();
  await Promise.all(systems.flatMap((system) => Array.from({ length: CALLERS_PER_SYSTEM }, () => caller(system))));
  tally.ms = performance.now() - begin;
  await Promise.all(systems.map((system) => system.shutdown()));
  const check = createActorSystem({ storage: storages[0]! });
  const final = await check.actor(Hot, actorId).read();
  await check.shutdown();
  if (final !== CALLS) throw new Error(`${mode.name}: the count is ${final} after ${CALLS} calls: an update was lost`);
  await Promise.all(storages.map((storage) => storage.close()));
  return tally;
}

async function bench(backend: string, open: () => StateStorage): Promise<void> {
  const totals = new Map<string, Tally>(MODES.map((mode) => [mode.name, { calls: 0, conflicts: 0, forwards: 0, ms: 0 }]));
  for (let index = 0; index < ROUNDS; index++) {
    for (const mode of [...MODES].sort(() => Math.random() - 0.5)) {
      const tally = await round(open, mode, `${backend}-${crypto.randomUUID()}`);
      const total = totals.get(mode.name)!;
      for (const field of ["calls", "conflicts", "forwards", "ms"] as const) total[field] += tally[field];
    }
  }
  console.log(`\n${backend}: ${SYSTEMS} systems x ${CALLERS_PER_SYSTEM} callers, ${CALLS} calls per round, ${ROUNDS} rounds`);
  console.log("| mode | conflicts per 1,000 calls | forwards per 1,000 calls | calls/s |");
  console.log("|---|---:|---:|---:|");
  for (const [name, total] of totals) {
    const per1000 = (value: number) => (value * 1000 / total.calls).toFixed(1);
    console.log(`| ${name} | ${per1000(total.conflicts)} | ${per1000(total.forwards)} | ${Math.round(total.calls / (total.ms / 1000))} |`);
  }
}

const pglite = new PGlite();
await pgliteStorage({ client: pglite as unknown as PGliteClient }).ensureSchema();
await bench("pglite", () => pgliteStorage({ client: pglite as unknown as PGliteClient }));
await pglite.close();

const url = process.env.POSTGRES_URL;
if (url === undefined) {
  console.log("\nSKIP postgres: POSTGRES_URL is not set (start it with scripts/services/postgres.sh start)");
} else {
  const setup = postgresStorage({ url, driverOptions: { max: 1, onnotice: () => {} } });
  await setup.ensureSchema();
  await setup.close();
  // Each system opens its own pool, which its storage closes, as a process of its own would.
  await bench("postgres", () => postgresStorage({ url, driverOptions: { max: 4, onnotice: () => {} } }));
}

// The model-based check of the actor runtime (issue 9), for any backend.
//
// Invariant (docs/semantics.md): each acknowledged call takes effect exactly once, in some
// serial order of calls; a call that failed with a definite error took no effect; a call
// whose outcome is unknown took effect at most once. A call that failed with
// TurnPartiallyCommittedError took effect exactly in the states it names.
//
// Two or three actor systems stand in for processes and share one storage. fc.commands
// generates random calls (single-state adds, two-state transfers saved together or one by
// one, under abort, retry and merge, some pausing mid-turn) and faults (an outage before a
// write, a lost reply after it, a read outage); fc.scheduler interleaves every storage call
// and every pause. Each call records its own id in the states it changes, so the stored
// states say which calls took effect, how often, and in what order.
import fc from "fast-check";
import * as v from "valibot";
import {
  createActorSystem,
  createCodec,
  defineActor,
  defineState,
  encodeKey,
  type ActorSystem,
  type ConflictPolicy,
  type StateKey,
  type StateStorage,
} from "../../mod.ts";
import { createFaultQueue, FaultCommand, faultyStorage, playHistory, type Fault, type FaultQueue } from "./faulty_storage.ts";
import { assertOutcomes, type CallRecord, type Ledger } from "./turn_checks.ts";

const ledgerSchema = v.object({ total: v.number(), applied: v.array(v.string()) });
const emptyLedger = (): { total: number; applied: string[] } => ({ total: 0, applied: [] });

/** Our change since base, put on top of theirs: the correct merge for a ledger. */
function mergeLedger(base: Ledger, mine: Ledger, theirs: Ledger): Ledger {
  const known = new Set([...base.applied, ...theirs.applied]);
  return { total: theirs.total + (mine.total - base.total), applied: [...theirs.applied, ...mine.applied.filter((id) => !known.has(id))] };
}

const policies = {
  abort: "abort",
  retry: { retry: { maxAttempts: 4, baseDelayMs: 0, maxDelayMs: 1 } },
  merge: { merge: mergeLedger },
} satisfies Record<string, ConflictPolicy<Ledger>>;
type PolicyName = keyof typeof policies;

interface Real {
  readonly systems: ActorSystem[];
  readonly faults: FaultQueue[];
  readonly account: ReturnType<typeof accountActor>;
  readonly actorId: string;
  readonly calls: CallRecord[];
  readonly settled: Promise<unknown>[];
}

function accountActor(scheduler: fc.Scheduler, reentrant: boolean, idleTimeoutMs: number) {
  const a = defineState("a", { schema: ledgerSchema, initial: emptyLedger });
  const b = defineState("b", { schema: ledgerSchema, initial: emptyLedger });
  const pause = () => scheduler.schedule(Promise.resolve(), "slow turn");
  return defineActor("model-account", {
    states: { a, b },
    reentrant,
    idleTimeoutMs,
    handlers: {
      async add({ states }, id: string, amount: number, slow: boolean) {
        states.a.value = { total: states.a.value.total + amount, applied: [...states.a.value.applied, id] };
        if (slow) await pause();
        await states.a.save();
      },
      async transfer({ states, saveStates }, id: string, amount: number, together: boolean, slow: boolean) {
        states.a.value = { total: states.a.value.total - amount, applied: [...states.a.value.applied, id] };
        states.b.value = { total: states.b.value.total + amount, applied: [...states.b.value.applied, id] };
        if (slow) await pause();
        if (together) {
          await saveStates(["a", "b"]);
        } else {
          await states.a.save();
          await states.b.save();
        }
      },
    },
  });
}

class CallCommand implements fc.AsyncCommand<object, Real> {
  readonly kind: "add" | "transfer";
  readonly system: number;
  readonly policy: PolicyName;
  readonly amount: number;
  readonly together: boolean;
  readonly slow: boolean;
  constructor(kind: "add" | "transfer", system: number, policy: PolicyName, amount: number, together: boolean, slow: boolean) {
    this.kind = kind;
    this.system = system;
    this.policy = policy;
    this.amount = amount;
    this.together = together;
    this.slow = slow;
  }
  check(): boolean {
    return true;
  }
  async run(_model: object, real: Real): Promise<void> {
    const system = real.systems[this.system % real.systems.length]!;
    const ref = system.actor(real.account, real.actorId, { conflict: policies[this.policy] as ConflictPolicy<unknown> });
    const record: CallRecord = { id: `c${real.calls.length}`, kind: this.kind, amount: this.amount, together: this.together, outcome: undefined };
    real.calls.push(record);
    const call = this.kind === "add" ? ref.add(record.id, this.amount, this.slow) : ref.transfer(record.id, this.amount, this.together, this.slow);
    // Calls run concurrently; the scheduler decides how their storage calls interleave.
    real.settled.push(call.then(() => (record.outcome = { ok: true }), (error) => (record.outcome = { ok: false, error })));
  }
  toString(): string {
    const shape = this.kind === "transfer" ? (this.together ? " saved together" : " saved one by one") : "";
    return `${this.kind}(system ${this.system}, ${this.policy}, ${this.amount}${shape}${this.slow ? ", slow" : ""})`;
  }
}

const commandArbitraries = [
  fc.tuple(fc.constantFrom("add" as const, "transfer" as const), fc.nat(2), fc.constantFrom<PolicyName>("abort", "retry", "merge"), fc.integer({ min: 1, max: 9 }), fc.boolean(), fc.boolean())
    .map(([kind, system, policy, amount, together, slow]) => new CallCommand(kind, system, policy, amount, together, slow)),
  fc.tuple(fc.nat(2), fc.constantFrom<Fault>("lost-reply", "unavailable", "read-unavailable"))
    .map(([system, fault]) => new FaultCommand(system, fault)),
];

async function storedLedger(storage: StateStorage, key: StateKey): Promise<Ledger> {
  const record = await storage.read(key);
  if (!record) return emptyLedger();
  return (await createCodec().decode(record.value, encodeKey(key))).value as Ledger;
}

/** What a model run needs from a backend. */
export interface TurnModelTarget {
  readonly name: string;
  /** The shared storage; each run uses actor ids of its own, so it is never cleared. */
  readonly storage: StateStorage;
  readonly runs: number;
  readonly seed?: number;
}

/** Checks the invariant over `runs` random histories; a failure throws with the seed and the shrunk history. */
export async function checkTurnModel(target: TurnModelTarget): Promise<void> {
  let run = 0;
  const property = fc.asyncProperty(
    fc.scheduler(),
    fc.commands(commandArbitraries, { maxCommands: 10 }),
    fc.integer({ min: 2, max: 3 }),
    fc.boolean(),
    fc.constantFrom(1, Infinity),
    async (scheduler, commands, processes, reentrant, idleTimeoutMs) => {
      const faults = Array.from({ length: processes }, createFaultQueue);
      const systems = faults.map((queue) => createActorSystem({ storage: faultyStorage(target.storage, scheduler, queue) }));
      const real: Real = { systems, faults, account: accountActor(scheduler, reentrant, idleTimeoutMs), actorId: `${target.name}-${Date.now()}-${run++}`, calls: [], settled: [] };
      await playHistory(scheduler, commands as Iterable<fc.AsyncCommand<object, Real>>, real, systems);
      const key = (stateName: string) => ({ actorType: "model-account", actorId: real.actorId, stateName });
      assertOutcomes(real.calls, { a: await storedLedger(target.storage, key("a")), b: await storedLedger(target.storage, key("b")) });
    },
  );
  await fc.assert(property, { numRuns: target.runs, seed: target.seed, endOnFailure: false });
}

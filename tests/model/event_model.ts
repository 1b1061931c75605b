// The model-based check of event-sourced actors (issue 9), for any event store.
//
// Invariant (docs/semantics.md): an acknowledged command's events are in the stream exactly
// once; a command that failed with a definite error appended nothing; one whose outcome is
// unknown appended each of its batches at most once, all or nothing; one that failed with
// TurnPartiallyCommittedError appended exactly its batches before the conflict. A fresh
// activation, from snapshots or not, folds to the same state as the whole stream.
//
// Two or three systems share the event store, each through a wrapper that interleaves calls
// under fc.scheduler and injects outages, lost replies and unreadable snapshots.
import assert from "node:assert/strict";
import fc from "fast-check";
import * as v from "valibot";
import {
  createActorSystem,
  createCodec,
  defineEventSourcedActor,
  isQuarkError,
  memoryStorage,
  streamNameOf,
  type ActorSystem,
  type EventStore,
} from "../../mod.ts";
import { createFaultQueue, FaultCommand, faultyEventStore, playHistory, type Fault, type FaultQueue } from "./faulty_storage.ts";
import { eventBinding } from "../../src/events/aggregate.ts";

const deposited = v.object({ type: v.literal("Deposited"), id: v.string(), part: v.number(), amount: v.number() });
type Deposited = v.InferOutput<typeof deposited>;

function accountActor(conflict: "abort" | "retry", idleTimeoutMs: number, scheduler: fc.Scheduler) {
  return defineEventSourcedActor("model-ledger", {
    events: deposited,
    state: v.object({ total: v.number(), count: v.number() }),
    initial: { total: 0, count: 0 },
    apply: (state, event) => ({ total: state.total + event.amount, count: state.count + 1 }),
    snapshotEvery: 2,
    conflict: conflict === "retry" ? { retry: { maxAttempts: 4, baseDelayMs: 0, maxDelayMs: 1 } } : "abort",
    idleTimeoutMs,
    commands: {
      async deposit(ledger, id: string, amount: number, batches: number) {
        for (let part = 1; part <= batches; part++) {
          await ledger.raise({ type: "Deposited", id, part, amount });
          await ledger.raise({ type: "Deposited", id, part: part + 10, amount: 1 });
          await ledger.commit();
          await scheduler.schedule(Promise.resolve(), "between commits");
        }
      },
      read: (ledger) => ({ ...ledger.state, version: ledger.version }),
    },
  });
}

interface CommandRecord {
  readonly id: string;
  readonly batches: number;
  outcome: { ok: true } | { ok: false; error: unknown } | undefined;
}

interface Real {
  readonly systems: ActorSystem[];
  readonly faults: FaultQueue[];
  readonly actor: ReturnType<typeof accountActor>;
  readonly actorId: string;
  readonly commands: CommandRecord[];
  readonly settled: Promise<unknown>[];
}

class DepositCommand implements fc.AsyncCommand<object, Real> {
  readonly system: number;
  readonly amount: number;
  readonly batches: number;
  constructor(system: number, amount: number, batches: number) {
    this.system = system;
    this.amount = amount;
    this.batches = batches;
  }
  check(): boolean {
    return true;
  }
  async run(_model: object, real: Real): Promise<void> {
    const record: CommandRecord = { id: `d${real.commands.length}`, batches: this.batches, outcome: undefined };
    real.commands.push(record);
    const call = real.systems[this.system % real.systems.length]!.actor(real.actor, real.actorId).deposit(record.id, this.amount, this.batches);
    real.settled.push(call.then(() => (record.outcome = { ok: true }), (error) => (record.outcome = { ok: false, error })));
  }
  toString(): string {
    return `deposit(system ${this.system}, ${this.amount}, ${this.batches} commit${this.batches > 1 ? "s" : ""})`;
  }
}

const commandArbitraries = [
  fc.tuple(fc.nat(2), fc.integer({ min: 1, max: 9 }), fc.integer({ min: 1, max: 2 })).map(([system, amount, batches]) => new DepositCommand(system, amount, batches)),
  fc.tuple(fc.nat(2), fc.constantFrom<Fault>("lost-reply", "unavailable", "read-unavailable")).map(([system, fault]) => new FaultCommand(system, fault)),
];

async function storedEvents(store: EventStore, stream: string): Promise<Deposited[]> {
  const codec = createCodec();
  const events: Deposited[] = [];
  for await (const stored of store.read(stream)) events.push((await codec.decode(stored.data, eventBinding(stream, stored.version))).value as Deposited);
  return events;
}

function assertCommandOutcomes(commands: readonly CommandRecord[], events: readonly Deposited[]): void {
  const seen = events.map((event) => `${event.id}.${event.part}`);
  assert.equal(new Set(seen).size, seen.length, `an event was appended twice: ${seen.join(",")}`);
  for (const command of commands) {
    const batches = [...new Set(events.filter((event) => event.id === command.id).map((event) => event.part % 10))].sort();
    for (const batch of batches) {
      const parts = events.filter((event) => event.id === command.id && event.part % 10 === batch).length;
      assert.equal(parts, 2, `command ${command.id} batch ${batch} was appended in part`);
    }
    const outcome = command.outcome;
    assert.ok(outcome, `command ${command.id} never settled`);
    const all = Array.from({ length: command.batches }, (_, index) => index + 1);
    if (outcome.ok) {
      assert.deepEqual(batches, all, `acknowledged command ${command.id} appended batches ${batches.join() || "none"}`);
    } else if (isQuarkError(outcome.error, "TURN_PARTIALLY_COMMITTED")) {
      assert.ok(batches.length > 0 && batches.length < command.batches, `command ${command.id} reported a partial commit but appended ${batches.join() || "none"}`);
    } else if (!isQuarkError(outcome.error, "STORAGE_UNAVAILABLE")) {
      assert.deepEqual(batches, [], `command ${command.id} failed definitely (${String(outcome.error)}) yet appended ${batches.join()}`);
    }
  }
}

/** What a model run needs from a backend. */
export interface EventModelTarget {
  readonly name: string;
  readonly eventStore: EventStore;
  readonly runs: number;
  readonly seed?: number;
}

/** Checks the invariant over `runs` random histories; a failure throws with the seed and the shrunk history. */
export async function checkEventModel(target: EventModelTarget): Promise<void> {
  let run = 0;
  const property = fc.asyncProperty(
    fc.scheduler(),
    fc.commands(commandArbitraries, { maxCommands: 8 }),
    fc.integer({ min: 2, max: 3 }),
    fc.constantFrom<"abort" | "retry">("abort", "retry"),
    fc.constantFrom(1, Infinity),
    async (scheduler, commands, processes, conflict, idleTimeoutMs) => {
      const faults = Array.from({ length: processes }, createFaultQueue);
      const systems = faults.map((queue) => createActorSystem({ storage: memoryStorage(), eventStore: faultyEventStore(target.eventStore, scheduler, queue) }));
      const actor = accountActor(conflict, idleTimeoutMs, scheduler);
      const real: Real = { systems, faults, actor, actorId: `${target.name}-${Date.now()}-${run++}`, commands: [], settled: [] };
      await playHistory(scheduler, commands as Iterable<fc.AsyncCommand<object, Real>>, real, systems);
      const events = await storedEvents(target.eventStore, streamNameOf("model-ledger", real.actorId));
      assertCommandOutcomes(real.commands, events);
      // A fresh activation, through snapshots, folds to what the whole stream says.
      const reader = createActorSystem({ storage: memoryStorage(), eventStore: target.eventStore });
      const recovered = await reader.actor(actor, real.actorId).read();
      await reader.shutdown();
      const total = events.reduce((sum, event) => sum + event.amount, 0);
      assert.deepEqual(recovered, { total, count: events.length, version: events.length }, "recovery disagrees with the stream");
    },
  );
  await fc.assert(property, { numRuns: target.runs, seed: target.seed, endOnFailure: false });
}

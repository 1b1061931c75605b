// A sequential model of the storage contract under contention-shaped histories (issue 16):
// random single writes, deletes and transactions of 2–4 states, each conditional, create-only
// or last-write-wins, checked step by step against a register-with-etag model. Every outcome
// must match the model exactly: all-or-nothing transactions, no lost update, no conflict for
// a last-write-wins operation, false for a delete of an absent state, and a conflict report
// naming the etag the model holds. The concurrent side is covered by the contention
// conformance case and the turn model; this one pins down what each step must answer.
import assert from "node:assert/strict";
import fc from "fast-check";
import { isQuarkError, type StateConflictError, type StateKey, type StateStorage, type TransactOperation } from "../../mod.ts";

type Precondition = "current" | "stale" | "create" | "lww";
interface Step {
  readonly kind: "write" | "delete";
  readonly state: number;
  readonly precondition: Precondition;
}

interface Model {
  readonly etags: Map<number, string>;
  /** Etags that were stored once and replaced since: what a stale writer holds. */
  readonly stale: Map<number, string>;
}

interface Real {
  readonly storage: StateStorage;
  readonly keys: readonly StateKey[];
}

function expectedEtagOf(model: Model, step: Step): string | null | undefined {
  if (step.precondition === "lww") return undefined;
  if (step.precondition === "create") return null;
  if (step.precondition === "stale") return model.stale.get(step.state) ?? "never-stored";
  return model.etags.get(step.state) ?? null;
}

function operationOf(real: Real, model: Model, step: Step): TransactOperation {
  const key = real.keys[step.state]!;
  const expected = expectedEtagOf(model, step);
  const precondition = expected === undefined ? { lastWriteWins: true as const } : { expectedEtag: expected };
  return step.kind === "write"
    ? { kind: "write", key, value: Uint8Array.of(step.state), etag: crypto.randomUUID(), ...precondition }
    : { kind: "delete", key, ...precondition };
}

/** Whether the model accepts the step, given the precondition it was sent with. */
function accepts(model: Model, step: Step, operation: TransactOperation): boolean {
  if (operation.lastWriteWins) return true;
  return (model.etags.get(step.state) ?? null) === operation.expectedEtag;
}

function apply(model: Model, step: Step, operation: TransactOperation): void {
  const previous = model.etags.get(step.state);
  if (previous !== undefined) model.stale.set(step.state, previous);
  if (operation.kind === "write") model.etags.set(step.state, operation.etag);
  else model.etags.delete(step.state);
}

function assertConflictReport(model: Model, error: unknown, steps: readonly Step[], real: Real): void {
  assert.ok(isQuarkError(error, "STATE_CONFLICT"), `expected a conflict, got ${String(error)}`);
  const conflict = error as StateConflictError;
  const index = real.keys.findIndex((key) => key.stateName === conflict.key.stateName);
  assert.ok(steps.some((step) => step.state === index), `the conflict names ${conflict.key.stateName}, which the call did not touch`);
  if (conflict.actualEtag !== undefined) {
    assert.equal(conflict.actualEtag, model.etags.get(index) ?? null, "the conflict reports an etag the state does not hold");
  }
}

class SingleCommand implements fc.AsyncCommand<Model, Real> {
  readonly step: Step;
  constructor(step: Step) {
    this.step = step;
  }
  check(): boolean {
    return true;
  }
  async run(model: Model, real: Real): Promise<void> {
    const operation = operationOf(real, model, this.step);
    const accepted = accepts(model, this.step, operation);
    const present = model.etags.has(this.step.state);
    try {
      const result = operation.kind === "write" ? await real.storage.write(operation) : await real.storage.delete(operation);
      // An absent state under a delete that expects it absent: nothing to delete, not a conflict.
      assert.ok(accepted || (operation.kind === "delete" && !present), `${this} succeeded against the model`);
      if (operation.kind === "delete") assert.equal(result, present, `${this} returned ${result} for a state that was ${present ? "present" : "absent"}`);
      apply(model, this.step, operation);
    } catch (error) {
      assert.ok(!accepted, `${this} was refused although the model accepts it: ${String(error)}`);
      if (operation.kind === "delete" && !present) assert.fail(`${this} conflicted on an absent state: ${String(error)}`);
      assertConflictReport(model, error, [this.step], real);
    }
  }
  toString(): string {
    return `${this.step.kind}(s${this.step.state}, ${this.step.precondition})`;
  }
}

class TransactCommand implements fc.AsyncCommand<Model, Real> {
  readonly steps: readonly Step[];
  constructor(steps: readonly Step[]) {
    this.steps = steps;
  }
  check(_model: Readonly<Model>): boolean {
    return true;
  }
  async run(model: Model, real: Real): Promise<void> {
    const operations = this.steps.map((step) => operationOf(real, model, step));
    // A delete of an absent state never blocks a transaction: it has nothing to delete.
    const accepted = this.steps.every((step, index) =>
      accepts(model, step, operations[index]!) || (operations[index]!.kind === "delete" && !model.etags.has(step.state)));
    try {
      await real.storage.transact(operations);
      assert.ok(accepted, `${this} succeeded against the model`);
      this.steps.forEach((step, index) => apply(model, step, operations[index]!));
    } catch (error) {
      assert.ok(!accepted, `${this} was refused although the model accepts it: ${String(error)}`);
      assertConflictReport(model, error, this.steps, real);
    }
  }
  toString(): string {
    return `transact(${this.steps.map((step) => `${step.kind} s${step.state} ${step.precondition}`).join(", ")})`;
  }
}

const STATES = 4;
const stepArbitrary = fc.record({
  kind: fc.constantFrom<"write" | "delete">("write", "write", "delete"),
  state: fc.nat(STATES - 1),
  precondition: fc.constantFrom<Precondition>("current", "current", "stale", "create", "lww"),
});

/** Checks `runs` random histories against the model on one storage. */
export async function checkStorageModel(storage: StateStorage, runs: number, seed?: number): Promise<void> {
  let run = 0;
  const commands = [
    stepArbitrary.map((step) => new SingleCommand(step)),
    ...(storage.capabilities.transactions
      ? [fc.uniqueArray(stepArbitrary, { minLength: 2, maxLength: 4, selector: (step) => step.state }).map((steps) => new TransactCommand(steps))]
      : []),
  ];
  await fc.assert(
    fc.asyncProperty(fc.commands(commands, { maxCommands: 30 }), async (history) => {
      const actorType = `storage-model-${Date.now()}-${run++}`;
      const keys = Array.from({ length: STATES }, (_, index) => ({ actorType, actorId: "one", stateName: `s${index}` }));
      await fc.asyncModelRun(() => ({ model: { etags: new Map(), stale: new Map() }, real: { storage, keys } }), history);
    }),
    { numRuns: runs, seed },
  );
}

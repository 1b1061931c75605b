// The checker of the turn model: compares what the stored states say took effect with what
// each call was told, under the invariant stated in docs/semantics.md.
import assert from "node:assert/strict";
import { isQuarkError } from "../../mod.ts";

/** A state that records which calls changed it, in commit order. */
export interface Ledger {
  readonly total: number;
  readonly applied: readonly string[];
}

/** One call as issued, and what its caller was told. */
export interface CallRecord {
  readonly id: string;
  readonly kind: "add" | "transfer";
  readonly amount: number;
  readonly together: boolean;
  outcome: { ok: true } | { ok: false; error: unknown } | undefined;
}

function effectOn(call: CallRecord, state: "a" | "b"): number {
  if (call.kind === "add") return state === "a" ? call.amount : 0;
  return state === "a" ? -call.amount : call.amount;
}

function describe(error: unknown): string {
  return isQuarkError(error) ? `${error.code}: ${error.message}` : String(error);
}

/** Throws an AssertionError naming the first call or state that breaks the invariant. */
export function assertOutcomes(calls: readonly CallRecord[], stored: Readonly<Record<"a" | "b", Ledger>>): void {
  const byId = new Map(calls.map((call) => [call.id, call]));
  for (const name of ["a", "b"] as const) {
    const applied = stored[name].applied;
    assert.equal(new Set(applied).size, applied.length, `state ${name} applied a call twice: ${applied.join(",")}`);
    // The stored total is the serial fold of the calls the state says it applied.
    const folded = applied.reduce((sum, id) => sum + effectOn(byId.get(id)!, name), 0);
    assert.equal(stored[name].total, folded, `state ${name} total ${stored[name].total} is not the fold ${folded} of ${applied.join(",")}`);
  }
  // Transfers saved together are single steps, so both states apply them in one serial order.
  // A transfer saved one by one is two steps, and others may run between them.
  const atomic = (id: string) => byId.get(id)!.together && stored.a.applied.includes(id) && stored.b.applied.includes(id);
  const inBoth = (name: "a" | "b") => stored[name].applied.filter(atomic);
  assert.deepEqual(inBoth("a"), inBoth("b"), "the two states applied their common calls in different orders");

  for (const call of calls) {
    const touched = call.kind === "add" ? ["a"] as const : ["a", "b"] as const;
    const present = touched.filter((name) => stored[name].applied.includes(call.id));
    const outcome = call.outcome;
    assert.ok(outcome, `call ${call.id} never settled`);
    if (call.kind === "transfer" && call.together) {
      assert.ok(present.length === 0 || present.length === 2, `transfer ${call.id} saved together was applied to ${present.join()} only`);
    }
    if (outcome.ok) {
      assert.deepEqual(present, [...touched], `acknowledged call ${call.id} (${call.kind}) took effect in ${present.join() || "no state"}`);
    } else if (isQuarkError(outcome.error, "TURN_PARTIALLY_COMMITTED")) {
      const committed = (outcome.error as unknown as { committed: string[] }).committed;
      assert.deepEqual(present, committed, `call ${call.id} said it committed ${committed.join()}, but took effect in ${present.join() || "no state"}`);
    } else if (!isQuarkError(outcome.error, "STORAGE_UNAVAILABLE")) {
      assert.deepEqual(present, [], `call ${call.id} failed definitely (${describe(outcome.error)}) yet took effect in ${present.join()}`);
    }
    // An unknown outcome may have taken effect, at most once: the duplicate check covers it.
  }
}

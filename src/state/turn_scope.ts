import { type ConflictPolicy, type ResolvedRetryOptions, retryOptionsOf } from "./conflict.ts";
import { type EventStoreConflictError, isQuarkError, type StateConflictError, TurnPartiallyCommittedError } from "../errors.ts";
import { notify, type QuarkObserver } from "../observe/observer.ts";

/**
 * What one attempt of one turn owns: its call's policy, what it has committed so far, and
 * whether a conflict asked for the turn to be re-run. Every turn gets its own, so policies
 * and outcomes never leak between reentrant turns.
 */
export interface TurnScope {
  readonly actorType: string;
  readonly actorId: string;
  /** The policy the call was made with; it wins over the state's and the actor's. */
  readonly callPolicy: ConflictPolicy<unknown> | undefined;
  /** The actor's default policy. */
  readonly actorPolicy: ConflictPolicy<unknown> | undefined;
  /** What this attempt has committed, in order: state names, or `"events"`. */
  readonly committed: string[];
  /** Where conflicts, merges and lost replies are reported. */
  readonly observer: QuarkObserver | undefined;
  /** Set by a conflict that the `retry` policy resolves by re-running the turn. */
  retryRequest: { readonly error: unknown; readonly options: ResolvedRetryOptions } | undefined;
}

/** A fresh scope for one attempt of a turn. */
export function createTurnScope(
  actorType: string,
  actorId: string,
  callPolicy: ConflictPolicy<unknown> | undefined,
  actorPolicy: ConflictPolicy<unknown> | undefined,
  observer: QuarkObserver | undefined,
): TurnScope {
  return { actorType, actorId, callPolicy, actorPolicy, observer, committed: [], retryRequest: undefined };
}

/** The name of a policy, for reports. */
// deno-lint-ignore no-explicit-any
export function policyName(policy: ConflictPolicy<any>): "abort" | "retry" | "merge" | "last-write-wins" {
  if (typeof policy === "string") return policy === "retry" ? "retry" : policy;
  return "merge" in policy ? "merge" : "retry";
}

/** Tells the observer how a policy handled a state's or an event stream's conflict. */
// deno-lint-ignore no-explicit-any
export function reportConflict(observer: QuarkObserver | undefined, error: unknown, policy: ConflictPolicy<any>, resolution: "retried" | "partial" | "thrown"): void {
  if (isQuarkError(error, "STATE_CONFLICT")) notify(observer, "write", { kind: "conflict", key: (error as StateConflictError).key, policy: policyName(policy), resolution });
  else if (isQuarkError(error, "EVENT_STORE_CONFLICT")) notify(observer, "write", { kind: "conflict", stream: (error as EventStoreConflictError).stream, policy: policyName(policy), resolution });
}

/** A refusal that says nothing was applied and that trying again may succeed. */
export function isRetryableConflict(error: unknown): boolean {
  return isQuarkError(error, "STATE_CONFLICT") || isQuarkError(error, "EVENT_STORE_CONFLICT") || isQuarkError(error, "CONTENTION");
}

/**
 * Decides what a conflict becomes under a policy, and returns the error to throw. A conflict
 * in a turn that has already committed a write fails the turn with
 * `TurnPartiallyCommittedError`, which names what did take effect, under every policy: the
 * caller must not read it as "nothing happened", and `retry` must not re-run it (that would
 * apply the committed write twice). Before any commit, `retry` asks for a re-run.
 */
// deno-lint-ignore no-explicit-any
export function resolveConflict(scope: TurnScope, error: unknown, policy: ConflictPolicy<any>): unknown {
  if (!isRetryableConflict(error)) return error;
  const report = (resolution: "retried" | "partial" | "thrown") => reportConflict(scope.observer, error, policy, resolution);
  // Whatever the policy, a conflict after a commit must not read as "nothing happened".
  if (scope.committed.length > 0) {
    report("partial");
    return new TurnPartiallyCommittedError(scope.actorType, scope.actorId, [...scope.committed], error);
  }
  const options = retryOptionsOf(policy);
  if (options) scope.retryRequest = { error, options };
  report(options ? "retried" : "thrown");
  return error;
}

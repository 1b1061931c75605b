import { type ConflictPolicy, type ResolvedRetryOptions, retryOptionsOf } from "./conflict.ts";
import { isQuarkError, TurnPartiallyCommittedError } from "../errors.ts";

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
  /** Set by a conflict that the `retry` policy resolves by re-running the turn. */
  retryRequest: { readonly error: unknown; readonly options: ResolvedRetryOptions } | undefined;
}

/** A fresh scope for one attempt of a turn. */
export function createTurnScope(actorType: string, actorId: string, callPolicy?: ConflictPolicy<unknown>, actorPolicy?: ConflictPolicy<unknown>): TurnScope {
  return { actorType, actorId, callPolicy, actorPolicy, committed: [], retryRequest: undefined };
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
  // Whatever the policy, a conflict after a commit must not read as "nothing happened".
  if (scope.committed.length > 0) return new TurnPartiallyCommittedError(scope.actorType, scope.actorId, [...scope.committed], error);
  const options = retryOptionsOf(policy);
  if (options) scope.retryRequest = { error, options };
  return error;
}

/** Bounds and pacing for the `retry` conflict policy. */
export interface RetryOptions {
  /** How many times to run the turn or update in all, the first included. Defaults to 10. */
  readonly maxAttempts?: number;
  /** The first backoff ceiling in milliseconds; it doubles with each attempt. Defaults to 2. */
  readonly baseDelayMs?: number;
  /** The largest backoff ceiling in milliseconds. Defaults to 250. */
  readonly maxDelayMs?: number;
}

/**
 * What a save does when the stored etag is not the one it expected:
 * - `"abort"` throws `StateConflictError`;
 * - `"retry"` or `{ retry }` reloads and re-runs the actor turn (or the `update` function),
 *   with exponential backoff and full jitter, a bounded number of times;
 * - `"last-write-wins"` writes without checking;
 * - `{ merge }` reloads the stored value and saves `merge(base, mine, theirs)`.
 */
export type ConflictPolicy<T> =
  | "abort"
  | "retry"
  | "last-write-wins"
  | { readonly retry: RetryOptions }
  | { readonly merge: (base: T, mine: T, theirs: T) => T };

const DEFAULT_RETRY: Required<RetryOptions> = { maxAttempts: 10, baseDelayMs: 2, maxDelayMs: 250 };

/** The retry bounds of a policy, or `undefined` when it does not retry. */
// deno-lint-ignore no-explicit-any
export function retryOptionsOf(policy: ConflictPolicy<any>): Required<RetryOptions> | undefined {
  if (policy === "retry") return DEFAULT_RETRY;
  if (typeof policy === "object" && "retry" in policy) return { ...DEFAULT_RETRY, ...policy.retry };
  return undefined;
}

/** Waits before attempt `attempt` (1 = the first retry), with full jitter. */
export function backoff(attempt: number, options: Required<RetryOptions>): Promise<void> {
  const ceiling = Math.min(options.maxDelayMs, options.baseDelayMs * 2 ** (attempt - 1));
  return new Promise((resolve) => setTimeout(resolve, Math.random() * ceiling));
}

/**
 * Bounds and pacing for the `retry` conflict policy.
 *
 * @example A stale turn re-runs on the fresh value
 * ```ts
 * import * as v from "valibot";
 * import { createActorSystem, defineActor, defineState, memoryStorage, type RetryOptions } from "@quark/persistence";
 * const retry: RetryOptions = { maxAttempts: 5, baseDelayMs: 1, maxDelayMs: 20 };
 * const hits = defineState("hits", { schema: v.number(), initial: 0 });
 * const Page = defineActor("page", {
 *   states: { hits },
 *   conflict: { retry },
 *   handlers: {
 *     async hit({ states }) {
 *       states.hits.value += 1;
 *       await states.hits.save();
 *       return states.hits.value;
 *     },
 *   },
 * });
 * // Two processes share one storage.
 * const storage = memoryStorage();
 * const [a, b] = [createActorSystem({ storage }), createActorSystem({ storage })];
 * await a.actor(Page, "home").hit();
 * await b.actor(Page, "home").hit(); // saved behind a's back
 * if ((await a.actor(Page, "home").hit()) !== 3) throw new Error("the stale turn was not re-run");
 * await a.shutdown();
 * await b.shutdown();
 * ```
 */
export interface RetryOptions {
  /** How many times to run the turn or update in all, the first included. Defaults to 10. */
  readonly maxAttempts?: number | undefined;
  /** The first backoff ceiling in milliseconds; it doubles with each attempt. Defaults to 2. */
  readonly baseDelayMs?: number | undefined;
  /** The largest backoff ceiling in milliseconds. Defaults to 250. */
  readonly maxDelayMs?: number | undefined;
}

/**
 * What a save does when the stored etag is not the one it expected:
 * - `"abort"` throws `StateConflictError`;
 * - `"retry"` or `{ retry }` reloads and re-runs the actor turn (or the `update` function),
 *   with exponential backoff and full jitter, a bounded number of times;
 * - `"last-write-wins"` writes without checking;
 * - `{ merge }` reloads the stored value and saves `merge(base, mine, theirs)`.
 *
 * @example Merging tags instead of failing
 * ```ts
 * import * as v from "valibot";
 * import { createActorSystem, defineActor, defineState, memoryStorage, type ConflictPolicy } from "@quark/persistence";
 * const union: ConflictPolicy<string[]> = { merge: (_base, mine, theirs) => [...new Set([...theirs, ...mine])].sort() };
 * const tags = defineState("tags", { schema: v.array(v.string()), initial: [], conflict: union });
 * const Post = defineActor("post", {
 *   states: { tags },
 *   handlers: {
 *     async tag({ states }, tag: string) {
 *       states.tags.value = [...states.tags.value, tag];
 *       await states.tags.save();
 *       return states.tags.value;
 *     },
 *   },
 * });
 * // Two processes share one storage.
 * const storage = memoryStorage();
 * const [a, b] = [createActorSystem({ storage }), createActorSystem({ storage })];
 * await a.actor(Post, "p1").tag("news");
 * await b.actor(Post, "p1").tag("tech"); // saved behind a's back
 * const merged = await a.actor(Post, "p1").tag("sport");
 * if (merged.join() !== "news,sport,tech") throw new Error(`lost a tag: ${merged}`);
 * await a.shutdown();
 * await b.shutdown();
 * ```
 */
export type ConflictPolicy<T> =
  | "abort"
  | "retry"
  | "last-write-wins"
  | { readonly retry: RetryOptions }
  | { readonly merge: (base: T, mine: T, theirs: T) => T };

/** Retry bounds with every default filled in. */
export type ResolvedRetryOptions = { readonly [Option in keyof RetryOptions]-?: NonNullable<RetryOptions[Option]> };

const DEFAULT_RETRY: ResolvedRetryOptions = { maxAttempts: 10, baseDelayMs: 2, maxDelayMs: 250 };

/** The retry bounds of a policy, or `undefined` when it does not retry. */
// deno-lint-ignore no-explicit-any
export function retryOptionsOf(policy: ConflictPolicy<any>): ResolvedRetryOptions | undefined {
  if (policy === "retry") return DEFAULT_RETRY;
  if (typeof policy === "object" && "retry" in policy) {
    const { maxAttempts, baseDelayMs, maxDelayMs } = policy.retry;
    return { maxAttempts: maxAttempts ?? DEFAULT_RETRY.maxAttempts, baseDelayMs: baseDelayMs ?? DEFAULT_RETRY.baseDelayMs, maxDelayMs: maxDelayMs ?? DEFAULT_RETRY.maxDelayMs };
  }
  return undefined;
}

/** Waits before attempt `attempt` (1 = the first retry), with full jitter. */
export function backoff(attempt: number, options: ResolvedRetryOptions): Promise<void> {
  const ceiling = Math.min(options.maxDelayMs, options.baseDelayMs * 2 ** (attempt - 1));
  return new Promise((resolve) => setTimeout(resolve, Math.random() * ceiling));
}

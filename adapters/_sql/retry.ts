/**
 * Bounded, jittered retries of what a SQL server aborts because of concurrent access: a
 * deadlock victim (PostgreSQL 40P01, SQL Server 1205), a serialization failure (40001), or a
 * lost race on a unique key where the dialect has no upsert. The adapters take their locks
 * in one order, so these are rare; an aborted statement or transaction applied nothing, so
 * running it again is safe. After the last attempt the caller gets a ContentionError.
 *
 * @module
 */

import { ConfigurationError, ContentionError } from "../../src/errors.ts";
import { attemptsOption } from "../_shared/attempts.ts";
import { sanitizeDriverError } from "./errors.ts";

/**
 * How an adapter retries operations the server aborted under contention.
 *
 * @example Fewer, quicker attempts
 * ```ts
 * import type { ContentionRetryOptions } from "./retry.ts";
 * const retry: ContentionRetryOptions = { maxAttempts: 4, baseDelayMs: 2, maxDelayMs: 50 };
 * ```
 */
export interface ContentionRetryOptions {
  /** How many times to run the operation in all, the first time included. Defaults to 8. */
  readonly maxAttempts?: number;
  /** The ceiling of the first pause, in milliseconds; it doubles with each attempt. Defaults to 5. */
  readonly baseDelayMs?: number;
  /** The largest pause ceiling, in milliseconds. Defaults to 250. */
  readonly maxDelayMs?: number;
}

/** Runs an operation again while the server aborts it under contention. */
export type ContentionRetry = <T>(operation: string, attempt: () => Promise<T>) => Promise<T>;

function delayOption(what: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isFinite(value) || value < 0) throw new ConfigurationError(`contentionRetry.${what} must be a number of at least 0, got ${value}`);
  return value;
}

/**
 * Builds the retry loop of one adapter instance.
 *
 * @param backend The backend's name, for the ContentionError.
 * @param isContention Whether an error is one the server raised under contention.
 * @param options The bounds.
 * @param sleep Waits; tests pass a fake.
 * @returns The retry function.
 * @throws {ConfigurationError} When a bound is not a sensible number.
 *
 * @example Two aborted attempts, then success
 * ```ts
 * import { contentionRetry } from "./retry.ts";
 * let calls = 0;
 * const retry = contentionRetry("postgres", (error) => (error as { code?: string }).code === "40P01", { baseDelayMs: 0 });
 * const result = await retry("write", async () => {
 *   if (++calls < 3) throw Object.assign(new Error("deadlock detected"), { code: "40P01" });
 *   return "done";
 * });
 * if (result !== "done" || calls !== 3) throw new Error("not retried");
 * ```
 */
export function contentionRetry(
  backend: string,
  isContention: (error: unknown) => boolean,
  options: ContentionRetryOptions = {},
  sleep: (ms: number) => Promise<void> = (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
): ContentionRetry {
  const maxAttempts = attemptsOption("contentionRetry.maxAttempts", options.maxAttempts, 8);
  const baseDelayMs = delayOption("baseDelayMs", options.baseDelayMs, 5);
  const maxDelayMs = delayOption("maxDelayMs", options.maxDelayMs, 250);
  return async (operation, attempt) => {
    for (let attempts = 1; ; attempts++) {
      try {
        return await attempt();
      } catch (error) {
        if (!isContention(error)) throw error;
        if (attempts >= maxAttempts) throw new ContentionError(backend, operation, attempts, { cause: sanitizeDriverError(error) });
        // Full jitter: a random pause under a doubling ceiling, so the aborted parties spread out.
        await sleep(Math.random() * Math.min(maxDelayMs, baseDelayMs * 2 ** (attempts - 1)));
      }
    }
  };
}

import type { ExpectedVersion, GlobalEvent, NewEvent, ReadAllOptions } from "./types.ts";
import { CapabilityError } from "../errors.ts";

/**
 * Checks an append's expected version before anything is sent.
 *
 * @param expected The expectation to check.
 * @throws {RangeError} When it is a number that is not a whole number of at least 0.
 *
 * @example Checking expectations before an append
 * ```ts
 * import { assertExpectedVersion } from "@quark/persistence";
 * assertExpectedVersion("no_stream");
 * assertExpectedVersion(3);
 * ```
 */
export function assertExpectedVersion(expected: ExpectedVersion): void {
  if (expected === "any" || expected === "no_stream") return;
  if (!Number.isSafeInteger(expected) || expected < 0) {
    throw new RangeError(`Expected version must be "any", "no_stream" or a whole number of at least 0, got ${String(expected)}`);
  }
}

/**
 * Checks a batch of events before anything is sent.
 *
 * @param events The batch to check.
 * @throws {RangeError} When the batch is empty or an event has no type.
 *
 * @example Checking a batch before an append
 * ```ts
 * import { assertNewEvents } from "@quark/persistence";
 * assertNewEvents([{ type: "Opened", data: new Uint8Array() }]);
 * ```
 */
export function assertNewEvents(events: readonly NewEvent[]): void {
  if (events.length === 0) throw new RangeError("An append needs at least one event");
  for (const event of events) {
    if (typeof event.type !== "string" || event.type === "") throw new RangeError("Every event needs a non-empty type");
    if (!(event.data instanceof Uint8Array)) throw new RangeError(`Event ${event.type} data must be a Uint8Array`);
    if (event.metadata !== undefined && !(event.metadata instanceof Uint8Array)) {
      throw new RangeError(`Event ${event.type} metadata must be a Uint8Array or absent`);
    }
  }
}

/**
 * Checks {@linkcode ReadAllOptions} before anything is sent, and fills in the defaults.
 *
 * @param options The options to check.
 * @param defaultPageSize The backend's page size when none is given.
 * @returns The position to read after and the page size.
 * @throws {RangeError} When `after` is not a bigint of at least 0, or the page size is not a
 * whole number of at least 1.
 *
 * @example Defaults for a first read
 * ```ts
 * import { readAllBounds } from "@quark/persistence";
 * const { after, pageSize } = readAllBounds({}, 500);
 * if (after !== 0n || pageSize !== 500) throw new Error("unexpected defaults");
 * ```
 */
export function readAllBounds(options: ReadAllOptions, defaultPageSize: number): { after: bigint; pageSize: number } {
  const after = options.after ?? 0n;
  if (typeof after !== "bigint" || after < 0n) throw new RangeError(`readAll's "after" must be a bigint of at least 0n, got ${String(after)}`);
  const pageSize = options.pageSize ?? defaultPageSize;
  if (!Number.isSafeInteger(pageSize) || pageSize < 1) throw new RangeError(`readAll's page size must be a whole number of at least 1, got ${String(pageSize)}`);
  return { after, pageSize };
}

/**
 * The `readAll` of a store that has no safe global order: iterating it throws a
 * `CapabilityError` that names the backend and what to use instead.
 *
 * @param backend The backend's name.
 * @param instead Where readers should look instead, such as a change stream.
 * @returns An iterable that fails on first use.
 *
 * @example A store without a global order
 * ```ts
 * import { isQuarkError, readAllUnsupported } from "@quark/persistence";
 * try {
 *   for await (const _event of readAllUnsupported("example", "its change feed")) break;
 *   throw new Error("expected a CapabilityError");
 * } catch (error) {
 *   if (!isQuarkError(error, "CAPABILITY")) throw error;
 * }
 * ```
 */
export async function* readAllUnsupported(backend: string, instead: string): AsyncIterable<GlobalEvent> {
  throw new CapabilityError(backend, "readAll", `it has no global order a reader can follow safely; use ${instead}`);
}

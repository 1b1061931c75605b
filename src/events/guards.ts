import type { ExpectedVersion, NewEvent } from "./types.ts";

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
  }
}

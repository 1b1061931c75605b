/**
 * A deep copy with exactly `structuredClone`'s result. Every turn copies the committed value
 * into its draft and every save copies the draft back, so this is on the hot path; a tree of
 * plain objects and arrays with no shared or cyclic references is copied by hand, several
 * times faster than `structuredClone` (whose serializer allocates a buffer per call), and
 * anything else (a `Date`, a `Map`, a shared object, a class instance, a sparse array) goes
 * to `structuredClone` itself, which also throws for what it cannot copy.
 *
 * @module
 */

import { type SeenObjects, withSeenObjects } from "../codec/seen_objects.ts";

const NOT_PLAIN = Symbol("not plain");
// Deeper trees go to structuredClone: a recursive copy this deep is far from any stack limit.
const MAX_PLAIN_DEPTH = 256;

function copyPlain(value: unknown, depth: number, seen: SeenObjects): unknown {
  if (typeof value !== "object") return typeof value === "function" || typeof value === "symbol" ? NOT_PLAIN : value;
  if (value === null) return null;
  if (depth > MAX_PLAIN_DEPTH || !seen.add(value)) return NOT_PLAIN;
  if (Array.isArray(value)) {
    if (Object.getPrototypeOf(value) !== Array.prototype) return NOT_PLAIN;
    const copy = new Array(value.length);
    let entries = 0;
    for (const key in value) {
      // structuredClone keeps holes and named properties of arrays; leave both to it.
      if (!Object.hasOwn(value, key) || ++entries > value.length) return NOT_PLAIN;
      const index = Number(key);
      if (!(index >= 0)) return NOT_PLAIN;
      const item = copyPlain(value[index], depth + 1, seen);
      if (item === NOT_PLAIN) return NOT_PLAIN;
      copy[index] = item;
    }
    return entries === value.length ? copy : NOT_PLAIN;
  }
  if (Object.getPrototypeOf(value) !== Object.prototype) return NOT_PLAIN;
  const copy: Record<string, unknown> = {};
  for (const key in value) {
    if (!Object.hasOwn(value, key)) continue;
    // Assigning `__proto__` would set the copy's prototype instead of a property.
    if (key === "__proto__") return NOT_PLAIN;
    const item = copyPlain((value as Record<string, unknown>)[key], depth + 1, seen);
    if (item === NOT_PLAIN) return NOT_PLAIN;
    copy[key] = item;
  }
  return copy;
}

/**
 * Copies `value` deeply, as `structuredClone` does.
 *
 * @throws {DOMException} `DataCloneError` when the value holds a function or a symbol.
 */
export function copyValue<T>(value: T): T {
  if (typeof value !== "object" || value === null) return structuredCloneIfNeeded(value);
  const copy = withSeenObjects((seen) => copyPlain(value, 0, seen));
  return copy === NOT_PLAIN ? structuredClone(value) : copy as T;
}

// Primitives copy as themselves; functions and symbols still throw as structuredClone does.
function structuredCloneIfNeeded<T>(value: T): T {
  return typeof value === "function" || typeof value === "symbol" ? structuredClone(value) : value;
}

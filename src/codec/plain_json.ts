/**
 * The fast payload for the common value: a tree of plain objects, arrays, strings, finite
 * numbers, booleans and null, with no shared or cyclic references. `JSON.stringify` and
 * `JSON.parse` round-trip such a tree exactly and run natively, about three times faster than
 * devalue's flatten and unflatten. Anything else (a `Date`, a `Map`, `undefined`, `-0`, a
 * shared object, a class instance) is left to devalue, which also reports what cannot be stored.
 *
 * @module
 */

import { CorruptDataError, DecodeLimitError } from "../errors.ts";
import { type SeenObjects, withSeenObjects } from "./seen_objects.ts";

// Deeper trees go to devalue: a recursive walk this deep is still far from any stack limit.
const MAX_PLAIN_DEPTH = 256;

function walk(node: unknown, depth: number, seen: SeenObjects): number {
  switch (typeof node) {
    case "string":
    case "boolean":
      return 1;
    case "number":
      return Number.isFinite(node) && !Object.is(node, -0) ? 1 : NaN;
    case "object":
      break;
    default:
      return NaN;
  }
  if (node === null) return 1;
  if (depth > MAX_PLAIN_DEPTH || !seen.add(node)) return NaN;
  let count = 1;
  if (Array.isArray(node)) {
    if (Object.getPrototypeOf(node) !== Array.prototype) return NaN;
    // A hole reads as undefined, which is not plain either.
    for (let index = 0; index < node.length; index++) count += walk(node[index], depth + 1, seen);
    return count;
  }
  // devalue keeps null prototypes and refuses `__proto__` keys and symbol keys; leave those to it.
  if (Object.getPrototypeOf(node) !== Object.prototype || Object.getOwnPropertySymbols(node).length > 0) return NaN;
  for (const key in node) {
    if (!Object.hasOwn(node, key)) continue;
    if (key === "__proto__") return NaN;
    count += walk((node as Record<string, unknown>)[key], depth + 1, seen);
  }
  return count;
}

/**
 * The node count of `value` as devalue's limits count it (every value once per place), when
 * `value` is a plain JSON tree; `undefined` when it is anything else.
 */
export function plainJsonNodes(value: unknown): number | undefined {
  const count = withSeenObjects((seen) => walk(value, 0, seen));
  return Number.isNaN(count) ? undefined : count;
}

/**
 * Parses a plain JSON payload and checks its node count, iteratively, so forged deep nesting
 * cannot overflow the stack.
 *
 * @throws {CorruptDataError} When the text is not JSON.
 * @throws {DecodeLimitError} When the value holds more than `maxNodes` values.
 */
export function parsePlainJson(text: string, maxNodes: number): unknown {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (cause) {
    throw new CorruptDataError("Stored value is not valid serialized data", { cause });
  }
  let count = 0;
  const pending: unknown[] = [value];
  while (pending.length > 0) {
    const node = pending.pop();
    if (++count > maxNodes) throw new DecodeLimitError("number of values (counting each shared reference where it appears)", maxNodes);
    if (node !== null && typeof node === "object") {
      for (const child of Array.isArray(node) ? node : Object.values(node)) pending.push(child);
    }
  }
  return value;
}

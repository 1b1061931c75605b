import { parse, stringify } from "devalue";
import { CorruptDataError } from "../errors.ts";

// devalue (by the Svelte team) already round-trips Date, Map, Set, BigInt, typed arrays,
// undefined, -0 and NaN with pure JavaScript on every runtime, so it is used instead of a
// hand-written tagged JSON format.
const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true });

/**
 * Serializes a structured value to UTF-8 bytes.
 *
 * @param value A value made of plain objects, arrays, primitives, `Date`, `Map`, `Set`,
 *   `BigInt`, typed arrays and `undefined`.
 * @returns The bytes.
 * @throws {TypeError} When the value holds functions, symbols or class instances.
 *
 * @example Dates, sets, bigints and undefined survive a round trip
 * ```ts
 * import { deserialize, serialize } from "@quark/persistence";
 * const value = { at: new Date(0), tags: new Set(["a"]), big: 10n, missing: undefined };
 * const back = deserialize(serialize(value)) as typeof value;
 * if (!(back.at instanceof Date) || !back.tags.has("a") || back.big !== 10n || !("missing" in back)) {
 *   throw new Error("round trip failed");
 * }
 * ```
 */
export function serialize(value: unknown): Uint8Array {
  try {
    return encoder.encode(stringify(value));
  } catch (cause) {
    throw new TypeError(`Value cannot be stored: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
  }
}

/**
 * Reverses {@linkcode serialize}.
 *
 * @param bytes What `serialize` produced.
 * @returns The value.
 * @throws {CorruptDataError} When the bytes are not a serialized value.
 *
 * @example Reading a map back
 * ```ts
 * import { deserialize, serialize } from "@quark/persistence";
 * const back = deserialize(serialize(new Map([[1, "one"]]))) as Map<number, string>;
 * if (back.get(1) !== "one") throw new Error("round trip failed");
 * ```
 */
export function deserialize(bytes: Uint8Array): unknown {
  try {
    return parse(decoder.decode(bytes));
  } catch (cause) {
    throw new CorruptDataError("Stored value is not valid serialized data", { cause });
  }
}

import { DevalueError, stringify, unflatten } from "devalue";
import { CorruptDataError, DecodeLimitError, SerializationError } from "../errors.ts";

// devalue (by the Svelte team) already round-trips Date, Map, Set, BigInt, typed arrays,
// undefined, -0 and NaN with pure JavaScript on every runtime, so it is used instead of a
// hand-written tagged JSON format.
const encoder = new TextEncoder();
const decoder = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true });

/**
 * Bounds on what decoding a stored value may cost. Every decode checks them, and every encode
 * checks them too, so a value that could not be read back is never written.
 *
 * @example Tighter bounds for small states
 * ```ts
 * import { createCodec, isQuarkError, type DecodeLimits } from "@quark/persistence";
 * const limits: DecodeLimits = { maxBytes: 64 * 1024, maxNodes: 10_000 };
 * const codec = createCodec({ limits });
 * try {
 *   await codec.encode(Array.from({ length: 20_000 }, (_, index) => index), 1, "log/1/lines");
 *   throw new Error("should have refused");
 * } catch (error) {
 *   if (!isQuarkError(error, "DECODE_LIMIT")) throw error;
 * }
 * ```
 */
export interface DecodeLimits {
  /**
   * The largest serialized value, in bytes, after decompression: a gzip bomb stops inflating
   * here. Defaults to {@linkcode DEFAULT_MAX_DECODED_BYTES} (16 MiB, the memory storage's value
   * limit); raise it only for a backend whose values are larger.
   */
  readonly maxBytes?: number | undefined;
  /**
   * The most values (objects, array slots, map entries, primitives) the decoded value may
   * hold, counting a shared reference once per place it appears and a sparse array's every
   * slot, since validation and copies walk them all. Defaults to half of `maxBytes`: as many
   * as a value of `maxBytes` without shared references could hold.
   */
  readonly maxNodes?: number | undefined;
}

/**
 * The default of {@linkcode DecodeLimits.maxBytes}: 16 MiB, the memory storage's value limit.
 *
 * @example Raising the bound for a backend with larger values
 * ```ts
 * import { createCodec, DEFAULT_MAX_DECODED_BYTES } from "@quark/persistence";
 * const codec = createCodec({ limits: { maxBytes: 4 * DEFAULT_MAX_DECODED_BYTES } });
 * const value = "x".repeat(DEFAULT_MAX_DECODED_BYTES + 1);
 * if ((await codec.decode(await codec.encode(value, 1, "doc/1/body"), "doc/1/body")).value !== value) throw new Error("round trip failed");
 * ```
 */
export const DEFAULT_MAX_DECODED_BYTES = 16 * 1024 * 1024;

// Parsing a decimal BigInt costs more than linear time; no real value needs more digits.
const MAX_BIGINT_DIGITS = 100_000;

/** Resolved bounds, every field set. */
export interface ResolvedDecodeLimits {
  readonly maxBytes: number;
  readonly maxNodes: number;
}

/** Fills in the defaults of {@linkcode DecodeLimits}, refusing nonsense. */
export function resolveDecodeLimits(limits: DecodeLimits = {}): ResolvedDecodeLimits {
  const maxBytes = limits.maxBytes ?? DEFAULT_MAX_DECODED_BYTES;
  const maxNodes = limits.maxNodes ?? Math.floor(maxBytes / 2);
  for (const [name, value] of [["maxBytes", maxBytes], ["maxNodes", maxNodes]] as const) {
    if (!Number.isSafeInteger(value) || value < 1) throw new RangeError(`Decode limit ${name} must be a whole number of at least 1, got ${value}`);
  }
  return { maxBytes, maxNodes };
}

/**
 * Serializes a structured value to UTF-8 bytes.
 *
 * @param value A value made of plain objects, arrays, primitives, `Date`, `Map`, `Set`,
 *   `BigInt`, typed arrays and `undefined`.
 * @param target What the value is, for error messages: a state, event or stream name.
 * @returns The bytes.
 * @throws {SerializationError} When the value holds functions, symbols, class instances,
 *   promises or objects with `__proto__` keys; it names `target` and the path to the part.
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
 *
 * @example The error names where the function is
 * ```ts
 * import { isQuarkError, serialize, type SerializationError } from "@quark/persistence";
 * try {
 *   serialize({ settings: { onChange: () => {} } }, "profile");
 *   throw new Error("should have refused");
 * } catch (error) {
 *   if (!isQuarkError(error, "SERIALIZATION")) throw error;
 *   if ((error as SerializationError).path.join(".") !== "settings.onChange") throw error;
 * }
 * ```
 */
export function serialize(value: unknown, target = "value"): Uint8Array {
  return encoder.encode(serializeToString(value, target));
}

/** {@linkcode serialize} without the UTF-8 step. */
export function serializeToString(value: unknown, target: string): string {
  try {
    return stringify(value);
  } catch (cause) {
    // devalue walks the value and records where it stopped; its path is the one we report.
    const found = cause instanceof DevalueError ? cause : undefined;
    throw new SerializationError(target, found ? pathSegments(found.path) : [], problemOf(cause, found), { cause });
  }
}

function problemOf(cause: unknown, found: DevalueError | undefined): string {
  const message = (cause instanceof Error ? cause.message : String(cause)).replace(/ — use stringifyAsync instead$/, "");
  const name = (found?.value as { constructor?: { name?: string } } | undefined)?.constructor?.name;
  // Name the class of a refused instance: "Cannot stringify arbitrary non-POJOs (Money)".
  return /non-POJO/.test(message) && name ? `${message} (${name}); only plain objects, arrays and built-in types can be stored` : message;
}

// devalue's path: `.key`, `["odd key"]`, `[0]` and `.get(<map key>)` segments.
const SEGMENT = /\.get\((.*?)\)(?=[.[]|$)|\.([\w$]+)|\[(\d+)\]|\[("(?:[^"\\]|\\.)*")\]/g;

function pathSegments(path: string): (string | number)[] {
  return [...path.matchAll(SEGMENT)].map(([, mapKey, name, index, quoted]) => {
    if (index !== undefined) return Number(index);
    if (name !== undefined) return name;
    try {
      return JSON.parse((quoted ?? mapKey)!) as string | number;
    } catch {
      return mapKey!;
    }
  });
}

/**
 * Reverses {@linkcode serialize}, within bounds.
 *
 * @param bytes What `serialize` produced.
 * @param limits Bounds on size and expanded node count; the defaults of {@linkcode DecodeLimits}.
 * @returns The value.
 * @throws {CorruptDataError} When the bytes are not a serialized value.
 * @throws {DecodeLimitError} When the value would pass a bound.
 *
 * @example Reading a map back
 * ```ts
 * import { deserialize, serialize } from "@quark/persistence";
 * const back = deserialize(serialize(new Map([[1, "one"]]))) as Map<number, string>;
 * if (back.get(1) !== "one") throw new Error("round trip failed");
 * ```
 */
export function deserialize(bytes: Uint8Array, limits?: DecodeLimits): unknown {
  const bounds = resolveDecodeLimits(limits);
  const flat = assertDecodable(decodePayloadText(bytes, bounds), bytes.byteLength, bounds);
  try {
    return unflatten(flat as number | unknown[]);
  } catch (cause) {
    throw new CorruptDataError("Stored value is not valid serialized data", { cause });
  }
}

/**
 * The UTF-8 text of a serialized payload, within the byte bound.
 *
 * @throws {DecodeLimitError} When the payload is longer than `bounds.maxBytes`.
 * @throws {CorruptDataError} When the payload is not UTF-8.
 */
export function decodePayloadText(bytes: Uint8Array, bounds: ResolvedDecodeLimits): string {
  if (bytes.byteLength > bounds.maxBytes) throw new DecodeLimitError("serialized size in bytes", bounds.maxBytes);
  try {
    return decoder.decode(bytes);
  } catch (cause) {
    throw new CorruptDataError("Stored value is not valid serialized data", { cause });
  }
}

/**
 * Checks serialized text against the bounds without building the value.
 *
 * @returns The parsed flat form, for `unflatten`.
 * @throws {DecodeLimitError} When the text is too long or expands to too many values.
 * @throws {CorruptDataError} When the text is not JSON.
 */
export function assertDecodable(text: string, byteLength: number, bounds: ResolvedDecodeLimits): unknown {
  if (byteLength > bounds.maxBytes) throw new DecodeLimitError("serialized size in bytes", bounds.maxBytes);
  let flat: unknown;
  try {
    flat = JSON.parse(text);
  } catch (cause) {
    throw new CorruptDataError("Stored value is not valid serialized data", { cause });
  }
  assertWithinNodeLimit(flat, bounds.maxNodes);
  return flat;
}

// devalue's flat form: the root is entry 0 (or a negative sentinel); an entry refers to
// others by index, so one entry can be referenced from many places. The sizes below count
// every place, which is what anything walking the decoded value pays.
const SPARSE = -7;

function referencesOf(entry: unknown): { refs: number[]; extra: number } {
  if (entry === null || typeof entry !== "object") return { refs: [], extra: 0 };
  const values: unknown[] = Array.isArray(entry) ? entry : Object.values(entry);
  if (values[0] === "BigInt" && String(values[1]).length > MAX_BIGINT_DIGITS) {
    throw new DecodeLimitError("BigInt length in digits", MAX_BIGINT_DIGITS);
  }
  // Every whole number is taken for a reference: the few that are not (typed array offsets,
  // sparse indices) only make the count larger. Sentinels such as holes are slots too, and
  // a sparse array [-7, length, ...] has `length` slots whatever it lists.
  const refs = values.filter(isReference);
  return { refs, extra: values.length - refs.length + (values[0] === SPARSE ? Number(values[1]) || 0 : 0) };
}

function isReference(value: unknown): value is number {
  return typeof value === "number" && Number.isInteger(value) && value >= 0;
}

/**
 * Counts the nodes of the expanded value, without expanding it: each entry's size is computed
 * once (memoized) from its children's, iteratively so deep nesting cannot overflow the stack.
 * A reference back to an entry still being counted is a cycle, counted once.
 */
function assertWithinNodeLimit(flat: unknown, maxNodes: number): void {
  if (!Array.isArray(flat)) return;
  const sizes = new Float64Array(flat.length);
  const state = new Uint8Array(flat.length); // 0 new, 1 on the stack, 2 done
  const stack: Array<{ index: number; refs: number[]; next: number; size: number }> = [];
  const push = (index: number) => {
    const { refs, extra } = referencesOf(flat[index]);
    state[index] = 1;
    stack.push({ index, refs, next: 0, size: 1 + extra });
  };
  const exceeded = () => new DecodeLimitError("number of values (counting each shared reference where it appears)", maxNodes);
  push(0);
  while (stack.length > 0) {
    const frame = stack[stack.length - 1]!;
    if (frame.next < frame.refs.length) {
      const child = frame.refs[frame.next++]!;
      if (child >= flat.length) continue; // devalue refuses it as invalid input
      if (state[child] === 0) {
        push(child);
        frame.next--; // come back to add its size
        continue;
      }
      frame.size += state[child] === 2 ? sizes[child]! : 1;
      if (frame.size > maxNodes) throw exceeded();
      continue;
    }
    if (frame.size > maxNodes) throw exceeded();
    sizes[frame.index] = frame.size;
    state[frame.index] = 2;
    stack.pop();
  }
}

// Finds the part of a value that the serializer refuses, and the path to it, by walking the
// value with the serializer's own rules. It runs only after a serialization failed, so its
// cost never touches a successful write.

const STRUCTURED_TAGS = new Set([
  "Number", "String", "Boolean", "BigInt", "Date", "URL", "URLSearchParams", "RegExp",
  "Int8Array", "Uint8Array", "Uint8ClampedArray", "Int16Array", "Uint16Array", "Float16Array",
  "Int32Array", "Uint32Array", "Float32Array", "Float64Array", "BigInt64Array", "BigUint64Array",
  "DataView", "ArrayBuffer",
]);

const OBJECT_PROTO_NAMES = Object.getOwnPropertyNames(Object.prototype).sort().join("\0");

// The serializer's own test of a plain object.
function isPlainObject(value: object): boolean {
  const proto = Object.getPrototypeOf(value);
  return proto === Object.prototype || proto === null || Object.getPrototypeOf(proto) === null ||
    Object.getOwnPropertyNames(proto).sort().join("\0") === OBJECT_PROTO_NAMES;
}

function describeInstance(value: object): string {
  const name = (value as { constructor?: { name?: unknown } }).constructor?.name;
  return typeof name === "string" && name !== "" ? `an instance of ${name}` : "an object with a custom prototype";
}

/** What is wrong with `value` itself, ignoring its children; `undefined` when nothing. */
function problemOf(value: unknown): string | undefined {
  if (typeof value === "function") return "a function cannot be stored";
  if (typeof value === "symbol") return "a symbol cannot be stored";
  if (value === null || typeof value !== "object") return undefined;
  if (typeof (value as { then?: unknown }).then === "function") return "a promise (or any object with a then method) cannot be stored";
  const tag = Object.prototype.toString.call(value).slice(8, -1);
  if (STRUCTURED_TAGS.has(tag) || tag.startsWith("Temporal.") || Array.isArray(value) || value instanceof Map || value instanceof Set) return undefined;
  if (!isPlainObject(value)) {
    return `${describeInstance(value)} cannot be stored: only plain objects, arrays, Date, Map, Set, RegExp, URL, BigInt, typed arrays and primitives can`;
  }
  if (Object.getOwnPropertySymbols(value).some((symbol) => Object.getOwnPropertyDescriptor(value, symbol)?.enumerable)) {
    return "an object with symbol keys cannot be stored";
  }
  if (Object.hasOwn(value, "__proto__")) return "an object with a __proto__ key cannot be stored";
  return undefined;
}

type Segment = string | number;

function childrenOf(value: object): Array<[Segment, unknown]> {
  if (Array.isArray(value)) return Object.keys(value).filter((key) => /^(0|[1-9]\d*)$/.test(key)).map((key) => [Number(key), value[Number(key)]]);
  if (value instanceof Set) return [...value].map((item, index) => [index, item]);
  if (value instanceof Map) {
    return [...value].flatMap(([key, item]): Array<[Segment, unknown]> => {
      const label = typeof key === "string" || typeof key === "number" ? key : `(map key ${typeof key})`;
      return [[`(key of ${String(label)})`, key], [label, item]];
    });
  }
  if (STRUCTURED_TAGS.has(Object.prototype.toString.call(value).slice(8, -1))) return [];
  return Object.keys(value).map((key) => [key, (value as Record<string, unknown>)[key]]);
}

/**
 * The first part of `value`, depth first, that cannot be serialized, with the path to it;
 * `undefined` when every part can. Cycles are followed once.
 */
export function findUnserializable(value: unknown): { path: Segment[]; problem: string } | undefined {
  const seen = new Set<object>();
  const stack: Array<{ path: Segment[]; value: unknown }> = [{ path: [], value }];
  while (stack.length > 0) {
    const { path, value: current } = stack.pop()!;
    const problem = problemOf(current);
    if (problem) return { path, problem };
    if (current === null || typeof current !== "object" || seen.has(current)) continue;
    seen.add(current);
    const children = childrenOf(current);
    for (let index = children.length - 1; index >= 0; index--) {
      const [segment, child] = children[index]!;
      stack.push({ path: [...path, segment], value: child });
    }
  }
  return undefined;
}

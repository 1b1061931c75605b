import { test } from "node:test";
import assert from "node:assert/strict";
import { copyValue } from "../../src/state/copy_value.ts";

test("copyValue: the same result as structuredClone, never the same objects", () => {
  const shared = { s: 1 };
  const cyclic: Record<string, unknown> = { n: 1 };
  cyclic.self = cyclic;
  const named = Object.assign([1, 2], { extra: "kept" });
  const withAccessor = { get computed() { return 7; } };
  // deno-lint-ignore no-sparse-arrays
  const values: unknown[] = [
    { a: [1, "x", { b: null, u: undefined, z: -0, n: NaN, big: 1n }], deep: { c: { d: [true] } } },
    [], {}, "text", 0, undefined, null, 10n,
    { pair: [shared, shared] }, cyclic, [1, , 3], named, withAccessor,
    Object.assign(Object.create(null), { k: 1 }), { at: new Date(0), map: new Map([[1, { m: 1 }]]), set: new Set([1]) },
    JSON.parse('{"__proto__": {"polluted": true}, "ok": 1}'), { 2: "b", 1: "a", key: "c" },
  ];
  for (const value of values) {
    const copy = copyValue(value);
    assert.deepEqual(copy, structuredClone(value));
    if (typeof value === "object" && value !== null) {
      assert.notEqual(copy, value);
      assert.equal(Object.getPrototypeOf(copy), Object.getPrototypeOf(structuredClone(value)));
      assert.deepEqual(Reflect.ownKeys(copy as object), Reflect.ownKeys(structuredClone(value) as object));
    }
  }
  const pair = copyValue({ pair: [shared, shared] }).pair;
  assert.equal(pair[0], pair[1], "a shared reference stays shared");
  assert.notEqual(pair[0], shared);
  assert.equal(({} as { polluted?: boolean }).polluted, undefined);
});

test("copyValue: a change to the copy never reaches the original", () => {
  const original = { list: [{ n: 1 }], nested: { deep: { n: 2 } } };
  const copy = copyValue(original);
  copy.list[0]!.n = 10;
  copy.list.push({ n: 3 });
  copy.nested.deep.n = 20;
  assert.deepEqual(original, { list: [{ n: 1 }], nested: { deep: { n: 2 } } });
});

test("copyValue: what structuredClone refuses is refused", () => {
  for (const value of [{ f: () => 1 }, [Symbol("s")], () => 1, Symbol("s")]) {
    assert.throws(() => copyValue(value), (error) => error instanceof Error && error.name === "DataCloneError");
  }
});

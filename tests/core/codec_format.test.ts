import { test } from "node:test";
import assert from "node:assert/strict";
import { createCodec, deserialize, isQuarkError, serialize } from "../../mod.ts";

const BINDING = "user/u1/profile";
const fromHex = (hex: string) => Uint8Array.from(hex.match(/../g)!.map((pair) => parseInt(pair, 16)));

// Written by the codec before the plain JSON format existed (envelope format 1, devalue).
const FORMAT_1_FIXTURES = [
  {
    name: "a plain object",
    hex: "510100000000025b7b226e616d65223a312c22766973697473223a322c2274616773223a332c226e6573746564223a367d2c22616461222c332c5b342c355d2c2261222c2262222c7b226f6b223a372c226e6f6e65223a387d2c747275652c6e756c6c5d",
    value: { name: "ada", visits: 3, tags: ["a", "b"], nested: { ok: true, none: null } },
    schemaVersion: 2,
  },
  {
    name: "a Date, a Set, a BigInt and undefined",
    hex: "510100000000015b7b226174223a312c2274616773223a322c22626967223a342c226d697373696e67223a2d317d2c5b2244617465222c22313937302d30312d30315430303a30303a30302e3030305a225d2c5b22536574222c335d2c2278222c5b22426967496e74222c223130225d5d",
    value: { at: new Date(0), tags: new Set(["x"]), big: 10n, missing: undefined },
    schemaVersion: 1,
  },
  {
    name: "a gzipped value",
    hex: "510101000000011f8b08000000000000038bae562a49ad2851b232acd551aa182640291600d6b4b184d7000000",
    value: { text: "x".repeat(200) },
    schemaVersion: 1,
  },
];

test("codec format: bytes written by the format 1 codec still decode", async () => {
  const codec = createCodec({ compression: true });
  for (const fixture of FORMAT_1_FIXTURES) {
    const decoded = await codec.decode(fromHex(fixture.hex), BINDING);
    assert.deepEqual(decoded, { value: fixture.value, schemaVersion: fixture.schemaVersion }, fixture.name);
  }
});

test("codec format: plain JSON trees are written as format 2, everything else as format 1", async () => {
  const codec = createCodec();
  const formatOf = async (value: unknown) => (await codec.encode(value, 1, BINDING))[1];
  for (const plain of [{ a: [1, "two", true, null, { b: -1.5 }] }, [], "text", 0, "\ud800 lone"]) assert.equal(await formatOf(plain), 2, JSON.stringify(plain));
  const shared = { s: 1 };
  const cyclic: Record<string, unknown> = {};
  cyclic.self = cyclic;
  // deno-lint-ignore no-sparse-arrays
  const others = [{ at: new Date(0) }, { u: undefined }, -0, NaN, Infinity, 1n, [1, , 3], { a: shared, b: shared }, cyclic, Object.create(null), new Map(), [new Uint8Array(1)]];
  for (const other of others) assert.equal(await formatOf(other), 1);
});

test("codec format: every value decodes exactly as devalue round-trips it, shared references included", async () => {
  const codec = createCodec();
  const shared = { s: 1 };
  const cyclic: Record<string, unknown> = { n: 1 };
  cyclic.self = cyclic;
  const nullProto = Object.assign(Object.create(null), { k: 1 });
  // deno-lint-ignore no-sparse-arrays
  const values = [{ a: [1, "x", { b: null }], deep: { c: { d: [true] } } }, { pair: [shared, shared] }, cyclic, -0, NaN, [1, , 3], nullProto, { "": "", "quote\"": "\\" }, "\u2028\ud800"];
  for (const value of values) {
    const back = (await codec.decode(await codec.encode(value, 1, BINDING), BINDING)).value;
    assert.deepEqual(back, deserialize(serialize(value)));
  }
  const pair = ((await codec.decode(await codec.encode({ pair: [shared, shared] }, 1, BINDING), BINDING)).value as { pair: object[] }).pair;
  assert.equal(pair[0], pair[1], "a shared reference stays shared");
});

test("codec format: refusals and limits are the same on the plain path", async () => {
  const codec = createCodec({ limits: { maxBytes: 1_000, maxNodes: 10 } });
  await assert.rejects(codec.encode(JSON.parse('{"__proto__": 1}'), 1, BINDING), (error) => isQuarkError(error, "SERIALIZATION"));
  await assert.rejects(codec.encode({ [Symbol("s")]: 1 }, 1, BINDING), (error) => isQuarkError(error, "SERIALIZATION"));
  await assert.rejects(codec.encode({ get broken(): number { throw new Error("getter") } }, 1, BINDING), (error) => isQuarkError(error, "SERIALIZATION"));
  await assert.rejects(codec.encode(Array.from({ length: 10 }, (_, index) => index), 1, BINDING), (error) => isQuarkError(error, "DECODE_LIMIT") && (error as Error).message.includes(BINDING));
  await assert.rejects(codec.encode("x".repeat(1_000), 1, BINDING), (error) => isQuarkError(error, "DECODE_LIMIT"));
  const forged = (payload: string, format = 2) => new Uint8Array([0x51, format, 0, 0, 0, 0, 1, ...new TextEncoder().encode(payload)]);
  await assert.rejects(codec.decode(forged(JSON.stringify([[[[[[[[[[[1]]]]]]]]]]])), BINDING), (error) => isQuarkError(error, "DECODE_LIMIT"));
  await assert.rejects(codec.decode(forged("{not json"), BINDING), (error) => isQuarkError(error, "CORRUPT_DATA"));
  await assert.rejects(codec.decode(forged("1", 3), BINDING), (error) => isQuarkError(error, "CORRUPT_DATA"));
  assert.deepEqual((await codec.decode(forged("[1,2]"), BINDING)).value, [1, 2]);
});

test("codec format: concurrent encodes with compression and encryption each keep their own bytes", async () => {
  const codec = createCodec({ compression: { minBytes: 1 }, encryption: { keys: { k1: new Uint8Array(32).fill(7) }, currentKeyId: "k1" } });
  const values = Array.from({ length: 20 }, (_, index) => ({ index, text: String(index).repeat(index * 50) }));
  const encoded = await Promise.all(values.map((value) => codec.encode(value, 1, BINDING)));
  const decoded = await Promise.all(encoded.map((bytes) => codec.decode(bytes, BINDING)));
  assert.deepEqual(decoded.map((entry) => entry.value), values);
});

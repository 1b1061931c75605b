import { test } from "node:test";
import assert from "node:assert/strict";
import { createCodec, isQuarkError } from "../../mod.ts";

const context = "account/42/balance";

test("structured values round-trip exactly", async () => {
  const codec = createCodec();
  const value = {
    at: new Date("2026-01-02T03:04:05.006Z"),
    tags: new Set(["a", "b"]),
    index: new Map<unknown, unknown>([[1, { nested: undefined }], ["k", [undefined, -0]]]),
    big: 2n ** 70n,
    bytes: Uint8Array.of(0, 255, 7),
    missing: undefined,
  };
  const { value: back, schemaVersion } = await codec.decode(await codec.encode(value, 3, context), context);
  assert.deepEqual(back, value);
  assert.equal(schemaVersion, 3);
  assert.ok("missing" in (back as object), "undefined fields are kept");
});

test("compression shrinks large values and leaves small ones alone", async () => {
  const plain = createCodec();
  const compressed = createCodec({ compression: true });
  const large = { text: "quark ".repeat(2000) };
  const plainBytes = await plain.encode(large, 1, context);
  const compressedBytes = await compressed.encode(large, 1, context);
  assert.ok(compressedBytes.length < plainBytes.length / 10, `${compressedBytes.length} vs ${plainBytes.length}`);
  assert.deepEqual((await compressed.decode(compressedBytes, context)).value, large);
  assert.deepEqual((await plain.decode(compressedBytes, context)).value, large, "any codec reads compressed values");
  const small = await compressed.encode({ n: 1 }, 1, context);
  assert.deepEqual(small, await plain.encode({ n: 1 }, 1, context));
});

test("encryption: rotation keeps old values readable and writes with the current key", async () => {
  const k1 = crypto.getRandomValues(new Uint8Array(32));
  const k2 = crypto.getRandomValues(new Uint8Array(32));
  const before = createCodec({ encryption: { keys: { k1 }, currentKeyId: "k1" }, compression: true });
  const after = createCodec({ encryption: { keys: { k1, k2 }, currentKeyId: "k2" }, compression: true });
  const old = await before.encode({ secret: "x".repeat(3000) }, 1, context);
  assert.equal(new TextDecoder().decode(old).includes("xxxx"), false, "ciphertext hides the plaintext");
  assert.deepEqual((await after.decode(old, context)).value, { secret: "x".repeat(3000) });
  const fresh = await after.encode({ secret: "y" }, 1, context);
  await assert.rejects(before.decode(fresh, context), (error) => isQuarkError(error, "DECRYPTION") && /k2/.test((error as Error).message));
});

test("tampered, misplaced or unreadable ciphertext gives a typed error", async () => {
  const key = crypto.getRandomValues(new Uint8Array(16));
  const codec = createCodec({ encryption: { keys: { main: key }, currentKeyId: "main" } });
  const bytes = await codec.encode({ balance: 10 }, 1, context);
  const tampered = bytes.slice();
  tampered[tampered.length - 1]! ^= 1;
  await assert.rejects(codec.decode(tampered, context), (error) => isQuarkError(error, "DECRYPTION"));
  await assert.rejects(codec.decode(bytes, "account/43/balance"), (error) => isQuarkError(error, "DECRYPTION"), "bytes copied to another key");
  await assert.rejects(createCodec().decode(bytes, context), (error) => isQuarkError(error, "CORRUPT_DATA"), "encrypted bytes without keys");
});

test("bytes that are not an envelope give CorruptDataError", async () => {
  const codec = createCodec();
  for (const garbage of [new Uint8Array(), Uint8Array.of(1, 2, 3), Uint8Array.of(0x51, 9, 0, 0, 0, 0, 1), Uint8Array.of(0x51, 1, 0, 0, 0, 0, 1, 0xff)]) {
    await assert.rejects(codec.decode(garbage, context), (error) => isQuarkError(error, "CORRUPT_DATA"));
  }
  await assert.rejects(codec.decode(Uint8Array.of(0x51, 1, 1, 0, 0, 0, 1, 1, 2), context), (error) => isQuarkError(error, "CORRUPT_DATA"), "corrupt gzip");
});

test("bad encryption settings are configuration errors", () => {
  assert.throws(() => createCodec({ encryption: { keys: { a: new Uint8Array(32) }, currentKeyId: "b" } }), (error) => isQuarkError(error, "CONFIGURATION"));
  assert.throws(() => createCodec({ encryption: { keys: { a: new Uint8Array(10) }, currentKeyId: "a" } }), (error) => isQuarkError(error, "CONFIGURATION"));
});

test("values that cannot be stored are refused before anything is written", async () => {
  await assert.rejects(createCodec().encode({ callback: () => 1 }, 1, context), TypeError);
});

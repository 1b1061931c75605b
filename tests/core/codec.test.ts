import { test } from "node:test";
import assert from "node:assert/strict";
import { deflateRawSync, constants as zlib } from "node:zlib";
import { createCodec, DEFAULT_MAX_DECODED_BYTES, deserialize, isQuarkError, serialize, type SerializationError } from "../../mod.ts";

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


// ---- Bounded decoding ----

const MiB = 1024 * 1024;
const utf8 = new TextEncoder();

function envelope(flags: number, payload: Uint8Array): Uint8Array {
  const bytes = new Uint8Array(7 + payload.length);
  bytes.set([0x51, 1, flags, 0, 0, 0, 1]);
  bytes.set(payload, 7);
  return bytes;
}

// CRC-32 of `length` zero-or-fill bytes in O(log length), with zlib's GF(2) operator squaring.
function gf2Times(matrix: Uint32Array, vector: number): number {
  let sum = 0;
  for (let index = 0; vector !== 0; index++, vector >>>= 1) if (vector & 1) sum ^= matrix[index]!;
  return sum >>> 0;
}
function gf2Square(matrix: Uint32Array): Uint32Array {
  return Uint32Array.from(matrix, (row) => gf2Times(matrix, row));
}
function crc32Update(crc: number, bytes: Uint8Array): number {
  crc = ~crc >>> 0;
  for (const byte of bytes) {
    crc ^= byte;
    for (let bit = 0; bit < 8; bit++) crc = crc & 1 ? (crc >>> 1) ^ 0xedb88320 : crc >>> 1;
  }
  return ~crc >>> 0;
}
/** crc32(A || B) from crc32(A), crc32(B) and B's length (zlib's crc32_combine). */
function crc32Combine(crcA: number, crcB: number, lengthB: number): number {
  let odd: Uint32Array = new Uint32Array(32);
  odd[0] = 0xedb88320;
  for (let index = 1, row = 1; index < 32; index++, row <<= 1) odd[index] = row;
  let even = gf2Square(odd);
  odd = gf2Square(even);
  let crc = crcA;
  do {
    even = gf2Square(odd);
    if (lengthB & 1) crc = gf2Times(even, crc);
    lengthB = Math.floor(lengthB / 2);
    if (lengthB === 0) break;
    odd = gf2Square(even);
    if (lengthB & 1) crc = gf2Times(odd, crc);
    lengthB = Math.floor(lengthB / 2);
  } while (lengthB !== 0);
  return (crc ^ crcB) >>> 0;
}

/**
 * A valid gzip member of `prefix`, then `mebibytes` MiB of `fill`, then `suffix`, built from
 * one compressed MiB repeated: each block ends with a full flush, so blocks stand alone.
 */
function gzipBomb(prefix: string, fill: number, mebibytes: number, suffix: string): Uint8Array {
  const flush = { level: 9, finishFlush: zlib.Z_FULL_FLUSH };
  const chunk = new Uint8Array(MiB).fill(fill);
  const head = deflateRawSync(utf8.encode(prefix), flush);
  const block = deflateRawSync(chunk, flush);
  const tail = deflateRawSync(utf8.encode(suffix));
  const chunkCrc = crc32Update(0, chunk);
  let crc = crc32Update(0, utf8.encode(prefix));
  for (let index = 0; index < mebibytes; index++) crc = crc32Combine(crc, chunkCrc, MiB);
  crc = crc32Combine(crc, crc32Update(0, utf8.encode(suffix)), suffix.length);
  const size = (prefix.length + mebibytes * MiB + suffix.length) % 2 ** 32;
  const out = new Uint8Array(10 + head.length + block.length * mebibytes + tail.length + 8);
  out.set([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff]);
  let offset = 10;
  for (const part of [head, ...Array.from({ length: mebibytes }, () => block), tail]) {
    out.set(part, offset);
    offset += part.length;
  }
  new DataView(out.buffer).setUint32(offset, crc, true);
  new DataView(out.buffer).setUint32(offset + 4, size, true);
  return out;
}

test("the gzip bomb builder makes real gzip (checked on a small one)", async () => {
  const small = gzipBomb("[\"", 0x61, 3, "\"]");
  const { value } = await createCodec({ limits: { maxBytes: 4 * MiB } }).decode(envelope(1, small), context);
  assert.equal((value as string).length, 3 * MiB);
});

test("a 1 MB stored gzip bomb inflating to 1 GiB stops at the limit, with low peak memory", async () => {
  const bomb = envelope(1, gzipBomb("[\"", 0x30, 1024, "\"]"));
  assert.ok(bomb.length < 1.2 * MiB, `bomb is ${bomb.length} bytes`);
  const before = process.memoryUsage().rss;
  let peak = before;
  const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 5);
  const started = Date.now();
  try {
    await assert.rejects(createCodec().decode(bomb, context), (error) => {
      assert.ok(isQuarkError(error, "DECODE_LIMIT"), String(error));
      assert.equal((error as { limit?: number }).limit, DEFAULT_MAX_DECODED_BYTES);
      return true;
    });
  } finally {
    clearInterval(sampler);
  }
  peak = Math.max(peak, process.memoryUsage().rss);
  assert.ok(peak - before < 256 * MiB, `peak memory grew by ${Math.round((peak - before) / MiB)} MiB`);
  assert.ok(Date.now() - started < 5_000, "stopped early instead of inflating everything");
});

test("a 408 KB stored value that would become a 400 MiB string is refused", async () => {
  const bomb = envelope(1, gzipBomb("[\"", 0x61, 400, "\"]"));
  assert.ok(bomb.length < 500 * 1024, `bomb is ${bomb.length} bytes`);
  await assert.rejects(createCodec().decode(bomb, context), (error) => isQuarkError(error, "DECODE_LIMIT"));
  // Under a bound smaller than the stored value itself, it is refused before any work.
  await assert.rejects(createCodec({ limits: { maxBytes: 64 * 1024 } }).decode(bomb, context), (error) => isQuarkError(error, "DECODE_LIMIT") && /stored size/.test((error as Error).message));
});

test("shared references that expand a 40 KB value into 10^8 numbers are refused before deserializing", async () => {
  const width = 10_000;
  const row = (ref: number) => `[${Array(width).fill(ref).join(",")}]`;
  const payload = utf8.encode(`[${row(1)},${row(2)},0]`);
  assert.ok(payload.length < 41_000);
  const started = Date.now();
  await assert.rejects(createCodec().decode(envelope(0, payload), context), (error) => isQuarkError(error, "DECODE_LIMIT") && /values/.test((error as Error).message));
  assert.throws(() => deserialize(payload), (error) => isQuarkError(error, "DECODE_LIMIT"), "the public deserialize is bounded too");
  assert.ok(Date.now() - started < 2_000, "counted without expanding");
  // A raised bound lets it through: the limit is configurable.
  const { value } = await createCodec({ limits: { maxNodes: 2e8 } }).decode(envelope(0, payload), context);
  assert.equal((value as number[][]).length, width);
});

test("sparse arrays of huge length and enormous BigInts are refused", async () => {
  const codec = createCodec();
  await assert.rejects(codec.decode(envelope(0, utf8.encode("[[-7,4294967295]]")), context), (error) => isQuarkError(error, "DECODE_LIMIT"));
  await assert.rejects(codec.decode(envelope(0, utf8.encode(`[["BigInt","${"9".repeat(1_000_000)}"]]`)), context), (error) => isQuarkError(error, "DECODE_LIMIT"));
  const ordinary = { sparse: Object.assign(new Array(100), { 50: "x" }), big: 10n ** 300n, cycle: {} as Record<string, unknown> };
  ordinary.cycle.self = ordinary.cycle;
  const back = (await codec.decode(await codec.encode(ordinary, 1, context), context)).value as typeof ordinary;
  assert.equal(back.sparse[50], "x");
  assert.equal(back.big, 10n ** 300n);
  assert.equal(back.cycle.self, back.cycle, "cycles still round-trip");
});

test("encode refuses what decode would refuse, so nothing unreadable is written", async () => {
  const row = Array(10_000).fill(0);
  const matrix = Array(10_000).fill(row); // one row shared 10,000 times: small to store, 10^8 to walk
  await assert.rejects(createCodec().encode(matrix, 1, context), (error) => isQuarkError(error, "DECODE_LIMIT") && (error as Error).message.includes(context));
  const tight = createCodec({ limits: { maxBytes: 1024 } });
  await assert.rejects(tight.encode("x".repeat(2000), 1, context), (error) => isQuarkError(error, "DECODE_LIMIT"));
  await tight.encode("x".repeat(1000), 1, context);
  assert.throws(() => createCodec({ limits: { maxBytes: 0 } }), RangeError);
});

test("values near the limit still decode, compressed or not", async () => {
  const codec = createCodec({ compression: true, limits: { maxBytes: 2 * MiB } });
  const value = "q".repeat(2 * MiB - 10);
  assert.equal((await codec.decode(await codec.encode(value, 1, context), context)).value, value);
});

// ---- Encryption that cannot be bypassed ----

test("with keys configured, plaintext values are refused unless allowPlaintext is set", async () => {
  const keys = { k1: crypto.getRandomValues(new Uint8Array(32)) };
  const forged = await createCodec().encode({ cents: 1_000_000 }, 1, context);
  await assert.rejects(createCodec({ encryption: { keys, currentKeyId: "k1" } }).decode(forged, context), (error) => isQuarkError(error, "DECRYPTION") && /not encrypted/.test((error as Error).message));
  const rollout = createCodec({ encryption: { keys, currentKeyId: "k1", allowPlaintext: true } });
  assert.deepEqual((await rollout.decode(forged, context)).value, { cents: 1_000_000 });
  const written = await rollout.encode({ cents: 1 }, 1, context);
  assert.equal(written[2]! & 2, 2, "allowPlaintext still encrypts every write");
});

test("key ids are own properties: inherited names neither configure nor decrypt", async () => {
  const keys = { k1: crypto.getRandomValues(new Uint8Array(32)) };
  for (const id of ["toString", "__proto__", "constructor", "hasOwnProperty", "valueOf"]) {
    assert.throws(() => createCodec({ encryption: { keys, currentKeyId: id } }), (error) => isQuarkError(error, "CONFIGURATION"), id);
  }
  const codec = createCodec({ encryption: { keys, currentKeyId: "k1" } });
  const genuine = await codec.encode({ n: 1 }, 1, context);
  for (const id of ["toString", "__proto__", "constructor"]) {
    const keyId = utf8.encode(id);
    const forged = new Uint8Array([...genuine.subarray(0, 7), keyId.length, ...keyId, ...genuine.subarray(10)]);
    await assert.rejects(codec.decode(forged, context), (error) => isQuarkError(error, "DECRYPTION") && /unknown key/.test((error as Error).message), id);
  }
  assert.throws(() => createCodec({ encryption: { keys: { k1: "secret" as never }, currentKeyId: "k1" } }), (error) => isQuarkError(error, "CONFIGURATION"));
  const cbc = await crypto.subtle.generateKey({ name: "AES-CBC", length: 256 }, false, ["encrypt", "decrypt"]);
  assert.throws(() => createCodec({ encryption: { keys: { k1: cbc }, currentKeyId: "k1" } }), (error) => isQuarkError(error, "CONFIGURATION"));
});

test("any well-formed binding works, such as a stream and position; lone surrogates are refused", async () => {
  const codec = createCodec({ encryption: { keys: { k1: crypto.getRandomValues(new Uint8Array(32)) }, currentKeyId: "k1" } });
  const bytes = await codec.encode({ type: "Deposited" }, 1, "account/42#7");
  assert.deepEqual((await codec.decode(bytes, "account/42#7")).value, { type: "Deposited" });
  for (const other of ["account/42#8", "account/42", "account/4#27"]) {
    await assert.rejects(codec.decode(bytes, other), (error) => isQuarkError(error, "DECRYPTION"), `moved to ${other}`);
  }
  await assert.rejects(codec.encode(1, 1, "a\ud800"), (error) => isQuarkError(error, "INVALID_KEY"));
  await assert.rejects(codec.decode(bytes, "a\udc00"), (error) => isQuarkError(error, "INVALID_KEY"));
});

test("unknown envelope flags are corrupt data", async () => {
  const bytes = await createCodec().encode(1, 1, context);
  bytes[2] = 4;
  await assert.rejects(createCodec().decode(bytes, context), (error) => isQuarkError(error, "CORRUPT_DATA"));
});

// ---- Unserializable values ----

class Money {
  readonly cents: number;
  constructor(cents: number) {
    this.cents = cents;
  }
}

test("unserializable values throw SerializationError naming the binding and the path", async () => {
  const codec = createCodec();
  const protoKey = JSON.parse('{"__proto__": 1}');
  const cases: Array<[unknown, string, RegExp]> = [
    [{ settings: { onChange: () => 1 } }, "settings.onChange", /function/],
    [{ items: [1, new Money(5)] }, "items.1", /Money/],
    [{ tag: Symbol("x") }, "tag", /Symbol/],
    [{ nested: { [Symbol("k")]: 1 } }, "nested", /symbolic keys/],
    [{ deep: [protoKey] }, "deep.0", /__proto__/],
    [{ pending: Promise.resolve(1) }, "pending", /Promise/],
    [new Map([["k", { f: () => 1 }]]), "k.f", /function/],
    [new Map([[7, [0, () => 1]]]), "7.1", /function/],
    [{ "odd key": { "a.b": Symbol("y") } }, "odd key.a.b", /Symbol/],
    [{ tags: new Set([1, new Money(1)]) }, "tags", /Money/],
    [() => 1, "", /function/],
  ];
  for (const [value, path, problem] of cases) {
    await assert.rejects(codec.encode(value, 1, context), (error) => {
      assert.ok(isQuarkError(error, "SERIALIZATION"), `${path}: ${String(error)}`);
      const serializationError = error as SerializationError;
      assert.equal(serializationError.target, context);
      assert.equal(serializationError.path.join("."), path);
      assert.match(serializationError.message, problem);
      assert.ok(serializationError.message.includes(context), "names what is being stored");
      return true;
    });
  }
  assert.throws(() => serialize({ a: { b: () => 1 } }, "profile"), (error) => isQuarkError(error, "SERIALIZATION") && /profile/.test((error as Error).message) && /a\.b/.test((error as Error).message));
});

test("a key id that starts with U+FEFF still names its key", async () => {
  const codec = createCodec({ encryption: { keys: { "\ufeffk1": crypto.getRandomValues(new Uint8Array(32)) }, currentKeyId: "\ufeffk1" } });
  assert.deepEqual((await codec.decode(await codec.encode({ n: 1 }, 1, context), context)).value, { n: 1 });
});

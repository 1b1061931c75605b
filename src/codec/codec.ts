import { assertDecodable, type DecodeLimits, decodePayloadText, deserialize, resolveDecodeLimits, serializeToString } from "./serializer.ts";
import { concatBytes } from "./concat_bytes.ts";
import { parsePlainJson, plainJsonNodes } from "./plain_json.ts";
import { gunzip, gzip } from "./compression.ts";
import { createKeyring, ENCRYPTION_IV_BYTES, type EncryptionOptions } from "./encryption.ts";
import { assertValidKeyPart } from "../storage/keys.ts";
import { CorruptDataError, DecodeLimitError, DecryptionError } from "../errors.ts";

/**
 * Options for {@linkcode createCodec}.
 *
 * @example Compressing large values and encrypting every value
 * ```ts
 * import { createCodec, type CodecOptions } from "@quark/persistence";
 * const options: CodecOptions = {
 *   compression: { minBytes: 256 },
 *   encryption: { keys: { k1: crypto.getRandomValues(new Uint8Array(32)) }, currentKeyId: "k1" },
 * };
 * const bytes = await createCodec(options).encode("x".repeat(10_000), 1, "doc/1/body");
 * if (bytes.length > 1_000) throw new Error("a repetitive value should compress");
 * ```
 */
export interface CodecOptions {
  /**
   * Gzip values with `CompressionStream`: `true`, or the smallest serialized size in bytes
   * worth compressing (default 1024). A value is stored compressed only when that is smaller.
   */
  readonly compression?: boolean | { readonly minBytes: number } | undefined;
  /** Encrypt values with AES-GCM. */
  readonly encryption?: EncryptionOptions | undefined;
  /**
   * Bounds on decoding: the serialized size after decompression (default 16 MiB) and the
   * number of values once shared references are expanded. Past them decoding stops with
   * `DecodeLimitError`; encoding checks the same bounds, so nothing unreadable is written.
   */
  readonly limits?: DecodeLimits | undefined;
}

/**
 * What {@linkcode Codec.decode} returns.
 *
 * @example Reading the schema version a value was written with
 * ```ts
 * import { createCodec, type DecodedValue } from "@quark/persistence";
 * const codec = createCodec();
 * const bytes = await codec.encode({ cents: 5 }, 3, "account/42/balance");
 * const decoded: DecodedValue = await codec.decode(bytes, "account/42/balance");
 * if (decoded.schemaVersion !== 3) throw new Error("schema version lost");
 * ```
 */
export interface DecodedValue {
  /** The deserialized value, before any upcasting. */
  readonly value: unknown;
  /** The schema version the value was written with. */
  readonly schemaVersion: number;
}

/**
 * Turns values into stored bytes and back.
 *
 * @example Encrypted bytes stay bound to their key
 * ```ts
 * import { createCodec, encodeKey, isQuarkError, type Codec } from "@quark/persistence";
 * const codec: Codec = createCodec({ encryption: { keys: { k1: crypto.getRandomValues(new Uint8Array(32)) }, currentKeyId: "k1" } });
 * const alice = encodeKey({ actorType: "account", actorId: "alice", stateName: "balance" });
 * const bob = encodeKey({ actorType: "account", actorId: "bob", stateName: "balance" });
 * const bytes = await codec.encode({ cents: 100 }, 1, alice);
 * try {
 *   await codec.decode(bytes, bob);
 *   throw new Error("decoded under another key");
 * } catch (error) {
 *   if (!isQuarkError(error, "DECRYPTION")) throw error;
 * }
 * ```
 */
export interface Codec {
  /**
   * Turns a value into stored bytes: serialize, then compress and encrypt as configured.
   *
   * @param value The value to store.
   * @param schemaVersion The schema version to record in the envelope.
   * @param binding What the bytes belong to: any well-formed string, such as an encoded state
   *   key, or a stream and position. Encryption binds the ciphertext to it, so bytes copied
   *   anywhere else fail to decrypt. It also names the value in a `SerializationError`.
   * @throws {SerializationError} When the value holds a function, class instance, symbol or
   *   another part that cannot be stored; it names the binding and the path.
   * @throws {DecodeLimitError} When the serialized value passes the codec's decode limits, so
   *   it could not be read back.
   */
  encode(value: unknown, schemaVersion: number, binding: string): Promise<Uint8Array>;
  /**
   * Reverses `encode`; `binding` must match.
   *
   * @throws {DecryptionError} When encryption is configured and the value is plaintext (unless
   *   `allowPlaintext`), names an unknown key, or fails authentication.
   * @throws {DecodeLimitError} When the value would decode past the codec's limits.
   * @throws {CorruptDataError} When the bytes are not a value this codec wrote.
   */
  decode(bytes: Uint8Array, binding: string): Promise<DecodedValue>;
}

// Envelope: magic "Q", format, flags, schema version (u32 BE), then either the payload or,
// when encrypted: key id length (u8), key id, IV, AES-GCM ciphertext of the payload. The
// format names the payload's serializer: 1 devalue (every value written before format 2
// existed), 2 plain JSON (see plain_json.ts). Both always decode.
const MAGIC = 0x51;
const DEVALUE_FORMAT = 1;
const PLAIN_JSON_FORMAT = 2;
const COMPRESSED = 1;
const ENCRYPTED = 2;
const KNOWN_FLAGS = COMPRESSED | ENCRYPTED;
const HEADER_BYTES = 7;
// Key id length and id, IV and AES-GCM tag: the most encryption adds to a payload.
const MAX_ENVELOPE_OVERHEAD = HEADER_BYTES + 1 + 255 + ENCRYPTION_IV_BYTES + 16;
const DEFAULT_MIN_COMPRESS_BYTES = 1024;
const encoder = new TextEncoder();
// A key id may start with U+FEFF; the default decoder would drop it as a byte order mark.
const keyIdDecoder = new TextDecoder("utf-8", { ignoreBOM: true });

function writeHeader(bytes: Uint8Array, format: number, flags: number, schemaVersion: number): Uint8Array {
  bytes[0] = MAGIC;
  bytes[1] = format;
  bytes[2] = flags;
  bytes[3] = schemaVersion >>> 24;
  bytes[4] = (schemaVersion >>> 16) & 0xff;
  bytes[5] = (schemaVersion >>> 8) & 0xff;
  bytes[6] = schemaVersion & 0xff;
  return bytes;
}

function header(format: number, flags: number, schemaVersion: number): Uint8Array {
  return writeHeader(new Uint8Array(HEADER_BYTES), format, flags, schemaVersion);
}

// Small payloads are encoded into this buffer behind room for a header, then copied out once:
// one allocation per value instead of three (payload, header, envelope). Larger ones (a UTF-8
// string takes at most three bytes per UTF-16 unit) take the general path.
const scratch = new Uint8Array(64 * 1024);
const SCRATCH_TEXT_UNITS = Math.floor((scratch.length - HEADER_BYTES) / 3);

/** A serialized value: its format and UTF-8 payload, or the payload already behind a header. */
interface Serialized {
  readonly format: number;
  /** The payload in `scratch` after HEADER_BYTES, valid until the next encode; or its own bytes. */
  readonly payload: Uint8Array;
  readonly inScratch: boolean;
}

/**
 * Builds the codec pipeline: structured serialization, then optional gzip, then optional
 * AES-GCM encryption with key ids for rotation.
 *
 * @param options Compression and encryption settings.
 * @returns A {@linkcode Codec}.
 * @throws {ConfigurationError} When the encryption keys are unusable.
 *
 * @example Rotating keys: old values still decrypt, new ones use the current key
 * ```ts
 * import { createCodec } from "@quark/persistence";
 * const k1 = crypto.getRandomValues(new Uint8Array(32));
 * const k2 = crypto.getRandomValues(new Uint8Array(32));
 * const before = createCodec({ encryption: { keys: { k1 }, currentKeyId: "k1" } });
 * const after = createCodec({ encryption: { keys: { k1, k2 }, currentKeyId: "k2" } });
 * const old = await before.encode({ balance: 10n }, 1, "account/42/balance");
 * const { value } = await after.decode(old, "account/42/balance");
 * if ((value as { balance: bigint }).balance !== 10n) throw new Error("old key no longer decrypts");
 * ```
 */
export function createCodec(options: CodecOptions = {}): Codec {
  const keyring = options.encryption ? createKeyring(options.encryption) : undefined;
  const allowPlaintext = options.encryption?.allowPlaintext === true;
  const limits = resolveDecodeLimits(options.limits);
  const minCompressBytes = options.compression === undefined || options.compression === false
    ? Infinity
    : options.compression === true
    ? DEFAULT_MIN_COMPRESS_BYTES
    : options.compression.minBytes;

  // A lone surrogate would become U+FFFD in UTF-8, so two bindings could share associated
  // data; assertValidKeyPart refuses such bindings before they get here.
  function associatedData(prefix: Uint8Array, binding: string): Uint8Array {
    return concatBytes(prefix, encoder.encode(binding));
  }

  function utf8(text: string): { payload: Uint8Array; inScratch: boolean } {
    if (text.length > SCRATCH_TEXT_UNITS) return { payload: encoder.encode(text), inScratch: false };
    const { written } = encoder.encodeInto(text, scratch.subarray(HEADER_BYTES));
    return { payload: scratch.subarray(HEADER_BYTES, HEADER_BYTES + written), inScratch: true };
  }

  // Refused on write too, so nothing is stored that could not be read back.
  function withinLimits<T>(binding: string, check: () => T): T {
    try {
      return check();
    } catch (error) {
      if (error instanceof DecodeLimitError) error.message = error.message.replace("Stored value", `Value for ${JSON.stringify(binding)}`);
      throw error;
    }
  }

  function plainNodes(value: unknown): number | undefined {
    try {
      return plainJsonNodes(value);
    } catch {
      return undefined; // a throwing getter: devalue reports it with its path
    }
  }

  function serializeWithinLimits(value: unknown, binding: string): Serialized {
    const nodes = plainNodes(value);
    if (nodes === undefined) {
      const text = serializeToString(value, binding);
      const encoded = utf8(text);
      withinLimits(binding, () => assertDecodable(text, encoded.payload.byteLength, limits));
      return { format: DEVALUE_FORMAT, ...encoded };
    }
    const encoded = utf8(JSON.stringify(value));
    withinLimits(binding, () => {
      if (encoded.payload.byteLength > limits.maxBytes) throw new DecodeLimitError("serialized size in bytes", limits.maxBytes);
      if (nodes > limits.maxNodes) throw new DecodeLimitError("number of values (counting each shared reference where it appears)", limits.maxNodes);
    });
    return { format: PLAIN_JSON_FORMAT, ...encoded };
  }

  function deserializePayload(format: number, payload: Uint8Array): unknown {
    if (format === DEVALUE_FORMAT) return deserialize(payload, limits);
    return parsePlainJson(decodePayloadText(payload, limits), limits.maxNodes);
  }

  return {
    async encode(value, schemaVersion, binding) {
      assertValidKeyPart("binding", binding);
      if (!Number.isInteger(schemaVersion) || schemaVersion < 0 || schemaVersion > 0xffffffff) {
        throw new RangeError(`Schema version must be a whole number from 0 to 2^32-1, got ${schemaVersion}`);
      }
      const serialized = serializeWithinLimits(value, binding);
      if (serialized.inScratch && serialized.payload.length < minCompressBytes && !keyring) {
        return writeHeader(scratch, serialized.format, 0, schemaVersion).slice(0, HEADER_BYTES + serialized.payload.length);
      }
      // Copied out of the scratch buffer before any await lets another encode reuse it.
      let payload = serialized.inScratch ? serialized.payload.slice() : serialized.payload;
      let flags = 0;
      if (payload.length >= minCompressBytes) {
        const compressed = await gzip(payload);
        if (compressed.length < payload.length) {
          payload = compressed;
          flags |= COMPRESSED;
        }
      }
      if (!keyring) return concatBytes(header(serialized.format, flags, schemaVersion), payload);
      flags |= ENCRYPTED;
      const keyId = encoder.encode(keyring.currentKeyId);
      const prefix = concatBytes(header(serialized.format, flags, schemaVersion), Uint8Array.of(keyId.length), keyId);
      const { iv, cipher } = await keyring.encrypt(payload, associatedData(prefix, binding));
      return concatBytes(prefix, iv, cipher);
    },
    async decode(bytes, binding) {
      assertValidKeyPart("binding", binding);
      if (bytes.length < HEADER_BYTES || bytes[0] !== MAGIC) throw new CorruptDataError("Stored value is not a Quark envelope");
      const format = bytes[1]!;
      if (format !== DEVALUE_FORMAT && format !== PLAIN_JSON_FORMAT) throw new CorruptDataError(`Stored value uses unknown envelope format ${format}`);
      const flags = bytes[2]!;
      if ((flags & ~KNOWN_FLAGS) !== 0) throw new CorruptDataError(`Stored value has unknown envelope flags ${flags}`);
      // Compression is used only when it shrinks, so no stored value this codec could read is larger.
      if (bytes.length > limits.maxBytes + MAX_ENVELOPE_OVERHEAD) throw new DecodeLimitError("stored size in bytes", limits.maxBytes + MAX_ENVELOPE_OVERHEAD);
      const schemaVersion = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getUint32(3);
      let payload = bytes.subarray(HEADER_BYTES);
      if (flags & ENCRYPTED) {
        if (!keyring) throw new CorruptDataError("Stored value is encrypted but no encryption keys are configured");
        const keyIdLength = payload[0] ?? 0;
        const prefixLength = HEADER_BYTES + 1 + keyIdLength;
        if (bytes.length < prefixLength + ENCRYPTION_IV_BYTES) throw new CorruptDataError("Encrypted value is truncated");
        const keyId = keyIdDecoder.decode(payload.subarray(1, 1 + keyIdLength));
        const iv = bytes.subarray(prefixLength, prefixLength + ENCRYPTION_IV_BYTES);
        const cipher = bytes.subarray(prefixLength + ENCRYPTION_IV_BYTES);
        payload = await keyring.decrypt(keyId, iv, cipher, associatedData(bytes.subarray(0, prefixLength), binding));
      } else if (keyring && !allowPlaintext) {
        // Written before encryption was on, or planted by someone who can write to the backend.
        throw new DecryptionError(`Stored value for ${JSON.stringify(binding)} is not encrypted (see encryption.allowPlaintext)`);
      }
      if (flags & COMPRESSED) payload = await gunzip(payload, limits.maxBytes);
      return { value: deserializePayload(format, payload), schemaVersion };
    },
  };
}

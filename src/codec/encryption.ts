import { ConfigurationError, DecryptionError } from "../errors.ts";

/**
 * AES-GCM keys by id, and which one encrypts new writes.
 *
 * @example A raw key and a CryptoKey, the newer one current
 * ```ts
 * import { createCodec, type EncryptionOptions } from "@quark/persistence";
 * const encryption: EncryptionOptions = {
 *   keys: {
 *     "2025": crypto.getRandomValues(new Uint8Array(32)),
 *     "2026": await crypto.subtle.generateKey({ name: "AES-GCM", length: 256 }, false, ["encrypt", "decrypt"]),
 *   },
 *   currentKeyId: "2026",
 * };
 * const codec = createCodec({ encryption });
 * const bytes = await codec.encode("secret", 1, "user/1/email");
 * if (new TextDecoder().decode(bytes).includes("secret")) throw new Error("stored in the clear");
 * if ((await codec.decode(bytes, "user/1/email")).value !== "secret") throw new Error("round trip failed");
 * ```
 */
export interface EncryptionOptions {
  /**
   * Keys by id: raw 16-, 24- or 32-byte AES keys, or AES-GCM `CryptoKey`s. Keep old keys
   * here after a rotation so that values they encrypted still decrypt.
   */
  readonly keys: Readonly<Record<string, Uint8Array | CryptoKey>>;
  /** The id of the key that encrypts every new write. */
  readonly currentKeyId: string;
  /**
   * Accept values stored without encryption. Off by default: with keys configured, a
   * plaintext value is refused with `DecryptionError`, so nobody who can write to the
   * backend can plant a value that reads back as genuine. Turn it on only while rolling
   * encryption out over existing data, and off again once every value has been re-saved.
   */
  readonly allowPlaintext?: boolean | undefined;
}

/** A ready keyring: encrypts with the current key, decrypts with whichever key a value names. */
export interface Keyring {
  readonly currentKeyId: string;
  encrypt(plain: Uint8Array, additionalData: Uint8Array): Promise<{ iv: Uint8Array; cipher: Uint8Array }>;
  decrypt(keyId: string, iv: Uint8Array, cipher: Uint8Array, additionalData: Uint8Array): Promise<Uint8Array>;
}

const IV_BYTES = 12;

/** Validates the options and imports raw keys once, lazily. */
export function createKeyring(options: EncryptionOptions): Keyring {
  if (typeof options.keys !== "object" || options.keys === null) throw new ConfigurationError("Encryption needs an object of keys by id");
  // Own properties only: an id such as "toString" must not find Object.prototype's method.
  if (typeof options.currentKeyId !== "string" || !Object.hasOwn(options.keys, options.currentKeyId)) {
    throw new ConfigurationError(`Encryption key ${JSON.stringify(options.currentKeyId)} is current but not among the keys`);
  }
  for (const [id, key] of Object.entries(options.keys)) {
    if (new TextEncoder().encode(id).length > 255) throw new ConfigurationError("Encryption key ids must be at most 255 bytes");
    assertUsableKey(id, key);
  }
  const imported = new Map<string, Promise<CryptoKey>>();
  function cryptoKey(id: string): Promise<CryptoKey> {
    if (!Object.hasOwn(options.keys, id)) throw new DecryptionError(`Value was encrypted with unknown key ${JSON.stringify(id)}`);
    const source = options.keys[id]!;
    let key = imported.get(id);
    if (!key) {
      key = source instanceof Uint8Array
        ? crypto.subtle.importKey("raw", source as Uint8Array<ArrayBuffer>, "AES-GCM", false, ["encrypt", "decrypt"])
        : Promise.resolve(source);
      imported.set(id, key);
    }
    return key;
  }

  return {
    currentKeyId: options.currentKeyId,
    async encrypt(plain, additionalData) {
      const iv = crypto.getRandomValues(new Uint8Array(IV_BYTES));
      const key = await cryptoKey(options.currentKeyId);
      const cipher = await crypto.subtle.encrypt(
        { name: "AES-GCM", iv, additionalData: additionalData as Uint8Array<ArrayBuffer> },
        key,
        plain as Uint8Array<ArrayBuffer>,
      );
      return { iv, cipher: new Uint8Array(cipher) };
    },
    async decrypt(keyId, iv, cipher, additionalData) {
      const key = await cryptoKey(keyId);
      try {
        const plain = await crypto.subtle.decrypt(
          { name: "AES-GCM", iv: iv as Uint8Array<ArrayBuffer>, additionalData: additionalData as Uint8Array<ArrayBuffer> },
          key,
          cipher as Uint8Array<ArrayBuffer>,
        );
        return new Uint8Array(plain);
      } catch (cause) {
        throw new DecryptionError(`Value failed authentication with key ${JSON.stringify(keyId)}: it was tampered with or belongs to another state`, { cause });
      }
    },
  };
}

export const ENCRYPTION_IV_BYTES = IV_BYTES;

function assertUsableKey(id: string, key: unknown): void {
  const usable = key instanceof Uint8Array
    ? [16, 24, 32].includes(key.length)
    : (key as { algorithm?: { name?: unknown } } | null)?.algorithm?.name === "AES-GCM";
  if (!usable) throw new ConfigurationError(`Encryption key ${JSON.stringify(id)} must be 16, 24 or 32 raw bytes, or an AES-GCM CryptoKey`);
}

import type { StateKey } from "./types.ts";
import { CorruptDataError, InvalidKeyError } from "../errors.ts";

const SEPARATOR = "/";

function escapePart(part: string): string {
  // Most parts hold neither character; checking first skips two string scans and copies.
  if (!part.includes("%") && !part.includes(SEPARATOR)) return part;
  return part.replaceAll("%", "%25").replaceAll(SEPARATOR, "%2F");
}

function unescapePart(part: string): string {
  if (!part.includes("%")) return part;
  return part.replaceAll("%2F", SEPARATOR).replaceAll("%25", "%");
}

/**
 * Encodes a key as one string, injectively: no two keys share an encoding, whatever
 * separators their parts contain, because `%` and `/` inside a part are escaped. Escaping
 * keeps prefixes, so a range scan on {@linkcode encodeKeyPrefix} finds every actor id that
 * starts with a given prefix.
 *
 * @param key The key to encode.
 * @returns `actorType/actorId/stateName`, each part escaped.
 *
 * @example Separators inside ids never collide
 * ```ts
 * import { encodeKey } from "@quark/persistence";
 * const left = encodeKey({ actorType: "t", actorId: "a/b", stateName: "c" });
 * const right = encodeKey({ actorType: "t", actorId: "a", stateName: "b/c" });
 * if (left === right) throw new Error("collision");
 * ```
 */
export function encodeKey(key: StateKey): string {
  return `${escapePart(key.actorType)}${SEPARATOR}${escapePart(key.actorId)}${SEPARATOR}${escapePart(key.stateName)}`;
}

/**
 * The encoded prefix shared by every key of `actorType` whose actor id starts with
 * `actorIdPrefix`.
 *
 * @param actorType The actor type.
 * @param actorIdPrefix The start of the actor id; empty for all ids.
 * @returns A string that every matching {@linkcode encodeKey} result starts with.
 *
 * @example Every key of an actor id prefix starts with it
 * ```ts
 * import { encodeKey, encodeKeyPrefix } from "@quark/persistence";
 * const key = encodeKey({ actorType: "account", actorId: "42", stateName: "balance" });
 * if (!key.startsWith(encodeKeyPrefix("account", "4"))) throw new Error("prefix lost");
 * ```
 */
export function encodeKeyPrefix(actorType: string, actorIdPrefix = ""): string {
  return `${escapePart(actorType)}${SEPARATOR}${escapePart(actorIdPrefix)}`;
}

/**
 * Decodes what {@linkcode encodeKey} produced.
 *
 * @param encoded The encoded key.
 * @returns The key.
 * @throws {CorruptDataError} When `encoded` is not an encoded key.
 *
 * @example Escaped separators decode back
 * ```ts
 * import { decodeKey, encodeKey } from "@quark/persistence";
 * const key = { actorType: "t", actorId: "a%2Fb/", stateName: "s" };
 * const back = decodeKey(encodeKey(key));
 * if (back.actorId !== key.actorId) throw new Error("round trip failed");
 * ```
 */
export function decodeKey(encoded: string): StateKey {
  // Two separators, found by position: a list page decodes every key it returns.
  const first = encoded.indexOf(SEPARATOR);
  const second = encoded.indexOf(SEPARATOR, first + 1);
  if (first === -1 || second === -1 || encoded.includes(SEPARATOR, second + 1)) {
    throw new CorruptDataError(`Not an encoded state key: ${JSON.stringify(encoded)}`);
  }
  return {
    actorType: unescapePart(encoded.slice(0, first)),
    actorId: unescapePart(encoded.slice(first + 1, second)),
    stateName: unescapePart(encoded.slice(second + 1)),
  };
}

// A lone UTF-16 surrogate: in `u` mode a well-formed pair is one code point, never `Cs`.
const LONE_SURROGATE = /\p{Cs}/u;
const utf8 = new TextEncoder();

/**
 * The one key rule every backend shares: each part is a string of well-formed UTF-16 with no
 * NUL. Lone surrogates would be replaced by U+FFFD in UTF-8 columns, so `"\uD800"` and
 * `"\uDC00"` would share a row; NUL ends strings in several drivers. Such parts are refused
 * rather than escaped, so every backend stores exactly the string it was given.
 *
 * @param part Which part, for the message: `"actorType"`, `"actorId"`, `"stateName"`, `"stream"`.
 * @param value The part.
 * @throws {InvalidKeyError} When the part is not a string, holds a lone surrogate or a NUL.
 *
 * @example A lone surrogate is refused
 * ```ts
 * import { assertValidKeyPart, isQuarkError } from "@quark/persistence";
 * assertValidKeyPart("actorId", "caf\u00e9 \u{1F600}");
 * try {
 *   assertValidKeyPart("actorId", JSON.parse('"\\ud800"'));
 *   throw new Error("should have refused");
 * } catch (error) {
 *   if (!isQuarkError(error, "INVALID_KEY")) throw error;
 * }
 * ```
 */
export function assertValidKeyPart(part: string, value: unknown): void {
  if (typeof value !== "string") throw new InvalidKeyError(part, `must be a string, got ${typeof value}`);
  if (LONE_SURROGATE.test(value)) throw new InvalidKeyError(part, "holds a lone UTF-16 surrogate, which no backend can store distinctly");
  if (value.includes("\0")) throw new InvalidKeyError(part, "holds a NUL character (U+0000), which several backends cannot store");
}

/**
 * Checks every part of a state key with {@linkcode assertValidKeyPart}. Every storage calls it
 * before sending a key anywhere.
 *
 * @param key The key.
 * @throws {InvalidKeyError} When a part is not well-formed.
 *
 * @example Checking a key before use
 * ```ts
 * import { assertValidKey } from "@quark/persistence";
 * assertValidKey({ actorType: "account", actorId: "a:b", stateName: "balance" });
 * ```
 */
export function assertValidKey(key: StateKey): void {
  assertValidKeyPart("actorType", key.actorType);
  assertValidKeyPart("actorId", key.actorId);
  assertValidKeyPart("stateName", key.stateName);
}

/**
 * Refuses a key part whose UTF-8 form is longer than a backend allows, before anything is
 * sent, so no backend truncates or rejects it halfway.
 *
 * @param backend The backend's name.
 * @param part Which part, or which combination of parts, is measured.
 * @param value The string as the backend would store it.
 * @param limitBytes The backend's limit in UTF-8 bytes.
 * @throws {InvalidKeyError} When the value is longer than the limit.
 *
 * @example An id over a 900-byte limit
 * ```ts
 * import { assertKeyWithinLimit, isQuarkError } from "@quark/persistence";
 * assertKeyWithinLimit("mssql", "key", "x".repeat(900), 900);
 * try {
 *   assertKeyWithinLimit("mssql", "key", "x".repeat(901), 900);
 *   throw new Error("should have refused");
 * } catch (error) {
 *   if (!isQuarkError(error, "INVALID_KEY")) throw error;
 * }
 * ```
 */
export function assertKeyWithinLimit(backend: string, part: string, value: string, limitBytes: number): void {
  // UTF-8 takes at most 3 bytes per UTF-16 unit, so short strings need no encoding.
  if (value.length * 3 <= limitBytes) return;
  const bytes = utf8.encode(value).byteLength;
  if (bytes > limitBytes) {
    throw new InvalidKeyError(part, `is ${bytes} bytes long in UTF-8, over the ${limitBytes}-byte limit of storage backend ${backend}`, { limit: limitBytes });
  }
}

/**
 * The event stream of one actor, built injectively: `%` and `/` inside either part are
 * escaped, so type `shop` with id `eu/1` and type `shop/eu` with id `1` get different streams.
 * Names without those characters are unchanged (`account/42`).
 *
 * @param actorType The actor type.
 * @param actorId The actor id.
 * @returns The stream name.
 * @throws {InvalidKeyError} When a part is not well-formed.
 *
 * @example Distinct streams for look-alike actors
 * ```ts
 * import { streamNameOf } from "@quark/persistence";
 * if (streamNameOf("shop", "eu/1") === streamNameOf("shop/eu", "1")) throw new Error("collision");
 * if (streamNameOf("account", "42") !== "account/42") throw new Error("plain names changed");
 * ```
 */
export function streamNameOf(actorType: string, actorId: string): string {
  assertValidKeyPart("actorType", actorType);
  assertValidKeyPart("actorId", actorId);
  return `${escapePart(actorType)}${SEPARATOR}${escapePart(actorId)}`;
}

import type { StateKey } from "./types.ts";
import { CorruptDataError } from "../errors.ts";

const SEPARATOR = "/";

function escapePart(part: string): string {
  return part.replaceAll("%", "%25").replaceAll(SEPARATOR, "%2F");
}

function unescapePart(part: string): string {
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
  return [key.actorType, key.actorId, key.stateName].map(escapePart).join(SEPARATOR);
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
  const parts = encoded.split(SEPARATOR);
  if (parts.length !== 3) throw new CorruptDataError(`Not an encoded state key: ${JSON.stringify(encoded)}`);
  const [actorType, actorId, stateName] = parts.map(unescapePart) as [string, string, string];
  return { actorType, actorId, stateName };
}

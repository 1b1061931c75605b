// The Redis key layout (documented in docs/backends/upstash.md). Every name is built from the
// injective encodeKey pieces, with "{" and "}" escaped as well, so a hash tag always ends
// where the layout says it does, whatever the actor type, id, state name or stream contains.

import type { StateKey } from "../../src/storage/types.ts";
import { decodeKey, encodeKey, encodeKeyPrefix } from "../../src/storage/keys.ts";
import { ConfigurationError, CorruptDataError } from "../../src/errors.ts";

/** What a key prefix may contain: no braces (they would start a hash tag), no glob characters. */
const KEY_PREFIX = /^[A-Za-z0-9_.:-]{1,64}$/;

/**
 * Checks a key prefix from options.
 * @throws {ConfigurationError} When it is empty, too long, or has characters outside `[A-Za-z0-9_.:-]`.
 */
export function validateKeyPrefix(prefix: string): string {
  if (typeof prefix !== "string" || !KEY_PREFIX.test(prefix)) {
    throw new ConfigurationError(
      `Upstash key prefix ${JSON.stringify(prefix)} is invalid: use 1 to 64 characters from A-Z, a-z, 0-9, "_", ".", ":" and "-"`,
    );
  }
  return prefix;
}

function escapeBraces(encoded: string): string {
  return encoded.replaceAll("{", "%7B").replaceAll("}", "%7D");
}

function unescapeBraces(escaped: string): string {
  return escaped.replaceAll("%7B", "{").replaceAll("%7D", "}");
}

/** The Redis names behind one state. */
export interface StateLocation {
  /** The state's hash: `<prefix>:s:{<type>/<id>}/<state>`. */
  readonly state: string;
  /** The actor type's index sorted set: `<prefix>:i:<type>`. */
  readonly index: string;
  /** The state's member in that index: `<id>/<state>`. */
  readonly member: string;
  /** The hash tag, which decides the cluster slot: every state of one actor shares it. */
  readonly slot: string;
}

/** Where one state lives. */
export function locateState(prefix: string, key: StateKey): StateLocation {
  const [type, id, state] = escapeBraces(encodeKey(key)).split("/") as [string, string, string];
  return {
    state: `${prefix}:s:{${type}/${id}}/${state}`,
    index: `${prefix}:i:${type}`,
    member: `${id}/${state}`,
    slot: `${type}/${id}`,
  };
}

/** The pieces `list` needs: the index, the start of state keys, and the escaped id prefix. */
export function locateType(prefix: string, actorType: string, actorIdPrefix = ""): {
  index: string;
  stateBase: string;
  idPrefix: string;
  type: string;
} {
  const escaped = escapeBraces(encodeKeyPrefix(actorType, actorIdPrefix));
  const slash = escaped.indexOf("/");
  const type = escaped.slice(0, slash);
  return {
    index: `${prefix}:i:${type}`,
    stateBase: `${prefix}:s:{${type}/`,
    idPrefix: escaped.slice(slash + 1),
    type,
  };
}

/** Turns an index member back into the key it stands for. */
export function decodeMember(type: string, member: string): StateKey {
  if (member.split("/").length !== 2) throw new CorruptDataError(`Not an Upstash index member: ${JSON.stringify(member)}`);
  return decodeKey(unescapeBraces(`${type}/${member}`));
}

/** The names behind one event stream, all sharing the stream's hash tag. */
export function locateStream(prefix: string, stream: string): { events: string; snapshot: string; slot: string } {
  const tag = escapeBraces(stream.replaceAll("%", "%25"));
  return { events: `${prefix}:e:{${tag}}`, snapshot: `${prefix}:e:{${tag}}:snapshot`, slot: tag };
}

/** The stream a hash tag from {@linkcode locateStream} stands for: every "%" in a tag starts an escape. */
export function streamOfTag(tag: string): string {
  return unescapeBraces(tag).replaceAll("%25", "%");
}

/** The names behind the global order of one key prefix's event stores. */
export interface GlobalOrderLocation {
  /** The last position handed out: `<prefix>:g:position`, a counter. */
  readonly counter: string;
  /** Every event with a position: `<prefix>:g:log`, a sorted set scored by position. */
  readonly log: string;
  /** What a stream's list key starts with, before its hash tag and "}": `<prefix>:e:{`. */
  readonly streamBase: string;
}

/**
 * Where the global order lives. Its keys carry no hash tag and so sit in slots of their own:
 * an append touches them beside its stream's keys, which one Upstash database (or one Redis
 * server) allows and Redis Cluster does not.
 */
export function locateGlobalOrder(prefix: string): GlobalOrderLocation {
  return { counter: `${prefix}:g:position`, log: `${prefix}:g:log`, streamBase: `${prefix}:e:{` };
}

/**
 * A fresh receipt key for one call: `<prefix>:r:{<slot>}:<uuid>`. A mutating script stores
 * its reply there for a short while, so a resent request (the SDK retries after a lost
 * reply) gets the first outcome back instead of applying twice. It shares the hash tag of
 * the keys the script touches, so cluster mode keeps every script on one slot.
 */
export function receiptKey(prefix: string, slot: string): string {
  return `${prefix}:r:{${slot}}:${crypto.randomUUID()}`;
}

// The protocol between `actorClient` in a Worker and `actorHost` in the object: one POST per
// call, both ways in the library's own serializer (devalue), so arguments and results keep
// `Date`, `Map`, `Set`, `BigInt`, typed arrays and `undefined` as states do. An error crosses
// as its name, message, cause chain and every own field that serializes (`code`, `key`,
// `expectedEtag`, `issues`, ...), so `isQuarkError(error, code)` holds on the caller's side.
import type { CallOrigin } from "../../src/actors/call_info.ts";
import { deserialize, serialize, serializeToString } from "../../src/codec/serializer.ts";
import { ConfigurationError } from "../../src/errors.ts";

/** Where the client posts; only the object's `fetch` sees it, so the host is arbitrary. */
export const CALL_URL = "https://actor-host.quark/call";

/** One call of a handler on one actor. */
export interface Call {
  readonly actorType: string;
  readonly actorId: string;
  readonly handler: string;
  /** The caller's conversation and cause, for the events the call raises. */
  readonly origin?: CallOrigin | undefined;
  readonly args: readonly unknown[];
}

/** An error as it crosses: a plain value the serializer carries. */
export interface RemoteError {
  readonly name: string;
  readonly message: string;
  readonly fields: Readonly<Record<string, unknown>>;
  readonly cause?: RemoteError;
}

/** What the host answers. */
export type Reply = { readonly ok: true; readonly value: unknown } | { readonly ok: false; readonly error: RemoteError };

const isRecord = (value: unknown): value is Record<string, unknown> => typeof value === "object" && value !== null;

// Bodies go out as the serializer's text; they are read back as bytes, which `deserialize`
// bounds before it parses anything.
export function encodeCall(call: Call): string {
  return serializeToString(call, `the arguments of ${call.actorType}.${call.handler}`);
}

export function decodeCall(bytes: Uint8Array): Call {
  const call = deserialize(bytes);
  if (!isRecord(call) || typeof call.actorType !== "string" || typeof call.actorId !== "string" || typeof call.handler !== "string" || !Array.isArray(call.args)) {
    throw new TypeError("The request is not a call of the actor host protocol");
  }
  if (call.origin !== undefined && (!isRecord(call.origin) || !isOptionalString(call.origin.correlationId) || !isOptionalString(call.origin.causationId))) {
    throw new TypeError("The call's origin must hold string correlation and causation ids");
  }
  return call as unknown as Call;
}

export function encodeReply(reply: Reply): string {
  return serializeToString(reply, "the reply of an actor call");
}

export function decodeReply(bytes: Uint8Array): Reply {
  let reply: unknown;
  try {
    reply = deserialize(bytes);
  } catch {
    // Not the serializer's text: checked below like any other foreign answer.
  }
  if (!isRecord(reply) || (reply.ok !== true && !(reply.ok === false && isRecord(reply.error)))) {
    throw new ConfigurationError("The Durable Object's answer is not a reply of the actor host protocol: is the namespace bound to an actorHost class?");
  }
  return reply as unknown as Reply;
}

// Fields the error's own construction sets, or that must never be copied onto an object.
const SKIPPED_FIELDS = new Set(["stack", "message", "cause", "__proto__"]);

/** Flattens a thrown value, keeping each own field that the serializer can carry. */
export function flattenError(error: unknown, depth = 0): RemoteError {
  if (!(error instanceof Error)) return { name: "Error", message: String(error), fields: {} };
  const fields: Record<string, unknown> = {};
  for (const [name, value] of Object.entries(error)) {
    if (SKIPPED_FIELDS.has(name)) continue;
    try {
      serialize(value);
      fields[name] = value;
    } catch {
      // A field the serializer cannot carry (a function, a class instance) stays behind.
    }
  }
  const cause = error.cause !== undefined && depth < 4 ? { cause: flattenError(error.cause, depth + 1) } : {};
  return { name: error.name, message: error.message, fields, ...cause };
}

/** Rebuilds an error on the caller's side: an `Error` with the remote name, message and fields. */
export function reviveError(remote: RemoteError): Error {
  const error = new Error(remote.message, remote.cause === undefined ? undefined : { cause: reviveError(remote.cause) });
  for (const [name, value] of Object.entries(remote.fields)) {
    if (SKIPPED_FIELDS.has(name)) continue;
    Object.defineProperty(error, name, { value, enumerable: true, writable: true, configurable: true });
  }
  error.name = remote.name;
  return error;
}

function isOptionalString(value: unknown): boolean {
  return value === undefined || typeof value === "string";
}

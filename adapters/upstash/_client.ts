// Running the Lua scripts: EVALSHA first, EVAL when the server answers NOSCRIPT (after a
// restart or SCRIPT FLUSH), turning failures into library errors that carry no stored data,
// plus the small decoders for what the scripts return.

import type { LuaScript } from "./_scripts.ts";
import { ConfigurationError, CorruptDataError, InvalidInputError, isQuarkError, StorageUnavailableError } from "../../src/errors.ts";
import { loadDriverPackage } from "../_shared/driver.ts";

/**
 * The part of an `@upstash/redis` client the adapter uses. The SDK's `Redis` class fits it,
 * and so does any object with the same two methods.
 */
export interface ScriptClient {
  /** Runs a cached script by its SHA-1. */
  evalsha(sha1: string, keys: string[], args: string[]): Promise<unknown>;
  /** Runs a script from its source (and caches it on the server). */
  eval(script: string, keys: string[], args: string[]): Promise<unknown>;
}

const digests = new Map<string, Promise<string>>();

function sha1Of(script: LuaScript): Promise<string> {
  let digest = digests.get(script.source);
  if (digest === undefined) {
    digest = crypto.subtle.digest("SHA-1", new TextEncoder().encode(script.source)).then((buffer) =>
      Array.from(new Uint8Array(buffer), (byte) => byte.toString(16).padStart(2, "0")).join("")
    );
    digests.set(script.source, digest);
  }
  return digest;
}

function isNoScript(error: unknown): boolean {
  return error instanceof Error && /\bNOSCRIPT\b/.test(error.message);
}

/** Runs a script in one round trip; a second one only when the server lost the script cache. */
export async function runScript(client: ScriptClient, script: LuaScript, keys: string[], args: string[]): Promise<unknown> {
  const sha1 = await sha1Of(script);
  try {
    return await client.evalsha(sha1, keys, args);
  } catch (error) {
    if (!isNoScript(error)) throw error;
    return await client.eval(script.source, keys, args);
  }
}

/** Loads the @upstash/redis package, or says how to install it (`ConfigurationError`). */
export function loadSdk<T>(load: () => Promise<T>): Promise<T> {
  return loadDriverPackage("upstash", "@upstash/redis", load);
}

/** A REST URL as it may appear in messages: no credentials, query or fragment. */
export function describeEndpoint(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.protocol}//${parsed.host}${parsed.pathname === "/" ? "" : parsed.pathname}`;
  } catch {
    return "an invalid URL";
  }
}

/** The REST URL of an `@upstash/redis` client, read from the SDK's HTTP client where it has one. */
export function endpointOfClient(client: unknown): string | undefined {
  const baseUrl = (client as { client?: { baseUrl?: unknown } } | undefined)?.client?.baseUrl;
  return typeof baseUrl === "string" && baseUrl !== "" ? describeEndpoint(baseUrl) : undefined;
}

// Redis and Upstash errors that refuse the input itself: sending it again fails the same way.
const PERMANENT_INPUT = /\bmax (request|key|single record) size exceeded|\bnot an integer or out of range|\binvalid expire time|\bexceeds maximum allowed size|\bproto-max-bulk-len|\bProtocol error/i;
// The token was refused: a configuration error, never fixed by retrying.
const UNAUTHORIZED = /^(Unauthorized|WRONGPASS|NOAUTH)\b/i;

/**
 * The SDK's message without what it appends: the whole command ("…, command was: [...]")
 * and the whole response body of an unparsable reply. Both can hold values, etags and keys.
 */
function withoutPayload(message: string): string {
  return message.split(", command was:")[0]!.replace(/^(Unable to parse response body):[\s\S]*$/, "$1");
}

/**
 * A copy of the driver's error that keeps its name and its root cause (the socket error
 * under "fetch failed") but no payload, and no link to the original error, whose message
 * holds the command with its values.
 */
function sanitized(error: unknown): Error {
  const name = error instanceof Error ? error.name : "Error";
  const message = withoutPayload(error instanceof Error ? error.message : String(error));
  let root: unknown = error;
  for (let depth = 0; depth < 8 && root instanceof Error && root.cause !== undefined; depth++) root = root.cause;
  // Socket and DNS errors carry no data; a JSON SyntaxError quotes the reply it choked on.
  const keep = root !== error && root instanceof Error && root.name !== "SyntaxError";
  const rootMessage = keep ? withoutPayload((root as Error).message) : "";
  const copy = new Error(rootMessage && !message.includes(rootMessage) ? `${message}: ${rootMessage}` : message);
  copy.name = name;
  if (keep) {
    const cause = new Error(rootMessage);
    cause.name = (root as Error).name;
    const code = (root as { code?: unknown }).code;
    if (code !== undefined) Object.assign(cause, { code });
    Object.assign(copy, { cause });
  }
  return copy;
}

/**
 * Turns whatever a driver call threw into a library error naming the backend, the operation
 * and the endpoint: WRONGTYPE (someone else's data under our key) is corrupt data, a refused
 * token a configuration error, input the server refuses as such `InvalidInputError`, and
 * everything else means the backend could not serve the request. The SDK's error is replaced
 * by a sanitized copy (see {@linkcode sanitized}), so no value or etag travels in any message.
 */
export function toLibraryError(backend: string, operation: string, error: unknown, endpoint?: string): Error {
  if (isQuarkError(error)) return error;
  const cause = sanitized(error);
  const where = endpoint === undefined ? operation : `${operation} on ${endpoint}`;
  if (/\bWRONGTYPE\b/.test(cause.message)) {
    return new CorruptDataError(`Storage backend ${backend} found a key of the wrong type during ${where}: ${cause.message}`, { cause });
  }
  if (UNAUTHORIZED.test(cause.message)) {
    return new ConfigurationError(
      `Storage backend ${backend} at ${endpoint ?? "its REST URL"} refused the token during ${operation} (${cause.message}): check UPSTASH_REDIS_REST_TOKEN`,
      { cause },
    );
  }
  if (PERMANENT_INPUT.test(cause.message)) return new InvalidInputError(backend, where, cause.message, { cause });
  return new StorageUnavailableError(backend, where, cause);
}

const ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
const ENCODE = Uint8Array.from(ALPHABET, (char) => char.charCodeAt(0));
const DECODE = new Int16Array(256).fill(-1);
for (let i = 0; i < ALPHABET.length; i++) DECODE[ALPHABET.charCodeAt(i)] = i;
const ascii = new TextDecoder();

type Base64Native = {
  toBase64?: (this: Uint8Array) => string;
};
const nativeFromBase64 = (Uint8Array as unknown as { fromBase64?: (text: string) => Uint8Array }).fromBase64;

/**
 * Encodes bytes as base64. Uses `Uint8Array.prototype.toBase64` where the runtime has it;
 * elsewhere a table-driven encoder, since `btoa` over a binary string is slow for big values.
 */
export function toBase64(bytes: Uint8Array): string {
  const native = (bytes as Base64Native).toBase64;
  if (native !== undefined) return native.call(bytes);
  const out = new Uint8Array(Math.ceil(bytes.length / 3) * 4);
  let o = 0;
  let i = 0;
  for (; i + 2 < bytes.length; i += 3) {
    const n = (bytes[i]! << 16) | (bytes[i + 1]! << 8) | bytes[i + 2]!;
    out[o++] = ENCODE[n >> 18]!;
    out[o++] = ENCODE[(n >> 12) & 63]!;
    out[o++] = ENCODE[(n >> 6) & 63]!;
    out[o++] = ENCODE[n & 63]!;
  }
  if (i < bytes.length) {
    const n = (bytes[i]! << 16) | ((bytes[i + 1] ?? 0) << 8);
    out[o++] = ENCODE[n >> 18]!;
    out[o++] = ENCODE[(n >> 12) & 63]!;
    out[o++] = i + 1 < bytes.length ? ENCODE[(n >> 6) & 63]! : 61;
    out[o++] = 61;
  }
  return ascii.decode(out);
}

/**
 * Decodes base64 written by {@linkcode toBase64}.
 * @throws {CorruptDataError} When the text is not canonical base64.
 */
export function fromBase64(text: string): Uint8Array {
  if (nativeFromBase64 !== undefined) {
    try {
      return nativeFromBase64(text);
    } catch (error) {
      throw new CorruptDataError("Stored Upstash value is not valid base64", { cause: error });
    }
  }
  const padding = text.endsWith("==") ? 2 : text.endsWith("=") ? 1 : 0;
  if (text.length % 4 !== 0) throw new CorruptDataError("Stored Upstash value is not valid base64");
  const out = new Uint8Array((text.length / 4) * 3 - padding);
  let o = 0;
  for (let i = 0; i < text.length; i += 4) {
    const last = i + 4 === text.length;
    const a = DECODE[text.charCodeAt(i)] ?? -1;
    const b = DECODE[text.charCodeAt(i + 1)] ?? -1;
    const c = last && padding === 2 ? 0 : DECODE[text.charCodeAt(i + 2)] ?? -1;
    const d = last && padding >= 1 ? 0 : DECODE[text.charCodeAt(i + 3)] ?? -1;
    if ((a | b | c | d) < 0) throw new CorruptDataError("Stored Upstash value is not valid base64");
    const n = (a << 18) | (b << 12) | (c << 6) | d;
    out[o++] = n >> 16;
    if (o < out.length) out[o++] = (n >> 8) & 255;
    if (o < out.length) out[o++] = n & 255;
  }
  return out;
}

// Messages describe an unexpected reply by its shape only: it may hold stored data.
function shapeOf(value: unknown): string {
  if (typeof value === "string") return `a string of ${value.length} characters${value.startsWith("~") ? "" : " without the \"~\" guard"}`;
  if (Array.isArray(value)) return `an array of ${value.length} items`;
  return value === null ? "null" : typeof value;
}

/** A string a script returned, without its "~" guard. */
export function scriptString(value: unknown): string {
  if (typeof value !== "string" || !value.startsWith("~")) {
    throw new CorruptDataError(`Unexpected Upstash script reply: expected a guarded string, got ${shapeOf(value)}`);
  }
  return value.slice(1);
}

/** A number a script returned. */
export function scriptNumber(value: unknown): number {
  const number = typeof value === "string" ? Number(value) : value;
  if (typeof number !== "number" || !Number.isFinite(number)) {
    throw new CorruptDataError(`Unexpected Upstash script reply: expected a number, got ${shapeOf(value)}`);
  }
  return number;
}

/** An array a script returned. */
export function scriptArray(value: unknown): unknown[] {
  if (!Array.isArray(value)) {
    throw new CorruptDataError(`Unexpected Upstash script reply: expected an array, got ${shapeOf(value)}`);
  }
  return value;
}

/**
 * The size in bytes of the JSON request body the SDK sends for one script call
 * (`["EVALSHA", sha1, keyCount, ...keys, ...args]`), counted without building it. Base64
 * values are ASCII; other strings are measured with JSON's escapes.
 */
export function requestBytes(keys: readonly string[], args: readonly string[]): number {
  let total = 64;
  for (const text of [...keys, ...args]) total += jsonStringBytes(text) + 1;
  return total;
}

function jsonStringBytes(text: string): number {
  // ASCII without quotes, backslashes or control characters is by far the common case.
  if (/^[\x20-\x21\x23-\x5b\x5d-\x7e]*$/.test(text)) return text.length + 2;
  let bytes = 2;
  for (const char of text) {
    const code = char.codePointAt(0)!;
    if (code < 0x20) bytes += 6;
    else if (code === 0x22 || code === 0x5c) bytes += 2;
    else bytes += code < 0x80 ? 1 : code < 0x800 ? 2 : code < 0x10000 ? 3 : 4;
  }
  return bytes;
}


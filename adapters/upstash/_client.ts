// Running the Lua scripts: EVALSHA first, EVAL when the server answers NOSCRIPT (after a
// restart or SCRIPT FLUSH), plus the small decoders for what the scripts return.

import type { LuaScript } from "./_scripts.ts";
import { CorruptDataError, isQuarkError, StorageUnavailableError } from "../../src/errors.ts";

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

/**
 * Turns whatever a driver call threw into a library error: WRONGTYPE (someone else's data
 * under our key) is corrupt data, everything else means the backend is unavailable. The SDK
 * appends the whole command to its messages; that part is cut, since it carries the values.
 */
export function toLibraryError(backend: string, operation: string, error: unknown): Error {
  if (isQuarkError(error)) return error;
  const message = error instanceof Error ? error.message : String(error);
  const short = message.split(", command was: ")[0]!;
  const cause = short === message ? error : new Error(short, { cause: error });
  if (/\bWRONGTYPE\b/.test(short)) {
    return new CorruptDataError(`Storage backend ${backend} found a key of the wrong type during ${operation}: ${short}`, { cause });
  }
  return new StorageUnavailableError(backend, operation, cause);
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

/** A string a script returned, without its "~" guard. */
export function scriptString(value: unknown): string {
  if (typeof value !== "string" || !value.startsWith("~")) {
    throw new CorruptDataError(`Unexpected Upstash script reply: ${JSON.stringify(value)?.slice(0, 100)}`);
  }
  return value.slice(1);
}

/** A number a script returned. */
export function scriptNumber(value: unknown): number {
  const number = typeof value === "string" ? Number(value) : value;
  if (typeof number !== "number" || !Number.isFinite(number)) {
    throw new CorruptDataError(`Unexpected Upstash script reply: ${JSON.stringify(value)?.slice(0, 100)}`);
  }
  return number;
}

/** An array a script returned. */
export function scriptArray(value: unknown): unknown[] {
  if (!Array.isArray(value)) {
    throw new CorruptDataError(`Unexpected Upstash script reply: ${JSON.stringify(value)?.slice(0, 100)}`);
  }
  return value;
}

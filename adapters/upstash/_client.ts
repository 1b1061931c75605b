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

/** Encodes bytes as base64, in chunks so large values do not overflow the argument stack. */
export function toBase64(bytes: Uint8Array): string {
  let binary = "";
  for (let offset = 0; offset < bytes.length; offset += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(offset, offset + 0x8000));
  }
  return btoa(binary);
}

/** Decodes base64 written by {@linkcode toBase64}. */
export function fromBase64(text: string): Uint8Array {
  let binary: string;
  try {
    binary = atob(text);
  } catch (error) {
    throw new CorruptDataError("Stored Upstash value is not valid base64", { cause: error });
  }
  const bytes = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) bytes[i] = binary.charCodeAt(i);
  return bytes;
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

// How events are stored in a stream's list, and read back from it or from the global log.
//
// Format 0.2, written by the APPEND script: [position,createdAt,"<type>","<base64 data>"]
// plus "<base64 metadata>" when the event has some. The client sends the part from the type
// on; the script puts the position and its own clock in front.
// Format 0.1, written before: ["<type>","<base64 data>"], with no position, time or metadata.
// A stored element's first item tells them apart: a number in 0.2, the type (a string) in 0.1.

import type { GlobalEvent, NewEvent, StoredEvent } from "../../src/events/types.ts";
import { CorruptDataError } from "../../src/errors.ts";
import { fromBase64, scriptString, toBase64 } from "./_client.ts";
import { streamOfTag } from "./_keys.ts";

/** The JSON an append sends for one event: `["<type>","<base64 data>"(,"<base64 metadata>")]`. */
export function encodeEvent(event: NewEvent): string {
  const fields = [event.type, toBase64(event.data)];
  if (event.metadata !== undefined) fields.push(toBase64(event.metadata));
  return JSON.stringify(fields);
}

function corrupt(stream: string, version: number, cause?: unknown): CorruptDataError {
  return new CorruptDataError(`Event ${version} of stream ${JSON.stringify(stream)} is not a stored event`, cause === undefined ? {} : { cause });
}

/** Decodes one list element, as a script returned it (with its "~" guard), in either format. */
export function decodeEvent(stream: string, version: number, item: unknown): StoredEvent {
  let parsed: unknown;
  try {
    parsed = JSON.parse(scriptString(item));
  } catch (error) {
    throw corrupt(stream, version, error);
  }
  if (!Array.isArray(parsed)) throw corrupt(stream, version);
  if (typeof parsed[0] === "string" && typeof parsed[1] === "string" && parsed.length === 2) {
    return { stream, version, type: parsed[0], data: fromBase64(parsed[1]) };
  }
  const [position, createdAt, type, data, metadata] = parsed as unknown[];
  const valid = Number.isSafeInteger(position) && Number.isSafeInteger(createdAt) && typeof type === "string" && typeof data === "string" &&
    (metadata === undefined || typeof metadata === "string") && parsed.length <= 5;
  if (!valid) throw corrupt(stream, version);
  return {
    stream,
    version,
    type: type as string,
    data: fromBase64(data as string),
    ...(metadata === undefined ? {} : { metadata: fromBase64(metadata as string) }),
    createdAt: new Date(createdAt as number),
    position: BigInt(position as number),
  };
}

/**
 * Decodes one entry of a READ_ALL page: the log member `<version>:<stream hash tag>` and the
 * list element it names. Only 0.2 elements are in the log, so the event has a position.
 */
export function decodeGlobalEvent(member: unknown, item: unknown): GlobalEvent {
  const text = scriptString(member);
  const colon = text.indexOf(":");
  const version = Number(text.slice(0, colon));
  if (colon < 1 || !Number.isSafeInteger(version) || version < 1) {
    throw new CorruptDataError(`Not an Upstash global log member: a string of ${text.length} characters`);
  }
  const stream = streamOfTag(text.slice(colon + 1));
  const event = decodeEvent(stream, version, item);
  if (event.position === undefined) throw corrupt(stream, version);
  return event as GlobalEvent;
}

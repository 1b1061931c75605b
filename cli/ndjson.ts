// The export format: one JSON object per line. Values and payloads are the stored bytes in
// base64, exactly as the backend holds them (compressed, encrypted and bound to their key or
// stream position), so an export needs no codec keys and an import restores them unchanged.
import type { StateKey } from "../mod.ts";
import { UsageError } from "./usage_error.ts";

export const FORMAT = "quark-export";
export const FORMAT_VERSION = 1;

export type ExportLine =
  | { readonly kind: "header"; readonly format: typeof FORMAT; readonly version: number }
  | {
    readonly kind: "state";
    readonly storage: string;
    readonly key: StateKey;
    readonly etag: string;
    readonly revision: number;
    readonly expiresAt?: number | undefined;
    readonly value: string;
  }
  | {
    readonly kind: "event";
    readonly stream: string;
    readonly version: number;
    readonly type: string;
    readonly data: string;
    /** The event's metadata bytes in base64, when it has any. */
    readonly metadata?: string | undefined;
  }
  | { readonly kind: "snapshot"; readonly stream: string; readonly version: number; readonly data: string };

export function toBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString("base64");
}

export function fromBase64(text: string): Uint8Array {
  return new Uint8Array(Buffer.from(text, "base64"));
}

export function formatLine(line: ExportLine): string {
  return `${JSON.stringify(line)}\n`;
}

const KINDS = new Set(["header", "state", "event", "snapshot"]);

/** Parses one line; `lineNumber` names it in the error. */
export function parseLine(text: string, lineNumber: number): ExportLine {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new UsageError(`line ${lineNumber}: not JSON`);
  }
  const kind = (parsed as { kind?: unknown })?.kind;
  if (typeof kind !== "string" || !KINDS.has(kind)) throw new UsageError(`line ${lineNumber}: unknown kind ${JSON.stringify(kind)}`);
  const line = parsed as ExportLine;
  if (line.kind === "header" && (line.format !== FORMAT || line.version !== FORMAT_VERSION)) {
    throw new UsageError(`line ${lineNumber}: not a ${FORMAT} v${FORMAT_VERSION} file`);
  }
  if (line.kind === "state" && (typeof line.key?.actorType !== "string" || typeof line.key.actorId !== "string" || typeof line.key.stateName !== "string" || typeof line.value !== "string" || typeof line.etag !== "string")) {
    throw new UsageError(`line ${lineNumber}: a state needs key, etag and value`);
  }
  if ((line.kind === "event" || line.kind === "snapshot") && (typeof line.stream !== "string" || !Number.isSafeInteger(line.version) || typeof line.data !== "string")) {
    throw new UsageError(`line ${lineNumber}: an ${line.kind} needs stream, version and data`);
  }
  if (line.kind === "event" && line.metadata !== undefined && typeof line.metadata !== "string") {
    throw new UsageError(`line ${lineNumber}: an event's metadata must be base64 text`);
  }
  return line;
}

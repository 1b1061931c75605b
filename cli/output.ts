// How commands print: aligned tables for people, JSON for programs.
import { toBase64 } from "./ndjson.ts";

/**
 * Where the CLI writes and what it reads relative paths against. Progress goes to `stderr`: a
 * redrawn bar when `stderr.isTTY`, plain lines otherwise.
 *
 * @example Capturing a run's output
 * ```ts
 * import { runCli, type CliIo } from "@quark/persistence/cli";
 * let out = "";
 * const io: CliIo = { stdout: { write: (text: string) => (out += text) }, stderr: { write: () => {} }, cwd: "." };
 * if ((await runCli(["help"], io)) !== 0 || !out.startsWith("usage: quark")) throw new Error("no usage");
 * ```
 */
export interface CliIo {
  /** Results: tables, JSON, decoded values. */
  readonly stdout: { write(text: string): unknown; readonly isTTY?: boolean | undefined; readonly columns?: number | undefined };
  /** Progress, summaries and errors. */
  readonly stderr: { write(text: string): unknown; readonly isTTY?: boolean | undefined; readonly columns?: number | undefined };
  /** The folder relative paths are resolved against. */
  readonly cwd: string;
  /** Aborted when the user interrupts (Ctrl-C); long commands stop at the next safe point. */
  readonly signal?: AbortSignal | undefined;
}

export function table(rows: readonly (readonly string[])[]): string {
  const widths = rows[0]?.map((_, column) => Math.max(...rows.map((row) => (row[column] ?? "").length))) ?? [];
  return rows.map((row) => row.map((cell, column) => cell.padEnd(widths[column] ?? 0)).join("  ").trimEnd()).join("\n") + "\n";
}

// Stored values hold what devalue round-trips (bigint, Date, Map, Set, bytes); JSON cannot.
function jsonSafe(_key: string, value: unknown): unknown {
  if (typeof value === "bigint") return `${value}n`;
  if (value instanceof Map) return Object.fromEntries(value);
  if (value instanceof Set) return [...value];
  if (value instanceof Uint8Array) return { base64: toBase64(value) };
  return value;
}

export function toJson(value: unknown, indent?: number): string {
  return JSON.stringify(value, jsonSafe, indent);
}

export function isoOrDash(epochMs: number | undefined): string {
  return epochMs === undefined ? "-" : new Date(epochMs).toISOString();
}

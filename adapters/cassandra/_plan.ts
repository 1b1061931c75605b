// How one write or delete becomes a lightweight-transaction statement, and how what a
// failed LWT (or a serial read) reports decides between success, conflict and another try.
// Private to adapters/cassandra; see docs/backends/cassandra.md for the reasoning.

import type { StateKey, TransactOperation, WriteResult } from "../../src/storage/types.ts";
import { CorruptDataError } from "../../src/errors.ts";
import { type CassandraRow, toNumber } from "./_driver.ts";

/** `expires_at` of a state without TTL: the largest bigint, so `expires_at > now` holds. */
export const NEVER = "9223372036854775807";

/** Cassandra refuses TTLs over 20 years. */
const MAX_TTL_SECONDS = 630_720_000;

/** A row as stored, whether or not it has expired; `null` when there is no row. */
export interface Observed {
  readonly etag: string;
  /** Absent when the statement that observed the row did not return the column. */
  readonly revision?: number;
  /** Epoch milliseconds; `null` without TTL. */
  readonly expiresAt: number | null;
}

/** What a statement's condition assumes is stored. */
export type Basis =
  | { readonly kind: "absent" }
  | { readonly kind: "live"; readonly etag: string; readonly revision?: number }
  | { readonly kind: "expired"; readonly etag: string; readonly revision?: number; readonly expiresAt: number }
  | { readonly kind: "anyLive" };

/** One operation ready to send: the condition it relies on and, for writes, the revision to store. */
export interface Step {
  readonly operation: TransactOperation;
  readonly basis: Basis;
  readonly revision: number;
  /** Whether the write may create the state, so its list-index row must exist first. */
  readonly creates: boolean;
}

/** What planning one operation decided. */
export type Plan =
  | { readonly kind: "send"; readonly step: Step }
  /** Settled without sending: a repeated write, or a delete of an absent state. */
  | { readonly kind: "done"; readonly result: WriteResult | boolean; readonly assert?: Step }
  | { readonly kind: "conflict"; readonly actualEtag: string | null }
  /** The observation lacks what planning needs (a revision); read the row serially first. */
  | { readonly kind: "observe" };

export function liveOf(observed: Observed | null, now: number): Observed | null {
  if (observed === null) return null;
  return observed.expiresAt === null || observed.expiresAt > now ? observed : null;
}

function basisOf(observed: Observed | null, now: number): Basis {
  if (observed === null) return { kind: "absent" };
  if (liveOf(observed, now)) return { kind: "live", etag: observed.etag, revision: observed.revision };
  return { kind: "expired", etag: observed.etag, revision: observed.revision, expiresAt: observed.expiresAt! };
}

/**
 * Plans an operation from a linearizable observation of its row: the result of a failed
 * LWT or a serial read. Deciding a conflict from such an observation is sound because
 * etags never repeat: once another etag is stored, the expected one can never return.
 */
export function planFromObservation(operation: TransactOperation, observed: Observed | null, now: number): Plan {
  const live = liveOf(observed, now);
  const basis = basisOf(observed, now);
  if (operation.kind === "write") {
    if (live !== null && live.etag === operation.etag) {
      return live.revision === undefined ? { kind: "observe" } : { kind: "done", result: { etag: live.etag, revision: live.revision } };
    }
    if (!operation.lastWriteWins && (live?.etag ?? null) !== operation.expectedEtag) {
      return { kind: "conflict", actualEtag: live?.etag ?? null };
    }
    if (live !== null && live.revision === undefined) return { kind: "observe" };
    return { kind: "send", step: { operation, basis, revision: (live?.revision ?? 0) + 1, creates: live === null } };
  }
  if (live === null) {
    // Absent: the delete reports false. In a transaction the row's absence is still asserted.
    return { kind: "done", result: false, assert: { operation, basis, revision: 0, creates: false } };
  }
  if (!operation.lastWriteWins && operation.expectedEtag !== live.etag) {
    return { kind: "conflict", actualEtag: live.etag };
  }
  return { kind: "send", step: { operation, basis, revision: 0, creates: false } };
}

/**
 * Plans an operation before anything is known about its row, from the caller's
 * expectation and the etag-to-revision cache. Returns `observe` when only a read can tell.
 */
export function planOptimistic(operation: TransactOperation, cachedRevision: number | undefined, single: boolean): Plan {
  if (operation.kind === "write") {
    if (operation.lastWriteWins || operation.expectedEtag === null) {
      return { kind: "send", step: { operation, basis: { kind: "absent" }, revision: 1, creates: true } };
    }
    if (cachedRevision === undefined) return { kind: "observe" };
    const basis: Basis = { kind: "live", etag: operation.expectedEtag, revision: cachedRevision };
    return { kind: "send", step: { operation, basis, revision: cachedRevision + 1, creates: false } };
  }
  if (operation.lastWriteWins) {
    if (!single) return { kind: "observe" };
    return { kind: "send", step: { operation, basis: { kind: "anyLive" }, revision: 0, creates: false } };
  }
  const basis: Basis = operation.expectedEtag === null
    ? { kind: "absent" }
    : { kind: "live", etag: operation.expectedEtag, revision: cachedRevision };
  return { kind: "send", step: { operation, basis, revision: 0, creates: false } };
}

/** The `IF …` clause and its parameters for a basis. */
export function conditionOf(basis: Basis, now: number): { clause: string; params: unknown[] } {
  switch (basis.kind) {
    case "absent":
      // Naming every column makes a failed LWT return all three when a row exists.
      return { clause: "IF etag = null AND revision = null AND expires_at = null", params: [] };
    case "live":
      return basis.revision === undefined
        ? { clause: "IF etag = ? AND expires_at > ?", params: [basis.etag, String(now)] }
        : { clause: "IF etag = ? AND revision = ? AND expires_at > ?", params: [basis.etag, String(basis.revision), String(now)] };
    case "expired":
      return basis.revision === undefined
        ? { clause: "IF etag = ? AND expires_at = ?", params: [basis.etag, String(basis.expiresAt)] }
        : { clause: "IF etag = ? AND revision = ? AND expires_at = ?", params: [basis.etag, String(basis.revision), String(basis.expiresAt)] };
    case "anyLive":
      return { clause: "IF expires_at > ?", params: [String(now)] };
  }
}

/**
 * Cassandra's TTL for a write, in whole seconds. Cassandra counts from the start of the
 * server's current second, so one second more keeps the row at least as long as
 * `expires_at` says; reads filter on `expires_at`, which is exact.
 */
export function ttlSecondsOf(ttlMs: number | undefined): number {
  if (ttlMs === undefined) return 0;
  const seconds = Math.ceil(ttlMs / 1000) + 1;
  if (seconds > MAX_TTL_SECONDS) throw new RangeError(`Cassandra TTLs are at most 20 years, got ${ttlMs} ms`);
  return seconds;
}

export function expiresAtOf(ttlMs: number | undefined, now: number): string {
  return ttlMs === undefined ? NEVER : String(now + ttlMs);
}

/** `expires_at` as epoch milliseconds, or `null` without TTL. */
export function parseExpiresAt(value: unknown): number | null {
  if (value === null || value === undefined) return null;
  if (String(value) === NEVER) return null;
  const number = toNumber(value);
  if (!Number.isFinite(number)) throw new CorruptDataError(`Cassandra expires_at is not a number: ${String(value)}`);
  return number;
}

/** The row a failed LWT or a serial read reported; `null` when it reported none. */
export function observedOf(row: CassandraRow | undefined): Observed | null {
  if (row === undefined || typeof row.etag !== "string") return null;
  const revision = row.revision === undefined || row.revision === null ? undefined : toNumber(row.revision);
  return { etag: row.etag, revision, expiresAt: "expires_at" in row ? parseExpiresAt(row.expires_at) : null };
}

/**
 * Refuses keys that UTF-8 cannot carry. The driver would replace a lone surrogate with
 * U+FFFD, so two different ids could land on one row.
 */
export function assertEncodableKey(key: StateKey): void {
  for (const part of [key.actorType, key.actorId, key.stateName]) {
    if (typeof part !== "string") throw new TypeError("State key parts must be strings");
    if (!isWellFormed(part)) {
      throw new RangeError(`Cassandra text cannot hold lone UTF-16 surrogates: ${JSON.stringify(part)}`);
    }
  }
}

function isWellFormed(text: string): boolean {
  const native = (text as { isWellFormed?: () => boolean }).isWellFormed;
  if (native) return native.call(text);
  return !/[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/.test(text);
}

/** The smallest string above every string that starts with `prefix`, or `undefined` if none. */
export function prefixEnd(prefix: string): string | undefined {
  const points = [...prefix].map((char) => char.codePointAt(0)!);
  while (points.length > 0) {
    let last = points.pop()! + 1;
    if (last === 0xd800) last = 0xe000;
    if (last <= 0x10ffff) return String.fromCodePoint(...points, last);
  }
  return undefined;
}

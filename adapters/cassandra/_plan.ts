// How one write or delete becomes a lightweight-transaction statement, and how what a
// failed LWT (or a serial read) reports decides between success, conflict and another try.
// Private to adapters/cassandra; see docs/backends/cassandra.md for the reasoning.

import type { StateKey, TransactOperation, WriteResult } from "../../src/storage/types.ts";
import { assertKeyWithinLimit, assertValidKey, encodeKey } from "../../src/storage/keys.ts";
import { type CassandraRow, DRIVER_NAME, toNumber } from "./_driver.ts";

/** Cassandra refuses TTLs over 20 years. */
const MAX_TTL_SECONDS = 630_720_000;

/**
 * The longest key, in UTF-8 bytes of `encodeKey(key)`, that every table can hold. Cassandra
 * refuses a partition key over 65,535 bytes, and serialises the composite
 * `(actor_type, actor_id)` as each part with a 2-byte length and a 1-byte end marker, so
 * type and id together may take 65,529 bytes; the index's clustering `(actor_id, state_name)`
 * may take 65,535. `encodeKey` adds two separators (and escapes only ever lengthen), so a key
 * whose encoding fits 65,531 bytes fits every one of those.
 */
export const MAX_KEY_BYTES = 65_531;

/** A row as a failed LWT or a serial read reported it; `null` when there is no live row. */
export interface Observed {
  readonly etag: string;
  /** Absent when the statement that observed the row did not return the column. */
  readonly revision?: number | undefined;
}

/** What a statement's condition assumes is stored. */
export type Basis =
  | { readonly kind: "absent" }
  | { readonly kind: "live"; readonly etag: string; readonly revision?: number | undefined }
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

function basisOf(observed: Observed | null): Basis {
  return observed === null ? { kind: "absent" } : { kind: "live", etag: observed.etag, revision: observed.revision };
}

/**
 * Plans an operation from a linearizable observation of its row: the result of a failed
 * LWT or a serial read. Deciding a conflict from such an observation is sound because
 * etags never repeat: once another etag is stored, the expected one can never return.
 */
export function planFromObservation(operation: TransactOperation, observed: Observed | null): Plan {
  // Cassandra drops expired cells by its own clock, so whatever it reports is live.
  const live = observed;
  const basis = basisOf(observed);
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

/**
 * The `IF …` clause and its parameters for a basis. Expiry needs no clause: a cell past its
 * TTL is null to Cassandra's own clock, in conditions as in reads.
 */
export function conditionOf(basis: Basis): { clause: string; params: unknown[] } {
  switch (basis.kind) {
    case "absent":
      // Naming both columns makes a failed LWT return both when a row exists.
      return { clause: "IF etag = null AND revision = null", params: [] };
    case "live":
      return basis.revision === undefined
        ? { clause: "IF etag = ?", params: [basis.etag] }
        : { clause: "IF etag = ? AND revision = ?", params: [basis.etag, String(basis.revision)] };
    case "anyLive":
      return { clause: "IF EXISTS", params: [] };
  }
}

/**
 * Cassandra's TTL for a write, in whole seconds. Cassandra expires a cell once its own clock
 * reaches the second it was written in plus the TTL, so a TTL of `s` keeps it between `s - 1`
 * and `s` seconds; one second more than `ttlMs` rounded up keeps it at least `ttlMs`, and at
 * most 2 s longer.
 */
export function ttlSecondsOf(ttlMs: number | undefined): number {
  if (ttlMs === undefined) return 0;
  const seconds = Math.ceil(ttlMs / 1000) + 1;
  if (seconds > MAX_TTL_SECONDS) throw new RangeError(`Cassandra TTLs are at most 20 years, got ${ttlMs} ms`);
  return seconds;
}

/** The row a failed LWT or a serial read reported; `null` when it reported none. */
export function observedOf(row: CassandraRow | undefined): Observed | null {
  if (row === undefined || typeof row.etag !== "string") return null;
  const revision = row.revision === undefined || row.revision === null ? undefined : toNumber(row.revision);
  return { etag: row.etag, revision };
}

/**
 * Refuses a key before any CQL is sent: malformed parts (lone surrogates, NUL) and keys
 * longer than {@linkcode MAX_KEY_BYTES}.
 */
export function assertStorableKey(key: StateKey): void {
  assertValidKey(key);
  assertKeyWithinLimit(DRIVER_NAME, "key", encodeKey(key), MAX_KEY_BYTES);
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

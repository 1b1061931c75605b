// How a lease is stored: one state per leased actor, holding a small JSON record. The record
// carries its own expiry, so a takeover never depends on when a backend purges TTL'd rows.
import type { StateKey } from "../storage/types.ts";
import { CorruptDataError } from "../errors.ts";

/** The actor type under which every lease is stored, apart from the actors' own states. */
export const LEASE_ACTOR_TYPE = "$lease";

/** What one stored lease says. */
export interface LeaseRecord {
  /** Who holds (or last held) the lease. */
  readonly holder: string;
  /** How many times the lease was acquired; it grows by one with every acquisition. */
  readonly takeover: number;
  /** When the lease expires, in epoch milliseconds on the holder's clock. */
  readonly expiresAt: number;
  /** Whether the holder gave the lease up before it expired. */
  readonly released: boolean;
}

/**
 * The key of an actor's lease. The actor type becomes the state name, so the mapping stays
 * injective without any escaping of its own.
 */
export function leaseKey(actorType: string, actorId: string): StateKey {
  return { actorType: LEASE_ACTOR_TYPE, actorId, stateName: actorType };
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

export function encodeLease(record: LeaseRecord): Uint8Array {
  return encoder.encode(JSON.stringify(record));
}

export function decodeLease(bytes: Uint8Array, key: StateKey): LeaseRecord {
  let parsed: Partial<LeaseRecord> | undefined;
  try {
    parsed = JSON.parse(decoder.decode(bytes)) as Partial<LeaseRecord>;
  } catch (cause) {
    throw new CorruptDataError(`The lease of actor ${JSON.stringify(key.stateName)}/${JSON.stringify(key.actorId)} is not JSON`, { cause });
  }
  const { holder, takeover, expiresAt, released } = parsed ?? {};
  if (typeof holder !== "string" || !Number.isSafeInteger(takeover) || !Number.isFinite(expiresAt) || typeof released !== "boolean") {
    throw new CorruptDataError(`The lease of actor ${JSON.stringify(key.stateName)}/${JSON.stringify(key.actorId)} is not a lease record`);
  }
  return { holder, takeover: takeover!, expiresAt: expiresAt!, released };
}

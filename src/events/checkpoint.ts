// A reader's position in the global order, kept in any StateStorage under an etag, so two
// processes that follow the same order can never both advance it from one value.
import type { StateKey, StateStorage } from "../storage/types.ts";
import { CorruptDataError } from "../errors.ts";

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A position as read: the value, and the etag a conditional write must name. */
export interface StoredPosition {
  readonly position: bigint;
  /** `null` when nothing is stored yet. */
  readonly etag: string | null;
}

export function encodePosition(position: bigint): Uint8Array {
  return encoder.encode(position.toString());
}

export async function readPosition(storage: StateStorage, key: StateKey): Promise<StoredPosition> {
  const record = await storage.read(key);
  if (!record) return { position: 0n, etag: null };
  const text = decoder.decode(record.value);
  if (!/^\d+$/.test(text)) throw new CorruptDataError(`Checkpoint ${JSON.stringify(key.actorId)} holds ${JSON.stringify(text.slice(0, 40))}, not a position`);
  return { position: BigInt(text), etag: record.etag };
}

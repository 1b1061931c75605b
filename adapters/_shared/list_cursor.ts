// The list cursor of the storages that page by (actorId, stateName) within one actor type:
// the last key of a page, as JSON, so any id or state name round-trips.

export function encodeListCursor(actorId: string, stateName: string): string {
  return JSON.stringify([actorId, stateName]);
}

/** @throws {RangeError} When the cursor was not made by {@linkcode encodeListCursor}. */
export function decodeListCursor(cursor: string): [string, string] {
  try {
    const parsed: unknown = JSON.parse(cursor);
    if (Array.isArray(parsed) && parsed.length === 2 && typeof parsed[0] === "string" && typeof parsed[1] === "string") return [parsed[0], parsed[1]];
  } catch {
    // Falls through to the RangeError below.
  }
  throw new RangeError(`Not a list cursor of this storage: ${JSON.stringify(cursor)}`);
}

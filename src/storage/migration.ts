import type { StateKey, StateStorage, StoredRecord } from "./types.ts";
import { CapabilityError, isQuarkError } from "../errors.ts";

/**
 * Options for {@linkcode copyStates}.
 *
 * @example Copying two actor types in large pages
 * ```ts
 * import { copyStates, memoryStorage, type CopyStatesOptions } from "@quark/persistence";
 * const options: CopyStatesOptions = { from: memoryStorage(), to: memoryStorage(), actorTypes: ["account", "order"], pageSize: 500 };
 * const report = await copyStates(options);
 * if (report.copied !== 0) throw new Error("an empty source has nothing to copy");
 * ```
 */
export interface CopyStatesOptions {
  /** The storage to read from; it needs `list`. */
  readonly from: StateStorage;
  /** The storage to write to. */
  readonly to: StateStorage;
  /** The actor types to copy. */
  readonly actorTypes: readonly string[];
  /** Keys per page while listing. Defaults to 100. */
  readonly pageSize?: number | undefined;
  /** The clock, for the remaining TTL of expiring values. Defaults to `Date.now`. */
  readonly now?: () => number;
}

/**
 * What {@linkcode copyStates} did.
 *
 * @example Running a copy again after an interruption
 * ```ts
 * import { copyStates, memoryStorage, type CopyReport } from "@quark/persistence";
 * const from = memoryStorage();
 * const to = memoryStorage();
 * const key = { actorType: "account", actorId: "42", stateName: "balance" };
 * await from.write({ key, value: new Uint8Array([1]), etag: crypto.randomUUID(), expectedEtag: null });
 * await copyStates({ from, to, actorTypes: ["account"] });
 * const again: CopyReport = await copyStates({ from, to, actorTypes: ["account"] });
 * if (again.copied !== 0 || again.alreadyCopied !== 1 || again.keptNewer.length !== 0) throw new Error("copied twice");
 * ```
 */
export interface CopyReport {
  /** States written to the target. */
  readonly copied: number;
  /** States already in the target with the same etag: copied by an earlier run. */
  readonly alreadyCopied: number;
  /** States the target holds under another etag: written there since; left alone. */
  readonly keptNewer: StateKey[];
}

/**
 * Offline migration: copies every state of some actor types from one storage to another,
 * bytes and etag unchanged. Each copy is a create-only write carrying the source etag, so
 * running it again after an interruption copies only what is missing, and a state already
 * changed in the target is never overwritten.
 *
 * @param options Source, target and actor types.
 * @returns Counts of what was copied and what was left.
 * @throws {CapabilityError} When the source cannot list keys.
 *
 * @example Moving accounts from memory to another storage
 * ```ts
 * import { copyStates, memoryStorage } from "@quark/persistence";
 * const from = memoryStorage();
 * const to = memoryStorage();
 * const key = { actorType: "account", actorId: "42", stateName: "balance" };
 * await from.write({ key, value: new Uint8Array([1]), etag: crypto.randomUUID(), expectedEtag: null });
 * const report = await copyStates({ from, to, actorTypes: ["account"] });
 * if (report.copied !== 1 || (await to.read(key))?.value[0] !== 1) throw new Error("not copied");
 * ```
 */
export async function copyStates(options: CopyStatesOptions): Promise<CopyReport> {
  const { from, to } = options;
  if (!from.capabilities.list) throw new CapabilityError(from.name, "list", "copyStates needs to list the source");
  const now = options.now ?? Date.now;
  let copied = 0;
  let alreadyCopied = 0;
  const keptNewer: StateKey[] = [];
  for (const actorType of options.actorTypes) {
    let cursor: string | undefined;
    do {
      const page = await from.list({ actorType, cursor, limit: options.pageSize ?? 100 });
      for (const key of page.keys) {
        const record = await from.read(key);
        if (!record) continue;
        const outcome = await copyRecord(to, key, record, now());
        if (outcome === "copied") copied++;
        else if (outcome === "already") alreadyCopied++;
        else if (outcome === "newer") keptNewer.push(key);
      }
      cursor = page.cursor;
    } while (cursor !== undefined);
  }
  return { copied, alreadyCopied, keptNewer };
}

type CopyOutcome = "copied" | "already" | "newer" | "expired";

async function copyRecord(to: StateStorage, key: StateKey, record: StoredRecord, now: number): Promise<CopyOutcome> {
  const ttlMs = record.expiresAt === undefined ? undefined : record.expiresAt - now;
  if (ttlMs !== undefined && ttlMs <= 0) return "expired";
  const existing = await to.read(key);
  if (existing) return existing.etag === record.etag ? "already" : "newer";
  try {
    await to.write({ key, value: record.value, etag: record.etag, expectedEtag: null, ttlMs });
    return "copied";
  } catch (error) {
    // Another writer created it between the read and the create-only write.
    if (isQuarkError(error, "STATE_CONFLICT")) return "newer";
    throw error;
  }
}

/**
 * Options for {@linkcode readThroughStorage}.
 *
 * @example A delete removes the old copy too
 * ```ts
 * import { memoryStorage, readThroughStorage, type ReadThroughOptions } from "@quark/persistence";
 * const options: ReadThroughOptions = { primary: memoryStorage(), fallback: memoryStorage() };
 * const key = { actorType: "account", actorId: "7", stateName: "balance" };
 * const { etag } = await options.fallback.write({ key, value: new Uint8Array([7]), etag: crypto.randomUUID(), expectedEtag: null });
 * const storage = readThroughStorage(options);
 * await storage.delete({ key, expectedEtag: etag });
 * if ((await options.fallback.read(key)) !== null) throw new Error("the old copy would come back");
 * ```
 */
export interface ReadThroughOptions {
  /** The new storage: every write goes here. */
  readonly primary: StateStorage;
  /** The old storage: read only when the primary has nothing, and cleaned up on delete. */
  readonly fallback: StateStorage;
}

/**
 * Lazy migration: reads from the new storage, and on a miss reads the old one and copies
 * the state across (create-only, same etag) before returning it, so each state moves the
 * first time it is used. Writes go to the new storage, after the state has been brought
 * across, so a create-only write sees a state that still lives only in the old storage and
 * conflicts with it truthfully. `list` comes from the primary and sees only migrated states,
 * so finish a migration with {@linkcode copyStates}.
 *
 * A deleted state never comes back. A delete (alone or inside `transact`) first brings the
 * state across, then removes the old copy, and only then deletes the new one: once the new
 * copy is gone, no old copy is left to read through. A read that fetched the old copy
 * before a delete and copies it across after that delete has finished checks the old
 * storage again, finds the copy gone, and removes what it copied (only if nobody wrote
 * since), so it returns `null`. Between that read's copy and its check, other readers can
 * briefly see the deleted value; no write based on it survives a conflict check, since the
 * removal expects exactly the copied etag.
 *
 * @param options The new and old storages.
 * @returns A storage to hand to the actor system during the migration.
 *
 * @example A state moves on its first read
 * ```ts
 * import { memoryStorage, readThroughStorage } from "@quark/persistence";
 * const older = memoryStorage();
 * const newer = memoryStorage();
 * const key = { actorType: "account", actorId: "7", stateName: "balance" };
 * await older.write({ key, value: new Uint8Array([7]), etag: crypto.randomUUID(), expectedEtag: null });
 * const storage = readThroughStorage({ primary: newer, fallback: older });
 * if ((await storage.read(key))?.value[0] !== 7) throw new Error("not read through");
 * if ((await newer.read(key))?.value[0] !== 7) throw new Error("not migrated");
 * ```
 */
export function readThroughStorage(options: ReadThroughOptions): StateStorage {
  const { primary, fallback } = options;

  async function read(key: StateKey): Promise<StoredRecord | null> {
    const found = await primary.read(key);
    if (found) return found;
    const old = await fallback.read(key);
    if (!old) return null;
    const outcome = await copyRecord(primary, key, old, Date.now());
    if (outcome === "expired") return null;
    if (outcome === "copied" && !(await stillInFallback(key, old.etag))) {
      // A delete ran between our read of the old copy and our copy: undo the copy.
      try {
        await primary.delete({ key, expectedEtag: old.etag });
      } catch (error) {
        if (!isQuarkError(error, "STATE_CONFLICT")) throw error;
      }
    }
    return primary.read(key);
  }

  async function stillInFallback(key: StateKey, etag: string): Promise<boolean> {
    return (await fallback.read(key))?.etag === etag;
  }

  // Brings the state across, then removes the old copy, so the primary holds the only one.
  async function retireFallback(key: StateKey): Promise<void> {
    await read(key);
    await fallback.delete({ key, lastWriteWins: true });
  }

  return {
    name: `${primary.name} (reading through to ${fallback.name})`,
    capabilities: primary.capabilities,
    read,
    async write(request) {
      if (!request.lastWriteWins) await read(request.key);
      return primary.write(request);
    },
    async delete(request) {
      await retireFallback(request.key);
      return primary.delete(request);
    },
    list: (request) => primary.list(request),
    async transact(operations) {
      for (const operation of operations) {
        if (operation.kind === "delete") await retireFallback(operation.key);
        else if (!operation.lastWriteWins) await read(operation.key);
      }
      return primary.transact(operations);
    },
    // The wrapped storages belong to the caller, who closes them.
    close: () => Promise.resolve(),
  };
}

import type { SaveStatesOptions } from "./define_actor.ts";
import type { TurnScope } from "../state/turn_scope.ts";
import { resolveConflict } from "../state/turn_scope.ts";
import {
  MAX_MERGE_ATTEMPTS,
  mergeInto,
  mergeOf,
  recogniseLanded,
  reportMerge,
  writeOperation,
  type PreparedWrite,
  type TurnStateHandle,
} from "../state/state_handle.ts";
import { CapabilityError, isQuarkError, type StateConflictError } from "../errors.ts";

/**
 * Saves several of a turn's states. On one storage with transactions they commit as one
 * `transact`, each under its own policy: last-write-wins states are written unchecked, a
 * conflict on a merging state merges it and tries again, and a conflict on any other state
 * goes to that state's policy. Elsewhere, `{ atomic: false }` saves them one by one.
 */
export async function saveStates(scope: TurnScope, handles: ReadonlyArray<TurnStateHandle<unknown>>, options: SaveStatesOptions = {}): Promise<void> {
  const storages = new Set(handles.map((handle) => handle.cell.storage));
  const storage = storages.size === 1 ? [...storages][0]! : undefined;
  if (!storage?.capabilities.transactions) {
    if (options.atomic !== false) {
      const names = [...storages].map((each) => each.name).join("+");
      throw new CapabilityError(storage?.name ?? names, "atomic saves of several states", storage ? undefined : "the states live on different storages; pass { atomic: false } to save them one by one");
    }
    for (const handle of handles) await handle.save();
    return;
  }
  const entries: { handle: TurnStateHandle<unknown>; prepared: PreparedWrite<unknown> }[] = [];
  try {
    for (const handle of handles) entries.push({ handle, prepared: await handle.prepare() });
    for (let attempt = 1; ; attempt++) {
      const operations = entries.map(({ handle, prepared }) => writeOperation(handle.cell, prepared, handle.policyFor()));
      try {
        const results = await storage.transact(operations).catch(async (error) => {
          if (!isQuarkError(error, "STORAGE_UNAVAILABLE")) throw error;
          const landed = await recogniseLanded(entries.map(({ handle }, index) => ({ cell: handle.cell, etag: operations[index]!.etag })), scope.observer);
          if (!landed) throw error;
          return landed.map((revision, index) => ({ etag: operations[index]!.etag, revision }));
        });
        entries.forEach(({ handle, prepared }, index) => handle.confirm(prepared.value, operations[index]!.etag, results[index]!.revision));
        return;
      } catch (error) {
        for (const { handle } of entries) handle.cell.stale = true;
        const conflicting = isQuarkError(error, "STATE_CONFLICT") ? entryOf(entries, error as StateConflictError) : undefined;
        const policy = (conflicting ?? entries[0]!).handle.policyFor();
        if (conflicting && mergeOf(policy) && attempt < MAX_MERGE_ATTEMPTS) {
          reportMerge(scope.observer, error as StateConflictError, attempt);
          await mergeAll(entries);
          continue;
        }
        throw resolveConflict(scope, error, policy);
      }
    }
  } catch (error) {
    for (const handle of handles) handle.rollback();
    throw error;
  }
}

function entryOf<Entry extends { handle: TurnStateHandle<unknown> }>(entries: Entry[], error: StateConflictError): Entry | undefined {
  const { actorType, actorId, stateName } = error.key;
  return entries.find(({ handle }) => handle.key.actorType === actorType && handle.key.actorId === actorId && handle.key.stateName === stateName);
}

// Every merging state is brought up to date, not only the one reported: a transaction reports
// one conflict, but others may be waiting behind it.
async function mergeAll(entries: ReadonlyArray<{ handle: TurnStateHandle<unknown>; prepared: PreparedWrite<unknown> }>): Promise<void> {
  for (const { handle, prepared } of entries) {
    const merge = mergeOf(handle.policyFor());
    if (merge) await mergeInto(handle.cell, prepared, merge);
  }
}

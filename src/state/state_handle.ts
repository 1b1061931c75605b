import type { StateKey, TransactOperation, WriteResult } from "../storage/types.ts";
import type { ConflictPolicy } from "./conflict.ts";
import type { CommittedState, StateCell } from "./state_cell.ts";
import { resolveConflict, type TurnScope } from "./turn_scope.ts";
import { isQuarkError, type StateConflictError } from "../errors.ts";
import { notify, type QuarkObserver } from "../observe/observer.ts";
import { copyValue } from "./copy_value.ts";

/**
 * Options for one save or delete.
 *
 * @example One save that overrides the state's policy
 * ```ts
 * import * as v from "valibot";
 * import { createActorSystem, defineActor, defineState, memoryStorage, type SaveOptions } from "@quark/persistence";
 * const status = defineState("status", { schema: v.string(), initial: "idle" });
 * // An operator's reset must land even if the machine reported in meanwhile.
 * const force: SaveOptions<string> = { conflict: "last-write-wins" };
 * const Machine = defineActor("machine", {
 *   states: { status },
 *   handlers: {
 *     async report({ states }, next: string) {
 *       states.status.value = next;
 *       await states.status.save();
 *     },
 *     async reset({ states }) {
 *       states.status.value = "idle";
 *       await states.status.save(force);
 *       return states.status.value;
 *     },
 *   },
 * });
 * const storage = memoryStorage();
 * const [operator, machine] = [createActorSystem({ storage }), createActorSystem({ storage })];
 * await operator.actor(Machine, "m1").report("running");
 * await machine.actor(Machine, "m1").report("jammed"); // saved behind the operator's back
 * if ((await operator.actor(Machine, "m1").reset()) !== "idle") throw new Error("reset lost");
 * await operator.shutdown();
 * await machine.shutdown();
 * ```
 */
export interface SaveOptions<T> {
  /** Overrides the state's conflict policy for this call. */
  readonly conflict?: ConflictPolicy<T> | undefined;
}

/**
 * A typed handle on one state of one actor: the TypeScript form of Quark's generated
 * `Load`, `Save` and `Delete` methods. `value` is this turn's own draft: it reaches storage
 * on `save()`, a failed save puts it back to the value it was derived from, and changes a
 * turn never saves are dropped when the turn ends. See `docs/semantics.md`.
 *
 * @example A failed save puts the draft back
 * ```ts
 * import * as v from "valibot";
 * import { createActorSystem, defineActor, defineState, memoryStorage, type StateHandle } from "@quark/persistence";
 * const title = defineState("title", { schema: v.pipe(v.string(), v.maxLength(20)), initial: "" });
 * const Doc = defineActor("doc", {
 *   states: { title },
 *   handlers: {
 *     async rename({ states }, text: string) {
 *       const handle: StateHandle<string> = states.title;
 *       handle.value = text;
 *       await handle.save();
 *       return handle.revision;
 *     },
 *     read: ({ states }) => states.title.value,
 *   },
 * });
 * const system = createActorSystem({ storage: memoryStorage() });
 * const doc = system.actor(Doc, "d1");
 * if ((await doc.rename("Draft")) !== 1) throw new Error("the first save is revision 1");
 * await doc.rename("x".repeat(50)).catch(() => {}); // too long: validation refuses the save
 * if ((await doc.read()) !== "Draft") throw new Error("the refused value leaked");
 * await system.shutdown();
 * ```
 */
export interface StateHandle<T> {
  /** The state's name. */
  readonly name: string;
  /** The storage key. */
  readonly key: StateKey;
  /** The draft value. Assign to replace it; mutate it in place if you prefer. */
  value: T;
  /** The etag of the committed value; `null` when nothing is stored. */
  readonly etag: string | null;
  /** The stored revision; 0 when nothing is stored. */
  readonly revision: number;
  /** Whether the state has been loaded. */
  readonly loaded: boolean;
  /** Reads the stored value (or the initial one), replacing the draft. */
  load(): Promise<T>;
  /**
   * Validates the draft and writes it now, conditional on the etag the draft was derived
   * from. When it resolves, the value is durable.
   */
  save(options?: SaveOptions<T>): Promise<void>;
  /** Deletes the stored value, conditional on the etag the draft was derived from, and resets the draft. */
  delete(options?: SaveOptions<T>): Promise<void>;
}

/** A turn's handle plus what `saveStates` needs to commit several handles in one transaction. */
export interface TurnStateHandle<T> extends StateHandle<T> {
  /** The state's cell, shared by every turn of the activation. */
  readonly cell: StateCell<T>;
  /** The policy for a save made with `options`. */
  policyFor(options?: SaveOptions<T>): ConflictPolicy<T>;
  /** Validates and encodes the draft; the base is what the draft was derived from. */
  prepare(): Promise<PreparedWrite<T>>;
  /** Records that a prepared value was committed with `etag` at `revision`. */
  confirm(value: T, etag: string, revision: number): void;
  /** Puts the draft back to the value it was derived from. */
  rollback(): void;
}

/** A validated, encoded draft and the committed state it was derived from. */
export interface PreparedWrite<T> {
  base: CommittedState<T>;
  value: T;
  bytes: Uint8Array;
}

// Each merge reloads the other writer's value; a bound keeps a hot key from spinning forever.
export const MAX_MERGE_ATTEMPTS = 10;

/** The write operation for a prepared draft under `policy`, with a fresh etag. */
export function writeOperation<T>(cell: StateCell<T>, prepared: PreparedWrite<T>, policy: ConflictPolicy<T>): TransactOperation & { kind: "write" } {
  const { key, definition: { ttlMs } } = cell;
  const etag = crypto.randomUUID();
  // Two literals rather than a spread of the precondition: this runs once per save.
  return policy === "last-write-wins"
    ? { kind: "write", key, value: prepared.bytes, etag, ttlMs, lastWriteWins: true }
    : { kind: "write", key, value: prepared.bytes, etag, ttlMs, expectedEtag: prepared.base.etag };
}

/**
 * Folds the other writer's value into ours. The value just merged against becomes the next
 * base, so a second conflict in a row merges only our own change again, never counts it twice.
 */
export async function mergeInto<T>(cell: StateCell<T>, prepared: PreparedWrite<T>, merge: (base: T, mine: T, theirs: T) => T): Promise<void> {
  const theirs = await cell.read();
  const merged = merge(prepared.base.value, prepared.value, theirs.value);
  const encoded = await cell.encode(merged);
  prepared.base = theirs;
  prepared.value = encoded.value;
  prepared.bytes = encoded.bytes;
}

/** The merge function of a policy, if it merges. */
export function mergeOf<T>(policy: ConflictPolicy<T>): ((base: T, mine: T, theirs: T) => T) | undefined {
  return typeof policy === "object" && "merge" in policy ? policy.merge : undefined;
}

/**
 * After a write or transaction failed with an unknown outcome: if every write carried an etag
 * that is now stored, the writes landed and their revisions are returned; otherwise `undefined`.
 */
export async function recogniseLanded<T>(writes: ReadonlyArray<{ cell: StateCell<T>; etag: string }>, observer: QuarkObserver | undefined): Promise<number[] | undefined> {
  let landed: number[] | undefined;
  try {
    const revisions = await Promise.all(writes.map(({ cell, etag }) => cell.landed(etag)));
    landed = revisions.every((revision) => revision !== undefined) ? revisions as number[] : undefined;
  } catch {
    landed = undefined;
  }
  for (const { cell } of writes) notify(observer, "write", { kind: "lost-reply", key: cell.key, outcome: landed ? "landed" : "unknown" });
  return landed;
}

/** Reports a conflict that a merge resolves, then the merge. */
export function reportMerge(observer: QuarkObserver | undefined, error: StateConflictError, attempt: number): void {
  notify(observer, "write", { kind: "conflict", key: error.key, policy: "merge", resolution: "merged" });
  notify(observer, "write", { kind: "merge", key: error.key, attempt });
}

/**
 * One turn's handle on a cell. Its draft is the turn's own. A class, not an object of
 * closures: a turn makes one handle per state, and on the memory path a dozen closures per
 * handle were a measurable share of each call. Call its methods on the handle
 * (`states.profile.save()`), as the docs do.
 */
export class TurnHandle<T> implements TurnStateHandle<T> {
  readonly name: string;
  readonly key: StateKey;
  readonly cell: StateCell<T>;
  readonly #scope: TurnScope;
  #base: CommittedState<T> | undefined;
  #draft: T | undefined;

  constructor(cell: StateCell<T>, scope: TurnScope) {
    this.cell = cell;
    this.name = cell.definition.name;
    this.key = cell.key;
    this.#scope = scope;
  }

  // The draft is derived from the committed copy the first time this turn touches it.
  #touch(): CommittedState<T> {
    if (this.#base) return this.#base;
    const committed = this.cell.committed;
    if (!committed) {
      throw new Error(`State ${JSON.stringify(this.name)} is not loaded yet: await its load() first (it is lazy)`);
    }
    this.#base = committed;
    this.#draft = copyValue(committed.value);
    return committed;
  }

  get value(): T {
    this.#touch();
    return this.#draft as T;
  }

  set value(next: T) {
    this.#touch();
    this.#draft = next;
  }

  get etag(): string | null {
    return (this.#base ?? this.cell.committed)?.etag ?? null;
  }

  get revision(): number {
    return (this.#base ?? this.cell.committed)?.revision ?? 0;
  }

  get loaded(): boolean {
    return (this.#base ?? this.cell.committed) !== undefined;
  }

  async load(): Promise<T> {
    const base = await this.cell.load();
    this.#base = base;
    this.#draft = copyValue(base.value);
    return this.#draft;
  }

  policyFor(options?: SaveOptions<T>): ConflictPolicy<T> {
    const scope = this.#scope;
    const inherited = scope.callPolicy ?? this.cell.definition.conflict ?? scope.actorPolicy ?? "abort";
    return options?.conflict ?? inherited as ConflictPolicy<T>;
  }

  // The write loop is inline, not a method of its own: one async frame fewer on every save.
  async save(options?: SaveOptions<T>): Promise<void> {
    const { cell } = this;
    const scope = this.#scope;
    try {
      const policy = this.policyFor(options);
      const prepared = await this.prepare();
      const merge = mergeOf(policy);
      for (let attempt = 1; ; attempt++) {
        const operation = writeOperation(cell, prepared, policy);
        try {
          let result: WriteResult;
          try {
            result = await cell.storage.write(operation);
          } catch (error) {
            if (!isQuarkError(error, "STORAGE_UNAVAILABLE")) throw error;
            const landed = await recogniseLanded([{ cell, etag: operation.etag }], scope.observer);
            if (!landed) throw error;
            result = { etag: operation.etag, revision: landed[0]! };
          }
          this.confirm(prepared.value, result.etag, result.revision);
          return;
        } catch (error) {
          // A conflict or an unknown outcome leaves the cell possibly behind storage.
          cell.stale = true;
          if (merge && isQuarkError(error, "STATE_CONFLICT") && attempt < MAX_MERGE_ATTEMPTS) {
            reportMerge(scope.observer, error as StateConflictError, attempt);
            await mergeInto(cell, prepared, merge);
            continue;
          }
          throw resolveConflict(scope, error, policy);
        }
      }
    } catch (error) {
      this.rollback();
      throw error;
    }
  }

  async delete(options?: SaveOptions<T>): Promise<void> {
    try {
      await this.#remove(this.policyFor(options));
    } catch (error) {
      this.rollback();
      throw error;
    }
  }

  async prepare(): Promise<PreparedWrite<T>> {
    const base = this.#touch();
    const encoded = await this.cell.encode(this.#draft as T);
    this.#draft = encoded.value;
    return { base, value: encoded.value, bytes: encoded.bytes };
  }

  confirm(value: T, etag: string | null, revision: number): void {
    const committed = { value: copyValue(value), etag, revision };
    this.cell.committed = committed;
    this.#base = committed;
    this.#draft = value;
    this.#scope.committed.push(this.name);
  }

  rollback(): void {
    if (this.#base) this.#draft = copyValue(this.#base.value);
  }

  async #remove(policy: ConflictPolicy<T>): Promise<void> {
    const { cell, key } = this;
    const scope = this.#scope;
    const { etag } = this.#touch();
    const request = policy === "last-write-wins" ? { key, lastWriteWins: true as const } : { key, expectedEtag: etag };
    try {
      await cell.storage.delete(request).catch(async (error) => {
        if (!isQuarkError(error, "STORAGE_UNAVAILABLE")) throw error;
        // Absent afterwards: our delete landed, or another one did first; either way it is gone.
        const stored = await cell.storage.read(key).catch(() => error);
        notify(scope.observer, "write", { kind: "lost-reply", key, outcome: stored === null ? "landed" : "unknown" });
        if (stored !== null) throw error;
        return false;
      });
    } catch (error) {
      cell.stale = true;
      throw resolveConflict(scope, error, policy);
    }
    this.confirm(cell.definition.initial(), null, 0);
  }
}

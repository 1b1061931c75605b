import type { StateDefinition } from "./define_state.ts";
import type { StateKey, StateStorage, TransactOperation, WriteResult } from "../storage/types.ts";
import type { Codec } from "../codec/codec.ts";
import { type ConflictPolicy, retryOptionsOf, backoff } from "./conflict.ts";
import { validate } from "./standard_schema.ts";
import { encodeKey } from "../storage/keys.ts";
import { CorruptDataError, StateConflictError, isQuarkError } from "../errors.ts";

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
  readonly conflict?: ConflictPolicy<T>;
}

/**
 * A typed handle on one state of one actor: the TypeScript form of Quark's generated
 * `Load`, `Save` and `Delete` methods. `value` is a draft; it reaches storage on `save()`,
 * and a failed save puts it back to the last committed value.
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
  /** Validates the draft and writes it, conditional on the committed etag. */
  save(options?: SaveOptions<T>): Promise<void>;
  /** Deletes the stored value, conditional on the committed etag, and resets the draft. */
  delete(options?: SaveOptions<T>): Promise<void>;
}

/** Where a handle sends a conflict that its `retry` policy wants to resolve by re-running. */
export interface RetryScope {
  /** Records that the current turn must be re-run, and with which bounds. */
  // deno-lint-ignore no-explicit-any
  requestRetry(error: StateConflictError, policy: ConflictPolicy<any>): void;
}

/** Everything a handle needs; assembled by the actor runtime or by {@linkcode bindState}. */
export interface StateHandleContext<T> {
  readonly definition: StateDefinition<T>;
  readonly storage: StateStorage;
  readonly codec: Codec;
  readonly key: StateKey;
  readonly retryScope?: RetryScope;
  /** The policy the current call was made with, if any; it wins over the state's own. */
  readonly callPolicy?: () => ConflictPolicy<unknown> | undefined;
  /** The actor's default, used when neither the call nor the state names a policy. */
  readonly actorPolicy?: ConflictPolicy<unknown>;
}

/** A handle plus the hooks the runtime needs to roll back and to save several states at once. */
export interface ManagedStateHandle<T> extends StateHandle<T> {
  /** Puts the draft back to the committed value. */
  rollback(): void;
  /** Validates and encodes the draft into a transaction operation, without sending it. */
  prepareWrite(): Promise<TransactOperation & { kind: "write" }>;
  /** Records that a prepared write was committed. */
  commitWrite(result: WriteResult): void;
}

// Each merge reloads the other writer's value; a bound keeps a hot key from spinning forever.
const MAX_MERGE_ATTEMPTS = 10;

interface Committed<T> {
  value: T;
  etag: string | null;
  revision: number;
}

/** Creates a handle; the runtime owns when it loads. */
export function createStateHandle<T>(context: StateHandleContext<T>): ManagedStateHandle<T> {
  const { definition, storage, codec, key } = context;
  const encodedKey = encodeKey(key);
  let committed: Committed<T> | undefined;
  let draft: T | undefined;

  function policyFor(options: SaveOptions<T> | undefined): ConflictPolicy<T> {
    const inherited = context.callPolicy?.() ?? definition.conflict ?? context.actorPolicy ?? "abort";
    return options?.conflict ?? inherited as ConflictPolicy<T>;
  }

  async function readCommitted(): Promise<Committed<T>> {
    const record = await storage.read(key);
    if (!record) return { value: definition.initial(), etag: null, revision: 0 };
    const decoded = await codec.decode(record.value, encodedKey);
    const upcast = upcastValue(definition, decoded.value, decoded.schemaVersion);
    const value = await validate(definition.schema, upcast, definition.name, "read");
    return { value, etag: record.etag, revision: record.revision };
  }

  function requireLoaded(): Committed<T> {
    if (!committed) {
      throw new Error(`State ${JSON.stringify(definition.name)} is not loaded yet: await its load() first (it is lazy)`);
    }
    return committed;
  }

  async function encodeDraft(): Promise<{ value: T; bytes: Uint8Array }> {
    const value = await validate(definition.schema, draft, definition.name, "write");
    return { value, bytes: await codec.encode(value, definition.version, encodedKey) };
  }

  async function writeWithPolicy(policy: ConflictPolicy<T>): Promise<void> {
    const base = requireLoaded();
    const { value, bytes } = await encodeDraft();
    let expectedEtag = base.etag;
    let toStore = value;
    let storeBytes = bytes;
    for (let attempt = 1; ; attempt++) {
      try {
        const precondition = policy === "last-write-wins" ? { lastWriteWins: true as const } : { expectedEtag };
        const etag = crypto.randomUUID();
        const result = await storage.write({ key, value: storeBytes, etag, ttlMs: definition.ttlMs, ...precondition });
        committed = { value: toStore, etag: result.etag, revision: result.revision };
        draft = structuredClone(toStore);
        return;
      } catch (error) {
        // A write whose outcome is unknown (an unavailable backend) is safe to leave: if it did
        // land, the next save expects the old etag and gets a conflict, never a lost update.
        if (!isQuarkError(error, "STATE_CONFLICT")) throw error;
        const conflict = error as StateConflictError;
        if (typeof policy === "object" && "merge" in policy && attempt < MAX_MERGE_ATTEMPTS) {
          const theirs = await readCommitted();
          toStore = await validate(definition.schema, policy.merge(base.value, toStore, theirs.value), definition.name, "write");
          storeBytes = await codec.encode(toStore, definition.version, encodedKey);
          expectedEtag = theirs.etag;
          continue;
        }
        if (retryOptionsOf(policy)) context.retryScope?.requestRetry(conflict, policy);
        throw conflict;
      }
    }
  }

  const handle: ManagedStateHandle<T> = {
    name: definition.name,
    key,
    get value(): T {
      requireLoaded();
      return draft as T;
    },
    set value(next: T) {
      requireLoaded();
      draft = next;
    },
    get etag() {
      return committed?.etag ?? null;
    },
    get revision() {
      return committed?.revision ?? 0;
    },
    get loaded() {
      return committed !== undefined;
    },
    async load() {
      committed = await readCommitted();
      draft = structuredClone(committed.value);
      return draft;
    },
    async save(options) {
      try {
        await writeWithPolicy(policyFor(options));
      } catch (error) {
        handle.rollback();
        throw error;
      }
    },
    async delete(options) {
      const base = requireLoaded();
      const policy = policyFor(options);
      try {
        await storage.delete(policy === "last-write-wins" ? { key, lastWriteWins: true } : { key, expectedEtag: base.etag });
      } catch (error) {
        if (isQuarkError(error, "STATE_CONFLICT") && retryOptionsOf(policy)) {
          context.retryScope?.requestRetry(error as StateConflictError, policy);
        }
        handle.rollback();
        throw error;
      }
      committed = { value: definition.initial(), etag: null, revision: 0 };
      draft = structuredClone(committed.value);
    },
    rollback() {
      if (committed) draft = structuredClone(committed.value);
    },
    async prepareWrite() {
      const base = requireLoaded();
      const { value, bytes } = await encodeDraft();
      draft = value;
      return { kind: "write", key, value: bytes, etag: crypto.randomUUID(), expectedEtag: base.etag, ttlMs: definition.ttlMs };
    },
    commitWrite(result) {
      committed = { value: structuredClone(draft as T), etag: result.etag, revision: result.revision };
    },
  };
  return handle;
}

/** Applies a definition's upcasters from `fromVersion` up to its current version. */
export function upcastValue<T>(definition: Pick<StateDefinition<T>, "name" | "version" | "migrate">, value: unknown, fromVersion: number): unknown {
  if (fromVersion > definition.version) {
    throw new CorruptDataError(`State ${JSON.stringify(definition.name)} was written by schema version ${fromVersion}, newer than this code's ${definition.version}`);
  }
  let current = value;
  for (let version = fromVersion; version < definition.version; version++) {
    const upcaster = definition.migrate[version];
    if (!upcaster) {
      throw new CorruptDataError(`State ${JSON.stringify(definition.name)} has no upcaster from version ${version} to ${version + 1}`);
    }
    current = upcaster(current);
  }
  return current;
}

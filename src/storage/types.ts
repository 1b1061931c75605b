/**
 * The storage contract. Every backend, built in or custom, implements {@linkcode StateStorage}
 * and must pass the conformance suite exported from `@quark/persistence/testing`.
 *
 * Rules every implementation follows:
 * - Keys are encoded injectively and always travel as bound parameters or plain values,
 *   never interpolated into SQL, CQL, Mongo filters or scripts.
 * - The etag check and the write are one atomic server-side operation.
 * - A write whose stored etag already equals the write's own `etag` has succeeded before
 *   (its reply was lost); repeating it succeeds without a conflict.
 * - Values are opaque bytes; the core encodes and decodes them.
 *
 * @module
 */

/**
 * The address of one state: which actor, and which of its states.
 *
 * @example Separators inside ids are escaped
 * ```ts
 * import { encodeKey, type StateKey } from "@quark/persistence";
 * const key: StateKey = { actorType: "account", actorId: "alice/savings", stateName: "balance" };
 * if (encodeKey(key) !== "account/alice%2Fsavings/balance") throw new Error("wrong encoding");
 * ```
 */
export interface StateKey {
  /** The actor's type, such as `"account"`. */
  readonly actorType: string;
  /** The actor's id within its type. Any string, including empty and hostile ones. */
  readonly actorId: string;
  /** The state's name within the actor. */
  readonly stateName: string;
}

/**
 * What a backend holds for one key.
 *
 * @example What a read returns
 * ```ts
 * import { memoryStorage, type StoredRecord } from "@quark/persistence";
 * const storage = memoryStorage();
 * const key = { actorType: "account", actorId: "42", stateName: "balance" };
 * const etag = crypto.randomUUID();
 * await storage.write({ key, value: new Uint8Array([1, 2]), etag, expectedEtag: null });
 * const record: StoredRecord | null = await storage.read(key);
 * if (record?.etag !== etag || record.revision !== 1 || record.expiresAt !== undefined) throw new Error("wrong record");
 * ```
 */
export interface StoredRecord {
  /** The encoded value, exactly as written. */
  readonly value: Uint8Array;
  /** The etag of the write that produced this record. */
  readonly etag: string;
  /** A counter that grows by one with each write of this key, for people to read. */
  readonly revision: number;
  /** When the record expires, in epoch milliseconds, if it has a TTL. */
  readonly expiresAt?: number | undefined;
}

/**
 * What a write or delete requires of the stored etag. Exactly one form applies:
 * `{ expectedEtag: "…" }` (must match), `{ expectedEtag: null }` (must not exist), or
 * `{ lastWriteWins: true }` (no check).
 *
 * @example Create-only, if-unchanged and unconditional writes
 * ```ts
 * import { isQuarkError, memoryStorage, type Precondition } from "@quark/persistence";
 * const storage = memoryStorage();
 * const key = { actorType: "account", actorId: "42", stateName: "balance" };
 * const createOnly: Precondition = { expectedEtag: null };
 * const first = await storage.write({ key, value: new Uint8Array([1]), etag: crypto.randomUUID(), ...createOnly });
 * const ifUnchanged: Precondition = { expectedEtag: first.etag };
 * await storage.write({ key, value: new Uint8Array([2]), etag: crypto.randomUUID(), ...ifUnchanged });
 * try {
 *   await storage.write({ key, value: new Uint8Array([3]), etag: crypto.randomUUID(), ...ifUnchanged });
 *   throw new Error("a stale write was accepted");
 * } catch (error) {
 *   if (!isQuarkError(error, "STATE_CONFLICT")) throw error;
 * }
 * const unconditional: Precondition = { lastWriteWins: true };
 * const last = await storage.write({ key, value: new Uint8Array([4]), etag: crypto.randomUUID(), ...unconditional });
 * if (last.revision !== 3) throw new Error("expected revision 3");
 * ```
 */
export type Precondition =
  | { readonly expectedEtag: string | null; readonly lastWriteWins?: undefined }
  | { readonly lastWriteWins: true; readonly expectedEtag?: undefined };

/**
 * One write, as sent to a backend.
 *
 * @example Retrying a write whose reply was lost
 * ```ts
 * import { memoryStorage, type WriteRequest } from "@quark/persistence";
 * const storage = memoryStorage();
 * const key = { actorType: "account", actorId: "42", stateName: "balance" };
 * const request: WriteRequest = { key, value: new Uint8Array([1]), etag: crypto.randomUUID(), expectedEtag: null };
 * const first = await storage.write(request);
 * const retried = await storage.write(request); // same etag: succeeds again, no conflict
 * if (retried.revision !== first.revision) throw new Error("the retry wrote twice");
 * ```
 */
export type WriteRequest = Precondition & {
  /** The state to write. */
  readonly key: StateKey;
  /** The encoded value. */
  readonly value: Uint8Array;
  /** The new etag, made by the writer with `crypto.randomUUID()`; retries reuse it. */
  readonly etag: string;
  /** Time to live in milliseconds; requires `capabilities.ttl`. */
  readonly ttlMs?: number | undefined;
};

/**
 * One conditional delete, as sent to a backend.
 *
 * @example Deleting only what you read
 * ```ts
 * import { memoryStorage, type DeleteRequest } from "@quark/persistence";
 * const storage = memoryStorage();
 * const key = { actorType: "cart", actorId: "c1", stateName: "items" };
 * const { etag } = await storage.write({ key, value: new Uint8Array([1]), etag: crypto.randomUUID(), expectedEtag: null });
 * const request: DeleteRequest = { key, expectedEtag: etag };
 * if (!(await storage.delete(request))) throw new Error("not deleted");
 * if (await storage.delete(request)) throw new Error("deleted twice");
 * ```
 */
export type DeleteRequest = Precondition & {
  /** The state to delete. */
  readonly key: StateKey;
};

/**
 * What a successful write reports.
 *
 * @example Chaining conditional writes
 * ```ts
 * import { memoryStorage, type WriteResult } from "@quark/persistence";
 * const storage = memoryStorage();
 * const key = { actorType: "account", actorId: "42", stateName: "balance" };
 * let result: WriteResult = await storage.write({ key, value: new Uint8Array([1]), etag: crypto.randomUUID(), expectedEtag: null });
 * result = await storage.write({ key, value: new Uint8Array([2]), etag: crypto.randomUUID(), expectedEtag: result.etag });
 * if (result.revision !== 2) throw new Error("expected revision 2");
 * ```
 */
export interface WriteResult {
  /** The etag now stored (the request's own etag). */
  readonly etag: string;
  /** The revision now stored. */
  readonly revision: number;
}

/**
 * One operation inside {@linkcode StateStorage.transact}.
 *
 * @example Two writes and a delete, all or none
 * ```ts
 * import { memoryStorage, type TransactOperation } from "@quark/persistence";
 * const storage = memoryStorage();
 * const key = (actorId: string) => ({ actorType: "account", actorId, stateName: "balance" });
 * const operations: TransactOperation[] = [
 *   { kind: "write", key: key("a"), value: new Uint8Array([90]), etag: crypto.randomUUID(), expectedEtag: null },
 *   { kind: "write", key: key("b"), value: new Uint8Array([10]), etag: crypto.randomUUID(), expectedEtag: null },
 *   { kind: "delete", key: key("pending"), lastWriteWins: true },
 * ];
 * const results = await storage.transact(operations);
 * if (results[0]?.revision !== 1 || results[2] !== null) throw new Error("unexpected results");
 * ```
 */
export type TransactOperation =
  | ({ readonly kind: "write" } & WriteRequest)
  | ({ readonly kind: "delete" } & DeleteRequest);

/**
 * Which keys {@linkcode StateStorage.list} returns, and from where.
 *
 * @example Listing actors by id prefix
 * ```ts
 * import { memoryStorage, type ListRequest } from "@quark/persistence";
 * const storage = memoryStorage();
 * for (const actorId of ["eu-1", "eu-2", "us-1"]) {
 *   const key = { actorType: "account", actorId, stateName: "balance" };
 *   await storage.write({ key, value: new Uint8Array([1]), etag: crypto.randomUUID(), expectedEtag: null });
 * }
 * const request: ListRequest = { actorType: "account", actorIdPrefix: "eu-", limit: 10 };
 * const { keys } = await storage.list(request);
 * if (keys.map((key) => key.actorId).sort().join() !== "eu-1,eu-2") throw new Error("wrong keys");
 * ```
 */
export interface ListRequest {
  /** Only keys of this actor type. */
  readonly actorType: string;
  /** Only actor ids that start with this prefix. */
  readonly actorIdPrefix?: string | undefined;
  /** The `cursor` of the previous page; absent for the first page. */
  readonly cursor?: string | undefined;
  /** The most keys to return; backends may return fewer. Defaults to 100. */
  readonly limit?: number | undefined;
}

/**
 * One page of {@linkcode StateStorage.list}. The order is the backend's own but stable, so
 * paging from the first cursor to the last returns every matching key exactly once.
 *
 * @example Following cursors to the last page
 * ```ts
 * import { memoryStorage, type ListPage } from "@quark/persistence";
 * const storage = memoryStorage();
 * for (let id = 0; id < 5; id++) {
 *   const key = { actorType: "account", actorId: String(id), stateName: "balance" };
 *   await storage.write({ key, value: new Uint8Array([id]), etag: crypto.randomUUID(), expectedEtag: null });
 * }
 * const ids: string[] = [];
 * let cursor: string | undefined;
 * do {
 *   const page: ListPage = await storage.list({ actorType: "account", cursor, limit: 2 });
 *   ids.push(...page.keys.map((key) => key.actorId));
 *   cursor = page.cursor;
 * } while (cursor !== undefined);
 * if (ids.length !== 5 || new Set(ids).size !== 5) throw new Error("every key exactly once");
 * ```
 */
export interface ListPage {
  /** The keys on this page. */
  readonly keys: readonly StateKey[];
  /** Pass this back for the next page; absent on the last page. */
  readonly cursor?: string | undefined;
}

/**
 * What a backend supports. Asking for anything declared `false` throws `CapabilityError`.
 *
 * @example Checking a feature before relying on it
 * ```ts
 * import { memoryStorage, type StorageCapabilities } from "@quark/persistence";
 * const capabilities: StorageCapabilities = memoryStorage().capabilities;
 * const canSaveTogether = (count: number) => capabilities.transactions && count <= (capabilities.maxTransactionOperations ?? Infinity);
 * if (!canSaveTogether(2) || !capabilities.ttl || !capabilities.list) throw new Error("the memory storage supports everything");
 * ```
 */
export interface StorageCapabilities {
  /** Whether `transact` applies several writes and deletes atomically. */
  readonly transactions: boolean;
  /** The most operations one `transact` call accepts, where transactions are supported. */
  readonly maxTransactionOperations?: number | undefined;
  /** Whether writes accept `ttlMs`. */
  readonly ttl: boolean;
  /** Whether `list` is supported. */
  readonly list: boolean;
  /** The largest encoded value, in bytes, that a write accepts. */
  readonly maxValueBytes: number;
  /**
   * The longest key the backend stores, in UTF-8 bytes of `encodeKey(key)` (the escaped
   * `actorType/actorId/stateName`); longer keys are refused with `InvalidKeyError` before
   * anything is sent. Absent when the backend has no practical limit.
   */
  readonly maxKeyBytes?: number | undefined;
  /** The largest total size, in bytes, of the values of one `transact` call, where bounded. */
  readonly maxTransactionBytes?: number | undefined;
}

/**
 * A backend for actor state. Implement this to add your own storage, then run
 * `runStorageConformance` from `@quark/persistence/testing` against it.
 *
 * @example Wrapping a storage to count writes
 * ```ts
 * import { memoryStorage, type StateStorage } from "@quark/persistence";
 * function countingWrites(inner: StateStorage): StateStorage & { writes: number } {
 *   const counted: StateStorage & { writes: number } = {
 *     ...inner,
 *     writes: 0,
 *     write(request) {
 *       counted.writes++;
 *       return inner.write(request);
 *     },
 *   };
 *   return counted;
 * }
 * const storage = countingWrites(memoryStorage());
 * const key = { actorType: "account", actorId: "42", stateName: "balance" };
 * await storage.write({ key, value: new Uint8Array([1]), etag: crypto.randomUUID(), expectedEtag: null });
 * if (storage.writes !== 1 || (await storage.read(key)) === null) throw new Error("write not passed through");
 * ```
 */
export interface StateStorage {
  /** The backend's name, used in error messages, such as `"postgres"`. */
  readonly name: string;
  /** What this backend supports. */
  readonly capabilities: StorageCapabilities;
  /** Reads one state; `null` when absent or expired. */
  read(key: StateKey): Promise<StoredRecord | null>;
  /**
   * Writes one state if its precondition holds, atomically.
   * @throws {StateConflictError} When the stored etag does not meet the precondition.
   * @throws {ValueTooLargeError} When the value exceeds `capabilities.maxValueBytes`.
   * @throws {CapabilityError} When `ttlMs` is given and TTL is not supported.
   */
  write(request: WriteRequest): Promise<WriteResult>;
  /**
   * Deletes one state if its precondition holds, atomically.
   * @returns `true` when a state was deleted, `false` when none was stored.
   * @throws {StateConflictError} When a state is stored under another etag.
   */
  delete(request: DeleteRequest): Promise<boolean>;
  /**
   * Lists keys of one actor type, a page at a time.
   * @throws {CapabilityError} When `capabilities.list` is false.
   */
  list(request: ListRequest): Promise<ListPage>;
  /**
   * Applies several writes and deletes as one atomic unit: all or none.
   * @returns One result per operation, in order; `null` for deletes.
   * @throws {StateConflictError} When any precondition fails; nothing is applied.
   * @throws {CapabilityError} When `capabilities.transactions` is false, or the batch is too big.
   */
  transact(operations: readonly TransactOperation[]): Promise<ReadonlyArray<WriteResult | null>>;
  /** Releases connections the storage opened itself. Clients passed in stay open. */
  close(): Promise<void>;
}

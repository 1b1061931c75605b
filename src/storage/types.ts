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

/** The address of one state: which actor, and which of its states. */
export interface StateKey {
  /** The actor's type, such as `"account"`. */
  readonly actorType: string;
  /** The actor's id within its type. Any string, including empty and hostile ones. */
  readonly actorId: string;
  /** The state's name within the actor. */
  readonly stateName: string;
}

/** What a backend holds for one key. */
export interface StoredRecord {
  /** The encoded value, exactly as written. */
  readonly value: Uint8Array;
  /** The etag of the write that produced this record. */
  readonly etag: string;
  /** A counter that grows by one with each write of this key, for people to read. */
  readonly revision: number;
  /** When the record expires, in epoch milliseconds, if it has a TTL. */
  readonly expiresAt?: number;
}

/**
 * What a write or delete requires of the stored etag. Exactly one form applies:
 * `{ expectedEtag: "…" }` (must match), `{ expectedEtag: null }` (must not exist), or
 * `{ lastWriteWins: true }` (no check).
 */
export type Precondition =
  | { readonly expectedEtag: string | null; readonly lastWriteWins?: undefined }
  | { readonly lastWriteWins: true; readonly expectedEtag?: undefined };

/** One write, as sent to a backend. */
export type WriteRequest = Precondition & {
  /** The state to write. */
  readonly key: StateKey;
  /** The encoded value. */
  readonly value: Uint8Array;
  /** The new etag, made by the writer with `crypto.randomUUID()`; retries reuse it. */
  readonly etag: string;
  /** Time to live in milliseconds; requires `capabilities.ttl`. */
  readonly ttlMs?: number;
};

/** One conditional delete, as sent to a backend. */
export type DeleteRequest = Precondition & {
  /** The state to delete. */
  readonly key: StateKey;
};

/** What a successful write reports. */
export interface WriteResult {
  /** The etag now stored (the request's own etag). */
  readonly etag: string;
  /** The revision now stored. */
  readonly revision: number;
}

/** One operation inside {@linkcode StateStorage.transact}. */
export type TransactOperation =
  | ({ readonly kind: "write" } & WriteRequest)
  | ({ readonly kind: "delete" } & DeleteRequest);

/** Which keys {@linkcode StateStorage.list} returns, and from where. */
export interface ListRequest {
  /** Only keys of this actor type. */
  readonly actorType: string;
  /** Only actor ids that start with this prefix. */
  readonly actorIdPrefix?: string;
  /** The `cursor` of the previous page; absent for the first page. */
  readonly cursor?: string;
  /** The most keys to return; backends may return fewer. Defaults to 100. */
  readonly limit?: number;
}

/**
 * One page of {@linkcode StateStorage.list}. The order is the backend's own but stable, so
 * paging from the first cursor to the last returns every matching key exactly once.
 */
export interface ListPage {
  /** The keys on this page. */
  readonly keys: readonly StateKey[];
  /** Pass this back for the next page; absent on the last page. */
  readonly cursor?: string;
}

/** What a backend supports. Asking for anything declared `false` throws `CapabilityError`. */
export interface StorageCapabilities {
  /** Whether `transact` applies several writes and deletes atomically. */
  readonly transactions: boolean;
  /** The most operations one `transact` call accepts, where transactions are supported. */
  readonly maxTransactionOperations?: number;
  /** Whether writes accept `ttlMs`. */
  readonly ttl: boolean;
  /** Whether `list` is supported. */
  readonly list: boolean;
  /** The largest encoded value, in bytes, that a write accepts. */
  readonly maxValueBytes: number;
}

/**
 * A backend for actor state. Implement this to add your own storage, then run
 * `runStorageConformance` from `@quark/persistence/testing` against it.
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

// The state storage over a Durable Object's SQLite database. An object runs on one thread and
// its SQL calls are synchronous, so a check and the write after it run with nothing in
// between: the etag check is atomic by construction, without a guard inside the statement.
// Each call still runs in `transactionSync`, so a batch commits whole or not at all.
import { decodeListCursor, encodeListCursor } from "../_shared/list_cursor.ts";
import type {
  DeleteRequest,
  ListPage,
  ListRequest,
  StateKey,
  StateStorage,
  StorageCapabilities,
  StoredRecord,
  TransactOperation,
  WriteRequest,
  WriteResult,
} from "../../src/storage/types.ts";
import { assertTransactable, assertWritable } from "../../src/storage/guards.ts";
import { assertKeyWithinLimit, assertValidKey, assertValidKeyPart, encodeKey } from "../../src/storage/keys.ts";
import { StateConflictError } from "../../src/errors.ts";
import { assertStrings } from "../_sql/storage.ts";
import { blob, bytesOf, DRIVER_NAME, type DurableObjectSqlStorage, guarded, rows, tableName } from "./_sql.ts";

/**
 * Options for {@linkcode durableObjectStorage}.
 *
 * @example A table name of your own
 * ```ts
 * import type { DurableObjectStorageOptions } from "@quark/persistence/durable-objects";
 * const options: DurableObjectStorageOptions = { stateTable: "actor_state" };
 * ```
 */
export interface DurableObjectStorageOptions {
  /** The state table's name, a plain identifier. Defaults to `quark_state`. */
  readonly stateTable?: string;
}

/**
 * A Durable Object {@linkcode StateStorage} with the TTL purge the object's alarm can run.
 *
 * @example Purging from the object's alarm
 * ```ts ignore
 * import { durableObjectStorage, type DurableObjectSqlStorage } from "@quark/persistence/durable-objects";
 * export class Sessions {
 *   readonly storage;
 *   constructor(ctx: { storage: DurableObjectSqlStorage }) {
 *     this.storage = durableObjectStorage(ctx.storage);
 *   }
 *   alarm(): void {
 *     this.storage.purgeExpired();
 *   }
 * }
 * ```
 */
export interface DurableObjectStateStorage extends StateStorage {
  /**
   * Deletes every expired state. Reads already treat them as absent; this reclaims the space.
   * @returns How many states were deleted.
   */
  purgeExpired(): number;
}

/**
 * The longest key, in UTF-8 bytes of `encodeKey(key)`: Cloudflare's key limit for objects with
 * key-value storage, kept here so that a key never crowds out the value in a 2 MB row.
 */
const MAX_KEY_BYTES = 2048;
/**
 * The documented row limit of SQLite-backed objects is 2 MB (2,000,000 bytes; workerd itself
 * allows 2,200,000). A row holds the key (up to 2 KiB), the etag and two numbers besides the
 * value, so 4 KiB of the row is kept for them.
 */
const MAX_VALUE_BYTES = 2_000_000 - 4096;
const DEFAULT_PAGE_SIZE = 100;

/**
 * A {@linkcode StateStorage} in a SQLite-backed Durable Object's own database (`ctx.storage`).
 * It creates its table when made. Writes are conditional on etags, `transact` is one SQLite
 * transaction, expired values read as absent, and `purgeExpired()` reclaims them.
 *
 * @param storage The object's `ctx.storage`.
 * @param options The table name.
 * @returns The storage; `close()` leaves the object's storage as it is.
 * @throws {ConfigurationError} When the table name is not a plain identifier.
 *
 * @example A Durable Object that keeps an actor system's states in itself
 * ```ts ignore
 * import { createActorSystem } from "@quark/persistence";
 * import { durableObjectStorage, type DurableObjectSqlStorage } from "@quark/persistence/durable-objects";
 * export class Carts {
 *   readonly system;
 *   constructor(ctx: { storage: DurableObjectSqlStorage }) {
 *     this.system = createActorSystem({ storage: durableObjectStorage(ctx.storage) });
 *   }
 * }
 * ```
 */
export function durableObjectStorage(storage: DurableObjectSqlStorage, options: DurableObjectStorageOptions = {}): DurableObjectStateStorage {
  const table = tableName("state table name", options.stateTable ?? "quark_state");
  const capabilities: StorageCapabilities = {
    transactions: true,
    ttl: true,
    list: true,
    maxValueBytes: MAX_VALUE_BYTES,
    maxKeyBytes: MAX_KEY_BYTES,
  };
  rows(storage, `CREATE TABLE IF NOT EXISTS ${table} (
    actor_type TEXT NOT NULL, actor_id TEXT NOT NULL, state_name TEXT NOT NULL,
    value BLOB NOT NULL, etag TEXT NOT NULL, revision INTEGER NOT NULL, expires_at INTEGER,
    PRIMARY KEY (actor_type, actor_id, state_name))`);

  function checkKey(key: StateKey): void {
    assertStrings(key);
    assertValidKey(key);
    assertKeyWithinLimit(DRIVER_NAME, "key", encodeKey(key), MAX_KEY_BYTES);
  }

  function checkRequest(request: TransactOperation | WriteRequest | DeleteRequest): void {
    assertStrings(request.key, request.expectedEtag, "etag" in request ? request.etag : undefined);
    if ("etag" in request && typeof request.etag !== "string") throw new TypeError("A write needs a string etag");
    checkKey(request.key);
  }

  /** The live record of a key, or undefined when it is absent or expired. */
  function stored(key: StateKey): StoredRecord | undefined {
    const [row] = rows(storage, `SELECT value, etag, revision, expires_at FROM ${table}
      WHERE actor_type = ? AND actor_id = ? AND state_name = ? AND (expires_at IS NULL OR expires_at > ?)`,
    key.actorType, key.actorId, key.stateName, Date.now());
    if (row === undefined) return undefined;
    const record = { value: bytesOf(row.value), etag: String(row.etag), revision: Number(row.revision) };
    return row.expires_at === null ? record : { ...record, expiresAt: Number(row.expires_at) };
  }

  // The precondition of a write or delete against what is stored; a write whose own etag is
  // already stored repeats one whose reply was lost, and succeeds again.
  function refuses(request: WriteRequest | DeleteRequest, current: StoredRecord | undefined): StateConflictError | undefined {
    if (request.lastWriteWins) return undefined;
    if ("etag" in request && current?.etag === request.etag) return undefined;
    if ((current?.etag ?? null) === request.expectedEtag) return undefined;
    return new StateConflictError(request.key, request.expectedEtag, current?.etag ?? null);
  }

  function writeNow(request: WriteRequest): WriteResult {
    const current = stored(request.key);
    const conflict = refuses(request, current);
    if (conflict) throw conflict;
    if (current?.etag === request.etag) return { etag: request.etag, revision: current.revision };
    const revision = (current?.revision ?? 0) + 1;
    const expiresAt = request.ttlMs === undefined ? null : Date.now() + request.ttlMs;
    const { actorType, actorId, stateName } = request.key;
    rows(storage, `INSERT INTO ${table} (actor_type, actor_id, state_name, value, etag, revision, expires_at)
      VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (actor_type, actor_id, state_name)
      DO UPDATE SET value = excluded.value, etag = excluded.etag, revision = excluded.revision, expires_at = excluded.expires_at`,
    actorType, actorId, stateName, blob(request.value), request.etag, revision, expiresAt);
    return { etag: request.etag, revision };
  }

  function deleteNow(request: DeleteRequest): boolean {
    const current = stored(request.key);
    if (current === undefined) {
      // Absent never conflicts; an expired row, if any, goes too.
      removeRow(request.key);
      return false;
    }
    const conflict = refuses(request, current);
    if (conflict) throw conflict;
    removeRow(request.key);
    return true;
  }

  function removeRow(key: StateKey): void {
    rows(storage, `DELETE FROM ${table} WHERE actor_type = ? AND actor_id = ? AND state_name = ?`, key.actorType, key.actorId, key.stateName);
  }

  function listNow(request: ListRequest): ListPage {
    assertStrings({ actorType: request.actorType, actorId: request.actorIdPrefix ?? "", stateName: "" });
    assertValidKeyPart("actorType", request.actorType);
    const prefix = request.actorIdPrefix ?? "";
    assertValidKeyPart("actorIdPrefix", prefix);
    const limit = request.limit ?? DEFAULT_PAGE_SIZE;
    if (!Number.isSafeInteger(limit) || limit < 1) throw new RangeError(`List limit must be a whole number of at least 1, got ${limit}`);
    const [afterId, afterName] = request.cursor === undefined ? [prefix, ""] : decodeListCursor(request.cursor);
    const from = request.cursor === undefined ? ">=" : ">";
    // `>=` on the prefix lets the primary key find the first row; `substr` keeps the match
    // literal (LIKE would treat `_` and `%` as patterns, and is capped at 50 bytes here).
    const found = rows(storage, `SELECT actor_id, state_name FROM ${table}
      WHERE actor_type = ? AND (actor_id, state_name) ${from} (?, ?) AND substr(actor_id, 1, length(?)) = ?
        AND (expires_at IS NULL OR expires_at > ?)
      ORDER BY actor_id, state_name LIMIT ?`,
    request.actorType, afterId, afterName, prefix, prefix, Date.now(), limit + 1);
    const keys = found.slice(0, limit).map((row) => ({ actorType: request.actorType, actorId: String(row.actor_id), stateName: String(row.state_name) }));
    const last = keys.at(-1);
    return found.length > limit && last ? { keys, cursor: encodeListCursor(last.actorId, last.stateName) } : { keys };
  }

  return {
    name: DRIVER_NAME,
    capabilities,
    read(key) {
      return guarded("read", () => {
        checkKey(key);
        return stored(key) ?? null;
      });
    },
    write(request) {
      return guarded("write", () => {
        checkRequest(request);
        assertWritable(DRIVER_NAME, capabilities, request);
        return storage.transactionSync(() => writeNow(request));
      });
    },
    delete(request) {
      return guarded("delete", () => {
        checkRequest(request);
        return storage.transactionSync(() => deleteNow(request));
      });
    },
    list(request) {
      return guarded("list", () => listNow(request));
    },
    transact(operations) {
      return guarded("transact", () => {
        for (const operation of operations) checkRequest(operation);
        assertTransactable(DRIVER_NAME, capabilities, operations);
        // The first refused precondition throws, and the transaction rolls back what came before.
        return storage.transactionSync(() => operations.map((operation) => operation.kind === "write" ? writeNow(operation) : (deleteNow(operation), null)));
      });
    },
    purgeExpired() {
      return rows(storage, `DELETE FROM ${table} WHERE expires_at <= ? RETURNING 1`, Date.now()).length;
    },
    close() {
      return Promise.resolve();
    },
  };
}

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
} from "./types.ts";
import { assertValidKey, encodeKey, encodeKeyPrefix, decodeKey } from "./keys.ts";
import { assertTransactable, assertWritable } from "./guards.ts";
import { StateConflictError } from "../errors.ts";
import { sortedKeys } from "./sorted_keys.ts";

/**
 * Options for {@linkcode memoryStorage}.
 *
 * @example A fake clock for TTL tests
 * ```ts
 * import { memoryStorage, type MemoryStorageOptions } from "@quark/persistence";
 * let clock = 0;
 * const options: MemoryStorageOptions = { now: () => clock, maxValueBytes: 64 * 1024 };
 * const storage = memoryStorage(options);
 * const key = { actorType: "session", actorId: "s1", stateName: "token" };
 * await storage.write({ key, value: new Uint8Array([1]), etag: crypto.randomUUID(), expectedEtag: null, ttlMs: 1_000 });
 * clock = 1_000;
 * if ((await storage.read(key)) !== null) throw new Error("an expired value is still readable");
 * ```
 */
export interface MemoryStorageOptions {
  /** The largest encoded value accepted, in bytes. Defaults to 16 MiB. */
  readonly maxValueBytes?: number | undefined;
  /** The clock, for TTL tests. Defaults to `Date.now`. */
  readonly now?: () => number;
}

const DRIVER_NAME = "memory";
const DEFAULT_PAGE_SIZE = 100;

/**
 * A storage that keeps encoded bytes in a `Map`. It copies bytes in and out, so nothing a
 * caller holds can change what is stored, and it checks etags exactly as the durable
 * backends do. Every operation completes synchronously inside one call, which makes each
 * check-and-write atomic on a single-threaded runtime. A sorted index kept on each write
 * makes a `list()` page cost what the page holds, however many keys are stored.
 *
 * @param options Size limit and clock.
 * @returns A storage for tests, development and single-process use.
 *
 * @example Writing and reading back bytes
 * ```ts
 * import { memoryStorage } from "@quark/persistence";
 * const storage = memoryStorage();
 * const key = { actorType: "account", actorId: "42", stateName: "balance" };
 * await storage.write({ key, value: new Uint8Array([1]), etag: crypto.randomUUID(), expectedEtag: null });
 * const record = await storage.read(key);
 * if (record?.value[0] !== 1) throw new Error("lost the value");
 * ```
 */
export function memoryStorage(options: MemoryStorageOptions = {}): StateStorage {
  const now = options.now ?? Date.now;
  const records = new Map<string, StoredRecord>();
  const index = sortedKeys();
  // How many records carry an expiry: while none does, a list page need not look up records.
  let expiring = 0;
  const capabilities: StorageCapabilities = {
    transactions: true,
    ttl: true,
    list: true,
    maxValueBytes: options.maxValueBytes ?? 16 * 1024 * 1024,
  };

  function current(encoded: string): StoredRecord | undefined {
    const record = records.get(encoded);
    if (record?.expiresAt !== undefined && record.expiresAt <= now()) {
      remove(encoded);
      return undefined;
    }
    return record;
  }

  function remove(encoded: string): boolean {
    const record = records.get(encoded);
    if (record === undefined) return false;
    if (record.expiresAt !== undefined) expiring--;
    index.delete(encoded);
    return records.delete(encoded);
  }

  // Returns the revision to store, or throws; a repeat of an applied write returns null.
  function checkWrite(request: WriteRequest, stored: StoredRecord | undefined): number | null {
    if (stored?.etag === request.etag) return null;
    if (request.lastWriteWins) return (stored?.revision ?? 0) + 1;
    if ((stored?.etag ?? null) !== request.expectedEtag) {
      throw new StateConflictError(request.key, request.expectedEtag, stored?.etag ?? null);
    }
    return (stored?.revision ?? 0) + 1;
  }

  function checkDelete(request: DeleteRequest, stored: StoredRecord | undefined): void {
    if (stored === undefined || request.lastWriteWins) return;
    if (stored.etag !== request.expectedEtag) {
      throw new StateConflictError(request.key, request.expectedEtag, stored.etag);
    }
  }

  function apply(request: WriteRequest, encoded: string, revision: number | null): WriteResult {
    if (revision === null) return { etag: request.etag, revision: current(encoded)!.revision };
    const previous = records.get(encoded);
    if (previous === undefined) index.add(encoded);
    else if (previous.expiresAt !== undefined) expiring--;
    const expiresAt = request.ttlMs === undefined ? undefined : now() + request.ttlMs;
    if (expiresAt !== undefined) expiring++;
    records.set(encoded, { value: request.value.slice(), etag: request.etag, revision, expiresAt });
    return { etag: request.etag, revision };
  }

  return {
    name: DRIVER_NAME,
    capabilities,
    read(key: StateKey) {
      try {
        assertValidKey(key);
        const record = current(encodeKey(key));
        return Promise.resolve(record ? { ...record, value: record.value.slice() } : null);
      } catch (error) {
        return Promise.reject(error);
      }
    },
    write(request: WriteRequest) {
      try {
        assertWritable(DRIVER_NAME, capabilities, request);
        const encoded = encodeKey(request.key);
        return Promise.resolve(apply(request, encoded, checkWrite(request, current(encoded))));
      } catch (error) {
        return Promise.reject(error);
      }
    },
    delete(request: DeleteRequest) {
      try {
        assertValidKey(request.key);
        const encoded = encodeKey(request.key);
        const stored = current(encoded);
        checkDelete(request, stored);
        return Promise.resolve(remove(encoded));
      } catch (error) {
        return Promise.reject(error);
      }
    },
    list(request: ListRequest): Promise<ListPage> {
      const prefix = encodeKeyPrefix(request.actorType, request.actorIdPrefix);
      const limit = request.limit ?? DEFAULT_PAGE_SIZE;
      const start = request.cursor !== undefined && request.cursor >= prefix ? request.cursor : prefix;
      const page: string[] = [];
      let more = false;
      // Reads one live key past the page, so the last page carries no cursor.
      for (const encoded of index.from(start, start !== request.cursor)) {
        if (!encoded.startsWith(prefix)) break;
        if (expiring > 0 && current(encoded) === undefined) continue;
        if (page.length === limit) {
          more = true;
          break;
        }
        page.push(encoded);
      }
      const cursor = more ? page[page.length - 1] : undefined;
      return Promise.resolve({ keys: page.map(decodeKey), cursor });
    },
    transact(operations: readonly TransactOperation[]) {
      try {
        assertTransactable(DRIVER_NAME, capabilities, operations);
        // Check every precondition before applying anything, so a conflict applies nothing.
        const encoded = operations.map((operation) => encodeKey(operation.key));
        const revisions = operations.map((operation, index) => {
          const stored = current(encoded[index]!);
          if (operation.kind === "write") return checkWrite(operation, stored);
          checkDelete(operation, stored);
          return null;
        });
        return Promise.resolve(operations.map((operation, index) => {
          if (operation.kind === "write") return apply(operation, encoded[index]!, revisions[index]!);
          remove(encoded[index]!);
          return null;
        }));
      } catch (error) {
        return Promise.reject(error);
      }
    },
    close() {
      return Promise.resolve();
    },
  };
}

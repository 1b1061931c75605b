/**
 * Upstash Redis (REST over `fetch`) storage and event store, for every runtime including the
 * edge. Each operation is one Lua script sent with EVALSHA, so a conditional write is one
 * atomic server-side step and one HTTP round trip; EVAL is sent only when the server has lost
 * its script cache. The key layout is documented in `docs/backends/upstash.md`.
 *
 * @module
 */

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
import type { AppendResult, EventStore, ExpectedVersion, NewEvent, ReadStreamOptions, StoredEvent, StoredSnapshot } from "../../src/events/types.ts";
import { assertTransactable, assertWritable } from "../../src/storage/guards.ts";
import { assertExpectedVersion, assertNewEvents } from "../../src/events/guards.ts";
import { CapabilityError, ConfigurationError, CorruptDataError, EventStoreConflictError, StateConflictError } from "../../src/errors.ts";
import {
  fromBase64,
  runScript,
  type ScriptClient,
  scriptArray,
  scriptNumber,
  scriptString,
  toBase64,
  toLibraryError,
} from "./_client.ts";
import { decodeMember, locateState, locateStream, locateType, validateKeyPrefix } from "./_keys.ts";
import {
  APPEND,
  DELETE,
  LIST,
  LOAD_SNAPSHOT,
  type LuaScript,
  READ,
  READ_EVENTS,
  SAVE_SNAPSHOT,
  STREAM_VERSION,
  TRANSACT,
  WRITE,
} from "./_scripts.ts";

/**
 * The client the adapter needs: an `@upstash/redis` `Redis`, or anything with its `eval`
 * and `evalsha` methods.
 *
 * @example
 * ```ts
 * import { Redis } from "@upstash/redis";
 * import type { UpstashRedisClient } from "@quark/persistence/upstash";
 * const client: UpstashRedisClient = new Redis({ url: "https://example.upstash.io", token: "…" });
 * ```
 */
export type UpstashRedisClient = ScriptClient;

/**
 * How to reach Upstash. Give either `client` or both `url` and `token`.
 *
 * @example
 * ```ts
 * import type { UpstashConnectionOptions } from "@quark/persistence/upstash";
 * const options: UpstashConnectionOptions = { url: "https://example.upstash.io", token: "…" };
 * ```
 */
export interface UpstashConnectionOptions {
  /**
   * A ready client, such as `Redis.fromEnv()`, or a function that makes one. It is used as
   * it is and stays yours. Its automatic deserialization may stay on: every script reply is
   * guarded so that JSON parsing cannot change it.
   */
  readonly client?: UpstashRedisClient | (() => UpstashRedisClient | Promise<UpstashRedisClient>);
  /** The REST URL (`UPSTASH_REDIS_REST_URL`), when no `client` is given. */
  readonly url?: string;
  /** The REST token (`UPSTASH_REDIS_REST_TOKEN`), when no `client` is given. */
  readonly token?: string;
  /**
   * Retries of failed HTTP requests for a client built from `url` and `token`, passed to
   * the SDK; `false` turns them off. Defaults to the SDK's (5 retries, exponential backoff).
   */
  readonly retry?: false | { readonly retries?: number; readonly backoff?: (retryCount: number) => number };
  /**
   * The start of every Redis key this adapter writes, so several applications can share a
   * database. 1 to 64 characters from `A-Z a-z 0-9 _ . : -`. Defaults to `"quark"`.
   */
  readonly keyPrefix?: string;
}

/**
 * Options for {@linkcode upstashStorage}.
 *
 * @example
 * ```ts
 * import type { UpstashStorageOptions } from "@quark/persistence/upstash";
 * const options: UpstashStorageOptions = { url: "https://example.upstash.io", token: "…", keyPrefix: "shop" };
 * ```
 */
export interface UpstashStorageOptions extends UpstashConnectionOptions {
  /**
   * Redis Cluster mode. Scripts then touch only keys of one hash slot: the actor-type index
   * is not kept (so `list` throws `CapabilityError`) and `transact` accepts only states of
   * one actor. Upstash databases and single Redis servers need no such limit. Defaults to `false`.
   */
  readonly cluster?: boolean;
  /**
   * The largest value accepted, in bytes. Values travel as base64 (4/3 of their size), and
   * Upstash caps one request at 10 MB on its Free and Pay-as-you-go plans. Defaults to
   * 5 MiB, which keeps a write well under that cap.
   */
  readonly maxValueBytes?: number;
}

/**
 * Options for {@linkcode upstashEventStore}.
 *
 * @example
 * ```ts
 * import type { UpstashEventStoreOptions } from "@quark/persistence/upstash";
 * const options: UpstashEventStoreOptions = { url: "https://example.upstash.io", token: "…", pageSize: 200 };
 * ```
 */
export interface UpstashEventStoreOptions extends UpstashConnectionOptions {
  /** How many events `read` fetches per round trip unless told otherwise. Defaults to 500. */
  readonly pageSize?: number;
}

const DRIVER_NAME = "upstash";
const DEFAULT_KEY_PREFIX = "quark";
const DEFAULT_LIST_LIMIT = 100;
const DEFAULT_EVENT_PAGE_SIZE = 500;
const DEFAULT_MAX_VALUE_BYTES = 5 * 1024 * 1024;
const MAX_TRANSACTION_OPERATIONS = 1000;

/** Resolves the client once, loading the SDK only when the adapter builds the client itself. */
function clientLoader(options: UpstashConnectionOptions): () => Promise<ScriptClient> {
  const given = options.client;
  if (given === undefined && (!options.url || !options.token)) {
    throw new ConfigurationError("Upstash needs either a client or both url and token");
  }
  let client: Promise<ScriptClient> | undefined;
  return () => {
    client ??= (async () => {
      if (given !== undefined) return typeof given === "function" ? await given() : given;
      const { Redis } = await import("@upstash/redis");
      return new Redis({
        url: options.url!,
        token: options.token!,
        // Values are base64 text already and every other string is a JS string, so replies are
        // valid UTF-8: no JSON parsing of results, and no second base64 layer on the wire.
        automaticDeserialization: false,
        responseEncoding: false,
        enableTelemetry: false,
        ...(options.retry === undefined ? {} : { retry: options.retry }),
      }) as unknown as ScriptClient;
    })();
    client.catch(() => (client = undefined));
    return client;
  };
}

/** A script runner that turns every failure into a library error naming the backend. */
function scriptRunner(options: UpstashConnectionOptions) {
  const getClient = clientLoader(options);
  return async (operation: string, script: LuaScript, keys: string[], args: string[]): Promise<unknown> => {
    try {
      return await runScript(await getClient(), script, keys, args);
    } catch (error) {
      throw toLibraryError(DRIVER_NAME, operation, error);
    }
  };
}

function preconditionMode(request: { expectedEtag?: string | null; lastWriteWins?: true }): string {
  if (request.lastWriteWins) return "any";
  return request.expectedEtag === null ? "none" : "match";
}

/**
 * State storage on Upstash Redis. Each state is one hash holding value, etag, revision and
 * expiry; a sorted set per actor type indexes the keys for `list`. Every operation is one
 * Lua script, so a conditional write costs one HTTP round trip.
 *
 * @param options A client or `url` and `token`, plus layout options.
 * @returns A {@linkcode StateStorage}.
 * @throws {ConfigurationError} When neither a client nor url and token are given, or the key prefix is invalid.
 *
 * @example Writing a state with a precondition
 * ```ts ignore
 * import { Redis } from "@upstash/redis";
 * import { upstashStorage } from "@quark/persistence/upstash";
 * const storage = upstashStorage({ client: Redis.fromEnv() });
 * const key = { actorType: "account", actorId: "42", stateName: "balance" };
 * const first = await storage.write({ key, value: new Uint8Array([1]), etag: crypto.randomUUID(), expectedEtag: null });
 * await storage.write({ key, value: new Uint8Array([2]), etag: crypto.randomUUID(), expectedEtag: first.etag });
 * ```
 */
export function upstashStorage(options: UpstashStorageOptions): StateStorage {
  const prefix = validateKeyPrefix(options.keyPrefix ?? DEFAULT_KEY_PREFIX);
  const cluster = options.cluster ?? false;
  const run = scriptRunner(options);
  const capabilities: StorageCapabilities = {
    transactions: true,
    maxTransactionOperations: MAX_TRANSACTION_OPERATIONS,
    ttl: true,
    list: !cluster,
    maxValueBytes: options.maxValueBytes ?? DEFAULT_MAX_VALUE_BYTES,
  };

  function writeArgs(request: WriteRequest, member: string): string[] {
    return [
      preconditionMode(request),
      request.expectedEtag ?? "",
      request.etag,
      toBase64(request.value),
      request.ttlMs === undefined ? "" : String(Math.ceil(request.ttlMs)),
      member,
    ];
  }

  function conflict(key: StateKey, request: { expectedEtag?: string | null }, actual: unknown): StateConflictError {
    return new StateConflictError(key, request.expectedEtag ?? null, actual === undefined ? null : scriptString(actual));
  }

  return {
    name: DRIVER_NAME,
    capabilities,

    async read(key: StateKey): Promise<StoredRecord | null> {
      const reply = await run("read", READ, [locateState(prefix, key).state], []);
      if (reply === null || reply === undefined) return null;
      const [value, etag, revision, expiresAt] = scriptArray(reply);
      const record = { value: fromBase64(scriptString(value)), etag: scriptString(etag), revision: scriptNumber(revision) };
      return expiresAt === undefined ? record : { ...record, expiresAt: scriptNumber(expiresAt) };
    },

    async write(request: WriteRequest): Promise<WriteResult> {
      assertWritable(DRIVER_NAME, capabilities, request);
      const where = locateState(prefix, request.key);
      const keys = cluster ? [where.state] : [where.state, where.index];
      const [applied, detail] = scriptArray(await run("write", WRITE, keys, writeArgs(request, where.member)));
      if (scriptNumber(applied) !== 1) throw conflict(request.key, request, detail);
      return { etag: request.etag, revision: scriptNumber(detail) };
    },

    async delete(request: DeleteRequest): Promise<boolean> {
      const where = locateState(prefix, request.key);
      const keys = cluster ? [where.state] : [where.state, where.index];
      const args = [preconditionMode(request), request.expectedEtag ?? "", where.member];
      const [outcome, actual] = scriptArray(await run("delete", DELETE, keys, args));
      const code = scriptNumber(outcome);
      if (code === -1) throw conflict(request.key, request, actual);
      return code === 1;
    },

    async list(request: ListRequest): Promise<ListPage> {
      if (cluster) throw new CapabilityError(DRIVER_NAME, "list", "cluster mode keeps no actor-type index");
      const where = locateType(prefix, request.actorType, request.actorIdPrefix);
      const limit = Math.max(1, Math.floor(request.limit ?? DEFAULT_LIST_LIMIT));
      const args = [where.stateBase, where.idPrefix, request.cursor ?? "", String(limit)];
      const [more, last, ...members] = scriptArray(await run("list", LIST, [where.index], args));
      const keys = members.map((member) => decodeMember(where.type, scriptString(member)));
      return scriptNumber(more) === 1 ? { keys, cursor: scriptString(last) } : { keys };
    },

    async transact(operations: readonly TransactOperation[]): Promise<ReadonlyArray<WriteResult | null>> {
      assertTransactable(DRIVER_NAME, capabilities, operations);
      if (operations.length === 0) return [];
      const located = operations.map((operation) => locateState(prefix, operation.key));
      if (cluster && new Set(located.map((where) => where.slot)).size > 1) {
        throw new CapabilityError(DRIVER_NAME, "transactions across actors", "in cluster mode one transaction may only touch one actor's states");
      }
      const keys = located.map((where) => where.state);
      const indexPositions = new Map<string, number>();
      if (!cluster) {
        for (const where of located) {
          if (!indexPositions.has(where.index)) {
            keys.push(where.index);
            indexPositions.set(where.index, keys.length);
          }
        }
      }
      const args = [String(operations.length)];
      operations.forEach((operation, i) => {
        const where = located[i]!;
        const index = String(indexPositions.get(where.index) ?? 0);
        if (operation.kind === "write") {
          args.push("w", ...writeArgs(operation, where.member), index);
        } else {
          args.push("d", preconditionMode(operation), operation.expectedEtag ?? "", "", "", "", where.member, index);
        }
      });
      const reply = scriptArray(await run("transact", TRANSACT, keys, args));
      if (scriptNumber(reply[0]) !== 1) {
        const failed = operations[scriptNumber(reply[1]) - 1];
        if (failed === undefined) throw new CorruptDataError("Upstash transaction reply names no operation");
        throw conflict(failed.key, failed, reply[2]);
      }
      return operations.map((operation, i) =>
        operation.kind === "write" ? { etag: operation.etag, revision: scriptNumber(reply[1 + i * 2]) } : null
      );
    },

    close(): Promise<void> {
      // REST needs no connection to release; a client passed in stays usable by its owner.
      return Promise.resolve();
    },
  };
}

/**
 * An event store on Upstash Redis. Each stream is a Redis list of encoded events (version n
 * is element n-1), appended by one Lua script that checks the expected version and pushes
 * the whole batch atomically. Snapshots live in a hash beside it, replaced only by a newer
 * version. Both keys share the stream's hash tag.
 *
 * @param options A client or `url` and `token`, plus the read page size.
 * @returns An {@linkcode EventStore}.
 * @throws {ConfigurationError} When neither a client nor url and token are given, or the key prefix is invalid.
 *
 * @example Appending with an expected version
 * ```ts ignore
 * import { Redis } from "@upstash/redis";
 * import { upstashEventStore } from "@quark/persistence/upstash";
 * const store = upstashEventStore({ client: Redis.fromEnv() });
 * const data = new TextEncoder().encode("{}");
 * const { nextVersion } = await store.append("ledger-1", [{ type: "Opened", data }], "no_stream");
 * await store.append("ledger-1", [{ type: "Deposited", data }], nextVersion);
 * ```
 */
export function upstashEventStore(options: UpstashEventStoreOptions): EventStore {
  const prefix = validateKeyPrefix(options.keyPrefix ?? DEFAULT_KEY_PREFIX);
  const defaultPageSize = options.pageSize ?? DEFAULT_EVENT_PAGE_SIZE;
  const run = scriptRunner(options);

  function decodeEvent(stream: string, version: number, item: unknown): StoredEvent {
    let parsed: unknown;
    try {
      parsed = JSON.parse(scriptString(item));
    } catch (error) {
      throw new CorruptDataError(`Event ${version} of stream ${JSON.stringify(stream)} is not a stored event`, { cause: error });
    }
    if (!Array.isArray(parsed) || typeof parsed[0] !== "string" || typeof parsed[1] !== "string") {
      throw new CorruptDataError(`Event ${version} of stream ${JSON.stringify(stream)} is not a stored event`);
    }
    return { stream, version, type: parsed[0], data: fromBase64(parsed[1]) };
  }

  return {
    name: DRIVER_NAME,

    async append(stream: string, events: readonly NewEvent[], expected: ExpectedVersion): Promise<AppendResult> {
      assertExpectedVersion(expected);
      assertNewEvents(events);
      const args = [
        typeof expected === "number" ? "exact" : expected,
        typeof expected === "number" ? String(expected) : "0",
        ...events.map((event) => JSON.stringify([event.type, toBase64(event.data)])),
      ];
      const [applied, version] = scriptArray(await run("append", APPEND, [locateStream(prefix, stream).events], args));
      if (scriptNumber(applied) !== 1) throw new EventStoreConflictError(stream, expected, scriptNumber(version));
      return { nextVersion: scriptNumber(version) };
    },

    async *read(stream: string, readOptions: ReadStreamOptions = {}): AsyncIterable<StoredEvent> {
      const pageSize = Math.max(1, Math.floor(readOptions.pageSize ?? defaultPageSize));
      const key = locateStream(prefix, stream).events;
      let next = Math.max(1, Math.floor(readOptions.fromVersion ?? 1));
      while (true) {
        const args = [String(next - 1), String(next - 2 + pageSize)];
        const page = scriptArray(await run("read", READ_EVENTS, [key], args));
        for (let i = 0; i < page.length; i++) yield decodeEvent(stream, next + i, page[i]);
        if (page.length < pageSize) return;
        next += page.length;
      }
    },

    async version(stream: string): Promise<number> {
      return scriptNumber(await run("version", STREAM_VERSION, [locateStream(prefix, stream).events], []));
    },

    async saveSnapshot(stream: string, snapshot: StoredSnapshot): Promise<boolean> {
      if (!Number.isSafeInteger(snapshot.version) || snapshot.version < 0) {
        throw new RangeError(`Snapshot version must be a whole number of at least 0, got ${snapshot.version}`);
      }
      const args = [String(snapshot.version), toBase64(snapshot.data)];
      return scriptNumber(await run("saveSnapshot", SAVE_SNAPSHOT, [locateStream(prefix, stream).snapshot], args)) === 1;
    },

    async loadSnapshot(stream: string): Promise<StoredSnapshot | null> {
      const reply = await run("loadSnapshot", LOAD_SNAPSHOT, [locateStream(prefix, stream).snapshot], []);
      if (reply === null || reply === undefined) return null;
      const [version, data] = scriptArray(reply);
      return { version: scriptNumber(version), data: fromBase64(scriptString(data)) };
    },

    close(): Promise<void> {
      return Promise.resolve();
    },
  };
}

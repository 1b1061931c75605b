/**
 * Upstash Redis (REST over `fetch`) storage and event store, for every runtime including the
 * edge. Each operation is one Lua script sent with EVALSHA, so a conditional write is one
 * atomic server-side step and one HTTP round trip; EVAL is sent only when the server has lost
 * its script cache. Every script that changes data leaves a short-lived receipt of its reply,
 * so the SDK's automatic resend after a lost reply returns the first outcome instead of
 * applying twice. The key layout is documented in `docs/backends/upstash.md`.
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
import type {
  AppendResult,
  EventStore,
  ExpectedVersion,
  GlobalEvent,
  NewEvent,
  ReadAllOptions,
  ReadStreamOptions,
  StoredEvent,
  StoredSnapshot,
} from "../../src/events/types.ts";
import { assertTransactable, assertWritable } from "../../src/storage/guards.ts";
import { assertKeyWithinLimit, assertValidKey, assertValidKeyPart, encodeKey } from "../../src/storage/keys.ts";
import { assertExpectedVersion, assertNewEvents, readAllBounds } from "../../src/events/guards.ts";
import {
  CapabilityError,
  ConfigurationError,
  CorruptDataError,
  EventStoreConflictError,
  InvalidInputError,
  StateConflictError,
  ValueTooLargeError,
} from "../../src/errors.ts";
import {
  describeEndpoint,
  endpointOfClient,
  fromBase64,
  loadSdk,
  requestBytes,
  runScript,
  type ScriptClient,
  scriptArray,
  scriptNumber,
  scriptString,
  toBase64,
  toLibraryError,
} from "./_client.ts";
import { decodeMember, locateGlobalOrder, locateState, locateStream, locateType, receiptKey, validateKeyPrefix } from "./_keys.ts";
import { decodeEvent, decodeGlobalEvent, encodeEvent } from "./_events.ts";
import {
  APPEND,
  DELETE,
  LIST,
  LOAD_SNAPSHOT,
  type LuaScript,
  READ,
  READ_ALL,
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
   * the SDK; `false` sends each request once. Defaults to the SDK's (5 retries, exponential
   * backoff). Retries are safe: a resent script returns its first outcome (see
   * `idempotencyWindowMs`).
   */
  readonly retry?: false | { readonly retries?: number; readonly backoff?: (retryCount: number) => number };
  /**
   * How long, in milliseconds, the reply of each call that changes data is kept on the
   * server, so that a resent request (the SDK retries when a reply is lost) returns that
   * reply instead of applying the call twice. It must outlast the time from a first attempt
   * to the SDK's last resend; the default, 10 minutes, covers the SDK's default retries after
   * a fetch that hangs until undici's 5-minute header timeout. Each call leaves one small
   * key (`<prefix>:r:…`) for that long.
   */
  readonly idempotencyWindowMs?: number;
  /**
   * The largest request body, in bytes, the server accepts. Requests are measured before
   * they are sent and larger ones refused (`ValueTooLargeError`, or `CapabilityError` for
   * `transact`). Defaults to 10,000,000: Upstash's 10 MB cap on Free and Pay-as-you-go
   * databases. Raise it for plans with a higher cap.
   */
  readonly maxRequestBytes?: number;
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
  /** How many events `read` and `readAll` fetch per round trip unless told otherwise. Defaults to 500. */
  readonly pageSize?: number;
}

const DRIVER_NAME = "upstash";
const DEFAULT_KEY_PREFIX = "quark";
const DEFAULT_LIST_LIMIT = 100;
const DEFAULT_EVENT_PAGE_SIZE = 500;
const DEFAULT_MAX_VALUE_BYTES = 5 * 1024 * 1024;
const MAX_TRANSACTION_OPERATIONS = 1000;
const DEFAULT_IDEMPOTENCY_WINDOW_MS = 10 * 60 * 1000;
// Upstash's cap on one request for Free and Pay-as-you-go databases ("10MB"; read as 10^7).
const DEFAULT_MAX_REQUEST_BYTES = 10_000_000;
// What a transaction's keys, etags and members may take of a request besides its values.
const TRANSACTION_OVERHEAD_BYTES = 2_000_000;
// Upstash refuses keys over 32 KB. A Redis key is the prefix (up to 64 characters), a few
// separators and the encoded key with braces escaped to 3 bytes each, so an encoded key of
// 10 KiB fits even when it is all braces. Stream names get the same limit.
const MAX_KEY_BYTES = 10 * 1024;
// A hundred years: far beyond any real TTL, and small enough that the expiry in epoch ms
// keeps every digit when Lua formats it.
const MAX_TTL_MS = 100 * 365.25 * 24 * 3600 * 1000;

/** Checks every part of a key and its length, before anything is sent. */
function assertKey(key: StateKey): void {
  assertValidKey(key);
  assertKeyWithinLimit(DRIVER_NAME, "key", encodeKey(key), MAX_KEY_BYTES);
}

/** Checks a stream name, before anything is sent: a lone surrogate would share U+FFFD's stream. */
function assertStream(stream: string): void {
  assertValidKeyPart("stream", stream);
  assertKeyWithinLimit(DRIVER_NAME, "stream", stream, MAX_KEY_BYTES);
}

function assertTtl(request: WriteRequest): void {
  if (request.ttlMs !== undefined && request.ttlMs > MAX_TTL_MS) {
    throw new InvalidInputError(DRIVER_NAME, "write", `ttlMs ${request.ttlMs} is over the limit of ${MAX_TTL_MS} ms (100 years)`);
  }
}

function positive(option: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isSafeInteger(value) || value < 1) throw new ConfigurationError(`Upstash option ${option} must be a whole number of at least 1, got ${value}`);
  return value;
}

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
      const { Redis } = await loadSdk(() => import("@upstash/redis"));
      return new Redis({
        url: options.url!,
        token: options.token!,
        // Values are base64 text already and every other string is a JS string, so replies are
        // valid UTF-8: no JSON parsing of results, and no second base64 layer on the wire.
        automaticDeserialization: false,
        responseEncoding: false,
        enableTelemetry: false,
        // The SDK reads `retry: false` as one retry (two attempts); zero retries is one attempt.
        ...(options.retry === undefined ? {} : { retry: options.retry === false ? { retries: 0 } : options.retry }),
      }) as unknown as ScriptClient;
    })();
    client.catch(() => (client = undefined));
    return client;
  };
}

/** How a script call is sent: read-only, or changing data (then with a receipt in the slot given). */
interface ScriptCall {
  readonly operation: string;
  readonly script: LuaScript;
  readonly keys: string[];
  readonly args: string[];
  /** For scripts that change data: the hash tag their keys share, for the receipt key. */
  readonly receiptSlot?: string;
  /** How to refuse a request over `maxRequestBytes`; `ValueTooLargeError` when absent. */
  readonly tooLarge?: (bytes: number, limit: number) => Error;
}

/**
 * A script runner: it measures each request against `maxRequestBytes` before sending,
 * adds the receipt key and window to scripts that change data, and turns every failure
 * into a library error naming the backend, the operation and the endpoint.
 */
function scriptRunner(options: UpstashConnectionOptions, prefix: string) {
  const getClient = clientLoader(options);
  const window = String(positive("idempotencyWindowMs", options.idempotencyWindowMs, DEFAULT_IDEMPOTENCY_WINDOW_MS));
  const maxRequestBytes = positive("maxRequestBytes", options.maxRequestBytes, DEFAULT_MAX_REQUEST_BYTES);
  let endpoint = options.url === undefined ? undefined : describeEndpoint(options.url);
  return async (call: ScriptCall): Promise<unknown> => {
    const keys = call.receiptSlot === undefined ? call.keys : [receiptKey(prefix, call.receiptSlot), ...call.keys];
    const args = call.receiptSlot === undefined ? call.args : [window, ...call.args];
    const bytes = requestBytes(keys, args);
    if (bytes > maxRequestBytes) {
      throw call.tooLarge?.(bytes, maxRequestBytes) ?? new ValueTooLargeError(DRIVER_NAME, bytes, maxRequestBytes);
    }
    let client: ScriptClient;
    try {
      client = await getClient();
    } catch (error) {
      throw toLibraryError(DRIVER_NAME, call.operation, error, endpoint);
    }
    endpoint ??= endpointOfClient(client);
    try {
      return await runScript(client, call.script, keys, args);
    } catch (error) {
      throw toLibraryError(DRIVER_NAME, call.operation, error, endpoint);
    }
  };
}

function preconditionMode(request: { expectedEtag?: string | null | undefined; lastWriteWins?: true | undefined }): string {
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
  const run = scriptRunner(options, prefix);
  const maxRequestBytes = positive("maxRequestBytes", options.maxRequestBytes, DEFAULT_MAX_REQUEST_BYTES);
  const capabilities: StorageCapabilities = {
    transactions: true,
    maxTransactionOperations: MAX_TRANSACTION_OPERATIONS,
    ttl: true,
    list: !cluster,
    maxValueBytes: options.maxValueBytes ?? DEFAULT_MAX_VALUE_BYTES,
    maxKeyBytes: MAX_KEY_BYTES,
    // Values travel as base64 (4 bytes per 3) in one request, beside keys and etags.
    maxTransactionBytes: Math.max(0, Math.floor(((maxRequestBytes - TRANSACTION_OVERHEAD_BYTES) * 3) / 4)),
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

  function conflict(key: StateKey, request: { expectedEtag?: string | null | undefined }, actual: unknown): StateConflictError {
    return new StateConflictError(key, request.expectedEtag ?? null, actual === undefined ? null : scriptString(actual));
  }

  return {
    name: DRIVER_NAME,
    capabilities,

    async read(key: StateKey): Promise<StoredRecord | null> {
      assertKey(key);
      const reply = await run({ operation: "read", script: READ, keys: [locateState(prefix, key).state], args: [] });
      if (reply === null || reply === undefined) return null;
      const [value, etag, revision, expiresAt] = scriptArray(reply);
      const record = { value: fromBase64(scriptString(value)), etag: scriptString(etag), revision: scriptNumber(revision) };
      return expiresAt === undefined ? record : { ...record, expiresAt: scriptNumber(expiresAt) };
    },

    async write(request: WriteRequest): Promise<WriteResult> {
      assertWritable(DRIVER_NAME, capabilities, request);
      assertKey(request.key);
      assertTtl(request);
      const where = locateState(prefix, request.key);
      const keys = cluster ? [where.state] : [where.state, where.index];
      const reply = await run({ operation: "write", script: WRITE, keys, args: writeArgs(request, where.member), receiptSlot: where.slot });
      const [applied, detail] = scriptArray(reply);
      if (scriptNumber(applied) !== 1) throw conflict(request.key, request, detail);
      return { etag: request.etag, revision: scriptNumber(detail) };
    },

    async delete(request: DeleteRequest): Promise<boolean> {
      assertKey(request.key);
      const where = locateState(prefix, request.key);
      const keys = cluster ? [where.state] : [where.state, where.index];
      const args = [preconditionMode(request), request.expectedEtag ?? "", where.member];
      const [outcome, actual] = scriptArray(await run({ operation: "delete", script: DELETE, keys, args, receiptSlot: where.slot }));
      const code = scriptNumber(outcome);
      if (code === -1) throw conflict(request.key, request, actual);
      return code === 1;
    },

    async list(request: ListRequest): Promise<ListPage> {
      assertValidKeyPart("actorType", request.actorType);
      if (request.actorIdPrefix !== undefined) assertValidKeyPart("actorId", request.actorIdPrefix);
      if (cluster) throw new CapabilityError(DRIVER_NAME, "list", "cluster mode keeps no actor-type index");
      const where = locateType(prefix, request.actorType, request.actorIdPrefix);
      const limit = Math.max(1, Math.floor(request.limit ?? DEFAULT_LIST_LIMIT));
      const args = [where.stateBase, where.idPrefix, request.cursor ?? "", String(limit)];
      const [more, last, ...members] = scriptArray(await run({ operation: "list", script: LIST, keys: [where.index], args }));
      const keys = members.map((member) => decodeMember(where.type, scriptString(member)));
      return scriptNumber(more) === 1 ? { keys, cursor: scriptString(last) } : { keys };
    },

    async transact(operations: readonly TransactOperation[]): Promise<ReadonlyArray<WriteResult | null>> {
      // The shared guard also refuses batches over maxTransactionBytes, before anything is sent.
      assertTransactable(DRIVER_NAME, capabilities, operations);
      for (const operation of operations) {
        assertKey(operation.key);
        if (operation.kind === "write") assertTtl(operation);
      }
      if (operations.length === 0) return [];
      const located = operations.map((operation) => locateState(prefix, operation.key));
      if (cluster && new Set(located.map((where) => where.slot)).size > 1) {
        throw new CapabilityError(DRIVER_NAME, "transactions across actors", "in cluster mode one transaction may only touch one actor's states");
      }
      const keys = located.map((where) => where.state);
      // Index positions are 1-based in the script's KEYS, after the receipt key in KEYS[1].
      const indexPositions = new Map<string, number>();
      if (!cluster) {
        for (const where of located) {
          if (!indexPositions.has(where.index)) {
            keys.push(where.index);
            indexPositions.set(where.index, keys.length + 1);
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
      const reply = scriptArray(await run({
        operation: "transact",
        script: TRANSACT,
        keys,
        args,
        receiptSlot: located[0]!.slot,
        tooLarge: (bytes, max) => new CapabilityError(DRIVER_NAME, `a transaction request of ${bytes} bytes`, `the request limit is ${max} (maxRequestBytes)`),
      }));
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
 * is element n-1), appended by one Lua script that checks the expected version, pushes the
 * whole batch and gives each event the next position of the global order, atomically and in
 * one round trip. A sorted set scored by position indexes every event for `readAll`; since
 * Redis runs one script at a time, positions appear in the order they were handed out, so a
 * reader can never miss an event that commits late. Snapshots live in a hash beside the
 * stream, replaced only by a newer version. Layout and limits: `docs/backends/upstash.md`.
 *
 * @param options A client or `url` and `token`, plus the read page size.
 * @returns An {@linkcode EventStore} whose `capabilities.readAll` is `true`.
 * @throws {ConfigurationError} When neither a client nor url and token are given, or the key prefix is invalid.
 *
 * @example Appending with an expected version, then following the global order
 * ```ts ignore
 * import { Redis } from "@upstash/redis";
 * import { upstashEventStore } from "@quark/persistence/upstash";
 * const store = upstashEventStore({ client: Redis.fromEnv() });
 * const data = new TextEncoder().encode("{}");
 * const { nextVersion } = await store.append("ledger-1", [{ type: "Opened", data }], "no_stream");
 * await store.append("ledger-1", [{ type: "Deposited", data }], nextVersion);
 * let checkpoint = 0n;
 * for await (const event of store.readAll({ after: checkpoint })) checkpoint = event.position;
 * ```
 */
export function upstashEventStore(options: UpstashEventStoreOptions): EventStore {
  const prefix = validateKeyPrefix(options.keyPrefix ?? DEFAULT_KEY_PREFIX);
  const defaultPageSize = positive("pageSize", options.pageSize, DEFAULT_EVENT_PAGE_SIZE);
  const run = scriptRunner(options, prefix);
  const global = locateGlobalOrder(prefix);

  return {
    name: DRIVER_NAME,
    capabilities: { readAll: true },

    async append(stream: string, events: readonly NewEvent[], expected: ExpectedVersion): Promise<AppendResult> {
      assertStream(stream);
      assertExpectedVersion(expected);
      assertNewEvents(events);
      const where = locateStream(prefix, stream);
      const args = [
        typeof expected === "number" ? "exact" : expected,
        typeof expected === "number" ? String(expected) : "0",
        where.slot,
        ...events.map(encodeEvent),
      ];
      const keys = [where.events, global.counter, global.log];
      const reply = await run({ operation: "append", script: APPEND, keys, args, receiptSlot: where.slot });
      const [applied, version, lastPosition] = scriptArray(reply);
      if (scriptNumber(applied) !== 1) throw new EventStoreConflictError(stream, expected, scriptNumber(version));
      return { nextVersion: scriptNumber(version), lastPosition: BigInt(scriptNumber(lastPosition)) };
    },

    async *read(stream: string, readOptions: ReadStreamOptions = {}): AsyncIterable<StoredEvent> {
      assertStream(stream);
      const pageSize = Math.max(1, Math.floor(readOptions.pageSize ?? defaultPageSize));
      const key = locateStream(prefix, stream).events;
      let next = Math.max(1, Math.floor(readOptions.fromVersion ?? 1));
      while (true) {
        const args = [String(next - 1), String(next - 2 + pageSize)];
        const page = scriptArray(await run({ operation: "read", script: READ_EVENTS, keys: [key], args }));
        for (let i = 0; i < page.length; i++) yield decodeEvent(stream, next + i, page[i]);
        if (page.length < pageSize) return;
        next += page.length;
      }
    },

    async *readAll(readOptions: ReadAllOptions = {}): AsyncIterable<GlobalEvent> {
      const bounds = readAllBounds(readOptions, defaultPageSize);
      let after = bounds.after;
      while (true) {
        const args = [String(after), String(bounds.pageSize), global.streamBase];
        const page = scriptArray(await run({ operation: "readAll", script: READ_ALL, keys: [global.log], args }));
        for (let i = 0; i < page.length; i += 2) {
          const event = decodeGlobalEvent(page[i], page[i + 1]);
          after = event.position;
          yield event;
        }
        if (page.length < bounds.pageSize * 2) return;
      }
    },

    async version(stream: string): Promise<number> {
      assertStream(stream);
      return scriptNumber(await run({ operation: "version", script: STREAM_VERSION, keys: [locateStream(prefix, stream).events], args: [] }));
    },

    async saveSnapshot(stream: string, snapshot: StoredSnapshot): Promise<boolean> {
      assertStream(stream);
      if (!Number.isSafeInteger(snapshot.version) || snapshot.version < 0) {
        throw new RangeError(`Snapshot version must be a whole number of at least 0, got ${snapshot.version}`);
      }
      const where = locateStream(prefix, stream);
      const args = [String(snapshot.version), toBase64(snapshot.data)];
      const [saved] = scriptArray(await run({ operation: "saveSnapshot", script: SAVE_SNAPSHOT, keys: [where.snapshot], args, receiptSlot: where.slot }));
      return scriptNumber(saved) === 1;
    },

    async loadSnapshot(stream: string): Promise<StoredSnapshot | null> {
      assertStream(stream);
      const reply = await run({ operation: "loadSnapshot", script: LOAD_SNAPSHOT, keys: [locateStream(prefix, stream).snapshot], args: [] });
      if (reply === null || reply === undefined) return null;
      const [version, data] = scriptArray(reply);
      return { version: scriptNumber(version), data: fromBase64(scriptString(data)) };
    },

    close(): Promise<void> {
      return Promise.resolve();
    },
  };
}

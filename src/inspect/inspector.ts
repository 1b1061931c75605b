import { eventBinding, snapshotBinding } from "../events/aggregate.ts";
import type { StateKey, StateStorage } from "../storage/types.ts";
import type { EventStore } from "../events/types.ts";
import type { StorageProviders } from "../storage/providers.ts";
import { resolveProviders } from "../storage/providers.ts";
import { createCodec, type Codec, type CodecOptions } from "../codec/codec.ts";
import { encodeKey } from "../storage/keys.ts";
import { validate } from "../state/standard_schema.ts";
import { upcastValue } from "../state/state_cell.ts";
import { ConfigurationError } from "../errors.ts";
import { actorTypeOfStream, indexDefinitions, type InspectableDefinition, type ValueDefinition } from "./definitions.ts";
import { probeEventStore, probeStorage } from "./health.ts";
import type { EventPage, HealthReport, InspectedEvent, InspectedSnapshot, InspectedState, StatePage } from "./types.ts";

/**
 * Options for {@linkcode createInspector}: the same storages, event store and codec the actor
 * system uses, and the definitions that decode what they hold.
 *
 * @example An encrypted storage needs the same keys to inspect
 * ```ts
 * import { createInspector, memoryStorage, type InspectorOptions } from "@quark/persistence";
 * const options: InspectorOptions = {
 *   storage: { default: memoryStorage(), cold: memoryStorage() },
 *   codec: { encryption: { keys: { k1: crypto.getRandomValues(new Uint8Array(32)) }, currentKeyId: "k1" } },
 *   definitions: [],
 * };
 * const inspector = createInspector(options);
 * if ((await inspector.count({ actorType: "account", storage: "cold" })) !== 0) throw new Error("cold should be empty");
 * ```
 */
export interface InspectorOptions {
  /** One storage, or named providers as given to `createActorSystem`. */
  readonly storage: StateStorage | StorageProviders;
  /** The event store, for event streams and snapshots. */
  readonly eventStore?: EventStore | undefined;
  /** The codec, or its options; defaults to `createCodec()`. */
  readonly codec?: CodecOptions | Codec | undefined;
  /** Actor, state and event definitions; values without one are shown as decoded, unvalidated. */
  readonly definitions?: readonly InspectableDefinition[] | undefined;
  /** The clock, for the TTL left. Defaults to `Date.now`. */
  readonly now?: (() => number) | undefined;
}

/**
 * Which keys `Inspector.list` and `Inspector.count` cover.
 *
 * @example Counting one id prefix in a named storage
 * ```ts
 * import { createInspector, memoryStorage, type InspectListRequest } from "@quark/persistence";
 * const request: InspectListRequest = { actorType: "account", actorIdPrefix: "eu-", storage: "default" };
 * if ((await createInspector({ storage: memoryStorage() }).count(request)) !== 0) throw new Error("expected none");
 * ```
 */
export interface InspectListRequest {
  /** The actor type. */
  readonly actorType: string;
  /** Only actor ids that start with this. */
  readonly actorIdPrefix?: string | undefined;
  /** The storage provider's name. Defaults to `"default"`. */
  readonly storage?: string | undefined;
  /** The previous page's cursor (ignored by `count`). */
  readonly cursor?: string | undefined;
  /** Keys per page. Defaults to 100 (1000 for `count`). */
  readonly limit?: number | undefined;
}

/**
 * Reads stored state and events without activating any actor. See {@linkcode createInspector}.
 *
 * @example Listing, reading and probing
 * ```ts
 * import { createInspector, memoryStorage, type Inspector } from "@quark/persistence";
 * const inspector: Inspector = createInspector({ storage: memoryStorage() });
 * const page = await inspector.list({ actorType: "account" });
 * const reports = await inspector.health();
 * if (page.keys.length !== 0 || !reports[0]?.ok) throw new Error("expected an empty, healthy storage");
 * ```
 */
export interface Inspector {
  /** The actor types the definitions name, in the order given. */
  actorTypes(): string[];
  /** One page of state keys of an actor type, over `storage.list`. */
  list(request: InspectListRequest): Promise<StatePage>;
  /** How many states of an actor type are stored, paging through `storage.list`. */
  count(request: InspectListRequest): Promise<number>;
  /**
   * Reads one state from the storage its definition names (or `storage`, default `"default"`).
   * @returns The state, or `null` when absent or expired.
   * @throws {StateValidationError} When a definition is known and the value fails its schema.
   * @throws {CorruptDataError} When the bytes do not decode, or no upcaster reaches the current version.
   */
  get(key: StateKey, options?: { readonly storage?: string | undefined }): Promise<InspectedState | null>;
  /** One page of a stream's events, decoded when its actor type has an event definition. */
  readEvents(stream: string, options?: { readonly fromVersion?: number | undefined; readonly limit?: number | undefined }): Promise<EventPage>;
  /** The stream's latest snapshot, decoded when its actor type has a state schema. */
  readSnapshot(stream: string): Promise<InspectedSnapshot | null>;
  /** One cheap round trip to each storage and to the event store, with its latency. Never throws. */
  health(): Promise<HealthReport[]>;
}

/**
 * Creates an inspector: a read-only view of what the storages and event store hold, decoded
 * with the codec and the definitions given (upcasters applied, schemas checked), with no
 * actor system and no activation. Events are bound to `${stream}#${position}` and snapshots
 * to `${stream}#snapshot@${version}`, as the actor system writes them.
 *
 * @param options Storages, event store, codec and definitions.
 * @returns An {@linkcode Inspector}.
 * @throws {ConfigurationError} When no storage is given.
 *
 * @example Reading a state an actor saved, upcast to the current schema
 * ```ts
 * import * as v from "valibot";
 * import { createActorSystem, createInspector, defineActor, defineState, memoryStorage } from "@quark/persistence";
 * const storage = memoryStorage();
 * const balance = defineState("balance", { schema: v.object({ cents: v.number() }), initial: { cents: 0 } });
 * const Account = defineActor("account", {
 *   states: { balance },
 *   handlers: { async deposit({ states }, cents: number) { states.balance.value = { cents }; await states.balance.save(); } },
 * });
 * const system = createActorSystem({ storage });
 * await system.actor(Account, "alice").deposit(250);
 * await system.shutdown();
 * const inspector = createInspector({ storage, definitions: [Account] });
 * const state = await inspector.get({ actorType: "account", actorId: "alice", stateName: "balance" });
 * if ((state?.value as { cents: number }).cents !== 250 || (await inspector.count({ actorType: "account" })) !== 1) throw new Error("wrong state");
 * ```
 */
export function createInspector(options: InspectorOptions): Inspector {
  if (!options.storage) throw new ConfigurationError("createInspector needs a storage");
  const providers = resolveProviders(options.storage);
  const named: StorageProviders = "write" in options.storage ? { default: options.storage as StateStorage } : options.storage as StorageProviders;
  const codec: Codec = options.codec && "decode" in options.codec ? options.codec : createCodec(options.codec ?? {});
  const definitions = indexDefinitions(options.definitions ?? []);
  const now = options.now ?? Date.now;

  async function decodeValue(definition: ValueDefinition, bytes: Uint8Array, binding: string) {
    const decoded = await codec.decode(bytes, binding);
    const upcast = upcastValue(definition, decoded.value, decoded.schemaVersion);
    return { value: await validate(definition.schema, upcast, definition.name, "read"), schemaVersion: decoded.schemaVersion };
  }

  function eventStore(): EventStore {
    if (!options.eventStore) throw new ConfigurationError("This inspector has no eventStore");
    return options.eventStore;
  }

  async function list(request: InspectListRequest): Promise<StatePage> {
    const storage = providers.get(request.storage ?? "default");
    const page = await storage.list({ actorType: request.actorType, actorIdPrefix: request.actorIdPrefix, cursor: request.cursor, limit: request.limit ?? 100 });
    return { keys: page.keys, cursor: page.cursor };
  }

  return {
    actorTypes: () => [...definitions.actorTypes],
    list,
    async count(request) {
      let total = 0;
      let cursor: string | undefined;
      do {
        const page = await list({ ...request, cursor, limit: request.limit ?? 1000 });
        total += page.keys.length;
        cursor = page.cursor;
      } while (cursor !== undefined);
      return total;
    },
    async get(key, getOptions) {
      const definition = definitions.stateOf(key);
      const storage = providers.get(getOptions?.storage ?? definition?.storage ?? "default");
      const record = await storage.read(key);
      if (!record) return null;
      const binding = encodeKey(key);
      const decoded = definition ? await decodeValue(definition, record.value, binding) : await codec.decode(record.value, binding);
      return {
        key,
        value: decoded.value,
        schemaVersion: decoded.schemaVersion,
        currentVersion: definition?.version,
        validated: definition !== undefined,
        etag: record.etag,
        revision: record.revision,
        sizeBytes: record.value.byteLength,
        expiresAt: record.expiresAt,
        ttlRemainingMs: record.expiresAt === undefined ? undefined : Math.max(0, record.expiresAt - now()),
      };
    },
    async readEvents(stream, readOptions) {
      const limit = readOptions?.limit ?? 100;
      const fromVersion = readOptions?.fromVersion ?? 1;
      const actorType = actorTypeOfStream(stream);
      const definition = actorType === undefined ? undefined : definitions.eventOf(actorType);
      const events: InspectedEvent[] = [];
      // One more than the page, to know whether another page follows.
      for await (const stored of eventStore().read(stream, { fromVersion, pageSize: limit + 1 })) {
        if (events.length === limit) return { events, nextVersion: stored.version };
        const base = { stream, version: stored.version, type: stored.type, sizeBytes: stored.data.byteLength };
        if (!definition) {
          events.push({ ...base, decoded: false });
          continue;
        }
        const { value, schemaVersion } = await decodeValue(definition, stored.data, eventBinding(stream, stored.version));
        events.push({ ...base, decoded: true, schemaVersion, data: value });
      }
      return { events };
    },
    async readSnapshot(stream) {
      const snapshot = await eventStore().loadSnapshot(stream);
      if (!snapshot) return null;
      const actorType = actorTypeOfStream(stream);
      const definition = actorType === undefined ? undefined : definitions.snapshotOf(actorType);
      const base = { version: snapshot.version, sizeBytes: snapshot.data.byteLength };
      if (!definition) return { ...base, decoded: false };
      const { value, schemaVersion } = await decodeValue(definition, snapshot.data, snapshotBinding(stream, snapshot.version));
      return { ...base, decoded: true, schemaVersion, state: value };
    },
    async health() {
      const probes = Object.entries(named).map(([name, storage]) => probeStorage(name, storage));
      if (options.eventStore) probes.push(probeEventStore(options.eventStore));
      return Promise.all(probes);
    },
  };
}

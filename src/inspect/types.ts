import type { StateKey } from "../storage/types.ts";

/**
 * One state as the inspector read it: the value decoded, upcast and validated when a definition
 * is known, with what the storage holds about it.
 *
 * @example Reading a state's metadata
 * ```ts
 * import * as v from "valibot";
 * import { createActorSystem, createInspector, defineActor, defineState, memoryStorage, type InspectedState } from "@quark/persistence";
 * const storage = memoryStorage();
 * const count = defineState("count", { schema: v.number(), initial: 0 });
 * const Counter = defineActor("counter", { states: { count }, handlers: { async add({ states }) { states.count.value++; await states.count.save(); } } });
 * const system = createActorSystem({ storage });
 * await system.actor(Counter, "c1").add();
 * await system.shutdown();
 * const state: InspectedState | null = await createInspector({ storage, definitions: [Counter] }).get({ actorType: "counter", actorId: "c1", stateName: "count" });
 * if (state?.value !== 1 || state.revision !== 1 || state.schemaVersion !== 1 || !state.validated) throw new Error("wrong state");
 * ```
 */
export interface InspectedState {
  /** The state's key. */
  readonly key: StateKey;
  /** The value: upcast and validated when `validated`, else exactly as decoded. */
  readonly value: unknown;
  /** The schema version the value was written with. */
  readonly schemaVersion: number;
  /** The definition's current schema version, when a definition is known. */
  readonly currentVersion?: number | undefined;
  /** Whether a definition was found and the value passed its upcasters and schema. */
  readonly validated: boolean;
  /** The stored etag. */
  readonly etag: string;
  /** The stored revision. */
  readonly revision: number;
  /** The encoded size in bytes, as stored (after compression and encryption). */
  readonly sizeBytes: number;
  /** When the state expires, in epoch milliseconds, if it has a TTL. */
  readonly expiresAt?: number | undefined;
  /** Milliseconds left before it expires, if it has a TTL. */
  readonly ttlRemainingMs?: number | undefined;
}

/**
 * One event as the inspector read it.
 *
 * @example Events without a definition show their type and position only
 * ```ts
 * import { createInspector, memoryEventStore, memoryStorage, type InspectedEvent } from "@quark/persistence";
 * const eventStore = memoryEventStore();
 * await eventStore.append("ledger/l1", [{ type: "Opened", data: new Uint8Array([1, 2, 3]) }], "no_stream");
 * const page = await createInspector({ storage: memoryStorage(), eventStore }).readEvents("ledger/l1");
 * const event: InspectedEvent | undefined = page.events[0];
 * if (event?.type !== "Opened" || event.version !== 1 || event.sizeBytes !== 3 || event.decoded) throw new Error("wrong event");
 * ```
 */
export interface InspectedEvent {
  /** The stream. */
  readonly stream: string;
  /** Its position in the stream, from 1. */
  readonly version: number;
  /** The event's type. */
  readonly type: string;
  /** The encoded size in bytes. */
  readonly sizeBytes: number;
  /** Whether an event definition decoded, upcast and validated the payload. */
  readonly decoded: boolean;
  /** The schema version the payload was written with, when decoded. */
  readonly schemaVersion?: number | undefined;
  /** The payload, when decoded. */
  readonly data?: unknown;
}

/**
 * One page of an event stream from `Inspector.readEvents`.
 *
 * @example Paging through a stream
 * ```ts
 * import { createInspector, memoryEventStore, memoryStorage, type EventPage } from "@quark/persistence";
 * const eventStore = memoryEventStore();
 * const data = new Uint8Array();
 * await eventStore.append("log/1", [{ type: "A", data }, { type: "B", data }, { type: "C", data }], "no_stream");
 * const inspector = createInspector({ storage: memoryStorage(), eventStore });
 * const types: string[] = [];
 * let page: EventPage = { events: [], nextVersion: 1 };
 * while (page.nextVersion !== undefined) {
 *   page = await inspector.readEvents("log/1", { fromVersion: page.nextVersion, limit: 2 });
 *   types.push(...page.events.map((event) => event.type));
 * }
 * if (types.join() !== "A,B,C") throw new Error(`wrong events: ${types}`);
 * ```
 */
export interface EventPage {
  /** The events on this page, in stream order. */
  readonly events: readonly InspectedEvent[];
  /** Where the next page starts; absent after the last event. */
  readonly nextVersion?: number | undefined;
}

/**
 * The latest snapshot of a stream from `Inspector.readSnapshot`.
 *
 * @example A snapshot without a definition is reported undecoded
 * ```ts
 * import { createInspector, memoryEventStore, memoryStorage, type InspectedSnapshot } from "@quark/persistence";
 * const eventStore = memoryEventStore();
 * await eventStore.saveSnapshot("ledger/l1", { version: 4, data: new Uint8Array([9]) });
 * const snapshot: InspectedSnapshot | null = await createInspector({ storage: memoryStorage(), eventStore }).readSnapshot("ledger/l1");
 * if (snapshot?.version !== 4 || snapshot.decoded) throw new Error("wrong snapshot");
 * ```
 */
export interface InspectedSnapshot {
  /** The stream version the snapshot reflects. */
  readonly version: number;
  /** The encoded size in bytes. */
  readonly sizeBytes: number;
  /** Whether a snapshot definition decoded, upcast and validated it. */
  readonly decoded: boolean;
  /** The schema version it was written with, when decoded. */
  readonly schemaVersion?: number | undefined;
  /** The state, when decoded. */
  readonly state?: unknown;
}

/**
 * One page of keys from `Inspector.list`.
 *
 * @example Following cursors
 * ```ts
 * import { createInspector, memoryStorage, type StatePage } from "@quark/persistence";
 * const storage = memoryStorage();
 * for (const actorId of ["a", "b", "c"]) {
 *   await storage.write({ key: { actorType: "cart", actorId, stateName: "items" }, value: new Uint8Array([1]), etag: crypto.randomUUID(), expectedEtag: null });
 * }
 * const inspector = createInspector({ storage });
 * const ids: string[] = [];
 * let cursor: string | undefined;
 * do {
 *   const page: StatePage = await inspector.list({ actorType: "cart", cursor, limit: 2 });
 *   ids.push(...page.keys.map((key) => key.actorId));
 *   cursor = page.cursor;
 * } while (cursor !== undefined);
 * if (ids.sort().join() !== "a,b,c") throw new Error("wrong ids");
 * ```
 */
export interface StatePage {
  /** The keys on this page. */
  readonly keys: readonly StateKey[];
  /** Pass back for the next page; absent on the last page. */
  readonly cursor?: string | undefined;
}

/**
 * The outcome of one health probe: one cheap round trip to a storage or an event store.
 *
 * @example Reporting every probe
 * ```ts
 * import { createInspector, memoryEventStore, memoryStorage, type HealthReport } from "@quark/persistence";
 * const reports: HealthReport[] = await createInspector({ storage: memoryStorage(), eventStore: memoryEventStore() }).health();
 * for (const report of reports) {
 *   if (!report.ok) throw new Error(`${report.target} ${report.name}: ${report.code} ${report.message}`);
 * }
 * if (reports.length !== 2) throw new Error("expected two probes");
 * ```
 */
export type HealthReport =
  & {
    /** What was probed. */
    readonly target: "storage" | "eventStore";
    /** The provider name for storages (`"default"`), `"eventStore"` for the event store. */
    readonly name: string;
    /** The backend's own name, such as `"postgres"`. */
    readonly backend: string;
    /** How long the round trip took, in milliseconds. */
    readonly latencyMs: number;
  }
  & (
    | { readonly ok: true }
    | {
      readonly ok: false;
      /** The error's `code` when it is a Quark error, else `"UNKNOWN"`. */
      readonly code: string;
      /** The error's message. */
      readonly message: string;
    }
  );

/**
 * The event store contract. Every backend's event store implements {@linkcode EventStore}
 * and must pass `runEventStoreConformance` from `@quark/persistence/testing`.
 *
 * Versions count events in a stream from 1; an empty or absent stream is at version 0.
 *
 * @module
 */

/**
 * What an append expects of the stream: its exact version, that it does not exist, or nothing.
 *
 * @example Optimistic appends
 * ```ts
 * import { isQuarkError, memoryEventStore, type ExpectedVersion } from "@quark/persistence";
 * const store = memoryEventStore();
 * const data = new Uint8Array();
 * const created: ExpectedVersion = "no_stream";
 * await store.append("order-1", [{ type: "Placed", data }], created);
 * await store.append("order-1", [{ type: "Paid", data }], 1);
 * try {
 *   await store.append("order-1", [{ type: "Cancelled", data }], 1);
 *   throw new Error("a stale append was accepted");
 * } catch (error) {
 *   if (!isQuarkError(error, "EVENT_STORE_CONFLICT")) throw error;
 * }
 * await store.append("order-1", [{ type: "NoteAdded", data }], "any");
 * if ((await store.version("order-1")) !== 3) throw new Error("expected version 3");
 * ```
 */
export type ExpectedVersion = number | "no_stream" | "any";

/**
 * An event to append. `data` is opaque bytes; the core encodes it.
 *
 * @example Encoding a payload before appending
 * ```ts
 * import { deserialize, memoryEventStore, serialize, type NewEvent } from "@quark/persistence";
 * const store = memoryEventStore();
 * const event: NewEvent = { type: "Deposited", data: serialize({ cents: 250n }) };
 * await store.append("account-42", [event], "no_stream");
 * for await (const stored of store.read("account-42")) {
 *   if ((deserialize(stored.data) as { cents: bigint }).cents !== 250n) throw new Error("payload changed");
 * }
 * ```
 */
export interface NewEvent {
  /** The event's type, such as `"Deposited"`. */
  readonly type: string;
  /** The encoded payload. */
  readonly data: Uint8Array;
  /**
   * Encoded metadata (correlation id, causation id, user, ...), opaque bytes like `data`.
   * Stores keep it byte for byte and return it on read; absent means none.
   */
  readonly metadata?: Uint8Array | undefined;
}

/**
 * An event as read back.
 *
 * @example Reading events with their versions
 * ```ts
 * import { memoryEventStore, type StoredEvent } from "@quark/persistence";
 * const store = memoryEventStore();
 * const encoder = new TextEncoder();
 * await store.append("cart-1", [{ type: "Added", data: encoder.encode("book") }, { type: "Added", data: encoder.encode("pen") }], "no_stream");
 * const lines: string[] = [];
 * for await (const event of store.read("cart-1")) {
 *   const stored: StoredEvent = event;
 *   lines.push(`${stored.version}:${new TextDecoder().decode(stored.data)}`);
 * }
 * if (lines.join() !== "1:book,2:pen") throw new Error(`unexpected stream: ${lines}`);
 * ```
 */
export interface StoredEvent {
  /** The stream it belongs to. */
  readonly stream: string;
  /** Its position in the stream, from 1. */
  readonly version: number;
  /** The event's type. */
  readonly type: string;
  /** The encoded payload, exactly as appended. */
  readonly data: Uint8Array;
  /** The encoded metadata, exactly as appended; absent when the append gave none. */
  readonly metadata?: Uint8Array | undefined;
  /**
   * When the event was stored: the server's clock where the backend has one, otherwise the
   * client's. Absent only for events written before stores recorded it (format 0.1).
   */
  readonly createdAt?: Date | undefined;
  /**
   * The event's place in the store's global order, on stores whose
   * {@linkcode EventStoreCapabilities.readAll} is `true`; absent elsewhere.
   */
  readonly position?: bigint | undefined;
}

/**
 * An event as {@linkcode EventStore.readAll} returns it: always with its global position.
 *
 * @example Positions only grow
 * ```ts
 * import { memoryEventStore, type GlobalEvent } from "@quark/persistence";
 * const store = memoryEventStore();
 * const data = new Uint8Array();
 * await store.append("a", [{ type: "A1", data }], "no_stream");
 * await store.append("b", [{ type: "B1", data }], "no_stream");
 * const seen: GlobalEvent[] = [];
 * for await (const event of store.readAll()) seen.push(event);
 * if (!(seen[0]!.position < seen[1]!.position)) throw new Error("positions must grow");
 * ```
 */
export interface GlobalEvent extends StoredEvent {
  /** The event's place in the global order. */
  readonly position: bigint;
}

/**
 * Options for {@linkcode EventStore.readAll}.
 *
 * @example Resuming after a checkpoint
 * ```ts
 * import { memoryEventStore, type ReadAllOptions } from "@quark/persistence";
 * const store = memoryEventStore();
 * const data = new Uint8Array();
 * await store.append("a", [{ type: "First", data }, { type: "Second", data }], "no_stream");
 * let checkpoint = 0n;
 * for await (const event of store.readAll()) { checkpoint = event.position; break; }
 * const options: ReadAllOptions = { after: checkpoint };
 * const rest: string[] = [];
 * for await (const event of store.readAll(options)) rest.push(event.type);
 * if (rest.join() !== "Second") throw new Error(`unexpected rest: ${rest}`);
 * ```
 */
export interface ReadAllOptions {
  /** Return only events whose position is greater than this; defaults to `0n` (everything). */
  readonly after?: bigint | undefined;
  /** How many events to fetch per round trip; defaults to the backend's choice. */
  readonly pageSize?: number | undefined;
}

/**
 * What an event store can do beyond the streams every store supports.
 *
 * @example Checking before following the global order
 * ```ts
 * import { memoryEventStore } from "@quark/persistence";
 * const store = memoryEventStore();
 * if (!store.capabilities.readAll) throw new Error("the memory store has a global order");
 * ```
 */
export interface EventStoreCapabilities {
  /**
   * Whether {@linkcode EventStore.readAll} works: a total order of all events that a reader
   * can follow safely. Where `false`, `readAll` throws a `CapabilityError`.
   */
  readonly readAll: boolean;
}

/**
 * A snapshot of a stream's folded state at some version.
 *
 * @example A snapshot never goes back in time
 * ```ts
 * import { memoryEventStore, type StoredSnapshot } from "@quark/persistence";
 * const store = memoryEventStore();
 * const latest: StoredSnapshot = { version: 10, data: new Uint8Array([1]) };
 * await store.saveSnapshot("counter-1", latest);
 * if (await store.saveSnapshot("counter-1", { version: 5, data: new Uint8Array([0]) })) throw new Error("an older snapshot replaced a newer one");
 * if ((await store.loadSnapshot("counter-1"))?.version !== 10) throw new Error("snapshot lost");
 * ```
 */
export interface StoredSnapshot {
  /** The stream version the snapshot reflects. */
  readonly version: number;
  /** The encoded state. */
  readonly data: Uint8Array;
}

/**
 * What a successful append reports.
 *
 * @example The stream version after an append
 * ```ts
 * import { memoryEventStore, type AppendResult } from "@quark/persistence";
 * const store = memoryEventStore();
 * const data = new Uint8Array();
 * const result: AppendResult = await store.append("order-1", [{ type: "Placed", data }, { type: "Paid", data }], "no_stream");
 * if (result.nextVersion !== 2) throw new Error("expected version 2");
 * ```
 */
export interface AppendResult {
  /** The stream's version after the append: the version of its last event. */
  readonly nextVersion: number;
  /**
   * The global position of the append's last event, on stores whose
   * {@linkcode EventStoreCapabilities.readAll} is `true`; absent elsewhere. A reader that
   * has reached it has seen the whole append.
   */
  readonly lastPosition?: bigint | undefined;
}

/**
 * Options for {@linkcode EventStore.read}.
 *
 * @example Reading only the tail of a stream
 * ```ts
 * import { memoryEventStore, type ReadStreamOptions } from "@quark/persistence";
 * const store = memoryEventStore();
 * const data = new Uint8Array();
 * await store.append("log-1", Array.from({ length: 5 }, (_, index) => ({ type: `E${index + 1}`, data })), "no_stream");
 * const options: ReadStreamOptions = { fromVersion: 4, pageSize: 2 };
 * const types: string[] = [];
 * for await (const event of store.read("log-1", options)) types.push(event.type);
 * if (types.join() !== "E4,E5") throw new Error(`unexpected tail: ${types}`);
 * ```
 */
export interface ReadStreamOptions {
  /** The first version to return; defaults to 1. */
  readonly fromVersion?: number | undefined;
  /** How many events to fetch per round trip; defaults to the backend's choice. */
  readonly pageSize?: number | undefined;
}

/**
 * A store of event streams and their snapshots.
 *
 * @example Recovering from the latest snapshot plus the events after it
 * ```ts
 * import { memoryEventStore, type EventStore } from "@quark/persistence";
 * async function countEvents(store: EventStore, stream: string): Promise<number> {
 *   const snapshot = await store.loadSnapshot(stream);
 *   let count = snapshot?.version ?? 0;
 *   for await (const _event of store.read(stream, { fromVersion: count + 1 })) count++;
 *   return count;
 * }
 * const store = memoryEventStore();
 * const data = new Uint8Array();
 * await store.append("visits", [{ type: "Visited", data }, { type: "Visited", data }], "no_stream");
 * await store.saveSnapshot("visits", { version: 2, data });
 * await store.append("visits", [{ type: "Visited", data }], 2);
 * if ((await countEvents(store, "visits")) !== 3) throw new Error("expected 3 events");
 * ```
 */
export interface EventStore {
  /** The backend's name, used in error messages. */
  readonly name: string;
  /** What the store supports beyond streams. */
  readonly capabilities: EventStoreCapabilities;
  /**
   * Appends a batch of events atomically: all of them or none.
   * With `"any"`, concurrent appends still get distinct, gap-free versions.
   * @throws {EventStoreConflictError} When the stream is not at the expected version.
   */
  append(stream: string, events: readonly NewEvent[], expected: ExpectedVersion): Promise<AppendResult>;
  /** Reads a stream in order from `fromVersion`, fetching a page at a time. */
  read(stream: string, options?: ReadStreamOptions): AsyncIterable<StoredEvent>;
  /**
   * Reads every stream's events in the store's global order, after `options.after`.
   *
   * The order is safe to follow: once an event at position `p` has been returned, no event
   * with a position at or below `p` can appear later (an append that commits late never
   * lands behind a reader). Positions grow strictly but need not be contiguous. The events
   * of one append have consecutive versions and increasing positions.
   *
   * @throws {CapabilityError} Where {@linkcode EventStoreCapabilities.readAll} is `false`.
   */
  readAll(options?: ReadAllOptions): AsyncIterable<GlobalEvent>;
  /** The stream's current version; 0 when it has no events. */
  version(stream: string): Promise<number>;
  /**
   * Saves a snapshot unless one at the same or a newer version is stored.
   * @returns `true` when saved, `false` when a newer or equal snapshot was kept.
   */
  saveSnapshot(stream: string, snapshot: StoredSnapshot): Promise<boolean>;
  /** Loads the latest snapshot, or `null`. */
  loadSnapshot(stream: string): Promise<StoredSnapshot | null>;
  /** Releases connections the store opened itself. */
  close(): Promise<void>;
}

/**
 * The event store contract. Every backend's event store implements {@linkcode EventStore}
 * and must pass `runEventStoreConformance` from `@quark/persistence/testing`.
 *
 * Versions count events in a stream from 1; an empty or absent stream is at version 0.
 *
 * @module
 */

/** What an append expects of the stream: its exact version, that it does not exist, or nothing. */
export type ExpectedVersion = number | "no_stream" | "any";

/** An event to append. `data` is opaque bytes; the core encodes it. */
export interface NewEvent {
  /** The event's type, such as `"Deposited"`. */
  readonly type: string;
  /** The encoded payload. */
  readonly data: Uint8Array;
}

/** An event as read back. */
export interface StoredEvent {
  /** The stream it belongs to. */
  readonly stream: string;
  /** Its position in the stream, from 1. */
  readonly version: number;
  /** The event's type. */
  readonly type: string;
  /** The encoded payload, exactly as appended. */
  readonly data: Uint8Array;
}

/** A snapshot of a stream's folded state at some version. */
export interface StoredSnapshot {
  /** The stream version the snapshot reflects. */
  readonly version: number;
  /** The encoded state. */
  readonly data: Uint8Array;
}

/** What a successful append reports. */
export interface AppendResult {
  /** The stream's version after the append: the version of its last event. */
  readonly nextVersion: number;
}

/** Options for {@linkcode EventStore.read}. */
export interface ReadStreamOptions {
  /** The first version to return; defaults to 1. */
  readonly fromVersion?: number;
  /** How many events to fetch per round trip; defaults to the backend's choice. */
  readonly pageSize?: number;
}

/** A store of event streams and their snapshots. */
export interface EventStore {
  /** The backend's name, used in error messages. */
  readonly name: string;
  /**
   * Appends a batch of events atomically: all of them or none.
   * With `"any"`, concurrent appends still get distinct, gap-free versions.
   * @throws {EventStoreConflictError} When the stream is not at the expected version.
   */
  append(stream: string, events: readonly NewEvent[], expected: ExpectedVersion): Promise<AppendResult>;
  /** Reads a stream in order from `fromVersion`, fetching a page at a time. */
  read(stream: string, options?: ReadStreamOptions): AsyncIterable<StoredEvent>;
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

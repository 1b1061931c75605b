import type { EventStore, NewEvent } from "./types.ts";
import type { Codec } from "../codec/codec.ts";
import type { Upcasters } from "../state/define_state.ts";
import type { StandardSchemaV1 } from "../state/standard_schema.ts";
import { validate } from "../state/standard_schema.ts";
import { upcastValue } from "../state/state_cell.ts";
import { errorCodeOf, notify, type QuarkObserver } from "../observe/observer.ts";
import type { CallInfo } from "../actors/call_info.ts";
import { decodeEvent, type EventSource } from "./event_decoder.ts";

/** The schema version of event metadata; it is a plain record, so it has had only one. */
export const METADATA_VERSION = 1;

/** What an aggregate needs to know about its events and state. */
export interface AggregateDefinition<State, Event extends { type: string }> {
  readonly name: string;
  readonly eventSchema: StandardSchemaV1<unknown, Event>;
  readonly eventVersion: number;
  readonly migrateEvent: Upcasters;
  readonly stateSchema: StandardSchemaV1<unknown, State>;
  readonly stateVersion: number;
  readonly migrateState: Upcasters;
  readonly initial: () => State;
  readonly apply: (state: State, event: Event) => State;
  readonly snapshotEvery: number;
  /** Validates each event's metadata, when given. */
  readonly metadataSchema?: StandardSchemaV1<unknown, EventMetadata> | undefined;
}

/** One command's view of an aggregate: a draft of its own, changed only by raising events. */
export interface CommandDraft<State, Event> {
  /** The draft state, frozen: it changes only through `raise`. */
  readonly state: State;
  /** The stream version of the committed state. */
  readonly version: number;
  /** How many raised events are not committed yet. */
  readonly pending: number;
  /** How many times this command has committed. */
  readonly commits: number;
  /** Validates an event and applies it to the draft only; `metadata` joins the call's ids. */
  raise(event: Event, metadata?: EventMetadata): Promise<void>;
  /** Appends the pending events at the committed version; on failure the draft rolls back. */
  commit(): Promise<void>;
  /** Drops the pending events and the draft. */
  discard(): void;
}

/** One stream's folded state. Commands work on drafts from {@linkcode Aggregate.begin}. */
export interface Aggregate<State, Event> {
  /** The committed state. */
  readonly state: State;
  /** The stream version of the committed state. */
  readonly version: number;
  /** The version of the latest snapshot this aggregate wrote or loaded. */
  readonly snapshotVersion: number;
  /** Whether the committed state may be behind the stream (after a conflict or an unknown outcome). */
  readonly stale: boolean;
  /** Starts a command on a fresh draft of the committed state, for one call. */
  begin(call: CallInfo): CommandDraft<State, Event>;
  /** Loads the latest readable snapshot, then replays the events after it. */
  recover(): Promise<void>;
  /** Applies events appended by others since the committed version. */
  catchUp(): Promise<void>;
}

/**
 * Each event's ciphertext is bound to its stream and position, and each snapshot's to its
 * stream and version, so stored events cannot be reordered or moved between streams unnoticed.
 */
export function eventBinding(stream: string, position: number): string {
  return `${stream}#${position}`;
}
export function snapshotBinding(stream: string, version: number): string {
  return `${stream}#snapshot@${version}`;
}
export function metadataBinding(stream: string, position: number): string {
  return `${stream}#${position}#metadata`;
}

/**
 * The metadata stored with each event: the call's correlation and causation ids, plus
 * whatever the command adds. Values are encoded by the system's codec, like payloads.
 *
 * @example Metadata a command adds
 * ```ts
 * import type { EventMetadata } from "@quark/persistence";
 * const metadata: EventMetadata = { user: "ada", source: "mobile" };
 * if (metadata.user !== "ada") throw new Error("unexpected");
 * ```
 */
export type EventMetadata = Readonly<Record<string, unknown>>;

/** The metadata of one raised event: the command's own, then the call's ids, which win. */
function metadataOf(call: CallInfo, extra: EventMetadata | undefined): EventMetadata {
  if (extra !== undefined && (typeof extra !== "object" || extra === null || Array.isArray(extra))) {
    throw new TypeError(`Event metadata must be a plain object of named values, got ${Array.isArray(extra) ? "an array" : String(extra)}`);
  }
  return { ...extra, correlationId: call.correlationId, causationId: call.id };
}

function deepFreeze<T>(value: T): T {
  if (typeof value !== "object" || value === null || Object.isFrozen(value)) return value;
  // Typed arrays cannot be frozen while they have elements; they stay as they are.
  if (ArrayBuffer.isView(value)) return value;
  Object.freeze(value);
  for (const key of Reflect.ownKeys(value)) deepFreeze((value as Record<PropertyKey, unknown>)[key]);
  return value;
}

/** Creates the aggregate for one stream. */
export function createAggregate<State, Event extends { type: string }>(
  definition: AggregateDefinition<State, Event>,
  store: EventStore,
  codec: Codec,
  stream: string,
  observer?: QuarkObserver,
): Aggregate<State, Event> {
  let committed = definition.initial();
  let version = 0;
  let snapshotVersion = 0;
  let snapshotAttempted = 0;
  let stale = false;
  const eventTarget = `${definition.name} event`;
  const snapshotTarget = `${definition.name} snapshot`;

  const source: EventSource<StandardSchemaV1<unknown, Event>> = { actorType: definition.name, events: definition.eventSchema, eventVersion: definition.eventVersion, migrateEvent: definition.migrateEvent };

  async function replayFrom(fromVersion: number): Promise<void> {
    for await (const stored of store.read(stream, { fromVersion })) {
      committed = definition.apply(committed, await decodeEvent(source, codec, stream, stored.version, stored.data));
      version = stored.version;
    }
    stale = false;
  }

  // A snapshot is an optimisation: it is validated before it is written, and any failure
  // (invalid state, encoding, storage) skips it. The events are durable either way, so the
  // command that triggered it never fails because of it.
  async function snapshotIfDue(): Promise<void> {
    if (version - Math.max(snapshotVersion, snapshotAttempted) < definition.snapshotEvery) return;
    snapshotAttempted = version;
    try {
      const valid = await validate(definition.stateSchema, committed, snapshotTarget, "write");
      await store.saveSnapshot(stream, { version, data: await codec.encode(valid, definition.stateVersion, snapshotBinding(stream, version)) });
      snapshotVersion = version;
      notify(observer, "snapshot", { stream, version, outcome: "written" });
    } catch (error) {
      notify(observer, "snapshot", { stream, version, outcome: "skipped", reason: errorCodeOf(error) });
    }
  }

  // An unreadable snapshot (corrupt, undecryptable, no upcaster, invalid) is skipped:
  // replaying the whole stream gives the same state, only slower.
  async function readableSnapshot(): Promise<{ state: State; version: number } | undefined> {
    let snapshotAt = 0;
    try {
      const snapshot = await store.loadSnapshot(stream);
      if (!snapshot) return undefined;
      snapshotAt = snapshot.version;
      const decoded = await codec.decode(snapshot.data, snapshotBinding(stream, snapshot.version));
      const upcast = upcastValue({ name: snapshotTarget, version: definition.stateVersion, migrate: definition.migrateState }, decoded.value, decoded.schemaVersion);
      return { state: await validate(definition.stateSchema, upcast, snapshotTarget, "read"), version: snapshot.version };
    } catch (error) {
      notify(observer, "snapshot", { stream, version: snapshotAt, outcome: "unreadable", reason: errorCodeOf(error) });
      return undefined;
    }
  }

  function begin(call: CallInfo): CommandDraft<State, Event> {
    let draft = structuredClone(committed);
    let pending: { event: Event; metadata: EventMetadata }[] = [];
    let commits = 0;
    let frozen: State | undefined;

    function discard(): void {
      pending = [];
      draft = structuredClone(committed);
      frozen = undefined;
    }

    return {
      get state() {
        frozen ??= deepFreeze(structuredClone(draft));
        return frozen;
      },
      get version() {
        return version;
      },
      get pending() {
        return pending.length;
      },
      get commits() {
        return commits;
      },
      async raise(event, metadata) {
        let meta = metadataOf(call, metadata);
        if (definition.metadataSchema) meta = await validate(definition.metadataSchema, meta, `${eventTarget} metadata`, "write");
        const valid = await validate(definition.eventSchema, event, eventTarget, "write");
        draft = definition.apply(draft, structuredClone(valid));
        pending.push({ event: valid, metadata: meta });
        frozen = undefined;
      },
      async commit() {
        if (pending.length === 0) return;
        const from = version;
        try {
          const events: NewEvent[] = await Promise.all(pending.map(async ({ event, metadata }, index) => ({
            type: event.type,
            data: await codec.encode(event, definition.eventVersion, eventBinding(stream, from + index + 1)),
            metadata: await codec.encode(metadata, METADATA_VERSION, metadataBinding(stream, from + index + 1)),
          })));
          const result = await store.append(stream, events, from === 0 ? "no_stream" : from);
          committed = draft;
          version = result.nextVersion;
          commits++;
          discard();
        } catch (error) {
          // After a conflict or an unknown outcome the stream may be ahead of us.
          stale = true;
          discard();
          throw error;
        }
        await snapshotIfDue();
      },
      discard,
    };
  }

  return {
    get state() {
      return committed;
    },
    get version() {
      return version;
    },
    get snapshotVersion() {
      return snapshotVersion;
    },
    get stale() {
      return stale;
    },
    begin,
    async recover() {
      committed = definition.initial();
      version = 0;
      snapshotVersion = 0;
      snapshotAttempted = 0;
      const snapshot = await readableSnapshot();
      if (snapshot) {
        committed = snapshot.state;
        version = snapshot.version;
        snapshotVersion = snapshot.version;
      }
      await replayFrom(version + 1);
    },
    catchUp() {
      return replayFrom(version + 1);
    },
  };
}

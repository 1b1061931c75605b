import type { EventStore, NewEvent } from "./types.ts";
import type { Codec } from "../codec/codec.ts";
import type { Upcasters } from "../state/define_state.ts";
import type { StandardSchemaV1 } from "../state/standard_schema.ts";
import { validate } from "../state/standard_schema.ts";
import { upcastValue } from "../state/state_handle.ts";

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
}

/** One stream's folded state, with a draft that only `commit` makes durable. */
export interface Aggregate<State, Event> {
  /** The draft state: the committed state with raised events applied. */
  readonly state: State;
  /** The stream version of the committed state. */
  readonly version: number;
  /** The version of the latest snapshot this aggregate knows of. */
  readonly snapshotVersion: number;
  /** Events raised since the last commit. */
  readonly pending: readonly Event[];
  /** Validates an event and applies it to the draft only. */
  raise(event: Event): Promise<void>;
  /** Appends the pending events at the committed version; on failure the draft rolls back. */
  commit(): Promise<void>;
  /** Drops the pending events and the draft. */
  rollback(): void;
  /** Loads the latest snapshot, then replays the events after it. */
  recover(): Promise<void>;
  /** Applies events appended by others since the committed version. */
  catchUp(): Promise<void>;
}

/** Creates the aggregate for one stream. */
export function createAggregate<State, Event extends { type: string }>(
  definition: AggregateDefinition<State, Event>,
  store: EventStore,
  codec: Codec,
  stream: string,
): Aggregate<State, Event> {
  let committed = definition.initial();
  let version = 0;
  let snapshotVersion = 0;
  let draft = structuredClone(committed);
  let pending: Event[] = [];
  const eventTarget = `${definition.name} event`;
  const snapshotTarget = `${definition.name} snapshot`;

  async function decodeEvent(data: Uint8Array): Promise<Event> {
    const decoded = await codec.decode(data, stream);
    const upcast = upcastValue({ name: eventTarget, version: definition.eventVersion, migrate: definition.migrateEvent }, decoded.value, decoded.schemaVersion);
    return validate(definition.eventSchema, upcast, eventTarget, "read");
  }

  async function replayFrom(fromVersion: number): Promise<void> {
    for await (const stored of store.read(stream, { fromVersion })) {
      committed = definition.apply(committed, await decodeEvent(stored.data));
      version = stored.version;
    }
    draft = structuredClone(committed);
  }

  async function snapshotIfDue(): Promise<void> {
    if (version - snapshotVersion < definition.snapshotEvery) return;
    const data = await codec.encode(committed, definition.stateVersion, stream);
    // A snapshot is an optimisation: when saving one fails, the events are still durable and
    // the next commit tries again, so the command that caused it does not fail.
    try {
      await store.saveSnapshot(stream, { version, data });
      snapshotVersion = version;
    } catch {
      return;
    }
  }

  function rollback(): void {
    pending = [];
    draft = structuredClone(committed);
  }

  return {
    get state() {
      return draft;
    },
    get version() {
      return version;
    },
    get snapshotVersion() {
      return snapshotVersion;
    },
    get pending() {
      return pending;
    },
    async raise(event) {
      const valid = await validate(definition.eventSchema, event, eventTarget, "write");
      draft = definition.apply(draft, valid);
      pending.push(valid);
    },
    async commit() {
      if (pending.length === 0) return;
      try {
        const events: NewEvent[] = await Promise.all(pending.map(async (event) => ({
          type: event.type,
          data: await codec.encode(event, definition.eventVersion, stream),
        })));
        const result = await store.append(stream, events, version === 0 ? "no_stream" : version);
        committed = draft;
        draft = structuredClone(committed);
        version = result.nextVersion;
        pending = [];
      } catch (error) {
        rollback();
        throw error;
      }
      await snapshotIfDue();
    },
    rollback,
    async recover() {
      committed = definition.initial();
      version = 0;
      snapshotVersion = 0;
      pending = [];
      const snapshot = await store.loadSnapshot(stream);
      if (snapshot) {
        const decoded = await codec.decode(snapshot.data, stream);
        const upcast = upcastValue({ name: snapshotTarget, version: definition.stateVersion, migrate: definition.migrateState }, decoded.value, decoded.schemaVersion);
        committed = await validate(definition.stateSchema, upcast, snapshotTarget, "read");
        version = snapshot.version;
        snapshotVersion = snapshot.version;
      }
      await replayFrom(version + 1);
    },
    async catchUp() {
      pending = [];
      await replayFrom(version + 1);
    },
  };
}

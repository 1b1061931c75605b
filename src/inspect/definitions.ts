import type { StateDefinition, Upcasters } from "../state/define_state.ts";
import type { StandardSchemaV1 } from "../state/standard_schema.ts";
import type { StateKey } from "../storage/types.ts";
import { decodeKey } from "../storage/keys.ts";

/**
 * What the inspector needs to decode one actor type's events and snapshots: the options given
 * to `defineEventSourcedActor`, plus the actor type. `defineEventSourcedActor` keeps its
 * schemas private, so its result alone cannot decode events.
 *
 * @example Sharing the options with the actor definition
 * ```ts
 * import * as v from "valibot";
 * import { createInspector, defineEventSourcedActor, memoryEventStore, memoryStorage, type EventStreamDefinition } from "@quark/persistence";
 * const ledgerOptions = {
 *   events: v.object({ type: v.literal("Deposited"), cents: v.number() }),
 *   state: v.object({ balance: v.number() }),
 *   initial: { balance: 0 },
 *   apply: (state: { balance: number }, event: { cents: number }) => ({ balance: state.balance + event.cents }),
 * };
 * const Ledger = defineEventSourcedActor("ledger", { ...ledgerOptions, commands: {} });
 * const ledgerEvents: EventStreamDefinition = { actorType: Ledger.actorType, ...ledgerOptions };
 * const inspector = createInspector({ storage: memoryStorage(), eventStore: memoryEventStore(), definitions: [ledgerEvents] });
 * if (inspector.actorTypes().join() !== "ledger") throw new Error("ledger not known");
 * ```
 */
export interface EventStreamDefinition {
  /** The event-sourced actor's type; its streams are `streamNameOf(actorType, actorId)`. */
  readonly actorType: string;
  /** The event schema. */
  readonly events: StandardSchemaV1;
  /** The schema version of events written now. Defaults to 1. */
  readonly eventVersion?: number | undefined;
  /** Upcasters for older events. */
  readonly migrateEvent?: Upcasters | undefined;
  /** The folded state's schema, used for snapshots. */
  readonly state?: StandardSchemaV1 | undefined;
  /** The schema version of snapshots written now. Defaults to 1. */
  readonly stateVersion?: number | undefined;
  /** Upcasters for older snapshots. */
  readonly migrateState?: Upcasters | undefined;
}

/**
 * What `createInspector` accepts as definitions: actor definitions from `defineActor` (their
 * states decode under their actor type), bare state definitions from `defineState` (they
 * decode a state of that name under any actor type), and {@linkcode EventStreamDefinition}s.
 * An event-sourced actor's definition is accepted too; it names an actor type only.
 *
 * @example Mixing an actor, a bare state and an event stream
 * ```ts
 * import * as v from "valibot";
 * import { createInspector, defineActor, defineState, memoryStorage, type InspectableDefinition } from "@quark/persistence";
 * const balance = defineState("balance", { schema: v.number(), initial: 0 });
 * const definitions: InspectableDefinition[] = [
 *   defineActor("account", { states: { balance }, handlers: {} }),
 *   defineState("profile", { schema: v.string(), initial: "" }),
 *   { actorType: "ledger", events: v.object({ type: v.string() }) },
 * ];
 * const inspector = createInspector({ storage: memoryStorage(), definitions });
 * if (inspector.actorTypes().join() !== "account,ledger") throw new Error("wrong actor types");
 * ```
 */
export type InspectableDefinition =
  | { readonly actorType: string; readonly states: Readonly<Record<string, StateDefinition<any>>> }
  | StateDefinition<any>
  | EventStreamDefinition;

/** The schema, version and upcasters one stored value decodes with. */
export interface ValueDefinition {
  readonly name: string;
  readonly schema: StandardSchemaV1;
  readonly version: number;
  readonly migrate: Upcasters;
}

/** Definitions indexed for look-up by state key and by stream. */
export interface DefinitionIndex {
  readonly actorTypes: readonly string[];
  stateOf(key: StateKey): StateDefinition<unknown> | undefined;
  eventOf(actorType: string): ValueDefinition | undefined;
  snapshotOf(actorType: string): ValueDefinition | undefined;
}

function isEventStream(definition: InspectableDefinition): definition is EventStreamDefinition {
  return "events" in definition && "actorType" in definition;
}

function isActor(definition: InspectableDefinition): definition is Extract<InspectableDefinition, { states: unknown }> {
  return "actorType" in definition && "states" in definition;
}

/** Indexes definitions; a later definition of the same actor type or state name wins. */
export function indexDefinitions(definitions: readonly InspectableDefinition[]): DefinitionIndex {
  const actorStates = new Map<string, Map<string, StateDefinition<unknown>>>();
  const bareStates = new Map<string, StateDefinition<unknown>>();
  const streams = new Map<string, EventStreamDefinition>();
  const actorTypes = new Set<string>();
  for (const definition of definitions) {
    if (isEventStream(definition)) {
      streams.set(definition.actorType, definition);
      actorTypes.add(definition.actorType);
    } else if (isActor(definition)) {
      const byName = actorStates.get(definition.actorType) ?? new Map<string, StateDefinition<unknown>>();
      for (const state of Object.values(definition.states)) byName.set(state.name, state);
      actorStates.set(definition.actorType, byName);
      actorTypes.add(definition.actorType);
    } else {
      bareStates.set(definition.name, definition);
    }
  }
  return {
    actorTypes: [...actorTypes],
    stateOf: (key) => actorStates.get(key.actorType)?.get(key.stateName) ?? bareStates.get(key.stateName),
    eventOf(actorType) {
      const stream = streams.get(actorType);
      if (!stream) return undefined;
      return { name: `${actorType} event`, schema: stream.events, version: stream.eventVersion ?? 1, migrate: stream.migrateEvent ?? {} };
    },
    snapshotOf(actorType) {
      const stream = streams.get(actorType);
      if (!stream?.state) return undefined;
      return { name: `${actorType} snapshot`, schema: stream.state, version: stream.stateVersion ?? 1, migrate: stream.migrateState ?? {} };
    },
  };
}

/**
 * The actor type of a stream named by `streamNameOf`, or `undefined` for other names. A stream
 * name is an escaped `actorType/actorId`, so it decodes like a state key missing its last part.
 */
export function actorTypeOfStream(stream: string): string | undefined {
  if (stream.split("/").length !== 2) return undefined;
  return decodeKey(`${stream}/`).actorType;
}

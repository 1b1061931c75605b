import type { InferOutput, StandardSchemaV1 } from "../state/standard_schema.ts";
import type { Upcasters } from "../state/define_state.ts";
import type { EventSource } from "../events/event_decoder.ts";
import type { EventMetadata } from "../events/aggregate.ts";

/**
 * What a projection's `apply` and `key` learn about each event besides its payload.
 *
 * @example Using the metadata of an event
 * ```ts
 * import type { ProjectedEvent } from "@quark/persistence";
 * const describe = (info: ProjectedEvent) => `${info.actorId}@${info.version} (${String(info.metadata?.correlationId)})`;
 * const text = describe({ stream: "ledger/l1", actorType: "ledger", actorId: "l1", version: 1, position: 1n, createdAt: undefined, metadata: { correlationId: "c1" } });
 * if (text !== "l1@1 (c1)") throw new Error(text);
 * ```
 */
export interface ProjectedEvent {
  /** The event's stream. */
  readonly stream: string;
  /** The actor type the stream belongs to. */
  readonly actorType: string;
  /** The actor id the stream belongs to. */
  readonly actorId: string;
  /** The event's version in its stream. */
  readonly version: number;
  /** The event's global position. */
  readonly position: bigint;
  /** When it was stored, where the store records it. */
  readonly createdAt: Date | undefined;
  /** Its decoded metadata: correlation and causation ids, and what the command added. */
  readonly metadata: EventMetadata | undefined;
}

type EventOf<Sources extends readonly EventSource[]> = InferOutput<Sources[number]["events"]>;

/**
 * Options for {@linkcode defineProjection}.
 *
 * @example A projection keyed by account
 * ```ts
 * import * as v from "valibot";
 * import { defineProjection, type ProjectionOptions } from "@quark/persistence";
 * const ledger = { actorType: "ledger", events: v.object({ type: v.literal("Deposited"), cents: v.number() }) };
 * const state = v.object({ cents: v.number() });
 * const options: ProjectionOptions<typeof state, [typeof ledger]> = {
 *   from: [ledger],
 *   state,
 *   initial: { cents: 0 },
 *   key: (_event, info) => info.actorId,
 *   apply: (total, event) => ({ cents: total.cents + event.cents }),
 * };
 * if (defineProjection("per-account", options).name !== "per-account") throw new Error("unexpected name");
 * ```
 */
export interface ProjectionOptions<StateSchema extends StandardSchemaV1, Sources extends readonly EventSource[]> {
  /** The actor types whose events feed it, with their schemas; other events are skipped. */
  readonly from: Sources;
  /** The read model's schema; every document is validated before it is stored. */
  readonly state: StateSchema;
  /** A document before its first event. */
  readonly initial: InferOutput<StateSchema> | (() => InferOutput<StateSchema>);
  /** The schema version of documents written now. Defaults to 1. */
  readonly stateVersion?: number | undefined;
  /** Upcasters for documents written by older versions. */
  readonly migrateState?: Upcasters | undefined;
  /** Which document an event updates; `undefined` skips it. Defaults to one document, `"all"`. */
  readonly key?: ((event: EventOf<Sources>, info: ProjectedEvent) => string | undefined) | undefined;
  /**
   * Folds one event into a document. It may return a new object or change the one given. It
   * must be pure: when two projectors race, the loser's batch is folded and then discarded.
   */
  readonly apply: (state: InferOutput<StateSchema>, event: EventOf<Sources>, info: ProjectedEvent) => InferOutput<StateSchema>;
}

/**
 * A projection: a typed read model folded from events. Run it with `createProjector`.
 *
 * @example The shape of a projection
 * ```ts
 * import * as v from "valibot";
 * import { defineProjection, type Projection } from "@quark/persistence";
 * const counted = { actorType: "tally", events: v.object({ type: v.literal("Counted") }) };
 * const total: Projection<number, { type: "Counted" }> = defineProjection("total", {
 *   from: [counted],
 *   state: v.number(),
 *   initial: 0,
 *   apply: (count) => count + 1,
 * });
 * if (total.sources.get("tally") !== counted) throw new Error("source lost");
 * ```
 */
export interface Projection<State, Event> {
  /** The projection's name; its documents and checkpoint are stored under it. */
  readonly name: string;
  /** The event sources by actor type. */
  readonly sources: ReadonlyMap<string, EventSource>;
  /** The documents' schema. */
  readonly schema: StandardSchemaV1<unknown, State>;
  /** The schema version of documents written now. */
  readonly version: number;
  /** Upcasters for documents written by older versions. */
  readonly migrate: Upcasters;
  /** A fresh document before its first event. */
  readonly initial: () => State;
  /** Which document an event updates, or `undefined` to skip it. */
  readonly keyOf: (event: Event, info: ProjectedEvent) => string | undefined;
  /** Folds one event into a document; pure. */
  readonly apply: (state: State, event: Event, info: ProjectedEvent) => State;
}

/** The document a projection without `key` keeps. */
export const SINGLE_DOCUMENT = "all";

/**
 * Defines a projection: a function from events to a typed, schema-validated read model.
 * A projector commits each batch's documents together with its checkpoint in one
 * `transact`, so every event is applied exactly once, whatever crashes in between.
 *
 * @param name The projection's name.
 * @param options The sources, the document schema, `initial`, `key` and `apply`.
 * @returns The projection, for `createProjector`.
 * @throws {TypeError} When `from` is empty or names one actor type twice.
 *
 * @example Counting deposits per account
 * ```ts
 * import * as v from "valibot";
 * import { defineProjection } from "@quark/persistence";
 * const ledger = { actorType: "ledger", events: v.object({ type: v.literal("Deposited"), cents: v.number() }) };
 * const Deposits = defineProjection("deposits", {
 *   from: [ledger],
 *   state: v.object({ count: v.number(), cents: v.number() }),
 *   initial: { count: 0, cents: 0 },
 *   key: (_event, info) => info.actorId,
 *   apply: (total, event) => ({ count: total.count + 1, cents: total.cents + event.cents }),
 * });
 * if (Deposits.name !== "deposits") throw new Error("unexpected name");
 * ```
 */
export function defineProjection<StateSchema extends StandardSchemaV1, const Sources extends readonly EventSource[]>(
  name: string,
  options: ProjectionOptions<StateSchema, Sources>,
): Projection<InferOutput<StateSchema>, EventOf<Sources>> {
  if (options.from.length === 0) throw new TypeError(`Projection ${JSON.stringify(name)} needs at least one source in "from"`);
  const sources = new Map<string, EventSource>();
  for (const source of options.from) {
    if (sources.has(source.actorType)) throw new TypeError(`Projection ${JSON.stringify(name)} names actor type ${JSON.stringify(source.actorType)} twice`);
    sources.set(source.actorType, source);
  }
  const initial = options.initial;
  return {
    name,
    sources,
    schema: options.state as StandardSchemaV1<unknown, InferOutput<StateSchema>>,
    version: options.stateVersion ?? 1,
    migrate: options.migrateState ?? {},
    initial: typeof initial === "function" ? initial as () => InferOutput<StateSchema> : () => structuredClone(initial),
    keyOf: options.key ?? (() => SINGLE_DOCUMENT),
    apply: options.apply,
  };
}

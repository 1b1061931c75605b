import type { InferOutput, StandardSchemaV1 } from "../state/standard_schema.ts";
import type { Upcasters } from "../state/define_state.ts";
import type { ConflictPolicy } from "../state/conflict.ts";
import type { ActorContext, ActorDefinition, Handler } from "../actors/define_actor.ts";
import { defineActor } from "../actors/define_actor.ts";
import { backoff, retryOptionsOf } from "../state/conflict.ts";
import { createAggregate, type Aggregate } from "./aggregate.ts";
import { isQuarkError } from "../errors.ts";

/** What an event-sourced command handler receives besides its arguments. */
export interface EventSourcedContext<State, Event> {
  /** The actor's type. */
  readonly actorType: string;
  /** The actor's id; its stream is `actorType/actorId`. */
  readonly actorId: string;
  /** The draft state: committed state plus the events raised in this turn. */
  readonly state: State;
  /** The stream version of the committed state. */
  readonly version: number;
  /** Validates an event and applies it to the draft; nothing is stored until `commit`. */
  raise(event: Event): Promise<void>;
  /** Appends the raised events atomically; if that fails, the draft rolls back. */
  commit(): Promise<void>;
}

/** A command: the context, then the caller's arguments. */
export type CommandHandler<State, Event> = (context: EventSourcedContext<State, Event>, ...args: any[]) => unknown;

/** Options for {@linkcode defineEventSourcedActor}. */
export interface EventSourcedActorOptions<
  EventSchema extends StandardSchemaV1,
  StateSchema extends StandardSchemaV1,
  Commands extends Record<string, CommandHandler<InferOutput<StateSchema>, InferOutput<EventSchema>>>,
> {
  /** The events, usually a valibot `variant("type", [...])` so they form a discriminated union. */
  readonly events: EventSchema;
  /** The schema version of events written now. Defaults to 1. */
  readonly eventVersion?: number;
  /** Upcasters for events written by older versions: `migrateEvent[1]` turns v1 into v2. */
  readonly migrateEvent?: Upcasters;
  /** The folded state's schema, also used for snapshots. */
  readonly state: StateSchema;
  /** The state before the first event. */
  readonly initial: InferOutput<StateSchema> | (() => InferOutput<StateSchema>);
  /** The schema version of snapshots written now. Defaults to 1. */
  readonly stateVersion?: number;
  /** Upcasters for snapshots written by older versions. */
  readonly migrateState?: Upcasters;
  /** Folds one event into the state. It may return a new object or change the one given. */
  readonly apply: (state: InferOutput<StateSchema>, event: InferOutput<EventSchema>) => InferOutput<StateSchema>;
  /** Save a snapshot after this many events since the last one. Defaults to 100. */
  readonly snapshotEvery?: number;
  /** `"retry"` (or `{ retry }`) re-reads the stream and re-runs the command on a conflict; `"abort"` throws. */
  readonly conflict?: "abort" | "retry" | Extract<ConflictPolicy<unknown>, { retry: unknown }>;
  /** The commands the actor handles. */
  readonly commands: Commands & { readonly [Name in keyof Commands]: CommandHandler<InferOutput<StateSchema>, InferOutput<EventSchema>> };
  /** Deactivate after this many idle milliseconds; overrides the system's setting. */
  readonly idleTimeoutMs?: number;
}

/** The actor handlers a command map turns into: the same arguments and results. */
export type CommandsAsHandlers<Commands> = {
  readonly [Name in keyof Commands]: Commands[Name] extends (context: any, ...args: infer Args) => infer Result
    ? (context: ActorContext<{}>, ...args: Args) => Result
    : never;
};

/**
 * Defines an event-sourced actor: its state is the fold of its events, recovered from the
 * latest snapshot plus the events after it. Commands `raise` events into a draft and
 * `commit` them with the expected stream version; a failed commit rolls the draft back.
 * The actor system needs an `eventStore`.
 *
 * @param actorType The type name; each actor's stream is `actorType/actorId`.
 * @param options Event and state schemas, `apply`, snapshots, upcasters, conflict policy and commands.
 * @returns An actor definition for `system.actor(...)`.
 * @throws {TypeError} When `apply` is missing or `snapshotEvery` is not a whole number of at least 1.
 *
 * @example A ledger with typed events
 * ```ts
 * import * as v from "valibot";
 * import { createActorSystem, defineEventSourcedActor, memoryEventStore, memoryStorage } from "@quark/persistence";
 * const Ledger = defineEventSourcedActor("ledger", {
 *   events: v.variant("type", [
 *     v.object({ type: v.literal("Deposited"), cents: v.number() }),
 *     v.object({ type: v.literal("Withdrawn"), cents: v.number() }),
 *   ]),
 *   state: v.object({ balance: v.pipe(v.number(), v.minValue(0)) }),
 *   initial: { balance: 0 },
 *   apply: (state, event) => ({ balance: state.balance + (event.type === "Deposited" ? event.cents : -event.cents) }),
 *   commands: {
 *     async deposit(ledger, cents: number) {
 *       await ledger.raise({ type: "Deposited", cents });
 *       await ledger.commit();
 *       return ledger.state.balance;
 *     },
 *   },
 * });
 * const system = createActorSystem({ storage: memoryStorage(), eventStore: memoryEventStore() });
 * if ((await system.actor(Ledger, "l1").deposit(250)) !== 250) throw new Error("deposit lost");
 * await system.shutdown();
 * ```
 */
export function defineEventSourcedActor<
  EventSchema extends StandardSchemaV1,
  StateSchema extends StandardSchemaV1,
  Commands extends Record<string, CommandHandler<InferOutput<StateSchema>, InferOutput<EventSchema>>>,
>(
  actorType: string,
  options: EventSourcedActorOptions<EventSchema, StateSchema, Commands>,
): ActorDefinition<{}, CommandsAsHandlers<Commands> & Record<string, Handler<{}>>> {
  type State = InferOutput<StateSchema>;
  type Event = InferOutput<EventSchema> & { type: string };
  if (typeof options.apply !== "function") throw new TypeError(`Event-sourced actor ${JSON.stringify(actorType)} needs an apply function`);
  const snapshotEvery = options.snapshotEvery ?? 100;
  if (!Number.isSafeInteger(snapshotEvery) || snapshotEvery < 1) {
    throw new TypeError(`snapshotEvery must be a whole number of at least 1, got ${snapshotEvery}`);
  }
  const initial = options.initial;
  const definition = {
    name: actorType,
    eventSchema: options.events as StandardSchemaV1<unknown, Event>,
    eventVersion: options.eventVersion ?? 1,
    migrateEvent: options.migrateEvent ?? {},
    stateSchema: options.state as StandardSchemaV1<unknown, State>,
    stateVersion: options.stateVersion ?? 1,
    migrateState: options.migrateState ?? {},
    initial: typeof initial === "function" ? initial as () => State : () => structuredClone(initial),
    apply: options.apply as (state: State, event: Event) => State,
    snapshotEvery,
  };
  const retry = options.conflict ? retryOptionsOf(options.conflict) : undefined;
  // One aggregate per activation; the context object lives exactly as long as the activation.
  const aggregates = new WeakMap<object, Aggregate<State, Event>>();

  function aggregateOf(context: ActorContext<{}>): Aggregate<State, Event> {
    let aggregate = aggregates.get(context);
    if (!aggregate) {
      aggregate = createAggregate(definition, context.eventStore, context.codec, `${actorType}/${context.actorId}`);
      aggregates.set(context, aggregate);
    }
    return aggregate;
  }

  const handlers: Record<string, Handler<{}>> = {};
  for (const [name, command] of Object.entries(options.commands)) {
    handlers[name] = async (context, ...args) => {
      const aggregate = aggregateOf(context);
      const view: EventSourcedContext<State, Event> = {
        actorType,
        actorId: context.actorId,
        get state() {
          return aggregate.state;
        },
        get version() {
          return aggregate.version;
        },
        raise: (event) => aggregate.raise(event),
        commit: () => aggregate.commit(),
      };
      for (let attempt = 1; ; attempt++) {
        try {
          return await command(view, ...args);
        } catch (error) {
          aggregate.rollback();
          if (!retry || !isQuarkError(error, "EVENT_STORE_CONFLICT") || attempt >= retry.maxAttempts) throw error;
          await backoff(attempt, retry);
          await aggregate.catchUp();
        }
      }
    };
  }

  return defineActor(actorType, {
    handlers: handlers as CommandsAsHandlers<Commands> & Record<string, Handler<{}>>,
    idleTimeoutMs: options.idleTimeoutMs,
    onActivate: (context) => aggregateOf(context).recover(),
  });
}

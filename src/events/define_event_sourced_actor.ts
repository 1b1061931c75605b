import type { InferOutput, StandardSchemaV1 } from "../state/standard_schema.ts";
import type { Upcasters } from "../state/define_state.ts";
import type { ConflictPolicy } from "../state/conflict.ts";
import type { ActorContext, ActorDefinition, Handler } from "../actors/define_actor.ts";
import type { ActorSystem } from "../actors/actor_system.ts";
import { defineActor } from "../actors/define_actor.ts";
import { backoff, retryOptionsOf } from "../state/conflict.ts";
import { isRetryableConflict, reportConflict } from "../state/turn_scope.ts";
import { errorCodeOf, notify } from "../observe/observer.ts";
import { streamNameOf } from "../storage/keys.ts";
import { createAggregate, type Aggregate, type CommandDraft, type EventMetadata } from "./aggregate.ts";
import type { CallInfo } from "../actors/call_info.ts";
import { TurnPartiallyCommittedError, UncommittedEventsError } from "../errors.ts";

/**
 * What an event-sourced command handler receives besides its arguments.
 *
 * @example A command that checks the state before raising
 * ```ts
 * import * as v from "valibot";
 * import { createActorSystem, defineEventSourcedActor, memoryEventStore, memoryStorage, type EventSourcedContext } from "@quark/persistence";
 * const events = v.variant("type", [
 *   v.object({ type: v.literal("Deposited"), cents: v.number() }),
 *   v.object({ type: v.literal("Withdrawn"), cents: v.number() }),
 * ]);
 * const state = v.object({ balance: v.number() });
 * type Wallet = EventSourcedContext<v.InferOutput<typeof state>, v.InferOutput<typeof events>>;
 * async function withdraw(wallet: Wallet, cents: number): Promise<number> {
 *   if (wallet.state.balance < cents) throw new RangeError(`Balance ${wallet.state.balance} is below ${cents}`);
 *   await wallet.raise({ type: "Withdrawn", cents });
 *   await wallet.commit();
 *   return wallet.version;
 * }
 * const WalletActor = defineEventSourcedActor("wallet", {
 *   events,
 *   state,
 *   initial: { balance: 0 },
 *   apply: (current, event) => ({ balance: current.balance + (event.type === "Deposited" ? event.cents : -event.cents) }),
 *   commands: {
 *     async deposit(wallet, cents: number) {
 *       await wallet.raise({ type: "Deposited", cents });
 *       await wallet.commit();
 *     },
 *     withdraw,
 *   },
 * });
 * const system = createActorSystem({ storage: memoryStorage(), eventStore: memoryEventStore() });
 * const wallet = system.actor(WalletActor, "w1");
 * await wallet.deposit(100);
 * if ((await wallet.withdraw(30)) !== 2) throw new Error("expected stream version 2");
 * await system.shutdown();
 * ```
 */
export interface EventSourcedContext<State, Event> {
  /** The actor's type. */
  readonly actorType: string;
  /** The actor's id; its stream is `streamNameOf(actorType, actorId)`. */
  readonly actorId: string;
  /**
   * The draft state: committed state plus the events raised in this command. It is frozen:
   * state changes only by raising events, so it never drifts from the log.
   */
  readonly state: State;
  /** The stream version of the committed state. */
  readonly version: number;
  /** This call's id, correlation id and causation id; every raised event's metadata carries them. */
  readonly call: CallInfo;
  /**
   * Validates an event and applies it to the draft; nothing is stored until `commit`. The
   * event's metadata is `metadata`, if given, plus the call's `correlationId` and its id as
   * `causationId`.
   */
  raise(event: Event, metadata?: EventMetadata): Promise<void>;
  /**
   * Appends the raised events atomically; if that fails, the draft rolls back. A command must
   * commit what it raised: events still pending when it returns are discarded and the call
   * fails with `UncommittedEventsError`.
   */
  commit(): Promise<void>;
}

/**
 * A command: the context, then the caller's arguments.
 *
 * @example A command written apart from its actor
 * ```ts
 * import * as v from "valibot";
 * import { createActorSystem, defineEventSourcedActor, memoryEventStore, memoryStorage, type CommandHandler } from "@quark/persistence";
 * type Cart = { items: string[] };
 * type CartEvent = { type: "ItemAdded"; item: string };
 * const addItem: CommandHandler<Cart, CartEvent> = async (cart, item: string) => {
 *   await cart.raise({ type: "ItemAdded", item });
 *   await cart.commit();
 *   return cart.state.items.length;
 * };
 * const CartActor = defineEventSourcedActor("cart", {
 *   events: v.object({ type: v.literal("ItemAdded"), item: v.string() }),
 *   state: v.object({ items: v.array(v.string()) }),
 *   initial: { items: [] },
 *   apply: (cart, event) => ({ items: [...cart.items, event.item] }),
 *   commands: { addItem },
 * });
 * const system = createActorSystem({ storage: memoryStorage(), eventStore: memoryEventStore() });
 * if ((await system.actor(CartActor, "c1").addItem("book")) !== 1) throw new Error("item lost");
 * await system.shutdown();
 * ```
 */
export type CommandHandler<State, Event> = (context: EventSourcedContext<State, Event>, ...args: any[]) => unknown;

/**
 * Options for {@linkcode defineEventSourcedActor}.
 *
 * @example Snapshots, event upcasting and retries
 * ```ts
 * import * as v from "valibot";
 * import { createActorSystem, defineEventSourcedActor, memoryEventStore, memoryStorage } from "@quark/persistence";
 * const eventStore = memoryEventStore();
 * const Counter = defineEventSourcedActor("counter", {
 *   events: v.object({ type: v.literal("Incremented"), by: v.number() }),
 *   eventVersion: 2,
 *   // Version 1 events always added one.
 *   migrateEvent: { 1: (old: { type: "Incremented" }) => ({ ...old, by: 1 }) },
 *   state: v.object({ count: v.number() }),
 *   initial: { count: 0 },
 *   apply: (state, event) => ({ count: state.count + event.by }),
 *   snapshotEvery: 2,
 *   conflict: "retry",
 *   commands: {
 *     async add(counter, by: number) {
 *       await counter.raise({ type: "Incremented", by });
 *       await counter.commit();
 *       return counter.state.count;
 *     },
 *   },
 * });
 * const system = createActorSystem({ storage: memoryStorage(), eventStore });
 * for (const by of [1, 2, 3]) await system.actor(Counter, "c1").add(by);
 * await system.shutdown();
 * if ((await eventStore.loadSnapshot("counter/c1"))?.version !== 2) throw new Error("expected a snapshot at version 2");
 * ```
 */
export interface EventSourcedActorOptions<
  EventSchema extends StandardSchemaV1,
  StateSchema extends StandardSchemaV1,
  Commands extends Record<string, CommandHandler<InferOutput<StateSchema>, InferOutput<EventSchema>>>,
> {
  /** The events, usually a valibot `variant("type", [...])` so they form a discriminated union. */
  readonly events: EventSchema;
  /** The schema version of events written now. Defaults to 1. */
  readonly eventVersion?: number | undefined;
  /** Upcasters for events written by older versions: `migrateEvent[1]` turns v1 into v2. */
  readonly migrateEvent?: Upcasters | undefined;
  /** The folded state's schema, also used for snapshots. */
  readonly state: StateSchema;
  /** The state before the first event. */
  readonly initial: InferOutput<StateSchema> | (() => InferOutput<StateSchema>);
  /** The schema version of snapshots written now. Defaults to 1. */
  readonly stateVersion?: number | undefined;
  /** Upcasters for snapshots written by older versions. */
  readonly migrateState?: Upcasters | undefined;
  /** Folds one event into the state. It may return a new object or change the one given. */
  readonly apply: (state: InferOutput<StateSchema>, event: InferOutput<EventSchema>) => InferOutput<StateSchema>;
  /** Save a snapshot after this many events since the last one. Defaults to 100. */
  readonly snapshotEvery?: number | undefined;
  /** `"retry"` (or `{ retry }`) re-reads the stream and re-runs the command on a conflict; `"abort"` throws. */
  readonly conflict?: "abort" | "retry" | Extract<ConflictPolicy<unknown>, { retry: unknown }> | undefined;
  /** The commands the actor handles. */
  readonly commands: Commands & { readonly [Name in keyof Commands]: CommandHandler<InferOutput<StateSchema>, InferOutput<EventSchema>> };
  /** Deactivate after this many idle milliseconds; overrides the system's setting. */
  readonly idleTimeoutMs?: number | undefined;
  /**
   * Validates each event's metadata: what the command passes to `raise`, plus the call's
   * `correlationId` and `causationId`, which are strings. Without it, any plain object passes.
   */
  readonly metadata?: StandardSchemaV1<unknown, EventMetadata> | undefined;
}

/**
 * The actor handlers a command map turns into: the same arguments and results.
 *
 * @example Commands keep their arguments and results as handlers
 * ```ts
 * import * as v from "valibot";
 * import { createActorSystem, defineEventSourcedActor, memoryEventStore, memoryStorage, type CommandsAsHandlers, type EventSourcedContext } from "@quark/persistence";
 * type Tally = EventSourcedContext<{ count: number }, { type: "Counted" }>;
 * const commands = {
 *   async count(tally: Tally, times: number) {
 *     for (let i = 0; i < times; i++) await tally.raise({ type: "Counted" });
 *     await tally.commit();
 *     return tally.state.count;
 *   },
 * };
 * type TallyHandlers = CommandsAsHandlers<typeof commands>;
 * const times: Parameters<TallyHandlers["count"]>[1] = 3;
 * const TallyActor = defineEventSourcedActor("tally", {
 *   events: v.object({ type: v.literal("Counted") }),
 *   state: v.object({ count: v.number() }),
 *   initial: { count: 0 },
 *   apply: (tally) => ({ count: tally.count + 1 }),
 *   commands,
 * });
 * const system = createActorSystem({ storage: memoryStorage(), eventStore: memoryEventStore() });
 * if ((await system.actor(TallyActor, "t1").count(times)) !== 3) throw new Error("wrong count");
 * await system.shutdown();
 * ```
 */
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
    metadataSchema: options.metadata,
  };
  const retry = options.conflict ? retryOptionsOf(options.conflict) : undefined;
  // One aggregate per activation, created on activation and dropped on deactivation.
  const aggregates = new WeakMap<ActorSystem, Map<string, Aggregate<State, Event>>>();

  function activationsOf(system: ActorSystem): Map<string, Aggregate<State, Event>> {
    let byId = aggregates.get(system);
    if (!byId) aggregates.set(system, byId = new Map());
    return byId;
  }

  function commandView(actorId: string, call: CallInfo, draft: CommandDraft<State, Event>): EventSourcedContext<State, Event> {
    return {
      actorType,
      actorId,
      call,
      get state() {
        return draft.state;
      },
      get version() {
        return draft.version;
      },
      raise: (event, metadata) => draft.raise(event, metadata),
      commit: () => draft.commit(),
    };
  }

  const handlers: Record<string, Handler<{}>> = {};
  for (const [name, command] of Object.entries(options.commands)) {
    handlers[name] = async (context, ...args) => {
      const aggregate = activationsOf(context.system).get(context.actorId)!;
      for (let attempt = 1; ; attempt++) {
        if (aggregate.stale) await aggregate.catchUp();
        const draft = aggregate.begin(context.call);
        try {
          const result = await command(commandView(context.actorId, context.call, draft), ...args);
          if (draft.pending > 0) throw new UncommittedEventsError(actorType, context.actorId, draft.pending);
          return result;
        } catch (error) {
          draft.discard();
          if (!isRetryableConflict(error)) throw error;
          const policy = options.conflict ?? "abort";
          // A command that already appended events must neither read as "nothing happened"
          // nor be re-run, which would append them twice.
          if (draft.commits > 0) {
            reportConflict(context.observer, error, policy, "partial");
            throw new TurnPartiallyCommittedError(actorType, context.actorId, ["events"], error);
          }
          if (!retry || attempt >= retry.maxAttempts) {
            reportConflict(context.observer, error, policy, "thrown");
            throw error;
          }
          reportConflict(context.observer, error, policy, "retried");
          notify(context.observer, "actor", { kind: "retry", actorType, actorId: context.actorId, handler: name, attempt: attempt + 1, errorCode: errorCodeOf(error) });
          await backoff(attempt, retry);
        }
      }
    };
  }

  return defineActor(actorType, {
    handlers: handlers as CommandsAsHandlers<Commands> & Record<string, Handler<{}>>,
    idleTimeoutMs: options.idleTimeoutMs,
    async onActivate(context) {
      const aggregate = createAggregate(definition, context.eventStore, context.codec, streamNameOf(actorType, context.actorId), context.observer);
      await aggregate.recover();
      activationsOf(context.system).set(context.actorId, aggregate);
    },
    onDeactivate(context) {
      activationsOf(context.system).delete(context.actorId);
    },
  });
}

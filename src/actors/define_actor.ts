import type { CallInfo } from "./call_info.ts";
import type { StateDefinition, StateValue } from "../state/define_state.ts";
import type { StateHandle } from "../state/state_handle.ts";
import type { ConflictPolicy } from "../state/conflict.ts";
import type { ActorSystem } from "./actor_system.ts";
import type { EventStore } from "../events/types.ts";
import type { Codec } from "../codec/codec.ts";
import type { QuarkObserver } from "../observe/observer.ts";

/**
 * The states an actor declares, by the name its handlers use.
 *
 * @example A set of states shared by two actors
 * ```ts
 * import * as v from "valibot";
 * import { defineActor, defineState, type StateDefinitions } from "@quark/persistence";
 * const profile = {
 *   name: defineState("name", { schema: v.string(), initial: "" }),
 *   visits: defineState("visits", { schema: v.number(), initial: 0 }),
 * } satisfies StateDefinitions;
 * const Customer = defineActor("customer", { states: profile, handlers: { name: ({ states }) => states.name.value } });
 * const Supplier = defineActor("supplier", { states: profile, handlers: { visits: ({ states }) => states.visits.value } });
 * if (Object.keys(Customer.states).join() !== Object.keys(Supplier.states).join()) throw new Error("states differ");
 * ```
 */
export type StateDefinitions = Readonly<Record<string, StateDefinition<any>>>;

/**
 * Typed handles for an actor's declared states.
 *
 * @example A helper that takes an actor's handles
 * ```ts
 * import * as v from "valibot";
 * import { createActorSystem, defineActor, defineState, memoryStorage, type StateHandles } from "@quark/persistence";
 * const pageStates = { visits: defineState("visits", { schema: v.number(), initial: 0 }) };
 * async function countVisit(handles: StateHandles<typeof pageStates>): Promise<number> {
 *   handles.visits.value += 1;
 *   await handles.visits.save();
 *   return handles.visits.value;
 * }
 * const Page = defineActor("page", { states: pageStates, handlers: { visit: ({ states }) => countVisit(states) } });
 * const system = createActorSystem({ storage: memoryStorage() });
 * if ((await system.actor(Page, "home").visit()) !== 1) throw new Error("visit lost");
 * await system.shutdown();
 * ```
 */
export type StateHandles<States extends StateDefinitions> = {
  readonly [Name in keyof States]: StateHandle<StateValue<States[Name]>>;
};

/**
 * Options for {@linkcode ActorContext.saveStates}.
 *
 * @example Saving states on two storages one by one
 * ```ts
 * import * as v from "valibot";
 * import { createActorSystem, defineActor, defineState, memoryStorage, type SaveStatesOptions } from "@quark/persistence";
 * const latest = defineState("latest", { schema: v.number(), initial: 0 });
 * const history = defineState("history", { schema: v.array(v.number()), initial: [], storage: "archive" });
 * // Two storages cannot commit together, so this save is not atomic.
 * const oneByOne: SaveStatesOptions = { atomic: false };
 * const Meter = defineActor("meter", {
 *   states: { latest, history },
 *   handlers: {
 *     async record({ states, saveStates }, reading: number) {
 *       states.latest.value = reading;
 *       states.history.value = [...states.history.value, reading];
 *       await saveStates(["latest", "history"], oneByOne);
 *     },
 *   },
 * });
 * const archive = memoryStorage();
 * const system = createActorSystem({ storage: { default: memoryStorage(), archive } });
 * await system.actor(Meter, "m1").record(7);
 * if ((await archive.list({ actorType: "meter" })).keys.length !== 1) throw new Error("history not archived");
 * await system.shutdown();
 * ```
 */
export interface SaveStatesOptions {
  /**
   * Require one atomic write. When the states live on different storages, or on a storage
   * without transactions, `true` throws `CapabilityError` and `false` saves them one by one.
   * Defaults to `true`.
   */
  readonly atomic?: boolean | undefined;
}

/**
 * What a handler receives besides its arguments.
 *
 * @example A handler that calls another actor
 * ```ts
 * import * as v from "valibot";
 * import { createActorSystem, defineActor, defineState, memoryStorage, type ActorContext } from "@quark/persistence";
 * const total = defineState("total", { schema: v.number(), initial: 0 });
 * const Shop = defineActor("shop", {
 *   states: { total },
 *   handlers: {
 *     async add({ states }, cents: number) {
 *       states.total.value += cents;
 *       await states.total.save();
 *       return states.total.value;
 *     },
 *   },
 * });
 * const Till = defineActor("till", {
 *   handlers: {
 *     sell: (context: ActorContext<{}>, cents: number) => context.system.actor(Shop, `shop-of-${context.actorId}`).add(cents),
 *   },
 * });
 * const system = createActorSystem({ storage: memoryStorage() });
 * await system.actor(Till, "t1").sell(300);
 * if ((await system.actor(Till, "t1").sell(200)) !== 500) throw new Error("sale lost");
 * await system.shutdown();
 * ```
 */
export interface ActorContext<States extends StateDefinitions> {
  /** The actor's type. */
  readonly actorType: string;
  /** The actor's id. */
  readonly actorId: string;
  /** Typed handles on the actor's states. */
  readonly states: StateHandles<States>;
  /** This call's id, correlation id and causation id. */
  readonly call: CallInfo;
  /** Saves several states together, atomically where the backend can. */
  saveStates(names: ReadonlyArray<keyof States & string>, options?: SaveStatesOptions): Promise<void>;
  /** The system, for calling other actors. */
  readonly system: ActorSystem;
  /**
   * The system's event store.
   * @throws {ConfigurationError} When the system was created without one.
   */
  readonly eventStore: EventStore;
  /** The system's codec, for encoding values the way states are encoded. */
  readonly codec: Codec;
  /** The system's observer, if it has one, for code that reports events of its own. */
  readonly observer: QuarkObserver | undefined;
}

/**
 * A message handler: the context, then the caller's arguments.
 *
 * @example Wrapping handlers to log each call
 * ```ts
 * import * as v from "valibot";
 * import { createActorSystem, defineActor, defineState, memoryStorage, type Handler, type StateDefinitions } from "@quark/persistence";
 * const calls: string[] = [];
 * function logged<States extends StateDefinitions>(handler: Handler<States>): Handler<States> {
 *   return (context, ...args) => {
 *     calls.push(`${context.actorType}/${context.actorId}`);
 *     return handler(context, ...args);
 *   };
 * }
 * const counterStates = { count: defineState("count", { schema: v.number(), initial: 0 }) };
 * const Counter = defineActor("counter", {
 *   states: counterStates,
 *   handlers: {
 *     increment: logged<typeof counterStates>(async ({ states }) => {
 *       states.count.value += 1;
 *       await states.count.save();
 *     }),
 *   },
 * });
 * const system = createActorSystem({ storage: memoryStorage() });
 * await system.actor(Counter, "c1").increment();
 * await system.shutdown();
 * if (calls.join() !== "counter/c1") throw new Error("call not logged");
 * ```
 */
export type Handler<States extends StateDefinitions> = (context: ActorContext<States>, ...args: any[]) => unknown;

/**
 * Options for {@linkcode defineActor}.
 *
 * @example Lifecycle hooks and an idle timeout
 * ```ts
 * import { createActorSystem, defineActor, memoryStorage } from "@quark/persistence";
 * const log: string[] = [];
 * const Session = defineActor("session", {
 *   handlers: { ping: ({ actorId }) => `pong from ${actorId}` },
 *   onActivate: ({ actorId }) => void log.push(`activated ${actorId}`),
 *   onDeactivate: ({ actorId }) => void log.push(`deactivated ${actorId}`),
 *   idleTimeoutMs: 60_000,
 *   reentrant: true,
 * });
 * const system = createActorSystem({ storage: memoryStorage() });
 * await system.actor(Session, "s1").ping();
 * await system.shutdown();
 * if (log.join() !== "activated s1,deactivated s1") throw new Error(`unexpected lifecycle: ${log}`);
 * ```
 */
export interface ActorOptions<States extends StateDefinitions, Handlers extends Record<string, Handler<States>>> {
  /** The actor's states. Each loads on activation unless its definition is lazy. */
  readonly states?: States | undefined;
  /** The messages the actor handles. */
  // The mapped half gives each handler's context its type; `Handlers` keeps each one's arguments.
  readonly handlers: Handlers & { readonly [Name in keyof Handlers]: Handler<States> };
  /** Runs after the states load and before the first message. */
  readonly onActivate?: (context: ActorContext<States>) => unknown;
  /** Runs inside the mailbox before the actor is dropped from memory. */
  readonly onDeactivate?: (context: ActorContext<States>) => unknown;
  /** The conflict policy for states that do not name one. Defaults to `"abort"`. */
  readonly conflict?: ConflictPolicy<unknown> | undefined;
  /** Let turns interleave at `await` points instead of running one at a time. Defaults to `false`. */
  readonly reentrant?: boolean | undefined;
  /** Deactivate after this many idle milliseconds; overrides the system's setting. */
  readonly idleTimeoutMs?: number | undefined;
}

/**
 * An actor type, ready to be addressed through an {@linkcode ActorSystem}.
 *
 * @example Listing an actor's messages
 * ```ts
 * import * as v from "valibot";
 * import { defineActor, defineState, type ActorDefinition, type Handler, type StateDefinitions } from "@quark/persistence";
 * function messagesOf<S extends StateDefinitions, H extends Record<string, Handler<S>>>(definition: ActorDefinition<S, H>): string[] {
 *   return Object.keys(definition.handlers).map((name) => `${definition.actorType}.${name}`);
 * }
 * const count = defineState("count", { schema: v.number(), initial: 0 });
 * const Counter = defineActor("counter", { states: { count }, handlers: { get: ({ states }) => states.count.value } });
 * if (messagesOf(Counter).join() !== "counter.get") throw new Error("wrong messages");
 * ```
 */
export interface ActorDefinition<States extends StateDefinitions, Handlers extends Record<string, Handler<States>>>
  extends ActorOptions<States, Handlers> {
  /** The actor's type name. */
  readonly actorType: string;
  /** The declared states, or none. */
  readonly states: States;
}

/**
 * Defines an actor type: its states and its message handlers.
 *
 * @param actorType The type name, part of every state key.
 * @param options States, handlers, lifecycle hooks, conflict policy and reentrancy.
 * @returns An {@linkcode ActorDefinition}.
 * @throws {TypeError} When the type is empty, two states share a name, or a handler is not a function.
 *
 * @example A counter actor
 * ```ts
 * import * as v from "valibot";
 * import { createActorSystem, defineActor, defineState, memoryStorage } from "@quark/persistence";
 * const count = defineState("count", { schema: v.number(), initial: 0 });
 * const Counter = defineActor("counter", {
 *   states: { count },
 *   handlers: {
 *     async increment({ states }, by: number) {
 *       states.count.value += by;
 *       await states.count.save();
 *       return states.count.value;
 *     },
 *   },
 * });
 * const system = createActorSystem({ storage: memoryStorage() });
 * if ((await system.actor(Counter, "c1").increment(2)) !== 2) throw new Error("wrong count");
 * await system.shutdown();
 * ```
 */
export function defineActor<States extends StateDefinitions = {}, Handlers extends Record<string, Handler<States>> = {}>(
  actorType: string,
  options: ActorOptions<States, Handlers>,
): ActorDefinition<States, Handlers> {
  if (typeof actorType !== "string" || actorType === "") throw new TypeError("An actor needs a non-empty type");
  const states = (options.states ?? {}) as States;
  const stateNames = new Set<string>();
  for (const definition of Object.values(states)) {
    if (stateNames.has(definition.name)) {
      throw new TypeError(`Actor ${JSON.stringify(actorType)} declares state ${JSON.stringify(definition.name)} twice`);
    }
    stateNames.add(definition.name);
  }
  for (const [name, handler] of Object.entries(options.handlers)) {
    if (typeof handler !== "function") throw new TypeError(`Handler ${JSON.stringify(name)} of ${JSON.stringify(actorType)} is not a function`);
  }
  return { ...options, actorType, states };
}

import type { StateDefinition, StateValue } from "../state/define_state.ts";
import type { StateHandle } from "../state/state_handle.ts";
import type { ConflictPolicy } from "../state/conflict.ts";
import type { ActorSystem } from "./actor_system.ts";
import type { EventStore } from "../events/types.ts";
import type { Codec } from "../codec/codec.ts";

/** The states an actor declares, by the name its handlers use. */
export type StateDefinitions = Readonly<Record<string, StateDefinition<any>>>;

/** Typed handles for an actor's declared states. */
export type StateHandles<States extends StateDefinitions> = {
  readonly [Name in keyof States]: StateHandle<StateValue<States[Name]>>;
};

/** Options for {@linkcode ActorContext.saveStates}. */
export interface SaveStatesOptions {
  /**
   * Require one atomic write. When the states live on different storages, or on a storage
   * without transactions, `true` throws `CapabilityError` and `false` saves them one by one.
   * Defaults to `true`.
   */
  readonly atomic?: boolean;
}

/** What a handler receives besides its arguments. */
export interface ActorContext<States extends StateDefinitions> {
  /** The actor's type. */
  readonly actorType: string;
  /** The actor's id. */
  readonly actorId: string;
  /** Typed handles on the actor's states. */
  readonly states: StateHandles<States>;
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
}

/** A message handler: the context, then the caller's arguments. */
export type Handler<States extends StateDefinitions> = (context: ActorContext<States>, ...args: any[]) => unknown;

/** Options for {@linkcode defineActor}. */
export interface ActorOptions<States extends StateDefinitions, Handlers extends Record<string, Handler<States>>> {
  /** The actor's states. Each loads on activation unless its definition is lazy. */
  readonly states?: States;
  /** The messages the actor handles. */
  // The mapped half gives each handler's context its type; `Handlers` keeps each one's arguments.
  readonly handlers: Handlers & { readonly [Name in keyof Handlers]: Handler<States> };
  /** Runs after the states load and before the first message. */
  readonly onActivate?: (context: ActorContext<States>) => unknown;
  /** Runs inside the mailbox before the actor is dropped from memory. */
  readonly onDeactivate?: (context: ActorContext<States>) => unknown;
  /** The conflict policy for states that do not name one. Defaults to `"abort"`. */
  readonly conflict?: ConflictPolicy<unknown>;
  /** Let turns interleave at `await` points instead of running one at a time. Defaults to `false`. */
  readonly reentrant?: boolean;
  /** Deactivate after this many idle milliseconds; overrides the system's setting. */
  readonly idleTimeoutMs?: number;
}

/** An actor type, ready to be addressed through an {@linkcode ActorSystem}. */
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

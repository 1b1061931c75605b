import type { ActorContext, ActorDefinition, Handler, SaveStatesOptions, StateDefinitions, StateHandles } from "./define_actor.ts";
import type { StateStorage } from "../storage/types.ts";
import type { EventStore } from "../events/types.ts";
import type { ConflictPolicy, RetryOptions } from "../state/conflict.ts";
import { backoff, retryOptionsOf } from "../state/conflict.ts";
import { createStateHandle, type ManagedStateHandle } from "../state/state_handle.ts";
import { createCodec, type Codec, type CodecOptions } from "../codec/codec.ts";
import { createMailbox, type Mailbox } from "./mailbox.ts";
import { resolveProviders, type StorageProviders } from "../storage/providers.ts";
import { ActivationError, ActorSystemShutDownError, CapabilityError, ConfigurationError, StateConflictError } from "../errors.ts";

/**
 * Options for {@linkcode createActorSystem}.
 *
 * @example Named storages, an event store and encryption
 * ```ts
 * import { createActorSystem, memoryEventStore, memoryStorage, type ActorSystemOptions } from "@quark/persistence";
 * const options: ActorSystemOptions = {
 *   storage: { default: memoryStorage(), cold: memoryStorage() },
 *   eventStore: memoryEventStore(),
 *   codec: { compression: true, encryption: { keys: { k1: crypto.getRandomValues(new Uint8Array(32)) }, currentKeyId: "k1" } },
 *   idleTimeoutMs: 30_000,
 * };
 * const system = createActorSystem(options);
 * if (system.activeCount !== 0) throw new Error("nothing is active before the first call");
 * await system.shutdown();
 * ```
 */
export interface ActorSystemOptions {
  /** One storage for every state, or named providers such as `{ default, cold }`. */
  readonly storage: StateStorage | StorageProviders;
  /** Where event-sourced actors keep their streams and snapshots. */
  readonly eventStore?: EventStore;
  /** Compression and encryption for stored values and events. */
  readonly codec?: CodecOptions | Codec;
  /** Deactivate actors idle this long, in milliseconds. Defaults to 5 minutes; `Infinity` never. */
  readonly idleTimeoutMs?: number;
}

/**
 * Options for one actor reference.
 *
 * @example A caller whose writes always win
 * ```ts
 * import * as v from "valibot";
 * import { createActorSystem, defineActor, defineState, memoryStorage, type ActorRefOptions } from "@quark/persistence";
 * const note = defineState("note", { schema: v.string(), initial: "" });
 * const Board = defineActor("board", {
 *   states: { note },
 *   handlers: {
 *     async write({ states }, text: string) {
 *       states.note.value = text;
 *       await states.note.save();
 *       return states.note.value;
 *     },
 *   },
 * });
 * const storage = memoryStorage();
 * const [a, b] = [createActorSystem({ storage }), createActorSystem({ storage })];
 * await a.actor(Board, "b1").write("first");
 * await b.actor(Board, "b1").write("second"); // saved behind a's back
 * const admin: ActorRefOptions = { conflict: "last-write-wins" };
 * if ((await a.actor(Board, "b1", admin).write("final")) !== "final") throw new Error("admin write lost");
 * await a.shutdown();
 * await b.shutdown();
 * ```
 */
export interface ActorRefOptions {
  /** The conflict policy for every save made by calls through this reference. */
  readonly conflict?: ConflictPolicy<unknown>;
}

/**
 * A typed reference: one method per handler, each returning a promise of its result.
 *
 * @example Passing a typed reference around
 * ```ts
 * import { createActorSystem, defineActor, memoryStorage, type ActorContext, type ActorRef } from "@quark/persistence";
 * const handlers = { greet: (_context: ActorContext<{}>, name: string) => `Hello, ${name}` };
 * const Greeter = defineActor("greeter", { handlers });
 * async function welcome(greeter: ActorRef<typeof handlers>): Promise<string> {
 *   return await greeter.greet("Ada");
 * }
 * const system = createActorSystem({ storage: memoryStorage() });
 * if ((await welcome(system.actor(Greeter, "g1"))) !== "Hello, Ada") throw new Error("wrong greeting");
 * await system.shutdown();
 * ```
 */
export type ActorRef<Handlers> = {
  readonly [Name in keyof Handlers]: Handlers[Name] extends (context: any, ...args: infer Args) => infer Result
    ? (...args: Args) => Promise<Awaited<Result>>
    : never;
};

/**
 * A running set of actors.
 *
 * @example Shutting down refuses further calls
 * ```ts
 * import { createActorSystem, defineActor, isQuarkError, memoryStorage, type ActorSystem } from "@quark/persistence";
 * const Echo = defineActor("echo", { handlers: { echo: (_context, text: string) => text } });
 * const system: ActorSystem = createActorSystem({ storage: memoryStorage() });
 * const echo = system.actor(Echo, "e1");
 * await echo.echo("hi");
 * if (system.activeCount !== 1) throw new Error("expected one active actor");
 * await system.shutdown();
 * try {
 *   await echo.echo("late");
 *   throw new Error("called after shutdown");
 * } catch (error) {
 *   if (!isQuarkError(error, "ACTOR_SHUT_DOWN")) throw error;
 * }
 * ```
 */
export interface ActorSystem {
  /**
   * Addresses one actor. It activates on its first call.
   * @throws {ConfigurationError} When a state names a storage provider that does not exist.
   */
  actor<States extends StateDefinitions, Handlers extends Record<string, Handler<States>>>(
    definition: ActorDefinition<States, Handlers>,
    actorId: string,
    options?: ActorRefOptions,
  ): ActorRef<Handlers>;
  /** How many actors are active now. */
  readonly activeCount: number;
  /** Deactivates every actor, each inside its own mailbox, then refuses further calls. */
  shutdown(): Promise<void>;
}

const DEFAULT_IDLE_TIMEOUT_MS = 5 * 60_000;

type AnyActorDefinition = ActorDefinition<StateDefinitions, Record<string, Handler<StateDefinitions>>>;

interface Activation {
  readonly definition: AnyActorDefinition;
  readonly actorId: string;
  readonly key: string;
  /** Turns running now; more than one only for reentrant actors. */
  readonly inFlight: Set<Promise<unknown>>;
  activating: Promise<void> | undefined;
  readonly mailbox: Mailbox;
  readonly handles: ReadonlyArray<ManagedStateHandle<unknown>>;
  readonly context: ActorContext<StateDefinitions>;
  activated: boolean;
  callPolicy: ConflictPolicy<unknown> | undefined;
  retryRequest: { error: StateConflictError; options: Required<RetryOptions> } | undefined;
  idleTimer: ReturnType<typeof setTimeout> | undefined;
}

/**
 * Creates an actor system over one storage or several named ones.
 *
 * @param options Storage providers, codec and idle timeout.
 * @returns An {@linkcode ActorSystem}.
 * @throws {ConfigurationError} When the providers have no usable entries.
 *
 * @example Named providers: an unknown name is an error, never a silent fallback
 * ```ts
 * import * as v from "valibot";
 * import { createActorSystem, defineActor, defineState, isQuarkError, memoryStorage } from "@quark/persistence";
 * const archive = defineState("archive", { schema: v.array(v.string()), initial: [], storage: "cold" });
 * const Order = defineActor("order", { states: { archive }, handlers: {} });
 * const system = createActorSystem({ storage: { default: memoryStorage(), cld: memoryStorage() } });
 * try {
 *   system.actor(Order, "o1");
 *   throw new Error("should have refused");
 * } catch (error) {
 *   if (!isQuarkError(error, "CONFIGURATION")) throw error;
 * }
 * ```
 */
export function createActorSystem(options: ActorSystemOptions): ActorSystem {
  const providers = resolveProviders(options.storage);
  const codec: Codec = options.codec && "decode" in options.codec ? options.codec : createCodec(options.codec ?? {});
  const activations = new Map<string, Activation>();
  const definitionsByType = new Map<string, AnyActorDefinition>();
  let shutDown = false;
  const system: ActorSystem = { actor, get activeCount() { return activations.size; }, shutdown };

  function activationKey(actorType: string, actorId: string): string {
    return JSON.stringify([actorType, actorId]);
  }

  function createActivation(definition: AnyActorDefinition, actorId: string, key: string): Activation {
    const handles: ManagedStateHandle<unknown>[] = [];
    const byProperty: Record<string, ManagedStateHandle<unknown>> = {};
    const activation: Activation = {
      definition,
      actorId,
      key,
      inFlight: new Set(),
      activating: undefined,
      mailbox: createMailbox(),
      handles,
      context: undefined as unknown as ActorContext<StateDefinitions>,
      activated: false,
      callPolicy: undefined,
      retryRequest: undefined,
      idleTimer: undefined,
    };
    for (const [property, stateDefinition] of Object.entries(definition.states)) {
      const handle = createStateHandle({
        definition: stateDefinition,
        storage: providers.get(stateDefinition.storage),
        codec,
        key: { actorType: definition.actorType, actorId, stateName: stateDefinition.name },
        actorPolicy: definition.conflict,
        callPolicy: () => activation.callPolicy,
        retryScope: {
          requestRetry(error, policy) {
            activation.retryRequest = { error, options: retryOptionsOf(policy)! };
          },
        },
      });
      handles.push(handle);
      byProperty[property] = handle;
    }
    (activation as { context: ActorContext<StateDefinitions> }).context = {
      actorType: definition.actorType,
      actorId,
      states: byProperty as StateHandles<StateDefinitions>,
      saveStates: (names, saveOptions) => saveStates(activation, names.map((name) => byProperty[name]!), saveOptions),
      system,
      get eventStore(): EventStore {
        if (!options.eventStore) throw new ConfigurationError("This actor system has no event store: pass eventStore to createActorSystem");
        return options.eventStore;
      },
      codec,
    };
    return activation;
  }

  async function saveStates(
    activation: Activation,
    handles: ManagedStateHandle<unknown>[],
    saveOptions: SaveStatesOptions = {},
  ): Promise<void> {
    const { definition } = activation;
    const storageNames = new Set(handles.map((handle) => storageNameOf(definition, handle)));
    const storage = storageNames.size === 1 ? providers.get([...storageNames][0]!) : undefined;
    if (!storage?.capabilities.transactions) {
      if (saveOptions.atomic !== false) {
        throw new CapabilityError(storage?.name ?? [...storageNames].join("+"), "atomic saves of several states", storage ? undefined : "the states live on different storages; pass { atomic: false } to save them one by one");
      }
      for (const handle of handles) await handle.save();
      return;
    }
    try {
      const operations = await Promise.all(handles.map((handle) => handle.prepareWrite()));
      const results = await storage.transact(operations);
      handles.forEach((handle, index) => handle.commitWrite(results[index]!));
    } catch (error) {
      for (const handle of handles) handle.rollback();
      if (error instanceof StateConflictError) {
        const policy = activation.callPolicy ?? definition.conflict;
        const options = policy && retryOptionsOf(policy);
        if (options) activation.retryRequest = { error, options };
      }
      throw error;
    }
  }

  function storageNameOf(definition: AnyActorDefinition, handle: ManagedStateHandle<unknown>): string {
    return Object.values(definition.states).find((state) => state.name === handle.name)!.storage;
  }

  function ensureActivated(activation: Activation): Promise<void> {
    if (activation.activated) return Promise.resolve();
    // Reentrant turns can arrive together; they share one activation attempt.
    activation.activating ??= activate(activation).finally(() => {
      activation.activating = undefined;
    });
    return activation.activating;
  }

  async function activate(activation: Activation): Promise<void> {
    const { definition, actorId } = activation;
    try {
      const eager = Object.values(definition.states).map((state, index) => state.lazy ? undefined : activation.handles[index]!.load());
      await Promise.all(eager);
      await definition.onActivate?.(activation.context);
      activation.activated = true;
    } catch (cause) {
      throw new ActivationError(definition.actorType, actorId, cause);
    }
  }

  async function runTurn(
    activation: Activation,
    handler: Handler<StateDefinitions>,
    args: unknown[],
    callPolicy: ConflictPolicy<unknown> | undefined,
  ): Promise<unknown> {
    await ensureActivated(activation);
    for (let attempt = 1; ; attempt++) {
      activation.callPolicy = callPolicy;
      activation.retryRequest = undefined;
      try {
        return await handler(activation.context, ...args);
      } catch (error) {
        for (const handle of activation.handles) handle.rollback();
        // Set by a handle's save during the turn, which the compiler cannot see.
        const retry = activation.retryRequest as Activation["retryRequest"];
        if (retry === undefined || retry.error !== error || attempt >= retry.options.maxAttempts) throw error;
        await backoff(attempt, retry.options);
        await Promise.all(activation.handles.filter((handle) => handle.loaded).map((handle) => handle.load()));
      } finally {
        activation.callPolicy = undefined;
      }
    }
  }

  function scheduleIdle(activation: Activation): void {
    clearTimeout(activation.idleTimer);
    const timeout = activation.definition.idleTimeoutMs ?? options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS;
    if (shutDown || !Number.isFinite(timeout)) return;
    activation.idleTimer = setTimeout(() => {
      // Deactivation is a mailbox task, so it never overlaps a turn.
      activation.mailbox.run(() => deactivate(activation)).catch(() => {});
    }, timeout);
  }

  async function deactivate(activation: Activation): Promise<void> {
    // A message queued behind this task, or a reentrant turn still running, keeps it active.
    if (activation.mailbox.depth > 1 || activation.inFlight.size > 0) return;
    clearTimeout(activation.idleTimer);
    try {
      if (activation.activated) await activation.definition.onDeactivate?.(activation.context);
    } finally {
      activation.activated = false;
      if (activation.mailbox.depth <= 1) activations.delete(activation.key);
    }
  }

  function actor<States extends StateDefinitions, Handlers extends Record<string, Handler<States>>>(
    typedDefinition: ActorDefinition<States, Handlers>,
    actorId: string,
    refOptions: ActorRefOptions = {},
  ): ActorRef<Handlers> {
    const definition = typedDefinition as unknown as AnyActorDefinition;
    if (typeof actorId !== "string") throw new TypeError(`Actor id must be a string, got ${typeof actorId}`);
    // Two definitions under one type would share activations but not handlers or states.
    const known = definitionsByType.get(definition.actorType);
    if (known && known !== definition) {
      throw new ConfigurationError(`Actor type ${JSON.stringify(definition.actorType)} is already used by another definition in this system`);
    }
    definitionsByType.set(definition.actorType, definition);
    for (const state of Object.values(definition.states)) providers.get(state.storage);
    const key = activationKey(definition.actorType, actorId);
    const ref: Record<string, (...args: unknown[]) => Promise<unknown>> = {};
    for (const [name, handler] of Object.entries(definition.handlers)) {
      ref[name] = (...args) => {
        if (shutDown) return Promise.reject(new ActorSystemShutDownError());
        let activation = activations.get(key);
        if (!activation) {
          activation = createActivation(definition, actorId, key);
          activations.set(key, activation);
        }
        const current = activation;
        const turn = () => runTurn(current, handler, args, refOptions.conflict);
        const result = definition.reentrant ? turn() : current.mailbox.run(turn);
        current.inFlight.add(result);
        return result.finally(() => {
          current.inFlight.delete(result);
          scheduleIdle(current);
        });
      };
    }
    return ref as ActorRef<Handlers>;
  }

  async function shutdown(): Promise<void> {
    shutDown = true;
    const pending = [...activations.values()].map(async (activation) => {
      clearTimeout(activation.idleTimer);
      await Promise.allSettled([...activation.inFlight]);
      await activation.mailbox.run(() => deactivate(activation));
    });
    await Promise.allSettled(pending);
    activations.clear();
  }

  return system;
}

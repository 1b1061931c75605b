import type { ActorContext, ActorDefinition, Handler, StateDefinitions } from "./define_actor.ts";
import type { StateStorage } from "../storage/types.ts";
import type { EventStore } from "../events/types.ts";
import type { ConflictPolicy } from "../state/conflict.ts";
import { backoff } from "../state/conflict.ts";
import { createStateCell, type StateCell } from "../state/state_cell.ts";
import { createTurnScope, type TurnScope } from "../state/turn_scope.ts";
import { TurnContext, type TurnServices } from "./turn_context.ts";
import { TurnCallInfo, type CallInfo, type CallOrigin } from "./call_info.ts";
import { createCodec, type Codec, type CodecOptions } from "../codec/codec.ts";
import { createMailbox, type Mailbox } from "./mailbox.ts";
import { resolveProviders, type ProviderRegistry, type StorageProviders } from "../storage/providers.ts";
import { assertValidKeyPart } from "../storage/keys.ts";
import { ActivationError, ActorSystemShutDownError, ConfigurationError } from "../errors.ts";
import { errorCodeOf, notify, now, type QuarkObserver } from "../observe/observer.ts";
import { observeEventStore, observeStorage } from "../observe/observe_storage.ts";
import { createLeaseGuard, dropActivation, type ActorLeaseOptions } from "../lease/lease_guard.ts";

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
  readonly eventStore?: EventStore | undefined;
  /** Compression and encryption for stored values and events. */
  readonly codec?: CodecOptions | Codec | undefined;
  /** Deactivate actors idle this long, in milliseconds. Defaults to 5 minutes; `Infinity` never. */
  readonly idleTimeoutMs?: number | undefined;
  /**
   * Whether `shutdown()` also closes the storages and the event store given here. Defaults to
   * `false`, because a storage you pass in may be shared with other systems; pass `true` when
   * this system is its only user, so that a program ends once the system is shut down.
   */
  readonly closeStorages?: boolean | undefined;
  /**
   * Told about every storage call, activation, deactivation, turn, retry, conflict, merge,
   * lost reply and snapshot. An observer that throws is ignored.
   */
  readonly observer?: QuarkObserver | undefined;
  /**
   * Holds a lease on every actor this system activates, so that each actor id is active in
   * one system at a time (see `docs/deployment.md`). The etag checks keep the data correct
   * either way; the lease saves the conflicts.
   */
  readonly lease?: ActorLeaseOptions | undefined;
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
export interface ActorRefOptions extends CallOrigin {
  /** The conflict policy for every save made by calls through this reference. */
  readonly conflict?: ConflictPolicy<unknown> | undefined;
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
export type ActorSystem = ActorSystemMethods & AsyncDisposableWhereTyped;

/**
 * What every {@linkcode ActorSystem} offers, whatever TypeScript lib the caller compiles with.
 *
 * @example Calling through the methods only
 * ```ts
 * import { createActorSystem, memoryStorage, type ActorSystemMethods } from "@quark/persistence";
 * const system: ActorSystemMethods = createActorSystem({ storage: memoryStorage() });
 * await system.shutdown();
 * ```
 */
export interface ActorSystemMethods {
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
  /**
   * Waits for calls in flight, deactivates every actor, then refuses further calls. With
   * `closeStorages: true` it then closes the storages and the event store.
   */
  shutdown(): Promise<void>;
}

/**
 * `[Symbol.asyncDispose]` (the same as `shutdown()`, for `await using`) where the caller's
 * TypeScript lib declares that symbol (`ESNext.Disposable` or later), and nothing where it
 * does not, so the types compile either way. The method exists at runtime on every runtime.
 *
 * @example `await using` shuts the system down at the end of the block
 * ```ts
 * import { createActorSystem, defineActor, isQuarkError, memoryStorage } from "@quark/persistence";
 * const Echo = defineActor("echo", { handlers: { echo: (_context, text: string) => text } });
 * let echo;
 * {
 *   await using system = createActorSystem({ storage: memoryStorage() });
 *   echo = system.actor(Echo, "e1");
 *   await echo.echo("hi");
 * }
 * await echo.echo("late").catch((error) => {
 *   if (!isQuarkError(error, "ACTOR_SHUT_DOWN")) throw error;
 * });
 * ```
 */
export type AsyncDisposableWhereTyped = SymbolConstructor extends { readonly asyncDispose: infer Key extends symbol }
  ? { readonly [K in Key]: () => Promise<void> }
  : unknown;

const DEFAULT_IDLE_TIMEOUT_MS = 5 * 60_000;

type AnyActorDefinition = ActorDefinition<StateDefinitions, Record<string, Handler<StateDefinitions>>>;

/** One call as it waits in a mailbox. */
interface Message {
  readonly name: string;
  readonly handler: Handler<StateDefinitions>;
  readonly args: unknown[];
  readonly policy: ConflictPolicy<unknown> | undefined;
  readonly origin: CallOrigin;
}

interface Activation {
  readonly definition: AnyActorDefinition;
  readonly actorId: string;
  readonly key: string;
  /** One cell per declared state, keyed by the property name handlers use. */
  readonly cells: ReadonlyMap<string, StateCell<unknown>>;
  /** Calls accepted and not yet finished, queued ones included. */
  readonly inFlight: Set<Promise<unknown>>;
  readonly mailbox: Mailbox;
  activating: Promise<void> | undefined;
  activated: boolean;
  /** Set once deactivation starts; no turn starts on this activation after that. */
  closing: Promise<void> | undefined;
  idleTimer: ReturnType<typeof setTimeout> | undefined;
  /** When the last call ended, on the `now()` clock; the idle timer measures from here. */
  idleSince: number;
}

/** The registry with every storage wrapped once for the observer, when there is one. */
function observedProviders(registry: ProviderRegistry, observer: QuarkObserver | undefined): ProviderRegistry {
  if (!observer) return registry;
  const wrapped = new Map(registry.storages.map((storage) => [storage, observeStorage(storage, observer)]));
  return { get: (name) => wrapped.get(registry.get(name))!, storages: [...wrapped.values()] };
}

/**
 * Creates an actor system over one storage or several named ones.
 *
 * Each call runs as a turn with its own drafts and its own conflict policy, so reentrant
 * turns never see each other's unsaved changes. The rules a caller can rely on (what a call's
 * effect is under conflicts, retries, merges, lost replies and deactivation) are in
 * `docs/semantics.md`.
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
  const { observer } = options;
  const providers = observedProviders(resolveProviders(options.storage), observer);
  const eventStore = options.eventStore && observer ? observeEventStore(options.eventStore, observer) : options.eventStore;
  const leases = options.lease && createLeaseGuard(options.lease, options.lease.storage ?? providers.get("default"));
  const codec: Codec = options.codec && "decode" in options.codec ? options.codec : createCodec(options.codec ?? {});
  const activations = new Map<string, Activation>();
  const definitionsByType = new Map<string, AnyActorDefinition>();
  let shutDown = false;
  const system: ActorSystem = { actor, get activeCount() { return activations.size; }, shutdown, [Symbol.asyncDispose]: shutdown };
  const services: TurnServices = { system, eventStore, codec, observer };

  function activationKey(actorType: string, actorId: string): string {
    return JSON.stringify([actorType, actorId]);
  }

  function createActivation(definition: AnyActorDefinition, actorId: string, key: string): Activation {
    const cells = new Map<string, StateCell<unknown>>();
    for (const [property, state] of Object.entries(definition.states)) {
      const stateKey = { actorType: definition.actorType, actorId, stateName: state.name };
      cells.set(property, createStateCell(state, providers.get(state.storage), codec, stateKey));
    }
    return {
      definition,
      actorId,
      key,
      cells,
      inFlight: new Set(),
      mailbox: createMailbox(),
      activating: undefined,
      activated: false,
      closing: undefined,
      idleTimer: undefined,
      idleSince: 0,
    };
  }

  function turnContext(activation: Activation, scope: TurnScope, call: CallInfo): ActorContext<StateDefinitions> {
    return new TurnContext(activation.definition.actorType, activation.actorId, activation.cells, scope, call, services);
  }

  function hookContext(activation: Activation): ActorContext<StateDefinitions> {
    return turnContext(activation, createTurnScope(activation.definition.actorType, activation.actorId, undefined, activation.definition.conflict, observer), new TurnCallInfo({}));
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
    // Before the try, so a lease held elsewhere fails the call with LeaseHeldError itself.
    // A lease lost later makes the next turn activate afresh, which acquires it again.
    await leases?.hold(definition.actorType, actorId, () => dropActivation(activation));
    const begin = now();
    try {
      const eager = Object.entries(definition.states).map(([property, state]) => state.lazy ? undefined : activation.cells.get(property)!.load());
      await Promise.all(eager);
      await definition.onActivate?.(hookContext(activation));
      activation.activated = true;
      notify(observer, "actor", { kind: "activation", actorType: definition.actorType, actorId, durationMs: now() - begin, outcome: "ok" });
    } catch (cause) {
      notify(observer, "actor", { kind: "activation", actorType: definition.actorType, actorId, durationMs: now() - begin, outcome: "error", errorCode: errorCodeOf(cause) });
      await leases?.release(definition.actorType, actorId);
      throw new ActivationError(definition.actorType, actorId, cause);
    }
  }

  // A conflict or an unknown outcome leaves a cell possibly behind storage; the next turn
  // starts from a fresh read instead of failing on the stale etag. Usually none is stale, and
  // the turn then starts without waiting for anything.
  function reloadStale(activation: Activation): Promise<unknown> | undefined {
    let stale: StateCell<unknown>[] | undefined;
    for (const cell of activation.cells.values()) if (cell.stale && cell.committed) (stale ??= []).push(cell);
    return stale && Promise.all(stale.map((cell) => cell.load()));
  }

  async function runTurn(
    activation: Activation,
    handlerName: string,
    handler: Handler<StateDefinitions>,
    args: unknown[],
    callPolicy: ConflictPolicy<unknown> | undefined,
    call: CallInfo,
  ): Promise<unknown> {
    if (!activation.activated) await ensureActivated(activation);
    const { definition, actorId } = activation;
    const turn = { actorType: definition.actorType, actorId, handler: handlerName };
    for (let attempt = 1; ; attempt++) {
      const begin = now();
      const scope = createTurnScope(definition.actorType, actorId, callPolicy, definition.conflict, observer);
      if (observer?.turnStart) notify(observer, "turnStart", { ...turn, attempt });
      try {
        const reloading = reloadStale(activation);
        if (reloading) await reloading;
        const result = await handler(turnContext(activation, scope, call), ...args);
        // Checked here, not only inside notify, so an unobserved turn builds no event.
        if (observer) notify(observer, "actor", { kind: "turn", ...turn, attempt, durationMs: now() - begin, outcome: "ok" });
        return result;
      } catch (error) {
        notify(observer, "actor", { kind: "turn", ...turn, attempt, durationMs: now() - begin, outcome: "error", errorCode: errorCodeOf(error) });
        // Only a conflict that happened before the turn committed anything asks for a re-run.
        const retry = scope.retryRequest;
        if (retry === undefined || retry.error !== error || attempt >= retry.options.maxAttempts) throw error;
        notify(observer, "actor", { kind: "retry", ...turn, attempt: attempt + 1, errorCode: errorCodeOf(error) });
        await backoff(attempt, retry.options);
      }
    }
  }

  // One timer per idle period, not one per call: re-arming a timer on every call costs more
  // than the rest of a memory turn. A timer that finds the actor used since re-arms itself for
  // what is left of the period, so an actor still deactivates `timeout` after its last call.
  function scheduleIdle(activation: Activation): void {
    const timeout = activation.definition.idleTimeoutMs ?? options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS;
    if (shutDown || !Number.isFinite(timeout) || activation.inFlight.size > 0) return;
    activation.idleSince = now();
    if (activation.idleTimer === undefined) armIdleTimer(activation, timeout, timeout);
  }

  function armIdleTimer(activation: Activation, timeout: number, delay: number): void {
    activation.idleTimer = setTimeout(() => {
      activation.idleTimer = undefined;
      // A call in flight keeps it active; that call's end schedules the next check.
      if (activation.inFlight.size > 0 || activation.closing) return;
      const idleFor = now() - activation.idleSince;
      if (idleFor < timeout) armIdleTimer(activation, timeout, timeout - idleFor);
      else deactivate(activation, "idle").catch(() => {});
    }, delay);
    // An idle check must not keep a process alive on its own (Node and Bun timers have unref).
    (activation.idleTimer as { unref?: () => void }).unref?.();
  }

  /**
   * Deactivates an activation with no call in flight. Marking it closing happens before any
   * await, so no turn can start on it from then on: calls that arrive wait for the
   * deactivation to finish and then get a fresh activation.
   */
  function deactivate(activation: Activation, reason: "idle" | "shutdown"): Promise<void> {
    activation.closing ??= (async () => {
      clearTimeout(activation.idleTimer);
      try {
        if (activation.activated) {
          await activation.definition.onDeactivate?.(hookContext(activation));
          notify(observer, "actor", { kind: "deactivation", actorType: activation.definition.actorType, actorId: activation.actorId, reason });
        }
      } finally {
        activation.activated = false;
        // Released while still registered, so the next activation here waits for it.
        await leases?.release(activation.definition.actorType, activation.actorId);
        if (activations.get(activation.key) === activation) activations.delete(activation.key);
      }
    })();
    return activation.closing;
  }

  async function openActivation(definition: AnyActorDefinition, actorId: string, key: string): Promise<Activation> {
    for (;;) {
      if (shutDown) throw new ActorSystemShutDownError();
      const existing = activations.get(key);
      if (existing?.closing) {
        await existing.closing.catch(() => {});
        continue;
      }
      if (existing) return existing;
      const created = createActivation(definition, actorId, key);
      activations.set(key, created);
      return created;
    }
  }

  function call(definition: AnyActorDefinition, actorId: string, key: string, name: string, handler: Handler<StateDefinitions>, args: unknown[], refOptions: ActorRefOptions): Promise<unknown> {
    if (shutDown) return Promise.reject(new ActorSystemShutDownError());
    const existing = activations.get(key);
    const message = { name, handler, args, policy: refOptions.conflict, origin: refOptions };
    // The common case stays synchronous up to the mailbox, so calls keep their order.
    if (existing && !existing.closing) return enqueue(existing, message);
    return openActivation(definition, actorId, key).then((activation) => enqueue(activation, message));
  }

  function enqueue(activation: Activation, message: Message): Promise<unknown> {
    const turn = () => runTurn(activation, message.name, message.handler, message.args, message.policy, new TurnCallInfo(message.origin));
    const result = activation.definition.reentrant ? turn() : activation.mailbox.run(turn);
    activation.inFlight.add(result);
    // Registered before the caller's own reaction, so the call is out of `inFlight` by the
    // time its caller resumes, without a `finally` promise between the caller and the result.
    const settled = () => {
      activation.inFlight.delete(result);
      scheduleIdle(activation);
    };
    result.then(settled, settled);
    return result;
  }

  function actor<States extends StateDefinitions, Handlers extends Record<string, Handler<States>>>(
    typedDefinition: ActorDefinition<States, Handlers>,
    actorId: string,
    refOptions: ActorRefOptions = {},
  ): ActorRef<Handlers> {
    const definition = typedDefinition as unknown as AnyActorDefinition;
    if (typeof actorId !== "string") throw new TypeError(`Actor id must be a string, got ${typeof actorId}`);
    assertValidKeyPart("actorId", actorId);
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
      ref[name] = (...args) => call(definition, actorId, key, name, handler, args, refOptions);
    }
    return ref as ActorRef<Handlers>;
  }

  async function shutdown(): Promise<void> {
    shutDown = true;
    const pending = [...activations.values()].map(async (activation) => {
      clearTimeout(activation.idleTimer);
      while (activation.inFlight.size > 0) await Promise.allSettled([...activation.inFlight]);
      await deactivate(activation, "shutdown");
    });
    await Promise.allSettled(pending);
    activations.clear();
    if (options.closeStorages) {
      await Promise.all([...providers.storages.map((storage) => storage.close()), eventStore?.close()]);
    }
  }

  return system;
}

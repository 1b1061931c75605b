import type { ActorContext, SaveStatesOptions, StateDefinitions, StateHandles } from "./define_actor.ts";
import type { ActorSystem } from "./actor_system.ts";
import type { CallInfo } from "./call_info.ts";
import type { EventStore } from "../events/types.ts";
import type { Codec } from "../codec/codec.ts";
import type { QuarkObserver } from "../observe/observer.ts";
import { TurnHandle, type TurnStateHandle } from "../state/state_handle.ts";
import type { StateCell } from "../state/state_cell.ts";
import type { TurnScope } from "../state/turn_scope.ts";
import { saveStates } from "./save_states.ts";
import { ConfigurationError } from "../errors.ts";

/** What every turn of one actor system shares. */
export interface TurnServices {
  readonly system: ActorSystem;
  readonly eventStore: EventStore | undefined;
  readonly codec: Codec;
  readonly observer: QuarkObserver | undefined;
}

/**
 * The context one turn sees: its own handles, drafts and policy. A class, so a turn on the
 * memory path allocates one object here rather than an object plus closures it seldom uses.
 * `saveStates` is made on access and bound, so handlers may destructure it.
 */
export class TurnContext implements ActorContext<StateDefinitions> {
  readonly actorType: string;
  readonly actorId: string;
  readonly states: StateHandles<StateDefinitions>;
  readonly call: CallInfo;
  readonly system: ActorSystem;
  readonly codec: Codec;
  readonly observer: QuarkObserver | undefined;
  readonly #scope: TurnScope;
  readonly #eventStore: EventStore | undefined;

  constructor(actorType: string, actorId: string, cells: ReadonlyMap<string, StateCell<unknown>>, scope: TurnScope, call: CallInfo, services: TurnServices) {
    const handles: Record<string, TurnStateHandle<unknown>> = {};
    for (const [property, cell] of cells) handles[property] = new TurnHandle(cell, scope);
    this.actorType = actorType;
    this.actorId = actorId;
    this.states = handles as StateHandles<StateDefinitions>;
    this.call = call;
    this.system = services.system;
    this.codec = services.codec;
    this.observer = services.observer;
    this.#scope = scope;
    this.#eventStore = services.eventStore;
  }

  get saveStates(): (names: ReadonlyArray<string>, options?: SaveStatesOptions) => Promise<void> {
    const handles = this.states as unknown as Record<string, TurnStateHandle<unknown>>;
    return (names, options) => saveStates(this.#scope, names.map((name) => handles[name]!), options);
  }

  get eventStore(): EventStore {
    if (!this.#eventStore) throw new ConfigurationError("This actor system has no event store: pass eventStore to createActorSystem");
    return this.#eventStore;
  }
}

/**
 * Who asked for a call: its own id, the conversation it belongs to, and the call that caused
 * it. Event-sourced actors copy these into the metadata of every event a call raises.
 *
 * @example Passing the conversation on to another actor
 * ```ts
 * import { createActorSystem, defineActor, memoryStorage, type CallInfo } from "@quark/persistence";
 * const seen: CallInfo[] = [];
 * const Audit = defineActor("audit", { handlers: { record: ({ call }) => void seen.push(call) } });
 * const Shop = defineActor("shop", {
 *   handlers: {
 *     async order({ call, system }) {
 *       await system.actor(Audit, "a1", { correlationId: call.correlationId, causationId: call.id }).record();
 *       return call.id;
 *     },
 *   },
 * });
 * const system = createActorSystem({ storage: memoryStorage() });
 * const orderCall = await system.actor(Shop, "s1", { correlationId: "checkout-7" }).order();
 * if (seen[0]!.correlationId !== "checkout-7" || seen[0]!.causationId !== orderCall) throw new Error("lost the conversation");
 * await system.shutdown();
 * ```
 */
export interface CallInfo {
  /** This call's own id: the causation id of whatever it causes. */
  readonly id: string;
  /** The conversation's id: the caller's, or this call's own id when the caller gave none. */
  readonly correlationId: string;
  /** The id of the call or message that caused this one, when the caller said. */
  readonly causationId: string | undefined;
}

/**
 * What a caller may say about where a call comes from: pass it with `system.actor`.
 *
 * @example Continuing a conversation started by an HTTP request
 * ```ts
 * import { createActorSystem, defineActor, memoryStorage, type CallOrigin } from "@quark/persistence";
 * const Echo = defineActor("echo", { handlers: { origin: ({ call }) => `${call.correlationId} <- ${call.causationId}` } });
 * const system = createActorSystem({ storage: memoryStorage() });
 * const origin: CallOrigin = { correlationId: "request-17", causationId: "webhook-3" };
 * if ((await system.actor(Echo, "e1", origin).origin()) !== "request-17 <- webhook-3") throw new Error("origin lost");
 * await system.shutdown();
 * ```
 */
export interface CallOrigin {
  /** The conversation this call belongs to. */
  readonly correlationId?: string | undefined;
  /** The call or message that caused this one. */
  readonly causationId?: string | undefined;
}

/**
 * A call's info; the id is made on first use, so calls that never read it pay nothing. A class
 * rather than a literal with getters, because one is made per call; `toJSON` keeps logging it
 * as informative as a plain object.
 */
export class TurnCallInfo implements CallInfo {
  readonly causationId: string | undefined;
  readonly #origin: CallOrigin;
  #id: string | undefined;

  constructor(origin: CallOrigin) {
    this.#origin = origin;
    this.causationId = origin.causationId;
  }

  get id(): string {
    return this.#id ??= crypto.randomUUID();
  }

  get correlationId(): string {
    return this.#origin.correlationId ?? this.id;
  }

  toJSON(): { id: string; correlationId: string; causationId: string | undefined } {
    return { id: this.id, correlationId: this.correlationId, causationId: this.causationId };
  }
}

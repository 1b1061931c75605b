// The Worker's side of the actor host: a typed reference per actor id whose methods post one
// call each to the object named after that id.
import type { ActorDefinition, Handler, StateDefinitions } from "../../src/actors/define_actor.ts";
import type { ActorRef } from "../../src/actors/actor_system.ts";
import type { CallOrigin } from "../../src/actors/call_info.ts";
import { assertValidKeyPart } from "../../src/storage/keys.ts";
import { StorageUnavailableError } from "../../src/errors.ts";
import { DRIVER_NAME } from "./_sql.ts";
import { CALL_URL, decodeReply, encodeCall, reviveError } from "./_wire.ts";

/**
 * A Durable Object namespace binding (`env.ACCOUNTS`), declared structurally: the binding
 * workerd passes fits.
 *
 * @example A stand-in with the binding's shape
 * ```ts
 * import type { DurableObjectNamespaceLike } from "@quark/persistence/durable-objects";
 * const namespace: DurableObjectNamespaceLike = {
 *   idFromName: (name) => name,
 *   get: (_id) => ({ fetch: async () => new Response("") }),
 * };
 * ```
 */
export interface DurableObjectNamespaceLike {
  /** The id of the object named `name`: the same name always gives the same object. */
  idFromName(name: string): unknown;
  /** A stub that sends requests to the object with that id. */
  get(id: unknown): { fetch(input: string, init: RequestInit): Promise<Response> };
}

/**
 * Typed references to the actors of one definition hosted by an {@linkcode actorHost} class.
 *
 * @example Passing the client around
 * ```ts
 * import type { ActorContext } from "@quark/persistence";
 * import type { ActorClient } from "@quark/persistence/durable-objects";
 * const handlers = { greet: ({ actorId }: ActorContext<{}>, greeting: string) => `${greeting}, ${actorId}` };
 * async function greetAll(greeters: ActorClient<typeof handlers>, ids: string[]): Promise<string[]> {
 *   return await Promise.all(ids.map((id) => greeters.get(id).greet("Hello")));
 * }
 * if (typeof greetAll !== "function") throw new Error("unreachable");
 * ```
 */
export interface ActorClient<Handlers> {
  /**
   * The actor with this id, in the object named after it. Its methods have the types of
   * `system.actor(Definition, actorId)`; each call is one request to the object. `origin`
   * carries the caller's correlation and causation ids to the call, as with `system.actor`.
   * @throws {InvalidKeyError} When the id is not well-formed UTF-16 or holds a NUL.
   */
  get(actorId: string, origin?: CallOrigin): ActorRef<Handlers>;
}

/**
 * Makes typed references to actors hosted in a Durable Object namespace bound to an
 * {@linkcode actorHost} class of the same definition. Arguments and results travel in the
 * library's serializer (`Date`, `Map`, `Set`, `BigInt` and typed arrays included); an error
 * thrown in the object is thrown here with its name, message, code and fields, so
 * `isQuarkError(error, "STATE_VALIDATION")` works on the caller's side.
 *
 * A call that fails in the platform instead (the object overloaded or reset, the network)
 * fails with `StorageUnavailableError`: its outcome is unknown, as with any storage outage.
 *
 * @param namespace The namespace binding, such as `env.ACCOUNTS`.
 * @param definition The definition the host class was made from.
 * @returns A client whose `get(actorId)` returns a typed reference.
 *
 * @example Calling an actor from a Worker
 * ```ts ignore
 * import * as v from "valibot";
 * import { defineActor, defineState, isQuarkError } from "@quark/persistence";
 * import { actorClient, type DurableObjectNamespaceLike } from "@quark/persistence/durable-objects";
 * const balance = defineState("balance", { schema: v.pipe(v.number(), v.minValue(0)), initial: 0 });
 * const Account = defineActor("account", {
 *   states: { balance },
 *   handlers: {
 *     async deposit({ states }, cents: number) {
 *       states.balance.value += cents;
 *       await states.balance.save();
 *       return states.balance.value;
 *     },
 *     async withdraw({ states }, cents: number) {
 *       states.balance.value -= cents;
 *       await states.balance.save();
 *       return states.balance.value;
 *     },
 *   },
 * });
 * declare const env: { ACCOUNTS: DurableObjectNamespaceLike };
 * const accounts = actorClient(env.ACCOUNTS, Account);
 * const cents: number = await accounts.get("alice").deposit(500);
 * try {
 *   await accounts.get("alice").withdraw(1_000_000);
 * } catch (error) {
 *   if (!isQuarkError(error, "STATE_VALIDATION")) throw error;
 * }
 * ```
 */
export function actorClient<States extends StateDefinitions, Handlers extends Record<string, Handler<States>>>(
  namespace: DurableObjectNamespaceLike,
  definition: ActorDefinition<States, Handlers>,
): ActorClient<Handlers> {
  const { actorType } = definition;
  return {
    get(actorId, origin) {
      assertValidKeyPart("actorId", actorId);
      const ref: Record<string, (...args: unknown[]) => Promise<unknown>> = {};
      for (const handler of Object.keys(definition.handlers)) {
        ref[handler] = async (...args) => {
          const body = encodeCall({ actorType, actorId, handler, args, origin });
          let bytes: Uint8Array;
          try {
            // A stub per call: Cloudflare advises a fresh stub after one has thrown, and they are cheap.
            const response = await namespace.get(namespace.idFromName(actorId)).fetch(CALL_URL, { method: "POST", body });
            bytes = new Uint8Array(await response.arrayBuffer());
          } catch (error) {
            // The platform failed (overloaded, network, object reset): the call may or may not
            // have run. Cloudflare's `retryable` and `overloaded` flags stay on the cause.
            throw new StorageUnavailableError(DRIVER_NAME, `a call of ${actorType}.${handler}`, error);
          }
          const reply = decodeReply(bytes);
          if (reply.ok) return reply.value;
          throw reviveError(reply.error);
        };
      }
      return ref as ActorRef<Handlers>;
    },
  };
}

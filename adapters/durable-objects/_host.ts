// A Durable Object class that hosts the actors of one definition, one object per actor id.
// The object runs an ordinary actor system over its own storage, so the turn rules are the
// core's; what the platform adds is that every call for an id reaches this one object, so the
// actor is active in one place only and its saves do not conflict with another activation's.
import type { ActorDefinition, Handler, StateDefinitions } from "../../src/actors/define_actor.ts";
import { type ActorSystem, createActorSystem } from "../../src/actors/actor_system.ts";
import type { Codec, CodecOptions } from "../../src/codec/codec.ts";
import type { QuarkObserver } from "../../src/observe/observer.ts";
import type { EventStore } from "../../src/events/types.ts";
import { ConfigurationError } from "../../src/errors.ts";
import { type DurableObjectSqlStorage, rows } from "./_sql.ts";
import { type DurableObjectStateStorage, durableObjectStorage } from "./_storage.ts";
import { durableObjectEventStore } from "./_event_store.ts";
import { type Call, decodeCall, encodeReply, flattenError } from "./_wire.ts";

/**
 * What the host needs of the object's `ctx`: its SQL storage and its alarm. The `ctx` that
 * workerd passes to a Durable Object's constructor fits.
 *
 * @example The shape of `ctx` (a stand-in)
 * ```ts
 * import type { DurableObjectStateLike } from "@quark/persistence/durable-objects";
 * const ctx: DurableObjectStateLike = {
 *   storage: { sql: { exec: () => ({ toArray: () => [] }) }, transactionSync: (closure) => closure(), setAlarm: async () => {} },
 * };
 * ```
 */
export interface DurableObjectStateLike {
  /** The object's storage: SQL, transactions and the alarm. */
  readonly storage: DurableObjectSqlStorage & {
    /** Schedules the object's one alarm, replacing any earlier one. */
    setAlarm(scheduledTime: number): Promise<void>;
  };
}

/**
 * Options for {@linkcode actorHost}.
 *
 * @example Deactivating after a minute without calls
 * ```ts
 * import type { ActorHostOptions } from "@quark/persistence/durable-objects";
 * const options: ActorHostOptions = { idleTimeoutMs: 60_000 };
 * ```
 */
export interface ActorHostOptions {
  /**
   * Deactivate the actor (running `onDeactivate`) once it has had no call for this long, in
   * milliseconds, checked by the object's alarm; the same alarm purges expired states. The
   * definition's own `idleTimeoutMs` wins, as in an actor system. Defaults to 5 minutes;
   * `Infinity` sets no alarm.
   */
  readonly idleTimeoutMs?: number | undefined;
  /** Compression and encryption for stored values and events. */
  readonly codec?: CodecOptions | Codec | undefined;
  /** Told about every storage call, activation, deactivation and turn inside the object. */
  readonly observer?: QuarkObserver | undefined;
}

/**
 * An object of an {@linkcode actorHost} class, as workerd calls it.
 *
 * @example What workerd calls
 * ```ts
 * import type { ActorHostObject } from "@quark/persistence/durable-objects";
 * const methods: Array<keyof ActorHostObject> = ["fetch", "alarm"];
 * ```
 */
export interface ActorHostObject {
  /** Runs one call posted by {@linkcode actorClient} and answers with its result or error. */
  fetch(request: Request): Promise<Response>;
  /** Purges expired states and deactivates the actor once it has been idle long enough. */
  alarm(): Promise<void>;
}

/**
 * A Durable Object class made by {@linkcode actorHost}: export it from the Worker and name it
 * in `wrangler.toml` under `new_sqlite_classes`.
 *
 * @example A class per definition
 * ```ts
 * import { defineActor } from "@quark/persistence";
 * import { actorHost, type ActorHostClass } from "@quark/persistence/durable-objects";
 * const Echo = defineActor("echo", { handlers: { echo: (_context, text: string) => text } });
 * const EchoHost: ActorHostClass = actorHost(Echo);
 * if (typeof EchoHost !== "function") throw new Error("workerd needs a class");
 * ```
 */
export type ActorHostClass = new (ctx: DurableObjectStateLike, env: unknown) => ActorHostObject;

type AnyDefinition = ActorDefinition<StateDefinitions, Record<string, Handler<StateDefinitions>>>;

const DEFAULT_IDLE_TIMEOUT_MS = 5 * 60_000;

/**
 * Makes a Durable Object class that hosts the actors of one `defineActor` or
 * `defineEventSourcedActor` definition, one object per actor id. Each object keeps its actor's
 * states and events in its own SQLite database, through {@linkcode durableObjectStorage} and
 * {@linkcode durableObjectEventStore}; a Worker calls it through {@linkcode actorClient}.
 * Calls run one turn at a time in the object, as in any actor system; an idle actor is
 * deactivated by the object's alarm.
 *
 * @param definition The actor definition.
 * @param options Idle timeout, codec and observer.
 * @returns The class to export from the Worker.
 * @throws {RangeError} When the idle timeout is not a positive number of milliseconds.
 *
 * @example A Worker that hosts accounts, one object per account
 * ```ts ignore
 * import { defineActor } from "@quark/persistence";
 * import { actorClient, actorHost, type DurableObjectNamespaceLike } from "@quark/persistence/durable-objects";
 * const Greeter = defineActor("greeter", { handlers: { greet: ({ actorId }, greeting: string) => `${greeting}, ${actorId}` } });
 * export const GreeterHost = actorHost(Greeter, { idleTimeoutMs: 60_000 });
 * export default {
 *   async fetch(_request: Request, env: { GREETERS: DurableObjectNamespaceLike }): Promise<Response> {
 *     return new Response(await actorClient(env.GREETERS, Greeter).get("alice").greet("Hello"));
 *   },
 * };
 * ```
 */
export function actorHost<States extends StateDefinitions, Handlers extends Record<string, Handler<States>>>(
  definition: ActorDefinition<States, Handlers>,
  options: ActorHostOptions = {},
): ActorHostClass {
  const idleTimeoutMs = definition.idleTimeoutMs ?? options.idleTimeoutMs ?? DEFAULT_IDLE_TIMEOUT_MS;
  if (typeof idleTimeoutMs !== "number" || !(idleTimeoutMs > 0)) {
    throw new RangeError(`The idle timeout must be a positive number of milliseconds or Infinity, got ${String(idleTimeoutMs)}`);
  }
  // The alarm deactivates idle actors, so the system's own timer never does.
  const hosted = { ...definition, idleTimeoutMs: Infinity } as unknown as AnyDefinition;
  const { actorType } = definition;

  return class ActorHost implements ActorHostObject {
    readonly #ctx: DurableObjectStateLike;
    readonly #storage: DurableObjectStateStorage;
    readonly #eventStore: EventStore;
    #system: ActorSystem;
    #actorId: string | undefined;
    #closing: Promise<void> | undefined;
    #inFlight = 0;
    #lastCall = 0;
    #alarmSet = false;

    constructor(ctx: DurableObjectStateLike, _env: unknown) {
      this.#ctx = ctx;
      this.#storage = durableObjectStorage(ctx.storage);
      this.#eventStore = durableObjectEventStore(ctx.storage);
      rows(ctx.storage, "CREATE TABLE IF NOT EXISTS quark_host (actor_type TEXT NOT NULL, actor_id TEXT NOT NULL)");
      this.#system = this.#createSystem();
    }

    async fetch(request: Request): Promise<Response> {
      try {
        const value = await this.#call(decodeCall(new Uint8Array(await request.arrayBuffer())));
        return new Response(encodeReply({ ok: true, value }));
      } catch (error) {
        return new Response(encodeReply({ ok: false, error: flattenError(error) }), { status: 500 });
      }
    }

    async alarm(): Promise<void> {
      this.#alarmSet = false;
      this.#storage.purgeExpired();
      // A call in flight schedules the next check when it ends; an object that was evicted
      // and woken by its alarm has nothing active to deactivate.
      if (this.#inFlight > 0 || this.#system.activeCount === 0) return;
      const idleUntil = this.#lastCall + idleTimeoutMs;
      if (Date.now() < idleUntil) return this.#setAlarm(idleUntil);
      // Calls that arrive while the old system deactivates wait, then start a fresh activation.
      const idle = this.#system;
      this.#system = this.#createSystem();
      this.#closing = idle.shutdown().finally(() => {
        this.#closing = undefined;
      });
      await this.#closing;
    }

    #createSystem(): ActorSystem {
      return createActorSystem({
        storage: this.#storage,
        eventStore: this.#eventStore,
        codec: options.codec,
        observer: options.observer,
        idleTimeoutMs: Infinity,
      });
    }

    async #call(call: Call): Promise<unknown> {
      if (call.actorType !== actorType) {
        throw new ConfigurationError(`This Durable Object hosts actors of type ${JSON.stringify(actorType)}, not ${JSON.stringify(call.actorType)}: check which class the namespace is bound to`);
      }
      if (!Object.hasOwn(definition.handlers, call.handler)) {
        throw new ConfigurationError(`Actor type ${JSON.stringify(actorType)} has no handler ${JSON.stringify(call.handler)}: are the Worker and the object deployed from the same code?`);
      }
      this.#claim(call.actorId);
      while (this.#closing) await this.#closing;
      this.#inFlight++;
      try {
        const ref = this.#system.actor(hosted, call.actorId, call.origin ?? {}) as Record<string, (...args: unknown[]) => Promise<unknown>>;
        return await ref[call.handler]!(...call.args);
      } finally {
        this.#inFlight--;
        this.#lastCall = Date.now();
        if (this.#inFlight === 0 && !this.#alarmSet) await this.#setAlarm(this.#lastCall + idleTimeoutMs);
      }
    }

    /** Records the actor id this object serves on its first call, and refuses any other. */
    #claim(actorId: string): void {
      if (this.#actorId === actorId) return;
      const [row] = rows(this.#ctx.storage, "SELECT actor_type, actor_id FROM quark_host");
      if (row === undefined) rows(this.#ctx.storage, "INSERT INTO quark_host (actor_type, actor_id) VALUES (?, ?)", actorType, actorId);
      else if (row.actor_type !== actorType || row.actor_id !== actorId) {
        throw new ConfigurationError(`This Durable Object hosts actor ${JSON.stringify(String(row.actor_type))}/${JSON.stringify(String(row.actor_id))}, not ${JSON.stringify(actorType)}/${JSON.stringify(actorId)}: address actors through actorClient, which gives each actor id its own object`);
      }
      this.#actorId = actorId;
    }

    async #setAlarm(at: number): Promise<void> {
      if (!Number.isFinite(at)) return;
      this.#alarmSet = true;
      try {
        await this.#ctx.storage.setAlarm(at);
      } catch {
        // No alarm: the next call that ends idle tries again; the actor stays active meanwhile.
        this.#alarmSet = false;
      }
    }
  };
}

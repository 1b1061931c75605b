/**
 * Cloudflare Durable Objects: a storage and an event store in a SQLite-backed object's own
 * database (`ctx.storage.sql`), and an actor host that gives each actor id one object, so the
 * platform guarantees a single activation per id. A Worker calls the hosted actors through a
 * typed client with the same method types as `system.actor(Definition, id)`.
 *
 * Nothing here imports a Cloudflare module: the object's storage and namespaces are declared
 * structurally, and the host is a plain class served over `fetch`. The table layout, the
 * limits and the wire protocol are documented in `docs/backends/durable-objects.md`.
 *
 * @example A Worker and its actor host (wrangler.toml binds `ACCOUNTS` to `AccountHost`)
 * ```ts ignore
 * import * as v from "valibot";
 * import { defineActor, defineState } from "@quark/persistence";
 * import { actorClient, actorHost, type DurableObjectNamespaceLike } from "@quark/persistence/durable-objects";
 *
 * const balance = defineState("balance", { schema: v.pipe(v.number(), v.minValue(0)), initial: 0 });
 * const Account = defineActor("account", {
 *   states: { balance },
 *   handlers: {
 *     async deposit({ states }, cents: number) {
 *       states.balance.value += cents;
 *       await states.balance.save();
 *       return states.balance.value;
 *     },
 *   },
 * });
 * export const AccountHost = actorHost(Account);
 * export default {
 *   async fetch(_request: Request, env: { ACCOUNTS: DurableObjectNamespaceLike }): Promise<Response> {
 *     const cents: number = await actorClient(env.ACCOUNTS, Account).get("alice").deposit(500);
 *     return Response.json({ cents });
 *   },
 * };
 * ```
 *
 * @example An actor system whose states and events live in the object that runs it
 * ```ts ignore
 * import { createActorSystem } from "@quark/persistence";
 * import { durableObjectEventStore, durableObjectStorage, type DurableObjectSqlStorage } from "@quark/persistence/durable-objects";
 * export class Shop {
 *   readonly system;
 *   constructor(ctx: { storage: DurableObjectSqlStorage }) {
 *     this.system = createActorSystem({ storage: durableObjectStorage(ctx.storage), eventStore: durableObjectEventStore(ctx.storage) });
 *   }
 * }
 * ```
 *
 * @module
 */
export type { DurableObjectSql, DurableObjectSqlStorage, SqlValue } from "./_sql.ts";
export { durableObjectStorage, type DurableObjectStateStorage, type DurableObjectStorageOptions } from "./_storage.ts";
export { durableObjectEventStore, type DurableObjectEventStoreOptions } from "./_event_store.ts";
export { actorHost, type ActorHostClass, type ActorHostObject, type ActorHostOptions, type DurableObjectStateLike } from "./_host.ts";
export { actorClient, type ActorClient, type DurableObjectNamespaceLike } from "./_client.ts";

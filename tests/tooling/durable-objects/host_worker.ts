// A Worker for the actor host's tests: a state-based actor and an event-sourced one, each in a
// class of its own, and one route that calls either through `actorClient` and answers, in
// devalue, the result or what the caller saw of the error (its name, code, message, and
// whether `isQuarkError` recognised it here, on the caller's side).
import * as v from "valibot";
import { parse, stringify } from "devalue";
import { defineActor, defineEventSourcedActor, defineState, isQuarkError } from "../../../mod.ts";
import { actorClient, actorHost, type DurableObjectNamespaceLike } from "../../../adapters/durable-objects/mod.ts";

const entries = defineState("entries", { schema: v.array(v.string()), initial: [] as string[] });
const lifecycle = defineState("lifecycle", { schema: v.array(v.string()), initial: [] as string[] });

export const Journal = defineActor("journal", {
  states: { entries, lifecycle },
  handlers: {
    async add({ states }, entry: string) {
      states.entries.value = [...states.entries.value, entry];
      await states.entries.save();
      return states.entries.value.length;
    },
    addThenFail({ states }, entry: string) {
      states.entries.value = [...states.entries.value, entry];
      throw new Error(`failed after adding ${entry}`);
    },
    async addInvalid({ states }) {
      states.entries.value = [...states.entries.value, 42 as unknown as string];
      await states.entries.save();
    },
    entries: ({ states }) => states.entries.value,
    lifecycle: ({ states }) => states.lifecycle.value,
    echo: (_context, value: unknown) => value,
    returnsFunction: () => () => 1,
  },
  async onActivate({ states }) {
    states.lifecycle.value = [...states.lifecycle.value, "activate"];
    await states.lifecycle.save();
  },
  async onDeactivate({ states }) {
    states.lifecycle.value = [...states.lifecycle.value, "deactivate"];
    await states.lifecycle.save();
  },
});

export const Tally = defineEventSourcedActor("tally", {
  events: v.variant("type", [v.object({ type: v.literal("Added"), amount: v.number() })]),
  state: v.object({ total: v.number() }),
  initial: { total: 0 },
  apply: (state, event) => ({ total: state.total + event.amount }),
  snapshotEvery: 5,
  commands: {
    async add(command, amount: number) {
      await command.raise({ type: "Added", amount });
      await command.commit();
      return command.state.total;
    },
    async addThenFail({ raise }, amount: number) {
      await raise({ type: "Added", amount });
      throw new Error("failed after raising");
    },
    total: ({ state, version }) => ({ total: state.total, version }),
    origin: ({ call }) => ({ correlationId: call.correlationId, causationId: call.causationId }),
  },
});

// Conflicts the counter's host has seen, counted by its observer in the object's isolate. The
// counter retries on conflict, so only this count would show one.
let conflicts = 0;
const count = defineState("count", { schema: v.number(), initial: 0 });

export const Counter = defineActor("counter", {
  states: { count },
  conflict: "retry",
  handlers: {
    async increment({ states }) {
      const next = states.count.value + 1;
      // A pause between the read and the save, where a second activation could write.
      await new Promise((resolve) => setTimeout(resolve, 1));
      states.count.value = next;
      await states.count.save();
      return next;
    },
    stats: ({ states }) => ({ count: states.count.value, conflicts }),
  },
});

export const JournalHost = actorHost(Journal, { idleTimeoutMs: 100 });
export const CounterHost = actorHost(Counter, {
  observer: {
    write(event) {
      if (event.kind === "conflict") conflicts++;
    },
  },
});
export const TallyHost = actorHost(Tally);

interface Env {
  readonly COUNTERS: DurableObjectNamespaceLike;
  readonly JOURNALS: DurableObjectNamespaceLike;
  readonly TALLIES: DurableObjectNamespaceLike;
}

interface Request_ {
  readonly actor: "counter" | "journal" | "tally" | "overloaded" | "not-a-host" | "tally-on-journals" | "journal-in-one-object";
  readonly id: string;
  readonly method: string;
  readonly args: unknown[];
  readonly origin?: { readonly correlationId?: string; readonly causationId?: string };
}

// The client's references have the types of `system.actor(Definition, id)`; tsc checks these.
export async function typedCalls(env: Env): Promise<number> {
  const count: number = await actorClient(env.JOURNALS, Journal).get("typed").add("entry");
  // @ts-expect-error: add takes a string
  await actorClient(env.JOURNALS, Journal).get("typed").add(1);
  const { version }: { total: number; version: number } = await actorClient(env.TALLIES, Tally).get("typed").total();
  return count + version;
}

// deno-lint-ignore no-explicit-any
function refOf(env: Env, { actor, id, origin }: Request_): Record<string, (...args: any[]) => Promise<unknown>> {
  if (actor === "tally") return actorClient(env.TALLIES, Tally).get(id, origin);
  if (actor === "counter") return actorClient(env.COUNTERS, Counter).get(id);
  // Namespaces that fail as the platform can, or answer as something other than a host.
  if (actor === "overloaded") {
    const overloaded = Object.assign(new Error("Durable Object is overloaded"), { overloaded: true });
    return actorClient({ idFromName: (name) => name, get: () => ({ fetch: () => Promise.reject(overloaded) }) }, Journal).get(id);
  }
  if (actor === "not-a-host") return actorClient({ idFromName: (name) => name, get: () => ({ fetch: async () => new Response("hello") }) }, Journal).get(id);
  // A namespace bound to the wrong class.
  if (actor === "tally-on-journals") return actorClient(env.JOURNALS, Tally).get(id);
  // A namespace that sends every id to one object, which must refuse a second actor id.
  if (actor === "journal-in-one-object") {
    return actorClient({ idFromName: () => env.JOURNALS.idFromName("shared"), get: (objectId) => env.JOURNALS.get(objectId) }, Journal).get(id);
  }
  return actorClient(env.JOURNALS, Journal).get(id);
}

export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    const call = parse(await request.text()) as Request_;
    try {
      const value = await refOf(env, call)[call.method]!(...call.args);
      return new Response(stringify({ ok: true, value }));
    } catch (error) {
      const { name, message, code } = error as Error & { code?: string };
      const cause = (error as { cause?: { code?: string; overloaded?: boolean } }).cause;
      return new Response(stringify({ ok: false, name, message, code, quark: isQuarkError(error), causeCode: cause?.code, causeOverloaded: cause?.overloaded }));
    }
  },
};

// A Cloudflare Worker whose bank accounts are actors hosted in Durable Objects, one object per
// account id. Copy this folder, replace the two relative imports with `@quark/persistence`
// and `@quark/persistence/durable-objects`, and run `wrangler deploy`.
//
// Where the actors live: each account in the object that `idFromName(accountId)` names, so
// Cloudflare runs it in one place at a time and every call for it queues there. Its balance
// is stored in that object's own SQLite database, next to the code that changes it. The
// Worker in front only routes requests; it keeps no state.
//
// Routes: `GET /accounts/:id` answers the balance; `POST /accounts/:id/deposit?cents=500`
// and `POST /accounts/:id/withdraw?cents=200` change it. A withdrawal past zero fails the
// balance schema: nothing is saved and the Worker answers 422 with the error's code.
import * as v from "valibot";
import { defineActor, defineState, isQuarkError } from "../../mod.ts";
import { actorClient, actorHost, type DurableObjectNamespaceLike } from "../../adapters/durable-objects/mod.ts";

const balance = defineState("balance", { schema: v.pipe(v.number(), v.integer(), v.minValue(0)), initial: 0 });

export const Account = defineActor("account", {
  states: { balance },
  handlers: {
    async deposit({ states }, cents: number) {
      states.balance.value += cents;
      await states.balance.save();
      return states.balance.value;
    },
    async withdraw({ states }, cents: number) {
      states.balance.value -= cents;
      await states.balance.save();
      return states.balance.value;
    },
    balance: ({ states }) => states.balance.value,
  },
});

/** The Durable Object class; `wrangler.toml` binds it as `ACCOUNTS`. */
export const AccountHost = actorHost(Account);

interface Env {
  readonly ACCOUNTS: DurableObjectNamespaceLike;
}

const ROUTE = /^\/accounts\/([^/]+)(?:\/(deposit|withdraw))?$/;

export default {
  async fetch(request: Request, env: Env): Promise<Response> {
    const url = new URL(request.url);
    const [, id, action] = ROUTE.exec(url.pathname) ?? [];
    if (id === undefined || (action === undefined) !== (request.method === "GET")) return Response.json({ error: "Not found" }, { status: 404 });
    const account = actorClient(env.ACCOUNTS, Account).get(decodeURIComponent(id));
    const cents = Number(url.searchParams.get("cents"));
    try {
      if (action === undefined) return Response.json({ cents: await account.balance() });
      if (!Number.isSafeInteger(cents) || cents <= 0) return Response.json({ error: "cents must be a positive whole number" }, { status: 400 });
      return Response.json({ cents: action === "deposit" ? await account.deposit(cents) : await account.withdraw(cents) });
    } catch (error) {
      if (isQuarkError(error, "STATE_VALIDATION")) return Response.json({ code: error.code, error: error.message }, { status: 422 });
      throw error;
    }
  },
};

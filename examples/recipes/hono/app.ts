// The Hono app the three Hono recipes share. It takes the actor system as an argument: where
// the system lives, and how it shuts down, is each runtime's entry file's business.
import { Hono } from "hono";
import type { ActorSystem, Projector } from "../../../mod.ts";
import { Counter } from "../counter.ts";
import { Ledger } from "../ledger.ts";

type Balance = { cents: number; deposits: number };

/**
 * The counter routes, and a ledger whose writes go through its actor while reads come from
 * the `balances` read model: `POST /ledgers/:id/deposits?cents=N` answers the actor's
 * balance; `GET /balances/:id` answers the projection's document and the position it has
 * reached, which trails the writes by up to one poll.
 */
export function counterApp(system: ActorSystem, balances: Projector<Balance>): Hono {
  const app = new Hono();
  app.post("/counters/:id", async (c) => c.json({ count: await system.actor(Counter, c.req.param("id")).increment() }));
  app.get("/counters/:id", async (c) => c.json({ count: await system.actor(Counter, c.req.param("id")).read() }));
  app.post("/ledgers/:id/deposits", async (c) => c.json({ balance: await system.actor(Ledger, c.req.param("id")).deposit(Number(c.req.query("cents"))) }));
  app.get("/balances/:id", async (c) => c.json({ ...await balances.read(c.req.param("id")), position: String(await balances.position()) }));
  return app;
}

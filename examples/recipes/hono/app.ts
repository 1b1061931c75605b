// The Hono app the three Hono recipes share. It takes the actor system as an argument: where
// the system lives, and how it shuts down, is each runtime's entry file's business.
import { Hono } from "hono";
import type { ActorSystem } from "../../../mod.ts";
import { Counter } from "../counter.ts";

export function counterApp(system: ActorSystem): Hono {
  const app = new Hono();
  app.post("/counters/:id", async (c) => c.json({ count: await system.actor(Counter, c.req.param("id")).increment() }));
  app.get("/counters/:id", async (c) => c.json({ count: await system.actor(Counter, c.req.param("id")).read() }));
  return app;
}

// The recipes' HTTP interface as a plain fetch handler, for the servers that take one
// (Deno.serve, Bun.serve, a Worker, a Vercel Edge function):
//   POST /counters/:id  adds one and answers {"count": n}
//   GET  /counters/:id  answers {"count": n}
import type { ActorSystem } from "../../mod.ts";
import { Counter } from "./counter.ts";

export async function counterRoutes(system: ActorSystem, request: Request): Promise<Response> {
  const match = /^\/counters\/([^/]+)$/.exec(new URL(request.url).pathname);
  if (!match) return Response.json({ error: "not found" }, { status: 404 });
  const counter = system.actor(Counter, decodeURIComponent(match[1]!));
  if (request.method === "POST") return Response.json({ count: await counter.increment() });
  if (request.method === "GET") return Response.json({ count: await counter.read() });
  return Response.json({ error: "method not allowed" }, { status: 405, headers: { allow: "GET, POST" } });
}

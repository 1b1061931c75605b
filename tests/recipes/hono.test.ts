// The Hono recipes, each run as its own server process by the runtime it is written for.
import { test } from "node:test";
import process from "node:process";
import { assertReadModelFollows, checkPgliteServer } from "./counter_checks.ts";
import { runner } from "./server_process.ts";

const onlyOn = (runtime: typeof runner) => runner === runtime ? {} : { skip: `runs when the tests run on ${runtime}` };

test("Hono on Node answers, persists, takes concurrent requests, serves a read model and shuts down on SIGTERM", onlyOn("node"), () =>
  checkPgliteServer(process.execPath, ["--import", "tsx", "examples/recipes/hono/node.ts"], assertReadModelFollows));

test("Hono on Deno answers, persists, takes concurrent requests, serves a read model and shuts down on SIGTERM", onlyOn("deno"), () =>
  checkPgliteServer(process.execPath, ["run", "-A", "examples/recipes/hono/deno.ts"], assertReadModelFollows));

test("Hono on Bun answers, persists, takes concurrent requests, serves a read model and shuts down on SIGTERM", onlyOn("bun"), () =>
  checkPgliteServer(process.execPath, ["examples/recipes/hono/bun.ts"], assertReadModelFollows));

// The Hono recipes, each run as its own server process by the runtime it is written for.
import { test } from "node:test";
import process from "node:process";
import { checkPgliteServer } from "./counter_checks.ts";
import { runner } from "./server_process.ts";

const onlyOn = (runtime: typeof runner) => runner === runtime ? {} : { skip: `runs when the tests run on ${runtime}` };

test("Hono on Node answers, persists, takes concurrent requests and shuts down on SIGTERM", onlyOn("node"), () =>
  checkPgliteServer(process.execPath, ["--import", "tsx", "examples/recipes/hono/node.ts"]));

test("Hono on Deno answers, persists, takes concurrent requests and shuts down on SIGTERM", onlyOn("deno"), () =>
  checkPgliteServer(process.execPath, ["run", "-A", "examples/recipes/hono/deno.ts"]));

test("Hono on Bun answers, persists, takes concurrent requests and shuts down on SIGTERM", onlyOn("bun"), () =>
  checkPgliteServer(process.execPath, ["examples/recipes/hono/bun.ts"]));

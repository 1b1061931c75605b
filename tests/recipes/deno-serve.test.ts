// The plain Deno.serve recipe, run as its own `deno run` process.
import { test } from "node:test";
import process from "node:process";
import { checkPgliteServer } from "./counter_checks.ts";
import { runner } from "./server_process.ts";

test("Deno.serve answers, persists, takes concurrent requests and shuts down on SIGTERM", runner === "deno" ? {} : { skip: "runs when the tests run on deno" }, () =>
  checkPgliteServer(process.execPath, ["run", "-A", "examples/recipes/deno-serve/server.ts"]));

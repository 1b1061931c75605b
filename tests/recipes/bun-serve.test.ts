// The plain Bun.serve recipe, run as its own `bun` process.
import { test } from "node:test";
import process from "node:process";
import { checkPgliteServer } from "./counter_checks.ts";
import { runner } from "./server_process.ts";

test("Bun.serve answers, persists, takes concurrent requests and shuts down on SIGTERM", runner === "bun" ? {} : { skip: "runs when the tests run on bun" }, () =>
  checkPgliteServer(process.execPath, ["examples/recipes/bun-serve/server.ts"]));

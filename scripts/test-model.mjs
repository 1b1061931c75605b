#!/usr/bin/env node
// npm run test:model -- --backend NAME --runs N [--seed S]
// Runs the model-based checks of the actor runtime on one backend. Start the backend's
// service first (bash scripts/services/<name>.sh start); memory and pglite need none.
import { spawnSync } from "node:child_process";
import { serviceEnv } from "./service-env.mjs";

const root = new URL("..", import.meta.url).pathname;
const result = spawnSync(process.execPath, ["--import", "tsx", "tests/model/run.ts", ...process.argv.slice(2)], {
  cwd: root,
  env: serviceEnv(root),
  stdio: "inherit",
});
process.exitCode = result.status ?? 1;

// `npm run bench`: runs scripts/bench/run.ts with the services' environment
// (.services/<name>/env) merged over this process's, passing every argument on.
//
// It runs on the Node 24 that the project installs (the `node24` devDependency), which strips
// TypeScript types natively, rather than under tsx: tsx's esbuild transform wraps every
// function expression in a `__name` call, and on the memory path that alone cost about a fifth
// of an actor call, a cost that users of the built package never pay.
import { spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import process from "node:process";
import { serviceEnv } from "../service-env.mjs";

const root = fileURLToPath(new URL("../../", import.meta.url));
const node24 = `${root}node_modules/node24/bin/node`;
const command = existsSync(node24) ? [node24] : [process.execPath, "--import", "tsx"];
const result = spawnSync(command[0], [...command.slice(1), "scripts/bench/run.ts", ...process.argv.slice(2)], { cwd: root, env: serviceEnv(root), stdio: "inherit" });
process.exit(result.status ?? 1);

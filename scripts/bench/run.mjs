// `npm run bench`: runs scripts/bench/run.ts under tsx with the services' environment
// (.services/<name>/env) merged over this process's, passing every argument on.
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";
import process from "node:process";
import { serviceEnv } from "../service-env.mjs";

const root = fileURLToPath(new URL("../../", import.meta.url));
const result = spawnSync(process.execPath, ["--import", "tsx", "scripts/bench/run.ts", ...process.argv.slice(2)], { cwd: root, env: serviceEnv(root), stdio: "inherit" });
process.exit(result.status ?? 1);

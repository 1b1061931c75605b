// The environment the service scripts leave in .services/<name>/env (URLs, ports, tokens),
// merged over this process's own.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

export function serviceEnv(root) {
  const env = { ...process.env };
  const dir = join(root, ".services");
  if (!existsSync(dir)) return env;
  for (const service of readdirSync(dir)) {
    const file = join(dir, service, "env");
    if (!existsSync(file)) continue;
    for (const line of readFileSync(file, "utf8").split("\n")) {
      const match = /^([A-Z0-9_]+)=(.*)$/.exec(line.trim());
      if (match) env[match[1]] = match[2];
    }
  }
  return env;
}

// Node side of the runtime tests: picks the suites whose adapter exists and whose service
// settings are present, bundles them with esbuild for a target runtime, and turns each case
// the isolate reports into a node:test test.
import { existsSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { join } from "node:path";
import process from "node:process";
import type { test as nodeTest } from "node:test";
import { build } from "esbuild";
import type { CaseInfo, CaseResult, RemoteError, RuntimeEnv } from "./protocol.ts";

export const root: string = fileURLToPath(new URL("../..", import.meta.url));

/** A suite the runtimes can run, and what it needs. */
interface SuiteSpec {
  readonly name: string;
  /** The adapter entry it imports; the suite joins once that file exists. */
  readonly adapter?: string;
  /** Environment variables it needs; the suite is skipped, by name, when one is missing. */
  readonly env?: readonly string[];
  /** How to provide the variables. */
  readonly hint?: string;
  /** Settings the suite reads besides `env`, passed along when present. */
  readonly optionalEnv?: readonly string[];
}

export const SUITES: readonly SuiteSpec[] = [
  { name: "core" },
  { name: "memory" },
  {
    name: "upstash",
    adapter: "adapters/upstash/mod.ts",
    env: ["UPSTASH_REDIS_REST_URL", "UPSTASH_REDIS_REST_TOKEN"],
    hint: "scripts/services/upstash.sh start",
  },
  {
    name: "neon-http",
    adapter: "adapters/neon/mod.ts",
    env: ["NEON_URL", "NEON_HTTP_ENDPOINT"],
    hint: "scripts/services/neon-http.sh start",
  },
  {
    name: "neon-ws",
    adapter: "adapters/neon/mod.ts",
    env: ["NEON_URL", "NEON_WS_PROXY"],
    hint: "scripts/services/wsproxy.sh start",
  },
  {
    name: "dynamodb",
    adapter: "adapters/dynamodb/mod.ts",
    env: ["DYNAMODB_ENDPOINT"],
    optionalEnv: ["AWS_REGION", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"],
    hint: "scripts/services/moto.sh start",
  },
];

/** Which suites run here, which do not and why, and the settings to hand the isolate. */
export interface Selection {
  readonly suites: readonly string[];
  readonly skipped: ReadonlyArray<{ readonly name: string; readonly reason: string }>;
  readonly env: Record<string, string>;
}

export function selectSuites(environment: RuntimeEnv = process.env, only?: readonly string[]): Selection {
  const suites: string[] = [];
  const skipped: Array<{ name: string; reason: string }> = [];
  const env: Record<string, string> = {};
  for (const spec of SUITES) {
    if (only && !only.includes(spec.name)) continue;
    if (!existsSync(join(root, "tests/runtimes/suites", `${spec.name}.ts`))) {
      skipped.push({ name: spec.name, reason: `tests/runtimes/suites/${spec.name}.ts is not written yet` });
      continue;
    }
    if (spec.adapter && !existsSync(join(root, spec.adapter))) {
      skipped.push({ name: spec.name, reason: `${spec.adapter} does not exist yet` });
      continue;
    }
    const missing = (spec.env ?? []).filter((name) => !environment[name]);
    if (missing.length) {
      skipped.push({ name: spec.name, reason: `${missing.join(", ")} not set (start it with ${spec.hint})` });
      continue;
    }
    for (const name of [...(spec.env ?? []), ...(spec.optionalEnv ?? [])]) {
      if (environment[name]) env[name] = environment[name]!;
    }
    suites.push(spec.name);
  }
  return { suites, skipped, env };
}

/** The runtimes the bundles target. */
export type Target = "workerd" | "edge-runtime";

/** Bundles the selected suites into one script for `target`. */
export async function bundleSuites(target: Target, suites: readonly string[]): Promise<string> {
  const imports = suites.map((name, index) =>
    `import suite${index} from ${JSON.stringify(join(root, "tests/runtimes/suites", `${name}.ts`))};`);
  const list = `[${suites.map((_, index) => `suite${index}`).join(", ")}]`;
  const entry = join(root, "tests/runtimes/worker-entry.ts");
  const contents = target === "workerd"
    ? `import { serveWorker } from ${JSON.stringify(entry)};\n${imports.join("\n")}\nexport default serveWorker(${list});\n`
    : `import { serveEdge } from ${JSON.stringify(entry)};\n${imports.join("\n")}\nserveEdge(${list});\n`;
  return bundleForTarget(target, contents, `${target}-entry.js`);
}

/**
 * Bundles an entry module's source (its imports resolved from the repository root) for
 * `target`, as wrangler does for workerd and Next.js for the edge runtime: an ES module for
 * workerd, a classic script for edge-runtime. Modules named in `external` stay imports.
 */
export async function bundleForTarget(target: Target, contents: string, sourcefile: string, external: readonly string[] = []): Promise<string> {
  const result = await build({
    stdin: { contents, resolveDir: root, sourcefile, loader: "js" },
    bundle: true,
    write: false,
    format: target === "workerd" ? "esm" : "iife",
    platform: "browser",
    // What wrangler and Next.js ask package exports for, respectively.
    conditions: target === "workerd" ? ["workerd", "worker", "browser"] : ["edge-light", "worker", "browser"],
    mainFields: ["browser", "module", "main"],
    external: [...external],
    target: "es2022",
    logLevel: "silent",
  });
  return result.outputFiles[0]!.text;
}

/** Sends one request into the isolate. */
export type Dispatch = (path: string, init?: RequestInit) => Promise<{ status: number; text(): Promise<string> }>;

function describeRemote(error: RemoteError, indent = ""): string {
  const head = `${indent}${error.name}${error.code ? ` [${error.code}]` : ""}: ${error.message}`;
  const stack = error.stack ? `\n${indent}  ${error.stack.split("\n").slice(1, 8).map((line) => line.trim()).join(`\n${indent}  `)}` : "";
  return head + stack + (error.cause ? `\n${indent}caused by ${describeRemote(error.cause, `${indent}  `)}` : "");
}

/**
 * Lists the isolate's cases and registers one node:test test per case, named
 * `<runtime> › <case>`. Suites skipped for lack of settings become skipped tests.
 */
export async function registerRemoteCases(
  test: typeof nodeTest,
  runtime: string,
  selection: Selection,
  dispatch: Dispatch,
  caseTimeoutMs = 900_000,
): Promise<void> {
  for (const { name, reason } of selection.skipped) {
    console.log(`SKIP ${runtime} ${name}: ${reason}`);
    test(`${runtime} › ${name} (skipped: ${reason})`, { skip: reason }, () => {});
  }
  let cases: CaseInfo[];
  try {
    const response = await dispatch("/cases");
    const text = await response.text();
    if (response.status !== 200) throw new Error(`GET /cases answered ${response.status}: ${text}`);
    cases = JSON.parse(text) as CaseInfo[];
  } catch (error) {
    test(`${runtime} › registering the cases`, () => {
      throw error;
    });
    return;
  }
  for (const info of cases) {
    const title = `${runtime} › ${info.name}`;
    if (info.skip) {
      test(title, { skip: info.skip }, () => {});
      continue;
    }
    test(title, { timeout: caseTimeoutMs }, async () => {
      const response = await dispatch(`/run?case=${encodeURIComponent(info.name)}`, { method: "POST" });
      const text = await response.text();
      if (response.status !== 200) throw new Error(`POST /run answered ${response.status}: ${text}`);
      const result = JSON.parse(text) as CaseResult;
      if (!result.ok) {
        const failure = new Error(`${info.name} failed inside ${runtime} after ${result.ms} ms:\n${describeRemote(result.error)}`);
        failure.stack = failure.message;
        throw failure;
      }
    });
  }
}

/** The adapters whose drivers need Node, Deno or Bun. */
export const NATIVE_ADAPTERS: readonly string[] = ["postgres", "mongodb", "cassandra", "mssql"];

/**
 * Bundles a script whose fetch handler imports `adapters/<name>/mod.ts` for `?adapter=name`
 * and answers with the error that import threw, as JSON, or `{ imported: true }`. Drivers and
 * Node built-ins stay external, as a Workers build with `nodejs_compat` leaves them.
 */
export async function bundleImportProbe(target: Target, adapters: readonly string[]): Promise<string> {
  const branches = adapters.map((name) =>
    `if (adapter === ${JSON.stringify(name)}) await import(${JSON.stringify(join(root, "adapters", name, "mod.ts"))});`);
  const handler = `async (request) => {
    const adapter = new URL(request.url).searchParams.get("adapter");
    try {
      ${branches.join("\n      ")}
      return Response.json({ imported: true });
    } catch (error) {
      return Response.json({ name: error?.name, code: error?.code, message: String(error?.message ?? error) });
    }
  }`;
  const contents = target === "workerd"
    ? `export default { fetch: ${handler} };`
    : `const handle = ${handler};\naddEventListener("fetch", (event) => event.respondWith(handle(event.request)));`;
  return bundleForTarget(target, contents, "probe.js", ["node:*", "postgres", "mongodb", "cassandra-driver", "mssql"]);
}

/**
 * The `quark` command line: inspect, export, import, copy and verify the state and event
 * streams of a Quark system, from a config module that exports its storages, event store,
 * codec options and definitions. Installed as the npm package's `quark` bin; on Deno, run
 * `deno run -A jsr:@quark/persistence/cli --help`.
 *
 * @module
 */
import process from "node:process";
import { parse } from "./args.ts";
import { openConfig } from "./config.ts";
import type { CliIo } from "./output.ts";
import { UsageError } from "./usage_error.ts";
import { InterruptedError } from "./work.ts";
import { ls } from "./commands/ls.ts";
import { get } from "./commands/get.ts";
import { health } from "./commands/health.ts";
import { events } from "./commands/events.ts";
import { exportCommand } from "./commands/export.ts";
import { importCommand } from "./commands/import.ts";
import { copy } from "./commands/copy.ts";
import { verify } from "./commands/verify.ts";

export type { QuarkConfig } from "./config.ts";
export type { CliIo } from "./output.ts";

const HELP = `usage: quark COMMAND [options]   (--config FILE, default quark.config.ts or .js)

  ls [ACTOR_TYPE] [--prefix P] [--storage NAME] [--limit N] [--json]
                          actor types with state counts and event streams by type, or one
                          type's states (alias: inspect)
  get ACTOR_TYPE ACTOR_ID STATE [--storage NAME] [--json]
                          one state, decoded, upcast and validated
  export [--out FILE] [--page-size N] [--dry-run]
                          states, events and snapshots as NDJSON; resumes from FILE.checkpoint
  import FILE [--keep-etags] [--dry-run]
                          restore an export; resumes from FILE.import-checkpoint
  copy --to CONFIG [--verify] [--page-size N] [--dry-run]
                          copy every state and stream to another config (alias: migrate)
  verify --to CONFIG      compare two configs key by key, event by event
  events tail [STREAM] [--limit N] [--follow] [--interval MS] [--json]
                          the last events of a stream; without STREAM, of the global
                          order, followed until Ctrl-C
  health [--json]         one round trip to each storage and the event store
`;

const OPTIONS = {
  json: { type: "boolean" },
  storage: { type: "string" },
  prefix: { type: "string" },
  limit: { type: "string" },
  out: { type: "string" },
  checkpoint: { type: "string" },
  "page-size": { type: "string" },
  "dry-run": { type: "boolean" },
  "keep-etags": { type: "boolean" },
  to: { type: "string" },
  verify: { type: "boolean" },
  follow: { type: "boolean" },
  interval: { type: "string" },
} as const;

const COMMANDS = new Set(["ls", "inspect", "get", "export", "import", "copy", "migrate", "verify", "events", "health"]);

async function run(argv: readonly string[], io: CliIo): Promise<number> {
  const { values, positionals } = parse(argv, OPTIONS);
  const [command, ...rest] = positionals;
  if (values.help || command === undefined || command === "help") {
    io.stdout.write(HELP);
    return command === undefined && !values.help ? 2 : 0;
  }
  if (!COMMANDS.has(command)) throw new UsageError(`unknown command ${JSON.stringify(command)}; see quark --help`);
  const config = await openConfig(values.config as string | undefined, io.cwd);
  try {
    switch (command) {
      case "ls":
      case "inspect":
        return await ls(config, rest, values, io);
      case "get":
        return await get(config, rest, values, io);
      case "export":
        return await exportCommand(config, values, io);
      case "import":
        return await importCommand(config, rest, values, io);
      case "copy":
      case "migrate":
        return await copy(config, values, io);
      case "verify": {
        if (values.to === undefined) throw new UsageError("usage: quark verify --to TARGET_CONFIG");
        const target = await openConfig(String(values.to), io.cwd);
        try {
          return await verify(config, target, await config.streams(), 500, io);
        } finally {
          await target.close();
        }
      }
      case "events":
        return await events(config, rest, values, io);
      default:
        return await health(config, values, io);
    }
  } finally {
    await config.close();
  }
}

/**
 * Runs the `quark` command line with the given arguments and returns its exit code: 0 on
 * success, 1 when a check failed or something went wrong, 2 for bad input, 130 when
 * interrupted. Errors are printed as one line on `io.stderr`; nothing is thrown.
 *
 * @param argv The arguments after the program name.
 * @param io Where output goes and what relative paths resolve against; defaults to the process's.
 * @returns The exit code.
 *
 * @example Printing the help
 * ```ts
 * import { runCli } from "@quark/persistence/cli";
 * let printed = "";
 * const code = await runCli(["--help"], { stdout: { write: (text: string) => (printed += text) }, stderr: { write: () => {} }, cwd: "." });
 * if (code !== 0 || !printed.includes("export [--out FILE]")) throw new Error("no help");
 * ```
 */
export async function runCli(argv: readonly string[], io: CliIo = { stdout: process.stdout, stderr: process.stderr, cwd: process.cwd() }): Promise<number> {
  try {
    return await run(argv, io);
  } catch (error) {
    if (error instanceof UsageError) {
      io.stderr.write(`quark: ${error.message}\n`);
      return 2;
    }
    if (error instanceof InterruptedError) {
      io.stderr.write(`\nquark: ${error.message}\n`);
      return 130;
    }
    const message = error instanceof Error ? `${error.name === "Error" ? "" : `${error.name}: `}${error.message}` : String(error);
    io.stderr.write(`quark: ${message.split("\n")[0]}\n`);
    return 1;
  }
}

/**
 * Runs the command line for this process: arguments from `process.argv`, Ctrl-C stops long
 * commands at their next safe point, and the exit code becomes the process's.
 *
 * @returns The exit code, also set as `process.exitCode`.
 *
 * @example The body of a `bin` script
 * ```ts ignore
 * import { main } from "@quark/persistence/cli";
 * await main();
 * ```
 */
export async function main(): Promise<number> {
  const interrupt = new AbortController();
  const onSignal = () => {
    // A second Ctrl-C quits at once; the checkpoint of the last page is already on disk.
    if (interrupt.signal.aborted) process.exit(130);
    interrupt.abort();
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  try {
    const code = await runCli(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, cwd: process.cwd(), signal: interrupt.signal });
    process.exitCode = code;
    return code;
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  }
}

// `deno run jsr:@quark/persistence/cli` runs this module directly.
if ((import.meta as { main?: boolean }).main) await main();

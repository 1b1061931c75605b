// Runs the `quark` CLI as a user would: a Node subprocess on the sources (through tsx), with
// stdout and stderr piped, against stores that the fixture config opens from the environment.
import { spawn, spawnSync, type ChildProcessByStdio } from "node:child_process";
import type { Readable } from "node:stream";
import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { openStores, streamNames } from "./fixture.config.ts";
import { seed } from "./seed.ts";

export const root = new URL("../..", import.meta.url).pathname;
const bin = join(root, "cli/bin.ts");
export const SOURCE_CONFIG = join(root, "tests/cli/fixture.config.ts");
export const TARGET_CONFIG = join(root, "tests/cli/target.config.ts");

export interface Run {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface Counts {
  readonly states: number;
  readonly events: number;
  readonly streams: number;
}

export function tempDir(): string {
  return mkdtempSync(join(tmpdir(), "quark-cli-"));
}

// Runs argv[1:] in a pseudo-terminal 100 columns wide and copies what it writes (stdout and
// stderr both, as a terminal merges them) to stdout; exits with the child's code. Python's pty
// module needs no native npm package, and python3 is on every machine the tests run on.
const IN_TERMINAL = `
import fcntl, os, struct, sys, termios
pid, fd = os.forkpty()
if pid == 0:
    os.execvp(sys.argv[1], sys.argv[1:])
fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 100, 0, 0))
while True:
    try:
        data = os.read(fd, 65536)
    except OSError:
        break
    if not data:
        break
    sys.stdout.buffer.write(data)
    sys.stdout.buffer.flush()
sys.exit(os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1]))
`;

/** Whether `python3` runs here, to put the CLI in a pseudo-terminal. */
export function canUseTerminal(): boolean {
  return spawnSync("python3", ["-c", "import pty"], { stdio: "ignore" }).status === 0;
}

/**
 * Starts `quark ARGS` with the source (and target) locations; `whenRunning` may signal it.
 * With `terminal`, the CLI runs in a pseudo-terminal and all its output arrives on `stdout`.
 */
export function quark(
  args: readonly string[],
  env: { source: string; target?: string; streams: number | "discover"; slowTargetWritesMs?: number; terminal?: boolean },
  whenRunning?: (child: ChildProcessByStdio<null, Readable, Readable>) => void,
): Promise<Run> {
  return new Promise((resolve, reject) => {
    // `node` from PATH: under Deno and Bun, process.execPath is not Node.
    const command = ["node", "--import", "tsx", bin, ...args];
    const [program, ...programArgs] = env.terminal ? ["python3", "-c", IN_TERMINAL, ...command] : command;
    const child = spawn(program!, programArgs, {
      cwd: root,
      env: {
        ...process.env,
        QUARK_CLI_SOURCE: env.source,
        QUARK_CLI_TARGET: env.target ?? "",
        QUARK_CLI_STREAMS: String(env.streams),
        QUARK_CLI_SLOW_TARGET_WRITES_MS: String(env.slowTargetWritesMs ?? 0),
      },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk) => (stdout += chunk));
    child.stderr.on("data", (chunk) => (stderr += chunk));
    child.on("error", reject);
    child.on("close", (code, signal) => resolve({ code, signal, stdout, stderr }));
    whenRunning?.(child);
  });
}

/**
 * Whether a run was stopped by Ctrl-C and said so. Node reports the exit code 130 the CLI sets;
 * Deno's child_process reports a child it signalled as `code: null, signal: "SIGINT"` even when
 * the child handled the signal and exited on its own, so the message is what tells them apart.
 */
export function stoppedByInterrupt(run: Run): boolean {
  const exited = run.code === 130 || (run.code === null && run.signal === "SIGINT");
  return exited && /interrupted; run the same command again to resume/.test(run.stderr);
}

/** Resolves once `path` exists, polling; the caller bounds the wait with the child's exit. */
export async function whenExists(path: string, stop: () => boolean): Promise<boolean> {
  while (!stop()) {
    if (existsSync(path)) return true;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return false;
}

/** Seeds the stores at `location` and closes them. */
export async function seedAt(location: string, counts: Counts): Promise<void> {
  const { storage, eventStore } = openStores(location);
  try {
    await seed(storage, eventStore, counts);
  } finally {
    await storage.close();
    await eventStore.close();
  }
}

export { streamNames };

// Starts a recipe as the server it is (its own process, on 127.0.0.1, on a free port), and
// stops it the way an operator would, with SIGTERM, reporting whether it then exited on its own.
import { spawn } from "node:child_process";
import process from "node:process";

export const root: string = new URL("../..", import.meta.url).pathname;

/** The runtime running this test file. */
export const runner: "deno" | "bun" | "node" = "Deno" in globalThis ? "deno" : "Bun" in globalThis ? "bun" : "node";

export interface Exit {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  /** Everything the server printed, for failure messages. */
  readonly output: string;
}

export interface RunningServer {
  readonly url: string;
  /** Sends SIGTERM and waits for the exit; a server still running after `graceMs` is killed. */
  stop(graceMs?: number): Promise<Exit & { readonly exitedOnItsOwn: boolean }>;
}

/**
 * Runs `command args…` from the repository root with PORT=0 (the server picks a free port)
 * and resolves once it prints `listening on <url>`. The time limits only catch hangs: they
 * are wide because `npm test` runs four runtimes at once on a small machine.
 */
export function startServer(command: string, args: readonly string[], env: Record<string, string> = {}, startMs = 60_000): Promise<RunningServer> {
  const child = spawn(command, args, { cwd: root, env: { ...process.env, ...env, PORT: "0" }, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  const exited = new Promise<Exit>((resolve) => child.on("close", (code, signal) => resolve({ code, signal, output })));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`${args.join(" ")} did not print "listening on" within ${startMs} ms:\n${output}`));
    }, startMs);
    let listening = false;
    child.stdout.on("data", (chunk: Buffer) => {
      output += chunk;
      const url = /listening on (http:\/\/\S+?)\/?$/m.exec(output)?.[1];
      if (listening || !url) return;
      listening = true;
      clearTimeout(timer);
      resolve({ url, stop: (graceMs = 30_000) => stop(graceMs) });
    });
    child.stderr.on("data", (chunk: Buffer) => (output += chunk));
    void exited.then((exit) => {
      clearTimeout(timer);
      reject(new Error(`${args.join(" ")} exited (${exit.code ?? exit.signal}) before listening:\n${exit.output}`));
    });
  });

  async function stop(graceMs: number): Promise<Exit & { readonly exitedOnItsOwn: boolean }> {
    child.kill("SIGTERM");
    let timer: ReturnType<typeof setTimeout> | undefined;
    const hung = new Promise<"hung">((resolve) => (timer = setTimeout(() => resolve("hung"), graceMs)));
    const first = await Promise.race([exited, hung]);
    clearTimeout(timer);
    if (first !== "hung") return { ...first, output, exitedOnItsOwn: true };
    child.kill("SIGKILL");
    return { ...(await exited), output, exitedOnItsOwn: false };
  }
}

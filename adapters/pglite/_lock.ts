/**
 * One process per PGlite data directory. PGlite runs PostgreSQL inside the process, with no
 * server to arbitrate, so two processes on one folder would each believe they own its files
 * and corrupt them. The first opener creates `quark.lock` in the folder with O_EXCL, writing
 * its pid; any other process is refused with a ConfigurationError until the owner closes or
 * dies. A lock whose pid is no longer running is stale and taken over.
 *
 * Only on runtimes with a file system (Node, Deno and Bun, through `node:fs`); elsewhere a
 * data directory is an IndexedDB or OPFS name and the browser arbitrates.
 *
 * @module
 */

import { ConfigurationError } from "../../src/errors.ts";

/** The lock file's name inside the data directory. */
export const LOCK_FILE = "quark.lock";

/** A held lock. */
export interface DataDirLock {
  /** The lock file's path. */
  readonly path: string;
  /** Removes the lock file, if it is still this process's. */
  release(): Promise<void>;
}

interface LockContent {
  readonly pid: number;
  readonly token: string;
  /** Absent when the host's name could not be read. */
  readonly hostname?: string | undefined;
  readonly since: string;
}

type Fs = typeof import("node:fs/promises");

interface ProcessLike {
  readonly pid: number;
  readonly versions?: { readonly node?: string };
  kill(pid: number, signal: number): boolean;
}

function nodeProcess(): ProcessLike | undefined {
  const candidate = (globalThis as { process?: ProcessLike }).process;
  return typeof candidate?.versions?.node === "string" && typeof candidate.pid === "number" ? candidate : undefined;
}

/** The folder a `dataDir` names on the file system, or `undefined` for `idb://` and the like. */
export function fileSystemPath(dataDir: string): string | undefined {
  if (dataDir.startsWith("file://")) return dataDir.slice("file://".length);
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(dataDir)) return undefined;
  return dataDir;
}

/** Whether a pid names a running process: signal 0 tests without sending. */
function isRunning(process: ProcessLike, pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it runs, as another user. Anything but "no such process" counts as running.
    return (error as { code?: unknown }).code !== "ESRCH";
  }
}

async function readLock(fs: Fs, path: string): Promise<LockContent | undefined> {
  try {
    const parsed = JSON.parse(await fs.readFile(path, "utf8")) as Partial<LockContent>;
    return typeof parsed.pid === "number" && typeof parsed.token === "string" ? (parsed as LockContent) : undefined;
  } catch {
    return undefined;
  }
}

async function tryCreate(fs: Fs, path: string, content: LockContent): Promise<boolean> {
  let handle;
  try {
    handle = await fs.open(path, "wx");
  } catch (error) {
    if ((error as { code?: unknown }).code === "EEXIST") return false;
    throw error;
  }
  try {
    await handle.writeFile(JSON.stringify(content));
  } finally {
    await handle.close();
  }
  return true;
}

function inUse(dataDir: string, path: string, owner: LockContent | undefined): ConfigurationError {
  const who = owner === undefined ? "another process" : `process ${owner.pid}${owner.hostname ? ` on ${owner.hostname}` : ""} since ${owner.since}`;
  return new ConfigurationError(
    `PGlite data directory ${JSON.stringify(dataDir)} is in use by ${who}: PGlite serves one process per data directory. ` +
      `Use the postgres adapter to share a database between processes, or, if that process is gone, delete ${path}`,
  );
}

/**
 * Takes the data directory's lock, or refuses.
 *
 * @param dataDir The `dataDir` option as given.
 * @returns The held lock, or `undefined` where there is no file system to lock.
 * @throws {ConfigurationError} When another running process holds the lock.
 */
export async function lockDataDir(dataDir: string): Promise<DataDirLock | undefined> {
  const folder = fileSystemPath(dataDir);
  const process = nodeProcess();
  if (folder === undefined || process === undefined) return undefined;
  // Literal specifiers, so `deno publish` can analyze them; they load only where a file
  // system path and a process exist (Node, Deno and Bun all serve `node:` built-ins).
  const fs = (await import("node:fs/promises")) as Fs;
  const hostname = await import("node:os").then((os: { hostname(): string }) => os.hostname(), () => undefined);
  await fs.mkdir(folder, { recursive: true });
  const path = `${folder.replace(/\/+$/, "")}/${LOCK_FILE}`;
  const mine: LockContent = { pid: process.pid, token: crypto.randomUUID(), hostname, since: new Date().toISOString() };
  const held: DataDirLock = {
    path,
    async release() {
      if ((await readLock(fs, path))?.token === mine.token) await fs.rm(path, { force: true });
    },
  };
  if (await tryCreate(fs, path, mine)) return held;
  const owner = await readLock(fs, path);
  // Another host's pid means nothing here, and a lock still being written has no pid yet.
  const stale = owner !== undefined && owner.pid !== process.pid && (owner.hostname === undefined || owner.hostname === hostname) &&
    !isRunning(process, owner.pid);
  if (!stale) throw inUse(dataDir, path, owner);
  // Two processes may find the same stale lock: the takeover file lets one of them replace it.
  const takeover = `${path}.takeover`;
  if (!(await tryCreate(fs, takeover, mine))) throw inUse(dataDir, path, owner);
  try {
    const again = await readLock(fs, path);
    if (again !== undefined && again.token !== owner.token) throw inUse(dataDir, path, again);
    await fs.rm(path, { force: true });
    if (!(await tryCreate(fs, path, mine))) throw inUse(dataDir, path, await readLock(fs, path));
    return held;
  } finally {
    await fs.rm(takeover, { force: true });
  }
}

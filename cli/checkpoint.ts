// A checkpoint file records how far a long command got, written after each page has landed:
// the new content goes to a temporary file that is renamed over the old one, so a crash
// leaves either the old checkpoint or the new one, never half of one.
import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { UsageError } from "./usage_error.ts";

export interface Checkpoint<T> {
  load(): T | undefined;
  save(state: T): void;
  clear(): void;
}

export function checkpointFile<T>(path: string, dryRun: boolean): Checkpoint<T> {
  return {
    load() {
      if (!existsSync(path)) return undefined;
      try {
        return JSON.parse(readFileSync(path, "utf8")) as T;
      } catch {
        throw new UsageError(`checkpoint ${path} is unreadable; delete it to start over`);
      }
    },
    save(state) {
      if (dryRun) return;
      writeFileSync(`${path}.tmp`, JSON.stringify(state));
      renameSync(`${path}.tmp`, path);
    },
    clear() {
      if (!dryRun) rmSync(path, { force: true });
    },
  };
}

import { createReadStream, existsSync } from "node:fs";
import { resolve } from "node:path";
import { createInterface } from "node:readline";
import { isQuarkError, type NewEvent, type StateStorage } from "../../mod.ts";
import type { OpenConfig } from "../config.ts";
import type { parse } from "../args.ts";
import { checkpointFile } from "../checkpoint.ts";
import { fromBase64, parseLine, type ExportLine } from "../ndjson.ts";
import { startProgress } from "../progress.ts";
import type { CliIo } from "../output.ts";
import { interrupted } from "../work.ts";
import { UsageError } from "../usage_error.ts";

type Values = ReturnType<typeof parse>["values"];
type StateLine = Extract<ExportLine, { kind: "state" }>;
type EventLine = Extract<ExportLine, { kind: "event" }>;

const EVENT_BATCH = 500;
const CHECKPOINT_EVERY = 500;

interface ImportCounts {
  states: number;
  alreadyThere: number;
  keptNewer: number;
  expired: number;
  events: number;
  snapshots: number;
}

/**
 * Writes one state create-only. With `keepEtags` it carries the exported etag, so a state
 * already imported is recognised by its etag; without, it gets a fresh one.
 */
async function importState(storage: StateStorage, line: StateLine, keepEtags: boolean, counts: ImportCounts): Promise<void> {
  const ttlMs = line.expiresAt === undefined ? undefined : line.expiresAt - Date.now();
  if (ttlMs !== undefined && ttlMs <= 0) {
    counts.expired++;
    return;
  }
  const etag = keepEtags ? line.etag : crypto.randomUUID();
  try {
    await storage.write({ key: line.key, value: fromBase64(line.value), etag, expectedEtag: null, ttlMs });
    counts.states++;
  } catch (error) {
    if (!isQuarkError(error, "STATE_CONFLICT")) throw error;
    const stored = await storage.read(line.key);
    if (keepEtags && stored?.etag === line.etag) counts.alreadyThere++;
    else counts.keptNewer++;
  }
}

/**
 * `import FILE`: restores an export. States are create-only writes, so nothing newer in the
 * target is overwritten; events append after the stream's current version, skipping those it
 * already holds; snapshots never replace a newer one. A checkpoint records the last line whose
 * effect has landed, so a rerun after an interruption starts there.
 */
export async function importCommand(config: OpenConfig, positionals: string[], values: Values, io: CliIo): Promise<number> {
  const [file] = positionals;
  if (file === undefined || positionals.length > 1) throw new UsageError("usage: quark import FILE [--keep-etags] [--dry-run]");
  const path = resolve(io.cwd, file);
  if (!existsSync(path)) throw new UsageError(`no such file: ${file}`);
  const dryRun = values["dry-run"] === true;
  const keepEtags = values["keep-etags"] === true;
  const checkpoint = checkpointFile<{ line: number }>(String(values.checkpoint ?? `${path}.import-checkpoint`), dryRun);
  const resumeAfter = checkpoint.load()?.line ?? 0;
  if (resumeAfter > 0) io.stderr.write(`resuming ${file} after line ${resumeAfter}\n`);
  const counts: ImportCounts = { states: 0, alreadyThere: 0, keptNewer: 0, expired: 0, events: 0, snapshots: 0 };
  const progress = startProgress(io.stderr, dryRun ? "import (dry run)" : "import", undefined);

  let savedLine = resumeAfter;
  // Every line up to `line` has taken effect: checkpoint now and then, and on interruption.
  async function landed(line: number, count: number): Promise<void> {
    progress.tick(count);
    if (line - savedLine >= CHECKPOINT_EVERY || io.signal?.aborted) {
      checkpoint.save({ line });
      savedLine = line;
    }
    await interrupted(io);
  }
  let pending: { stream: string; events: EventLine[]; lastLine: number } | undefined;
  let sawHeader = resumeAfter > 0;

  async function flushEvents(): Promise<void> {
    if (!pending) return;
    const { stream, events, lastLine } = pending;
    pending = undefined;
    if (!dryRun) {
      const store = config.eventStore!;
      const current = await store.version(stream);
      const missing = events.filter((event) => event.version > current);
      if (missing.length > 0) {
        if (missing[0]!.version !== current + 1) throw new UsageError(`stream ${stream} is at version ${current} but the file continues at ${missing[0]!.version}`);
        const batch: NewEvent[] = missing.map((event) => ({ type: event.type, data: fromBase64(event.data), metadata: event.metadata === undefined ? undefined : fromBase64(event.metadata) }));
        await store.append(stream, batch, current === 0 ? "no_stream" : current);
      }
    }
    counts.events += events.length;
    await landed(lastLine, events.length);
  }

  const lines = createInterface({ input: createReadStream(path), crlfDelay: Infinity });
  let lineNumber = 0;
  for await (const text of lines) {
    lineNumber++;
    if (lineNumber <= resumeAfter || text.trim() === "") continue;
    const line = parseLine(text, lineNumber);
    if (!sawHeader && line.kind !== "header") throw new UsageError(`line ${lineNumber}: expected the quark-export header first`);
    if (line.kind === "header") {
      sawHeader = true;
      continue;
    }
    if (line.kind === "event") {
      if (!config.eventStore) throw new UsageError(`line ${lineNumber}: the file holds events but config ${config.path} has no eventStore`);
      if (pending && (pending.stream !== line.stream || pending.events.length >= EVENT_BATCH)) await flushEvents();
      pending ??= { stream: line.stream, events: [], lastLine: lineNumber };
      pending.events.push(line);
      pending.lastLine = lineNumber;
      continue;
    }
    await flushEvents();
    if (line.kind === "state") {
      const storage = config.storages[line.storage];
      if (!storage) throw new UsageError(`line ${lineNumber}: no storage named ${JSON.stringify(line.storage)} in config ${config.path}`);
      if (dryRun) counts.states++;
      else await importState(storage, line, keepEtags, counts);
    } else {
      if (!config.eventStore) throw new UsageError(`line ${lineNumber}: the file holds snapshots but config ${config.path} has no eventStore`);
      if (!dryRun) await config.eventStore.saveSnapshot(line.stream, { version: line.version, data: fromBase64(line.data) });
      counts.snapshots++;
    }
    await landed(lineNumber, 1);
  }
  await flushEvents();
  if (!sawHeader) throw new UsageError(`${file} is empty: no quark-export header`);
  checkpoint.clear();
  const skipped = [
    counts.alreadyThere ? `${counts.alreadyThere} already there` : "",
    counts.keptNewer ? `${counts.keptNewer} kept (target holds another version)` : "",
    counts.expired ? `${counts.expired} expired` : "",
  ].filter(Boolean);
  progress.done(`${dryRun ? "would import" : "imported"} ${counts.states} states, ${counts.events} events, ${counts.snapshots} snapshots${skipped.length ? `; ${skipped.join(", ")}` : ""}`);
  return 0;
}

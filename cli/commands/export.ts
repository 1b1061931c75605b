import { closeSync, existsSync, ftruncateSync, openSync, writeSync } from "node:fs";
import { resolve } from "node:path";
import type { OpenConfig } from "../config.ts";
import { positiveInteger, type parse } from "../args.ts";
import { checkpointFile } from "../checkpoint.ts";
import { FORMAT, FORMAT_VERSION, formatLine, toBase64, type ExportLine } from "../ndjson.ts";
import { startProgress } from "../progress.ts";
import type { CliIo } from "../output.ts";
import { countWork, interrupted } from "../work.ts";
import { UsageError } from "../usage_error.ts";

type Values = ReturnType<typeof parse>["values"];

/** Where an export got to: the file's length and the next page to read. */
interface ExportCheckpoint {
  bytes: number;
  done: number;
  storageIndex: number;
  actorTypeIndex: number;
  cursor?: string | undefined;
  streamIndex: number;
  nextVersion: number;
}

/**
 * `export --out FILE`: every state of every configured storage and actor type, then every
 * configured stream's events and latest snapshot, as NDJSON. After each page the file's
 * length and the position are checkpointed; a run that finds the checkpoint truncates the
 * file to that length and goes on from there, so an interrupted export loses nothing.
 */
export async function exportCommand(config: OpenConfig, values: Values, io: CliIo): Promise<number> {
  const pageSize = positiveInteger(values["page-size"], "page-size", 500);
  const dryRun = values["dry-run"] === true;
  const out = values.out === undefined ? undefined : resolve(io.cwd, String(values.out));
  const checkpoint = checkpointFile<ExportCheckpoint>(String(values.checkpoint ?? `${out}.checkpoint`), dryRun || out === undefined);
  const storageNames = Object.keys(config.storages);
  const streams = await config.streams();
  const total = await countWork(config, streams);

  const resumed = out === undefined ? undefined : checkpoint.load();
  if (resumed && out !== undefined && !existsSync(out)) throw new UsageError(`checkpoint found but ${out} is missing; delete the checkpoint to start over`);
  if (!resumed && out !== undefined && existsSync(out) && !dryRun) throw new UsageError(`${out} exists; remove it or pick another --out`);
  const position: ExportCheckpoint = resumed ?? { bytes: 0, done: 0, storageIndex: 0, actorTypeIndex: 0, streamIndex: 0, nextVersion: 1 };
  if (resumed) io.stderr.write(`resuming ${out} at ${resumed.done} of ${total} records\n`);

  let fd: number | undefined;
  if (!dryRun) {
    fd = out === undefined ? 1 : openSync(out, resumed ? "r+" : "w");
    if (out !== undefined) ftruncateSync(fd, position.bytes);
  }
  const write = (lines: ExportLine[]) => {
    const text = lines.map(formatLine).join("");
    if (fd !== undefined) writeSync(fd, text, out === undefined ? null : position.bytes);
    position.bytes += Buffer.byteLength(text);
  };
  const progress = startProgress(io.stderr, dryRun ? "export (dry run)" : "export", total.states + total.events + total.snapshots, position.done);
  // Called once a page is written: `next` is where a resumed run starts, if not `position`.
  const landed = (count: number, next: Partial<ExportCheckpoint> = {}) => {
    position.done += count;
    checkpoint.save({ ...position, ...next });
    progress.tick(count);
  };
  try {
    if (position.bytes === 0) write([{ kind: "header", format: FORMAT, version: FORMAT_VERSION }]);
    for (; position.storageIndex < storageNames.length; position.storageIndex++, position.actorTypeIndex = 0) {
      const storageName = storageNames[position.storageIndex]!;
      const storage = config.storages[storageName]!;
      for (; position.actorTypeIndex < config.actorTypes.length; position.actorTypeIndex++, position.cursor = undefined) {
        const actorType = config.actorTypes[position.actorTypeIndex]!;
        do {
          await interrupted(io);
          const page = await storage.list({ actorType, cursor: position.cursor, limit: pageSize });
          const lines: ExportLine[] = [];
          for (const key of page.keys) {
            const record = await storage.read(key);
            if (!record) continue;
            lines.push({ kind: "state", storage: storageName, key, etag: record.etag, revision: record.revision, expiresAt: record.expiresAt, value: toBase64(record.value) });
          }
          write(lines);
          position.cursor = page.cursor;
          landed(lines.length);
        } while (position.cursor !== undefined);
      }
    }
    const eventStore = config.eventStore;
    if (eventStore) {
      for (; position.streamIndex < streams.length; position.streamIndex++, position.nextVersion = 1) {
        const stream = streams[position.streamIndex]!;
        let lines: ExportLine[] = [];
        for await (const event of eventStore.read(stream, { fromVersion: position.nextVersion, pageSize })) {
          lines.push({ kind: "event", stream, version: event.version, type: event.type, data: toBase64(event.data), metadata: event.metadata && toBase64(event.metadata) });
          if (lines.length === pageSize) {
            write(lines);
            position.nextVersion = event.version + 1;
            landed(lines.length);
            lines = [];
            await interrupted(io);
          }
        }
        const snapshot = await eventStore.loadSnapshot(stream);
        if (snapshot) lines.push({ kind: "snapshot", stream, version: snapshot.version, data: toBase64(snapshot.data) });
        write(lines);
        landed(lines.length, { streamIndex: position.streamIndex + 1, nextVersion: 1 });
        await interrupted(io);
      }
    }
  } finally {
    if (fd !== undefined && out !== undefined) closeSync(fd);
  }
  checkpoint.clear();
  progress.done(`${dryRun ? "would export" : "exported"} ${total.states} states, ${total.events} events, ${total.snapshots} snapshots${out && !dryRun ? ` to ${out}` : ""}`);
  return 0;
}

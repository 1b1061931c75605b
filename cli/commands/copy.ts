import { copyStates, type EventStore, type NewEvent, type StateStorage } from "../../mod.ts";
import { openConfig, type OpenConfig } from "../config.ts";
import { positiveInteger, type parse } from "../args.ts";
import { startProgress, type Progress } from "../progress.ts";
import type { CliIo } from "../output.ts";
import { countWork, interrupted } from "../work.ts";
import { verify } from "./verify.ts";
import { UsageError } from "../usage_error.ts";

type Values = ReturnType<typeof parse>["values"];

/** The target storage for each source storage, by the same provider name. */
function pairStorages(from: OpenConfig, to: OpenConfig): Array<[string, StateStorage, StateStorage]> {
  return Object.entries(from.storages).map(([name, storage]) => {
    const target = to.storages[name];
    if (!target) throw new UsageError(`target config ${to.path} has no storage named ${JSON.stringify(name)}`);
    return [name, storage, target];
  });
}

// copyStates reads each source state once: counting reads gives progress, and checking the
// interrupt there stops it at a safe point (every write it made is a complete create-only copy).
function observedSource(storage: StateStorage, progress: Progress, io: CliIo): StateStorage {
  return {
    ...storage,
    async read(key) {
      await interrupted(io);
      const record = await storage.read(key);
      progress.tick();
      return record;
    },
  };
}

/**
 * Appends what the target lacks of one stream, page by page, then its snapshot. Type, data and
 * metadata are copied; `createdAt` and the global `position` are the target's own.
 */
async function copyStream(from: EventStore, to: EventStore, stream: string, pageSize: number, progress: Progress, io: CliIo): Promise<number> {
  let version = await to.version(stream);
  let batch: NewEvent[] = [];
  let copied = 0;
  const flush = async () => {
    if (batch.length === 0) return;
    const result = await to.append(stream, batch, version === 0 ? "no_stream" : version);
    version = result.nextVersion;
    copied += batch.length;
    progress.tick(batch.length);
    batch = [];
    await interrupted(io);
  };
  for await (const event of from.read(stream, { fromVersion: version + 1, pageSize })) {
    batch.push({ type: event.type, data: event.data, metadata: event.metadata });
    if (batch.length === pageSize) await flush();
  }
  await flush();
  const snapshot = await from.loadSnapshot(stream);
  if (snapshot) await to.saveSnapshot(stream, snapshot);
  return copied;
}

/**
 * `copy --to TARGET_CONFIG` (alias `migrate`): every state over `copyStates` (create-only with
 * the source etag, so a rerun copies only what is missing and never overwrites newer data),
 * then each stream's missing events appended at the target's version, and its snapshot.
 * `--verify` then compares both sides key by key; `--dry-run` only counts.
 */
export async function copy(config: OpenConfig, values: Values, io: CliIo): Promise<number> {
  if (values.to === undefined) throw new UsageError("usage: quark copy --to TARGET_CONFIG [--verify] [--dry-run]");
  const target = await openConfig(String(values.to), io.cwd);
  try {
    const pairs = pairStorages(config, target);
    const streams = await config.streams();
    if (streams.length > 0 && (!config.eventStore || !target.eventStore)) throw new UsageError("streams are configured but the source or the target has no eventStore");
    const pageSize = positiveInteger(values["page-size"], "page-size", 500);
    const total = await countWork(config, streams);
    if (values["dry-run"]) {
      const before = await countWork({ ...target, actorTypes: config.actorTypes }, streams);
      io.stdout.write(`dry run: source holds ${total.states} states and ${total.events} events, target ${before.states} states and ${before.events} events; nothing written\n`);
      return 0;
    }
    const progress = startProgress(io.stderr, "copy", total.states + total.events);
    let copied = 0;
    let alreadyCopied = 0;
    const keptNewer: string[] = [];
    for (const [name, from, to] of pairs) {
      const report = await copyStates({ from: observedSource(from, progress, io), to, actorTypes: config.actorTypes, pageSize });
      copied += report.copied;
      alreadyCopied += report.alreadyCopied;
      keptNewer.push(...report.keptNewer.map((key) => `${name}:${key.actorType}/${key.actorId}/${key.stateName}`));
    }
    let events = 0;
    for (const stream of streams) events += await copyStream(config.eventStore!, target.eventStore!, stream, pageSize, progress, io);
    progress.done(`copied ${copied} states (${alreadyCopied} already there) and ${events} events of ${streams.length} streams`);
    if (keptNewer.length > 0) io.stderr.write(`kept ${keptNewer.length} states the target changed since: ${keptNewer.slice(0, 5).join(", ")}${keptNewer.length > 5 ? ", …" : ""}\n`);
    return values.verify ? await verify(config, target, streams, pageSize, io) : 0;
  } finally {
    await target.close();
  }
}

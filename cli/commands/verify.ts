import type { EventStore, StateKey, StateStorage, StoredRecord } from "../../mod.ts";
import type { OpenConfig } from "../config.ts";
import { startProgress, type Progress } from "../progress.ts";
import type { CliIo } from "../output.ts";
import { countWork, interrupted } from "../work.ts";

const SHOWN_DIFFERENCES = 10;

function sameBytes(left: Uint8Array, right: Uint8Array): boolean {
  return left.byteLength === right.byteLength && left.every((byte, index) => byte === right[index]);
}

function describeDifference(source: StoredRecord | null, target: StoredRecord | null): string | undefined {
  if (!source && !target) return undefined;
  if (!target) return "missing in target";
  if (!source) return "only in target";
  if (source.etag !== target.etag) return `etag ${source.etag} != ${target.etag}`;
  if (!sameBytes(source.value, target.value)) return "value bytes differ";
  if ((source.expiresAt === undefined) !== (target.expiresAt === undefined)) return "TTL differs";
  return undefined;
}

/** Calls `visit` with every key of `storage` of the given actor types, page by page. */
async function forEachKey(storage: StateStorage, actorTypes: readonly string[], io: CliIo, visit: (key: StateKey) => Promise<void>): Promise<void> {
  for (const actorType of actorTypes) {
    let cursor: string | undefined;
    do {
      await interrupted(io);
      const page = await storage.list({ actorType, cursor, limit: 500 });
      for (const key of page.keys) await visit(key);
      cursor = page.cursor;
    } while (cursor !== undefined);
  }
}

// An empty metadata array and none at all are the same: some stores keep no empty blob.
function sameOptionalBytes(left: Uint8Array | undefined, right: Uint8Array | undefined): boolean {
  return sameBytes(left ?? new Uint8Array(), right ?? new Uint8Array());
}

const named = (name: string, key: StateKey) => `${name}:${key.actorType}/${key.actorId}/${key.stateName}`;

async function compareStream(from: EventStore, to: EventStore, stream: string, pageSize: number, progress: Progress, differences: string[]): Promise<void> {
  const [sourceVersion, targetVersion] = await Promise.all([from.version(stream), to.version(stream)]);
  if (sourceVersion !== targetVersion) differences.push(`stream ${stream}: version ${sourceVersion} != ${targetVersion}`);
  const targetEvents = to.read(stream, { pageSize })[Symbol.asyncIterator]();
  for await (const event of from.read(stream, { pageSize })) {
    const other = await targetEvents.next();
    progress.tick();
    if (other.done) break;
    if (other.value.version !== event.version || other.value.type !== event.type || !sameBytes(other.value.data, event.data) || !sameOptionalBytes(other.value.metadata, event.metadata)) {
      differences.push(`stream ${stream}: event ${event.version} differs`);
      break;
    }
  }
  await targetEvents.return?.();
  const [sourceSnapshot, targetSnapshot] = await Promise.all([from.loadSnapshot(stream), to.loadSnapshot(stream)]);
  if (sourceSnapshot?.version !== targetSnapshot?.version || (sourceSnapshot && targetSnapshot && !sameBytes(sourceSnapshot.data, targetSnapshot.data))) {
    differences.push(`stream ${stream}: snapshot ${sourceSnapshot?.version ?? "none"} != ${targetSnapshot?.version ?? "none"}`);
  }
}

/**
 * Compares two configs' stores key by key: every source state must be in the target with the
 * same etag, bytes and TTL presence, the target must hold no state the source lacks, and each
 * stream must match event by event, snapshot included. Exit 1 on any difference.
 */
export async function verify(from: OpenConfig, to: OpenConfig, streams: readonly string[], pageSize: number, io: CliIo): Promise<number> {
  const total = await countWork(from, streams);
  const progress = startProgress(io.stderr, "verify", total.states + total.events);
  const differences: string[] = [];
  for (const [name, source] of Object.entries(from.storages)) {
    const target = to.storages[name];
    if (!target) {
      differences.push(`${name}: no such storage in the target`);
      continue;
    }
    await forEachKey(source, from.actorTypes, io, async (key) => {
      const difference = describeDifference(await source.read(key), await target.read(key));
      if (difference) differences.push(`${named(name, key)}: ${difference}`);
      progress.tick();
    });
    // Then the other way round, for states only the target holds.
    await forEachKey(target, from.actorTypes, io, async (key) => {
      if (!(await source.read(key))) differences.push(`${named(name, key)}: only in target`);
    });
  }
  if (from.eventStore && to.eventStore) {
    for (const stream of streams) await compareStream(from.eventStore, to.eventStore, stream, pageSize, progress, differences);
  }
  if (differences.length === 0) {
    progress.done(`verified ${total.states} states and ${total.events} events: source and target match`);
    return 0;
  }
  progress.done(`verify found ${differences.length} differences`);
  for (const line of differences.slice(0, SHOWN_DIFFERENCES)) io.stdout.write(`${line}\n`);
  if (differences.length > SHOWN_DIFFERENCES) io.stdout.write(`… and ${differences.length - SHOWN_DIFFERENCES} more\n`);
  return 1;
}

import { createInspector } from "../../mod.ts";
import type { OpenConfig } from "../config.ts";
import { positiveInteger, type parse } from "../args.ts";
import { isoOrDash, table, toJson, type CliIo } from "../output.ts";
import { UsageError } from "../usage_error.ts";

type Values = ReturnType<typeof parse>["values"];

/**
 * The event streams by type (the part of the name before the first `/`), with their event
 * counts: from the config's list, else found through readAll. A store that can do neither is
 * left out of the overview rather than failing it.
 */
async function streamRows(config: OpenConfig): Promise<Array<{ eventStore: string; streamType: string; streams: number; events: number }>> {
  const store = config.eventStore;
  if (!store) return [];
  let streams: string[];
  try {
    streams = await config.streams();
  } catch (error) {
    if (error instanceof UsageError) return [];
    throw error;
  }
  const byType = new Map<string, { eventStore: string; streamType: string; streams: number; events: number }>();
  for (const stream of streams) {
    // A configured name may not exist yet: only streams holding events count.
    const events = await store.version(stream);
    if (events === 0) continue;
    const streamType = stream.includes("/") ? stream.slice(0, stream.indexOf("/")) : stream;
    const row = byType.get(streamType) ?? { eventStore: store.name, streamType, streams: 0, events: 0 };
    row.streams++;
    row.events += events;
    byType.set(streamType, row);
  }
  return [...byType.values()];
}

/** `ls`: actor types with their state counts and event streams by type, or one actor type's states with their metadata. */
export async function ls(config: OpenConfig, positionals: string[], values: Values, io: CliIo): Promise<number> {
  const inspector = createInspector({ storage: config.storages, codec: config.codec, definitions: config.definitions });
  const storageNames = values.storage === undefined ? Object.keys(config.storages) : [String(values.storage)];
  for (const name of storageNames) if (!Object.hasOwn(config.storages, name)) throw new UsageError(`no storage named ${JSON.stringify(name)} in the config`);
  const [actorType] = positionals;
  if (actorType === undefined) {
    const rows: { storage: string; actorType: string; states: number }[] = [];
    for (const storage of storageNames) {
      for (const type of config.actorTypes) rows.push({ storage, actorType: type, states: await inspector.count({ actorType: type, storage }) });
    }
    const streams = await streamRows(config);
    if (values.json) {
      io.stdout.write(`${toJson([...rows, ...streams])}\n`);
      return 0;
    }
    io.stdout.write(table([["STORAGE", "ACTOR TYPE", "STATES"], ...rows.map((row) => [row.storage, row.actorType, String(row.states)])]));
    if (streams.length > 0) {
      io.stdout.write(`\n${table([["EVENT STORE", "STREAM TYPE", "STREAMS", "EVENTS"], ...streams.map((row) => [row.eventStore, row.streamType, String(row.streams), String(row.events)])])}`);
    }
    return 0;
  }
  const limit = positiveInteger(values.limit, "limit", 50);
  const rows: Record<string, unknown>[] = [];
  let more = false;
  for (const storageName of storageNames) {
    const storage = config.storages[storageName]!;
    const page = await inspector.list({ actorType, actorIdPrefix: values.prefix as string | undefined, storage: storageName, limit: limit - rows.length });
    for (const key of page.keys) {
      const record = await storage.read(key);
      if (!record) continue;
      rows.push({ storage: storageName, actorId: key.actorId, stateName: key.stateName, revision: record.revision, sizeBytes: record.value.byteLength, expiresAt: record.expiresAt, etag: record.etag });
    }
    more ||= page.cursor !== undefined;
    if (rows.length >= limit) break;
  }
  if (values.json) {
    io.stdout.write(`${toJson(rows)}\n`);
    return 0;
  }
  io.stdout.write(table([
    ["STORAGE", "ACTOR ID", "STATE", "REV", "BYTES", "EXPIRES", "ETAG"],
    ...rows.map((row) => [String(row.storage), String(row.actorId), String(row.stateName), String(row.revision), String(row.sizeBytes), isoOrDash(row.expiresAt as number | undefined), String(row.etag)]),
  ]));
  if (more) io.stdout.write(`(first ${limit}; raise --limit to see more)\n`);
  return 0;
}

import { createInspector } from "../../mod.ts";
import type { OpenConfig } from "../config.ts";
import { positiveInteger, type parse } from "../args.ts";
import { isoOrDash, table, toJson, type CliIo } from "../output.ts";
import { UsageError } from "../usage_error.ts";

type Values = ReturnType<typeof parse>["values"];

/** `ls`: actor types with their counts, or one actor type's states with their metadata. */
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
    if (values.json) io.stdout.write(`${toJson(rows)}\n`);
    else io.stdout.write(table([["STORAGE", "ACTOR TYPE", "STATES"], ...rows.map((row) => [row.storage, row.actorType, String(row.states)])]));
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

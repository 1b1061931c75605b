import { setTimeout as sleep } from "node:timers/promises";
import { createInspector } from "../../mod.ts";
import type { OpenConfig } from "../config.ts";
import { positiveInteger, type parse } from "../args.ts";
import { toJson, type CliIo } from "../output.ts";
import { UsageError } from "../usage_error.ts";

type Values = ReturnType<typeof parse>["values"];

/** `events tail STREAM`: the last events of a stream, decoded where defined; `--follow` polls. */
export async function events(config: OpenConfig, positionals: string[], values: Values, io: CliIo): Promise<number> {
  const [sub, stream] = positionals;
  if (sub !== "tail" || stream === undefined || positionals.length > 2) throw new UsageError("usage: quark events tail STREAM [--limit N] [--follow]");
  if (!config.eventStore) throw new UsageError(`config ${config.path} has no eventStore`);
  const inspector = createInspector({ storage: config.storages, eventStore: config.eventStore, codec: config.codec, definitions: config.definitions });
  const limit = positiveInteger(values.limit, "limit", 10);
  const intervalMs = positiveInteger(values.interval, "interval", 1000);
  let next = Math.max(1, (await config.eventStore.version(stream)) - limit + 1);
  do {
    let page;
    do {
      page = await inspector.readEvents(stream, { fromVersion: next, limit: 100 });
      for (const event of page.events) {
        io.stdout.write(values.json ? `${toJson(event)}\n` : `${event.version}\t${event.type}\t${event.decoded ? toJson(event.data) : `(${event.sizeBytes} bytes)`}\n`);
        next = event.version + 1;
      }
    } while (page.nextVersion !== undefined);
    if (!values.follow) break;
    await sleep(intervalMs, undefined, { signal: io.signal }).catch(() => {});
  } while (!io.signal?.aborted);
  return 0;
}

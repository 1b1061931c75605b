import { setTimeout as sleep } from "node:timers/promises";
import { createInspector, type EventStore, type GlobalEvent, type Inspector, type InspectedEvent } from "../../mod.ts";
import { follow } from "../../src/events/subscription.ts";
import type { OpenConfig } from "../config.ts";
import { positiveInteger, type parse } from "../args.ts";
import { toJson, type CliIo } from "../output.ts";
import { UsageError } from "../usage_error.ts";

type Values = ReturnType<typeof parse>["values"];

function describe(event: InspectedEvent): string {
  return `${event.version}\t${event.type}\t${event.decoded ? toJson(event.data) : `(${event.sizeBytes} bytes)`}`;
}

/**
 * `events tail STREAM`: the last events of a stream, decoded where defined; `--follow` polls
 * until Ctrl-C.
 */
async function tailStream(store: EventStore, inspector: Inspector, stream: string, limit: number, intervalMs: number, values: Values, io: CliIo): Promise<number> {
  let next = Math.max(1, (await store.version(stream)) - limit + 1);
  do {
    let page;
    do {
      page = await inspector.readEvents(stream, { fromVersion: next, limit: 100 });
      for (const event of page.events) {
        io.stdout.write(values.json ? `${toJson(event)}\n` : `${describe(event)}\n`);
        next = event.version + 1;
      }
    } while (page.nextVersion !== undefined);
    if (!values.follow) break;
    await sleep(intervalMs, undefined, { signal: io.signal }).catch(() => {});
  } while (!io.signal?.aborted);
  return 0;
}

/**
 * `events tail`: the last events of every stream in the store's global order, then each new
 * one as it is appended, like `tail -f`, until Ctrl-C. The position is kept in memory only:
 * a tail is for watching, not for processing (that is what `subscribe` is for).
 */
async function tailAll(store: EventStore, inspector: Inspector, limit: number, intervalMs: number, values: Values, io: CliIo): Promise<number> {
  if (!store.capabilities.readAll) throw new UsageError(`event store ${store.name} has no global order (readAll); name a stream: quark events tail STREAM`);
  // One pass to the end of the global order, keeping only the last `limit` events.
  const last: GlobalEvent[] = [];
  let position = 0n;
  for await (const event of store.readAll({ pageSize: 1000 })) {
    last.push(event);
    if (last.length > limit) last.shift();
    position = event.position;
  }
  // Decoding goes through the inspector, one read per event: a tail moves at a reader's pace.
  const print = async (event: GlobalEvent) => {
    const [inspected] = (await inspector.readEvents(event.stream, { fromVersion: event.version, limit: 1 })).events;
    if (!inspected) return;
    io.stdout.write(values.json ? `${toJson({ position: String(event.position), ...inspected })}\n` : `${event.position}\t${event.stream}\t${describe(inspected)}\n`);
  };
  for (const event of last) await print(event);
  const following = follow(async () => {
    let printed = 0;
    for await (const event of store.readAll({ after: position, pageSize: 100 })) {
      await print(event);
      position = event.position;
      printed++;
    }
    return printed;
  }, { pollIntervalMs: intervalMs, maxPollIntervalMs: intervalMs, signal: io.signal });
  await following.done;
  return 0;
}

/** `events tail [STREAM]`: one stream's last events (`--follow` polls), or the global order, followed. */
export async function events(config: OpenConfig, positionals: string[], values: Values, io: CliIo): Promise<number> {
  const [sub, stream] = positionals;
  if (sub !== "tail" || positionals.length > 2) throw new UsageError("usage: quark events tail [STREAM] [--limit N] [--follow]");
  if (!config.eventStore) throw new UsageError(`config ${config.path} has no eventStore`);
  const inspector = createInspector({ storage: config.storages, eventStore: config.eventStore, codec: config.codec, definitions: config.definitions });
  const limit = positiveInteger(values.limit, "limit", 10);
  const intervalMs = positiveInteger(values.interval, "interval", 1000);
  return stream === undefined
    ? await tailAll(config.eventStore, inspector, limit, intervalMs, values, io)
    : await tailStream(config.eventStore, inspector, stream, limit, intervalMs, values, io);
}

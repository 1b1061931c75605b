import type { AppendResult, EventStore, ExpectedVersion, GlobalEvent, NewEvent, ReadAllOptions, ReadStreamOptions, StoredEvent, StoredSnapshot } from "./types.ts";
import { assertValidKeyPart } from "../storage/keys.ts";
import { assertExpectedVersion, assertNewEvents, readAllBounds } from "./guards.ts";
import { EventStoreConflictError } from "../errors.ts";

const DRIVER_NAME = "memory";
const DEFAULT_PAGE_SIZE = 500;

/**
 * An event store in a `Map`, for tests and single-process use. It copies bytes in and out
 * and checks expected versions exactly as the durable stores do. Its global order is the
 * order of appends, which a single process commits one at a time.
 *
 * @returns An {@linkcode EventStore}.
 *
 * @example Appending and reading a stream
 * ```ts
 * import { memoryEventStore } from "@quark/persistence";
 * const store = memoryEventStore();
 * const data = new TextEncoder().encode("{}");
 * await store.append("ledger-1", [{ type: "Opened", data }], "no_stream");
 * const types = [];
 * for await (const event of store.read("ledger-1")) types.push(event.type);
 * if (types.join() !== "Opened") throw new Error("event lost");
 * ```
 */
export function memoryEventStore(): EventStore {
  // Each stream is appended in place and every event also goes to one global log, so an
  // append costs the same at 100k events as at 1k, and a position is its index in the log.
  const streams = new Map<string, GlobalEvent[]>();
  const log: GlobalEvent[] = [];
  const snapshots = new Map<string, StoredSnapshot>();

  return {
    name: DRIVER_NAME,
    capabilities: { readAll: true },
    append(stream: string, events: readonly NewEvent[], expected: ExpectedVersion): Promise<AppendResult> {
      try {
        assertValidKeyPart("stream", stream);
        assertExpectedVersion(expected);
        assertNewEvents(events);
        const existing = streams.get(stream) ?? [];
        const actual = existing.length;
        const matches = expected === "any" || (expected === "no_stream" ? actual === 0 : actual === expected);
        if (!matches) throw new EventStoreConflictError(stream, expected, actual);
        const createdAt = new Date();
        for (const [index, event] of events.entries()) {
          const stored: GlobalEvent = {
            stream,
            version: actual + index + 1,
            type: event.type,
            data: event.data.slice(),
            ...(event.metadata === undefined ? {} : { metadata: event.metadata.slice() }),
            createdAt,
            position: BigInt(log.length + 1),
          };
          existing.push(stored);
          log.push(stored);
        }
        streams.set(stream, existing);
        return Promise.resolve({ nextVersion: actual + events.length, lastPosition: BigInt(log.length) });
      } catch (error) {
        return Promise.reject(error);
      }
    },
    async *read(stream: string, options: ReadStreamOptions = {}): AsyncIterable<StoredEvent> {
      assertValidKeyPart("stream", stream);
      const pageSize = options.pageSize ?? DEFAULT_PAGE_SIZE;
      let next = Math.max(1, options.fromVersion ?? 1);
      while (true) {
        const page = (streams.get(stream) ?? []).slice(next - 1, next - 1 + pageSize);
        for (const event of page) yield copyOut(event);
        if (page.length < pageSize) return;
        next += page.length;
      }
    },
    async *readAll(options: ReadAllOptions = {}): AsyncIterable<GlobalEvent> {
      const { after, pageSize } = readAllBounds(options, DEFAULT_PAGE_SIZE);
      let next = Number(after < BigInt(log.length) ? after : BigInt(log.length));
      while (true) {
        const page = log.slice(next, next + pageSize);
        for (const event of page) yield copyOut(event);
        if (page.length < pageSize) return;
        next += page.length;
      }
    },
    async version(stream: string) {
      assertValidKeyPart("stream", stream);
      return streams.get(stream)?.length ?? 0;
    },
    async saveSnapshot(stream: string, snapshot: StoredSnapshot) {
      assertValidKeyPart("stream", stream);
      const stored = snapshots.get(stream);
      if (stored && stored.version >= snapshot.version) return false;
      snapshots.set(stream, { version: snapshot.version, data: snapshot.data.slice() });
      return true;
    },
    async loadSnapshot(stream: string) {
      assertValidKeyPart("stream", stream);
      const stored = snapshots.get(stream);
      return stored ? { version: stored.version, data: stored.data.slice() } : null;
    },
    close() {
      return Promise.resolve();
    },
  };
}

/** A copy the caller may change freely: stored bytes and dates never leak out. */
function copyOut(event: GlobalEvent): GlobalEvent {
  return {
    ...event,
    data: event.data.slice(),
    ...(event.metadata === undefined ? {} : { metadata: event.metadata.slice() }),
    ...(event.createdAt === undefined ? {} : { createdAt: new Date(event.createdAt.getTime()) }),
  };
}

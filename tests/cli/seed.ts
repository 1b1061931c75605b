// Seeds a store for the CLI tests: `count` accounts (a few written by schema version 1, a few
// with a TTL) and `events` events spread over `streams` ledger streams, each with a snapshot;
// every other event carries metadata (a correlation id).
import { createCodec, encodeKey, type EventStore, type StateStorage, type TransactOperation } from "../../mod.ts";
import { codec as codecOptions, streamNames } from "./fixture.config.ts";

const BATCH = 500;

/** The metadata seeded on event `version` of `stream`: a correlation id on every odd version. */
export function correlationOf(stream: string, version: number): Uint8Array | undefined {
  return version % 2 === 1 ? new TextEncoder().encode(`corr:${stream}:${version}`) : undefined;
}

export async function seed(storage: StateStorage, eventStore: EventStore, counts: { states: number; events: number; streams: number }): Promise<void> {
  const codec = createCodec(codecOptions);
  for (let start = 0; start < counts.states; start += BATCH) {
    const operations: TransactOperation[] = [];
    for (let id = start; id < Math.min(counts.states, start + BATCH); id++) {
      const key = { actorType: "account", actorId: `a${id}`, stateName: "balance" };
      const version = id % 10 === 0 ? 1 : 2;
      const value = version === 1 ? { cents: id } : { cents: id, currency: "USD", note: new Map([["big", BigInt(id)]]) };
      const ttlMs = id % 25 === 0 ? 3_600_000 : undefined;
      operations.push({ kind: "write", key, value: await codec.encode(value, version, encodeKey(key)), etag: crypto.randomUUID(), expectedEtag: null, ttlMs });
    }
    await storage.transact(operations);
  }
  const streams = streamNames(counts.streams);
  const perStream = Math.ceil(counts.events / counts.streams);
  for (const [index, stream] of streams.entries()) {
    const length = Math.min(perStream, counts.events - index * perStream);
    if (length <= 0) break;
    const events = await Promise.all(Array.from({ length }, (_, offset) => codec.encode({ type: "Deposited", cents: offset + 1 }, 1, `${stream}#${offset + 1}`)));
    for (let from = 0; from < events.length; from += BATCH) {
      const batch = events.slice(from, from + BATCH).map((data, offset) => ({ type: "Deposited", data, metadata: correlationOf(stream, from + offset + 1) }));
      await eventStore.append(stream, batch, from === 0 ? "no_stream" : from);
    }
    await eventStore.saveSnapshot(stream, { version: length, data: await codec.encode({ balance: (length * (length + 1)) / 2 }, 1, `${stream}#snapshot@${length}`) });
  }
}

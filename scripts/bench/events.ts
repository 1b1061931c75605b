/**
 * The `events` suite of `npm run bench`, on PostgreSQL:
 *
 * - appends of 1, 10 and 100 events through our postgres event store and through Emmett's
 *   (`@event-driven-io/emmett-postgresql`), each with an exact expected version so both check
 *   optimistic concurrency every time, with the same JSON payloads: one writer, and 8 writers
 *   at once, each on a stream of its own;
 * - round trips per append, counted by a TCP relay in front of each side: issue 14 asks for
 *   one per append whatever its size;
 * - recovery of an event-sourced actor from a 10,000-event stream (its first call on a fresh
 *   actor system), with no snapshot and with a snapshot every 100 events; the events each
 *   recovery reads are counted by a wrapping event store, not inferred from the interval.
 *
 * Our tables are named per run and dropped; Emmett's tables are fixed, so its streams are named
 * per run and deleted.
 */
import postgres from "postgres";
import * as v from "valibot";
import { getPostgreSQLEventStore } from "@event-driven-io/emmett-postgresql";
import { postgresEventStore, type PostgresJsClient } from "../../adapters/postgres/mod.ts";
import { createActorSystem, defineEventSourcedActor, memoryStorage, type EventStore, type StoredEvent } from "../../mod.ts";
import { concurrently, type BenchCase, type BenchRatio, type OpenSuite } from "./_harness.ts";
import { relayed, roundTripsPer } from "./_relayed_postgres.ts";

const BATCHES = [1, 10, 100] as const;
const WRITERS = 8;
const RECOVERY_EVENTS = 10_000;
const RECOVERY_BATCH = 100;
const SNAPSHOT_EVERY = 100;

function payload(index: number): { amount: number; note: string } {
  return { amount: index, note: "deposit from the benchmark" };
}

/** An event store that counts the events its streams hand out, and passes everything else on. */
function countingReads(store: EventStore): { store: EventStore; eventsRead: () => number } {
  let eventsRead = 0;
  async function* counted(events: AsyncIterable<StoredEvent>): AsyncIterable<StoredEvent> {
    for await (const event of events) {
      eventsRead++;
      yield event;
    }
  }
  return {
    store: {
      name: store.name,
      capabilities: store.capabilities,
      append: (stream, events, expected) => store.append(stream, events, expected),
      read: (stream, options) => counted(store.read(stream, options)),
      readAll: (options) => store.readAll(options),
      version: (stream) => store.version(stream),
      saveSnapshot: (stream, snapshot) => store.saveSnapshot(stream, snapshot),
      loadSnapshot: (stream) => store.loadSnapshot(stream),
      close: () => store.close(),
    },
    eventsRead: () => eventsRead,
  };
}

/** A counter folded from its events; `snapshotEvery` is the only difference between the two. */
function counter(actorType: string, snapshotEvery: number) {
  return defineEventSourcedActor(actorType, {
    events: v.object({ type: v.literal("Counted") }),
    state: v.object({ count: v.number() }),
    initial: { count: 0 },
    apply: (state) => ({ count: state.count + 1 }),
    snapshotEvery,
    commands: {
      async record(context, times: number) {
        for (let index = 0; index < times; index++) await context.raise({ type: "Counted" });
        await context.commit();
      },
      count: (context) => context.state.count,
    },
  });
}

export const open: OpenSuite = async (env) => {
  if (!env.POSTGRES_URL) return "POSTGRES_URL is not set (start it with scripts/services/postgres.sh start)";
  const run = crypto.randomUUID().slice(0, 8);
  const tables = { eventsTable: `bench_events_${run}`, snapshotsTable: `bench_snapshots_${run}` };
  const [oursRelay, emmettRelay] = await Promise.all([relayed(env.POSTGRES_URL), relayed(env.POSTGRES_URL)]);
  const sql = postgres(oursRelay.url, { max: WRITERS, onnotice: () => {} });
  const ours = postgresEventStore({ client: sql as unknown as PostgresJsClient, ...tables });
  await ours.ensureSchema();
  const emmett = getPostgreSQLEventStore(emmettRelay.url, { connectionOptions: { pooled: true } } as never);
  await emmett.schema.migrate();

  const encoder = new TextEncoder();
  // Each side appends to a stream of its own per batch size, expecting the version it left.
  function oursChain(batch: number) {
    const stream = `bench-${run}-ours-${batch}-${crypto.randomUUID()}`;
    const events = Array.from({ length: batch }, (_, index) => ({ type: "Deposited", data: encoder.encode(JSON.stringify(payload(index))) }));
    let version = 0;
    return async () => {
      version = (await ours.append(stream, events, version === 0 ? "no_stream" : version)).nextVersion;
    };
  }
  function emmettChain(batch: number) {
    const stream = `bench-${run}-emmett-${batch}-${crypto.randomUUID()}`;
    const events = Array.from({ length: batch }, (_, index) => ({ type: "Deposited", data: payload(index) }));
    let version = 0n;
    return async () => {
      version = (await emmett.appendToStream(stream, events, { expectedStreamVersion: version })).nextExpectedStreamVersion;
    };
  }
  const appends = BATCHES.map((batch) => ({ batch, ours: oursChain(batch), emmett: emmettChain(batch) }));
  const writers = BATCHES.map((batch) => ({
    batch,
    ours: Array.from({ length: WRITERS }, () => oursChain(batch)),
    emmett: Array.from({ length: WRITERS }, () => emmettChain(batch)),
  }));

  // Two 10,000-event streams, written through the actors themselves so that their events and
  // snapshots are encoded as in production.
  const { store: counted, eventsRead } = countingReads(ours);
  const plain = counter(`bench-plain-${run}`, Number.MAX_SAFE_INTEGER);
  const snapshotted = counter(`bench-snapshotted-${run}`, SNAPSHOT_EVERY);
  const seeder = createActorSystem({ storage: memoryStorage(), eventStore: ours });
  for (let written = 0; written < RECOVERY_EVENTS; written += RECOVERY_BATCH) {
    await Promise.all([seeder.actor(plain, "a").record(RECOVERY_BATCH), seeder.actor(snapshotted, "a").record(RECOVERY_BATCH)]);
  }
  await seeder.shutdown();

  async function recover(definition: typeof plain): Promise<void> {
    const system = createActorSystem({ storage: memoryStorage(), eventStore: counted });
    const count = await system.actor(definition, "a").count();
    await system.shutdown();
    if (count !== RECOVERY_EVENTS) throw new Error(`recovered ${count} events' worth of state, expected ${RECOVERY_EVENTS}`);
  }
  async function eventsReadBy(definition: typeof plain): Promise<number> {
    const before = eventsRead();
    await recover(definition);
    return eventsRead() - before;
  }

  const cases: BenchCase[] = [
    ...appends.flatMap(({ batch, ours: oursAppend, emmett: emmettAppend }) => [
      { name: `our append of ${batch}`, ops: 1, sample: oursAppend },
      { name: `Emmett append of ${batch}`, ops: 1, sample: emmettAppend },
    ]),
    ...writers.flatMap(({ batch, ours: oursWriters, emmett: emmettWriters }) => [
      { name: `our append of ${batch}, ${WRITERS} writers`, ops: WRITERS, sample: () => concurrently(WRITERS, 1, (writer) => oursWriters[writer]!()) },
      { name: `Emmett append of ${batch}, ${WRITERS} writers`, ops: WRITERS, sample: () => concurrently(WRITERS, 1, (writer) => emmettWriters[writer]!()) },
    ]),
    { name: "recovery at 10k events, no snapshot", ops: 1, sample: () => recover(plain) },
    { name: `recovery at 10k events, snapshot every ${SNAPSHOT_EVERY}`, ops: 1, sample: () => recover(snapshotted) },
  ];
  const ratios: BenchRatio[] = [
    ...BATCHES.map((batch) => ({ label: `events: our append of ${batch} / Emmett's`, of: `our append of ${batch}`, to: `Emmett append of ${batch}` })),
    ...BATCHES.map((batch) => ({ label: `events: ${WRITERS} writers, our append of ${batch} / Emmett's (time per append)`, of: `our append of ${batch}, ${WRITERS} writers`, to: `Emmett append of ${batch}, ${WRITERS} writers` })),
    { label: `events: recovery at 10k, no snapshot / snapshot every ${SNAPSHOT_EVERY}`, of: "recovery at 10k events, no snapshot", to: `recovery at 10k events, snapshot every ${SNAPSHOT_EVERY}` },
  ];
  return {
    name: "events",
    cases,
    ratios,
    facts: async () => {
      const facts: Record<string, string> = {};
      for (const { batch, ours: oursAppend, emmett: emmettAppend } of appends) {
        facts[`TCP round trips per append of ${batch}, ours`] = await roundTripsPer(oursRelay.roundTrips, 10, oursAppend);
        facts[`TCP round trips per append of ${batch}, Emmett`] = await roundTripsPer(emmettRelay.roundTrips, 10, emmettAppend);
      }
      facts["issue 14: one round trip per append at 100 events"] = facts["TCP round trips per append of 100, ours"] === "1.00" ? "met" : `missed: ${facts["TCP round trips per append of 100, ours"]} round trips`;
      facts["events read by a recovery at 10k, no snapshot"] = String(await eventsReadBy(plain));
      facts[`events read by a recovery at 10k, snapshot every ${SNAPSHOT_EVERY}`] = String(await eventsReadBy(snapshotted));
      return facts;
    },
    close: async () => {
      await ours.close();
      await emmett.close();
      await sql.unsafe(`DROP TABLE IF EXISTS "${tables.eventsTable}", "${tables.eventsTable}_position", "${tables.snapshotsTable}"`);
      await sql.unsafe(`DELETE FROM emt_messages WHERE stream_id LIKE $1`, [`bench-${run}-%`]);
      await sql.unsafe(`DELETE FROM emt_streams WHERE stream_id LIKE $1`, [`bench-${run}-%`]);
      await sql.end({ timeout: 1 });
      oursRelay.close();
      emmettRelay.close();
    },
  };
};

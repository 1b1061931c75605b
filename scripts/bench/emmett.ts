/**
 * Event append throughput of the Quark postgres event store next to Emmett's PostgreSQL event
 * store (`@event-driven-io/emmett-postgresql`), on the same server in one run, with the same
 * batch sizes and payloads. Both append with an exact expected version, so both check
 * optimistic concurrency on every append. Sides alternate round by round to share the noise.
 *
 * - sequential: one writer appends batches to one stream;
 * - concurrent: 8 writers, each on its own stream, at once.
 *
 * Run: `set -a; . .services/postgres/env; set +a; node --import tsx scripts/bench/emmett.ts`
 */
import { getPostgreSQLEventStore } from "@event-driven-io/emmett-postgresql";
import { postgresEventStore } from "../../adapters/postgres/mod.ts";

const url = process.env.POSTGRES_URL;
if (!url) {
  console.log("SKIP emmett bench: POSTGRES_URL is not set (start it with scripts/services/postgres.sh start)");
  process.exit(0);
}

const BATCH_SIZES = [1, 10, 100];
const EVENTS_PER_RUN = 2_000;
const ROUNDS = 3;
const WRITERS = 8;

interface Side {
  readonly name: string;
  /** Appends `batch` events to `stream`, whose version is `version`; returns the new version. */
  append(stream: string, version: number, batch: number): Promise<number>;
}

function payload(index: number): { amount: number; note: string } {
  return { amount: index, note: "deposit from the benchmark" };
}

const encoder = new TextEncoder();
const quarkStore = postgresEventStore({ url, driverOptions: { max: WRITERS + 2 } });
await quarkStore.ensureSchema();
const quark: Side = {
  name: "quark postgres",
  async append(stream, version, batch) {
    const events = Array.from({ length: batch }, (_, index) => ({ type: "Deposited", data: encoder.encode(JSON.stringify(payload(index))) }));
    return (await quarkStore.append(stream, events, version === 0 ? "no_stream" : version)).nextVersion;
  },
};

const emmettStore = getPostgreSQLEventStore(url, { connectionOptions: { pooled: true } } as never);
await emmettStore.schema.migrate();
const emmett: Side = {
  name: "emmett-postgresql",
  async append(stream, version, batch) {
    const events = Array.from({ length: batch }, (_, index) => ({ type: "Deposited", data: payload(index) }));
    const result = await emmettStore.appendToStream(stream, events, { expectedStreamVersion: BigInt(version) });
    return Number(result.nextExpectedStreamVersion);
  },
};

async function writer(side: Side, batch: number, events: number): Promise<void> {
  const stream = `bench-${crypto.randomUUID()}`;
  let version = 0;
  for (let written = 0; written < events; written += batch) version = await side.append(stream, version, batch);
}

async function throughput(side: Side, batch: number, writers: number): Promise<number> {
  const perWriter = Math.max(batch, Math.floor(EVENTS_PER_RUN / writers / batch) * batch);
  const started = performance.now();
  await Promise.all(Array.from({ length: writers }, () => writer(side, batch, perWriter)));
  return (perWriter * writers) / ((performance.now() - started) / 1000);
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

console.log(`Append throughput on one PostgreSQL server, ${EVENTS_PER_RUN} events per run, median of ${ROUNDS} alternating rounds`);
// Warm-up: pools open, statements get prepared.
await writer(quark, 10, 200);
await writer(emmett, 10, 200);

for (const writers of [1, WRITERS]) {
  console.log(`\n${writers === 1 ? "sequential, 1 writer" : `concurrent, ${writers} writers on their own streams`}`);
  console.log("batch | quark events/s | emmett events/s | quark / emmett");
  for (const batch of BATCH_SIZES) {
    const quarkRates: number[] = [];
    const emmettRates: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      quarkRates.push(await throughput(quark, batch, writers));
      emmettRates.push(await throughput(emmett, batch, writers));
    }
    const q = median(quarkRates);
    const e = median(emmettRates);
    console.log(`${String(batch).padStart(5)} | ${q.toFixed(0).padStart(14)} | ${e.toFixed(0).padStart(15)} | ${(q / e).toFixed(2).padStart(14)}`);
  }
}

await quarkStore.close();
await emmettStore.close();

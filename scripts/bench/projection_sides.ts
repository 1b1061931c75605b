/**
 * The projection runtimes the projections suite (`projections.ts`) compares: our projector
 * over a store and a storage, and Emmett's processors on PostgreSQL, each folding the same
 * read model (a sum and a count per stream) and telling the lag rounds (`projection_lag.ts`)
 * when each batch's commit returned.
 *
 * Every side uses batches of BATCH_SIZE, a poll interval of POLL_MS and at most MAX_POLL_MS
 * between polls (Emmett's puller caps its wait at 1 s; `maxPollIntervalMs` is set to match).
 */
import type postgres from "postgres";
import * as v from "valibot";
import {
  getPostgreSQLEventStore,
  pongoSingleStreamProjection,
  postgreSQLEventStoreConsumer,
  postgreSQLProjection,
  type PostgreSQLProjectionDefinition,
} from "@event-driven-io/emmett-postgresql";
import { eventBinding } from "../../src/events/aggregate.ts";
import { createCodec, createProjector, defineProjection, type EventStore, type StateStorage } from "../../mod.ts";

const BATCH_SIZE = 100;
const POLL_MS = 50;
const MAX_POLL_MS = 1_000;
/** The projection settings every side shares, as the report names them. */
export const SETTINGS = `batches of ${BATCH_SIZE} events, poll interval ${POLL_MS} ms, longest wait ${MAX_POLL_MS} ms`;

const deposited = v.object({ type: v.literal("Deposited"), amount: v.number() });
const ledger = { actorType: "bench-ledger", events: deposited } as const;
const sumState = v.object({ sum: v.number(), count: v.number() });
export type Sum = v.InferOutput<typeof sumState>;
const codec = createCodec();

/** The read model both sides build: a sum and a count per stream. */
const sums = (name: string) => defineProjection(name, {
  from: [ledger],
  state: sumState,
  initial: { sum: 0, count: 0 },
  key: (_event, info) => info.actorId,
  apply: (doc, event) => ({ sum: doc.sum + event.amount, count: doc.count + 1 }),
});

/** One projection runtime under test, with the store its writer appends to. */
export interface Side {
  readonly name: string;
  /** Appends `count` deposits to `stream`; resolves at the acknowledgement with the last position. */
  append(stream: string, count: number): Promise<bigint>;
  /** The last position stored now. */
  last(): Promise<bigint>;
  /** Starts a fresh projector after `from`; `onCommit` hears each committed batch's last position. */
  follow(from: bigint, onCommit: (position: bigint) => void): Promise<Follower>;
}

/** A running projector of one side. */
export interface Follower {
  /** The read model's document for `stream`, as the projector committed it. */
  read(stream: string): Promise<Sum | undefined>;
  stop(): Promise<void>;
}

export const shortId = () => crypto.randomUUID().slice(0, 8);

/** Our side: a store and a storage, appends encoded as an event-sourced actor encodes them. */
export function quarkSide(name: string, eventStore: EventStore, storage: StateStorage): Side {
  const versions = new Map<string, number>();
  let lastAppended = 0n;
  return {
    name,
    async append(stream, count) {
      const version = versions.get(stream) ?? 0;
      const events = await Promise.all(Array.from({ length: count }, async (_, index) => ({
        type: "Deposited",
        data: await codec.encode({ type: "Deposited", amount: index + 1 }, 1, eventBinding(stream, version + index + 1)),
      })));
      const result = await eventStore.append(stream, events, version === 0 ? "no_stream" : version);
      versions.set(stream, result.nextVersion);
      lastAppended = result.lastPosition!;
      return lastAppended;
    },
    last: () => Promise.resolve(lastAppended),
    async follow(from, onCommit) {
      const projector = createProjector(sums(`bench-sums-${shortId()}`), { eventStore, storage: observeCommits(storage, onCommit), codec, batchSize: BATCH_SIZE, from });
      const subscription = projector.start({ pollIntervalMs: POLL_MS, maxPollIntervalMs: MAX_POLL_MS });
      return { read: (stream) => projector.read(stream.slice(stream.indexOf("/") + 1)), stop: () => subscription.stop() };
    },
  };
}

/**
 * The storage as the projector sees it, telling `onCommit` the checkpoint of every
 * `transact` that returned. A projector's commit writes its checkpoint (the batch's last
 * position, as decimal text) under a state name ending in `:checkpoint`.
 */
function observeCommits(storage: StateStorage, onCommit: (position: bigint) => void): StateStorage {
  const decoder = new TextDecoder();
  return new Proxy(storage, {
    get(target, property) {
      if (property !== "transact") {
        const value = Reflect.get(target, property, target);
        return typeof value === "function" ? value.bind(target) : value;
      }
      return async (operations: Parameters<StateStorage["transact"]>[0]) => {
        const result = await target.transact(operations);
        const checkpoint = operations.find((operation) => operation.kind === "write" && operation.key.stateName.endsWith(":checkpoint"));
        if (checkpoint?.kind === "write") onCommit(BigInt(decoder.decode(checkpoint.value)));
        return result;
      };
    },
  });
}

// A type name of its own: other runs may append to the same Emmett tables meanwhile.
const DEPOSITED = "ProjectionBenchDeposited";
type DepositedEvent = { type: typeof DEPOSITED; data: { amount: number } };

/** How one Emmett read model is defined and read back. */
interface EmmettReadModel {
  readonly name: string;
  readonly projection: PostgreSQLProjectionDefinition<DepositedEvent>;
  read(stream: string): Promise<Sum | undefined>;
}

/**
 * Emmett's sides: its event store, and per window a consumer with one projector of the
 * per-stream sum, kept either as pongo documents (read, evolve, write: the closest to our
 * documents) or as one SQL upsert per event (Emmett's leanest read model).
 */
export function emmettSides(url: string, sql: postgres.Sql, tableSuffix: string): { sides: Side[]; close(): Promise<void> } {
  const store = getPostgreSQLEventStore(url, { connectionOptions: { pooled: true } } as never);
  const documents = `bench_sums_${tableSuffix}`;
  const upserts = `bench_sql_sums_${tableSuffix}`;
  const ready = (async () => {
    await store.schema.migrate();
    await sql`CREATE TABLE IF NOT EXISTS ${sql(upserts)} (_id text PRIMARY KEY, sum bigint NOT NULL, count bigint NOT NULL)`;
  })();
  const models: EmmettReadModel[] = [
    {
      name: "emmett postgres, pongo documents",
      projection: pongoSingleStreamProjection<Sum, DepositedEvent>({
        collectionName: documents,
        canHandle: [DEPOSITED],
        initialState: () => ({ sum: 0, count: 0 }),
        evolve: (doc: Sum, event: DepositedEvent) => ({ sum: doc.sum + event.data.amount, count: doc.count + 1 }),
      }),
      async read(stream) {
        const [row] = await sql`SELECT data FROM ${sql(documents)} WHERE _id = ${stream}`;
        return row === undefined ? undefined : { sum: Number(row.data.sum), count: Number(row.data.count) };
      },
    },
    {
      name: "emmett postgres, SQL upsert",
      projection: postgreSQLProjection<DepositedEvent>({
        name: upserts,
        canHandle: [DEPOSITED],
        async handle(events, context) {
          for (const event of events) {
            await context.connection.client.query(
              `INSERT INTO "${upserts}" AS t (_id, sum, count) VALUES ($1, $2, 1) ON CONFLICT (_id) DO UPDATE SET sum = t.sum + excluded.sum, count = t.count + 1`,
              [event.metadata.streamName, event.data.amount],
            );
          }
        },
      }),
      async read(stream) {
        const [row] = await sql`SELECT sum, count FROM ${sql(upserts)} WHERE _id = ${stream}`;
        return row === undefined ? undefined : { sum: Number(row.sum), count: Number(row.count) };
      },
    },
  ];
  const side = (model: EmmettReadModel): Side => ({
    name: model.name,
    async append(stream, count) {
      await ready;
      const events = Array.from({ length: count }, (_, index): DepositedEvent => ({ type: DEPOSITED, data: { amount: index + 1 } }));
      return (await store.appendToStream(stream, events)).lastEventGlobalPosition;
    },
    async last() {
      await ready;
      const [row] = await sql`SELECT coalesce(max(global_position), 0)::text AS last FROM emt_messages`;
      return BigInt(row!.last as string);
    },
    async follow(from, onCommit) {
      const consumer = postgreSQLEventStoreConsumer({ connectionString: url, pulling: { batchSize: BATCH_SIZE, pullingFrequencyInMs: POLL_MS } });
      const processor = consumer.projector<DepositedEvent>({ processorId: `bench-sums-${shortId()}`, projection: model.projection, startFrom: { lastCheckpoint: from } });
      // The processor commits each batch in one transaction, checkpoint included, before
      // `handle` returns.
      const handle = processor.handle;
      processor.handle = async (messages, context) => {
        const result = await handle(messages, context);
        if (messages.length > 0) onCommit(messages.at(-1)!.metadata.globalPosition);
        return result;
      };
      const running = consumer.start();
      return {
        read: model.read,
        async stop() {
          await consumer.close();
          await running;
        },
      };
    },
  });
  return {
    sides: models.map(side),
    async close() {
      await store.close();
      await sql`DROP TABLE IF EXISTS ${sql(documents)}, ${sql(upserts)}`;
      // Emmett's tables are shared: remove only what the suite wrote (its event type, its streams).
      await sql`DELETE FROM emt_messages WHERE message_type = ${DEPOSITED}`;
      await sql`DELETE FROM emt_streams WHERE stream_id LIKE 'bench-ledger/%'`;
      await sql`DELETE FROM emt_processors WHERE processor_id LIKE 'bench-sums-%'`;
      await sql`DELETE FROM emt_projections WHERE name LIKE 'bench_%sums_%'`;
    },
  };
}

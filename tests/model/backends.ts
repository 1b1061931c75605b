// Opens a backend by name for the model runs, from the environment the service scripts write
// (.services/<name>/env). Each run uses actor ids of its own, so nothing is cleared.
import process from "node:process";
import { memoryEventStore, memoryStorage, type EventStore, type StateStorage } from "../../mod.ts";

export interface ModelBackend {
  readonly storage: StateStorage;
  readonly eventStore: EventStore;
  close(): Promise<void>;
}

function required(name: string): string {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set: start the service with scripts/services/*.sh start, or run through npm run test:model`);
  return value;
}

const openers: Record<string, () => Promise<ModelBackend>> = {
  async memory() {
    return { storage: memoryStorage(), eventStore: memoryEventStore(), close: async () => {} };
  },
  async pglite() {
    const { pgliteEventStore, pgliteStorage } = await import("../../adapters/pglite/mod.ts");
    const storage = pgliteStorage({ autoCreateSchema: true });
    const eventStore = pgliteEventStore({ autoCreateSchema: true });
    return { storage, eventStore, close: async () => void await Promise.all([storage.close(), eventStore.close()]) };
  },
  async postgres() {
    const { postgresEventStore, postgresStorage } = await import("../../adapters/postgres/mod.ts");
    const url = required("POSTGRES_URL");
    const storage = postgresStorage({ url, autoCreateSchema: true });
    const eventStore = postgresEventStore({ url, autoCreateSchema: true });
    return { storage, eventStore, close: async () => void await Promise.all([storage.close(), eventStore.close()]) };
  },
  async upstash() {
    const { upstashEventStore, upstashStorage } = await import("../../adapters/upstash/mod.ts");
    const connection = { url: required("UPSTASH_REDIS_REST_URL"), token: required("UPSTASH_REDIS_REST_TOKEN") };
    const storage = upstashStorage(connection);
    const eventStore = upstashEventStore(connection);
    return { storage, eventStore, close: async () => void await Promise.all([storage.close(), eventStore.close()]) };
  },
  async dynamodb() {
    const { dynamoDbEventStore, dynamoDbStorage } = await import("../../adapters/dynamodb/mod.ts");
    const clientConfig = {
      endpoint: required("DYNAMODB_ENDPOINT"),
      region: "us-east-1",
      credentials: { accessKeyId: "quark-test", secretAccessKey: "quark-test" },
    };
    const run = crypto.randomUUID().slice(0, 8);
    const storage = dynamoDbStorage({ clientConfig, tableName: `quark_model_state_${run}` });
    const eventStore = dynamoDbEventStore({ clientConfig, tableName: `quark_model_events_${run}` });
    await Promise.all([storage.ensureTable(), eventStore.ensureTable()]);
    return { storage, eventStore, close: async () => void await Promise.all([storage.close(), eventStore.close()]) };
  },
  async mongodb() {
    const { mongoDbEventStore, mongoDbStorage } = await import("../../adapters/mongodb/mod.ts");
    const options = { url: required("MONGODB_URL"), database: "quark_model" };
    const storage = mongoDbStorage(options);
    const eventStore = mongoDbEventStore(options);
    return { storage, eventStore, close: async () => void await Promise.all([storage.close(), eventStore.close()]) };
  },
  async cassandra() {
    const { cassandraEventStore, cassandraStorage } = await import("../../adapters/cassandra/mod.ts");
    const connection = {
      contactPoints: required("CASSANDRA_CONTACT_POINTS").split(","),
      localDataCenter: process.env.CASSANDRA_DC ?? "datacenter1",
      keyspace: "quark_model",
    };
    const storage = cassandraStorage(connection);
    const eventStore = cassandraEventStore({ ...connection, client: await storage.getInstance() });
    await storage.ensureSchema();
    await eventStore.ensureSchema();
    return { storage, eventStore, close: async () => void await Promise.all([eventStore.close(), storage.close()]) };
  },
};

/** The backends the model runs can open. */
export const modelBackends: readonly string[] = Object.keys(openers);

/** Opens `name`, or throws naming the ones that exist. */
export function openModelBackend(name: string): Promise<ModelBackend> {
  const open = openers[name];
  if (!open) throw new Error(`No model backend ${JSON.stringify(name)}; choose from ${modelBackends.join(", ")}`);
  return open();
}

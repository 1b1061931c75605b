import { dynamoDbEventStore, dynamoDbStorage } from "../../../adapters/dynamodb/mod.ts";
import { runEventStoreConformance, runStorageConformance } from "../../../src/testing/mod.ts";
import type { RuntimeSuite } from "../protocol.ts";

const suite: RuntimeSuite = {
  name: "dynamodb",
  async register(test, env) {
    const clientConfig = {
      endpoint: env.DYNAMODB_ENDPOINT!,
      region: env.AWS_REGION ?? "us-east-1",
      credentials: { accessKeyId: env.AWS_ACCESS_KEY_ID ?? "quark-test", secretAccessKey: env.AWS_SECRET_ACCESS_KEY ?? "quark-test" },
    };
    // Fresh tables per isolate. They are created here, inside the listing request, because
    // a Worker may not await I/O started by another request.
    const run = crypto.randomUUID().slice(0, 8);
    const stateTable = `quark_edge_state_${run}`;
    const eventTable = `quark_edge_events_${run}`;
    for (const admin of [dynamoDbStorage({ clientConfig, tableName: stateTable }), dynamoDbEventStore({ clientConfig, tableName: eventTable })]) {
      await admin.ensureTable();
      await admin.close();
    }
    // A wider backoff than the suite's default, as for upstash: 64 writers over HTTP.
    const raceRetry = { maxAttempts: 1000, maxDelayMs: 1000 };
    runStorageConformance(test, { name: "dynamodb", open: () => dynamoDbStorage({ clientConfig, tableName: stateTable }), raceRetry });
    // As in tests/adapters/dynamodb.test.ts: the kit's 32-appender "any" race can outlast the
    // default 64 attempts while moto serves one request at a time to every runtime at once.
    runEventStoreConformance(test, { name: "dynamodb", open: () => dynamoDbEventStore({ clientConfig, tableName: eventTable, maxAppendAttempts: 1000 }) });
  },
};

export default suite;

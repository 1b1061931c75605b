import { neonEventStore, neonStorage, type NeonOptions } from "../../../adapters/neon/mod.ts";
import { runEventStoreConformance, runStorageConformance } from "../../../src/testing/mod.ts";
import type { RuntimeSuite } from "../protocol.ts";

const suite: RuntimeSuite = {
  name: "neon-http",
  async register(test, env) {
    // The test bridge stands in for Neon's HTTP endpoint (scripts/services/neon-http.sh).
    const connection: NeonOptions = { url: env.NEON_URL!, transport: "http", neonConfig: { fetchEndpoint: env.NEON_HTTP_ENDPOINT! } };
    for (const admin of [neonStorage(connection), neonEventStore(connection)]) {
      await admin.ensureSchema();
      await admin.close();
    }
    const raceRetry = { maxAttempts: 1000, maxDelayMs: 1000 };
    runStorageConformance(test, { name: "neon-http", open: () => neonStorage(connection), raceRetry });
    runEventStoreConformance(test, { name: "neon-http", open: () => neonEventStore(connection) });
  },
};

export default suite;

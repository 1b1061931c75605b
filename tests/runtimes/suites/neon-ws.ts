import { neonEventStore, neonStorage, type NeonOptions } from "../../../adapters/neon/mod.ts";
import { runEventStoreConformance, runStorageConformance } from "../../../src/testing/mod.ts";
import type { RuntimeSuite } from "../protocol.ts";

const suite: RuntimeSuite = {
  name: "neon-ws",
  async register(test, env) {
    // Neon's own wsproxy in front of the local PostgreSQL, reached with the runtime's WebSocket.
    const proxy = env.NEON_WS_PROXY!;
    const connection: NeonOptions = {
      url: env.NEON_URL!,
      transport: "websocket",
      neonConfig: { useSecureWebSocket: false, pipelineConnect: false, wsProxy: (host, port) => `${proxy}?address=${host}:${port}` },
      poolOptions: { max: 5, idleTimeoutMillis: 1000 },
    };
    for (const admin of [neonStorage(connection), neonEventStore(connection)]) {
      await admin.ensureSchema();
      await admin.close();
    }
    const raceRetry = { maxAttempts: 1000, maxDelayMs: 1000 };
    runStorageConformance(test, { name: "neon-ws", open: () => neonStorage(connection), raceRetry });
    runEventStoreConformance(test, { name: "neon-ws", open: () => neonEventStore(connection) });
  },
};

export default suite;

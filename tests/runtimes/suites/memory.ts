import { memoryEventStore, memoryStorage } from "../../../mod.ts";
import { runEventStoreConformance, runStorageConformance } from "../../../src/testing/mod.ts";
import type { RuntimeSuite } from "../protocol.ts";

const suite: RuntimeSuite = {
  name: "memory",
  register(test) {
    runStorageConformance(test, { name: "memory", open: () => memoryStorage() });
    runEventStoreConformance(test, { name: "memory", open: () => memoryEventStore() });
  },
};

export default suite;

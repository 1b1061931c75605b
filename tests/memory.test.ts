import { test } from "node:test";
import { memoryEventStore, memoryStorage } from "../mod.ts";
import { runContentionConformance, runEventStoreConformance, runLeaseConformance, runStorageConformance } from "../src/testing/mod.ts";

runStorageConformance(test, { name: "memory", open: () => memoryStorage() });
runContentionConformance(test, { name: "memory", open: () => memoryStorage() });
runLeaseConformance(test, { name: "memory", open: () => memoryStorage() });
runEventStoreConformance(test, { name: "memory", open: () => memoryEventStore() });

/**
 * Conformance suites for storages and event stores. Every backend in this library passes
 * them; run them on your own backend with any test runner.
 *
 * @example Checking a custom storage with `node:test`
 * ```ts ignore
 * import { test } from "node:test";
 * import { memoryStorage } from "@quark/persistence";
 * import { runStorageConformance } from "@quark/persistence/testing";
 * runStorageConformance(test, { name: "mine", open: () => memoryStorage() });
 * ```
 *
 * @module
 */
export { runStorageConformance, HOSTILE_IDS, type StorageConformanceOptions } from "./storage_conformance.ts";
export { runEventStoreConformance, type EventStoreConformanceOptions } from "./event_store_conformance.ts";
export { EDGE_HOSTILE_IDS } from "./edge_conformance.ts";
export { runContentionConformance, type ContentionConformanceOptions } from "./contention_conformance.ts";
export { runLeaseConformance, type LeaseConformanceOptions } from "./lease_conformance.ts";
export { type TestRegistrar } from "./registrar.ts";
export { ConformanceFailure } from "./assert.ts";

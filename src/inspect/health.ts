import type { StateStorage } from "../storage/types.ts";
import type { EventStore } from "../events/types.ts";
import type { HealthReport } from "./types.ts";
import { isQuarkError } from "../errors.ts";

// A key and a stream no actor uses: reading them costs one round trip and finds nothing.
const HEALTH_KEY = { actorType: "__quark", actorId: "health", stateName: "probe" };
const HEALTH_STREAM = "__quark/health";

async function timed(target: HealthReport["target"], name: string, backend: string, probe: () => Promise<unknown>): Promise<HealthReport> {
  const started = performance.now();
  try {
    await probe();
    return { target, name, backend, latencyMs: performance.now() - started, ok: true };
  } catch (error) {
    const latencyMs = performance.now() - started;
    const code = isQuarkError(error) ? error.code : "UNKNOWN";
    const message = error instanceof Error ? error.message : String(error);
    return { target, name, backend, latencyMs, ok: false, code, message };
  }
}

/** Reads a reserved key once. */
export function probeStorage(name: string, storage: StateStorage): Promise<HealthReport> {
  return timed("storage", name, storage.name, () => storage.read(HEALTH_KEY));
}

/** Reads a reserved stream's version once. */
export function probeEventStore(store: EventStore): Promise<HealthReport> {
  return timed("eventStore", "eventStore", store.name, () => store.version(HEALTH_STREAM));
}

// What long commands share: how much work there is (for the progress total) and how they stop
// at a safe point when the user interrupts.
import type { OpenConfig } from "./config.ts";
import type { CliIo } from "./output.ts";
import { createInspector } from "../mod.ts";

/** Thrown at a safe point after Ctrl-C; the command's checkpoint or idempotence lets a rerun finish. */
export class InterruptedError extends Error {
  override name = "InterruptedError";
}

/**
 * A safe point: yields to the event loop first, since an in-process database such as PGlite
 * can keep a command busy on microtasks alone, and signals are only seen when the loop turns.
 */
export async function interrupted(io: CliIo): Promise<void> {
  await new Promise((resolve) => setImmediate(resolve));
  if (io.signal?.aborted) throw new InterruptedError("interrupted; run the same command again to resume");
}

export interface WorkTotals {
  states: number;
  events: number;
  snapshots: number;
}

/** Counts the states, events and snapshots a command will move: list pages and one version read per stream. */
export async function countWork(source: Pick<OpenConfig, "storages" | "eventStore" | "actorTypes">, streams: readonly string[]): Promise<WorkTotals> {
  const inspector = createInspector({ storage: source.storages });
  const totals: WorkTotals = { states: 0, events: 0, snapshots: 0 };
  for (const storage of Object.keys(source.storages)) {
    for (const actorType of source.actorTypes) totals.states += await inspector.count({ actorType, storage });
  }
  if (source.eventStore) {
    for (const stream of streams) {
      totals.events += await source.eventStore.version(stream);
      if (await source.eventStore.loadSnapshot(stream)) totals.snapshots++;
    }
  }
  return totals;
}

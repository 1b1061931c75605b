// The model-based check of projections (tests/model/projection_model.ts) on memory and PGlite.
// The budget here is modest so `npm test` stays fast on every runtime; `npm run test:model`
// (or QUARK_MODEL_RUNS) runs more.
import { test } from "node:test";
import process from "node:process";
import { memoryEventStore, memoryStorage } from "../../mod.ts";
import { pgliteEventStore, pgliteStorage } from "../../adapters/pglite/mod.ts";
import { checkProjectionModel } from "../model/projection_model.ts";

const runs = (fallback: number) => Number(process.env.QUARK_MODEL_RUNS ?? fallback);

test("projection model on memory: the read model is the fold of the committed events, each once", async () => {
  await checkProjectionModel({ label: "memory", eventStore: memoryEventStore(), storage: memoryStorage(), runs: runs(150) });
});

test("projection model on PGlite", async () => {
  const eventStore = pgliteEventStore({ autoCreateSchema: true });
  const storage = pgliteStorage({ autoCreateSchema: true });
  try {
    await checkProjectionModel({ label: "pglite", eventStore, storage, runs: runs(30) });
  } finally {
    await Promise.all([eventStore.close(), storage.close()]);
  }
});

// The model-based check of turns (tests/model/turn_model.ts) on memory and PGlite. The budget
// here is modest so `npm test` stays fast on every runtime; `npm run test:model` runs more.
import { test } from "node:test";
import process from "node:process";
import { memoryStorage } from "../../mod.ts";
import { pgliteStorage } from "../../adapters/pglite/mod.ts";
import { checkTurnModel } from "../model/turn_model.ts";
import { checkEventModel } from "../model/event_model.ts";
import { checkStorageModel } from "../model/storage_model.ts";
import { memoryEventStore } from "../../mod.ts";

const runs = (fallback: number) => Number(process.env.QUARK_MODEL_RUNS ?? fallback);

test("turn model on memory: every call takes effect as its caller was told", async () => {
  await checkTurnModel({ name: "memory", storage: memoryStorage(), runs: runs(150) });
});

test("event-sourced model on memory: every command's events land as its caller was told", async () => {
  await checkEventModel({ name: "memory", eventStore: memoryEventStore(), runs: runs(100) });
});

test("turn model on PGlite", async () => {
  const storage = pgliteStorage({ autoCreateSchema: true });
  try {
    await checkTurnModel({ name: "pglite", storage, runs: runs(40) });
  } finally {
    await storage.close();
  }
});

test("storage model on memory: every step answers as a register with etags would", async () => {
  await checkStorageModel(memoryStorage(), runs(150));
});

test("storage model on PGlite", async () => {
  const storage = pgliteStorage({ autoCreateSchema: true });
  try {
    await checkStorageModel(storage, runs(40));
  } finally {
    await storage.close();
  }
});

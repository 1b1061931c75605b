// `npm run test:model -- --backend NAME --runs N [--seed S]`: the turn, event-sourced and
// (where the event store has a global order) projection models on one backend, with a budget
// larger than `npm test` gives them.
import process from "node:process";
import { parseArgs } from "node:util";
import { openModelBackend } from "./backends.ts";
import { checkTurnModel } from "./turn_model.ts";
import { checkEventModel } from "./event_model.ts";
import { checkProjectionModel } from "./projection_model.ts";

const { values } = parseArgs({ options: { backend: { type: "string", default: "memory" }, runs: { type: "string", default: "1000" }, seed: { type: "string" } } });
const name = values.backend!;
const runs = Number(values.runs);
const seed = values.seed === undefined ? Math.floor(Math.random() * 2 ** 31) : Number(values.seed);
console.log(`model runs on ${name}: ${runs} histories per model, seed ${seed}`);
const backend = await openModelBackend(name);
try {
  const begin = Date.now();
  await checkTurnModel({ name, storage: backend.storage, runs, seed });
  console.log(`turn model: ${runs} runs passed in ${((Date.now() - begin) / 1000).toFixed(1)} s`);
  const middle = Date.now();
  await checkEventModel({ name, eventStore: backend.eventStore, runs, seed });
  console.log(`event-sourced model: ${runs} runs passed in ${((Date.now() - middle) / 1000).toFixed(1)} s`);
  if (backend.eventStore.capabilities.readAll) {
    const last = Date.now();
    await checkProjectionModel({ label: name, eventStore: backend.eventStore, storage: backend.storage, runs, seed });
    console.log(`projection model: ${runs} runs passed in ${((Date.now() - last) / 1000).toFixed(1)} s`);
  } else {
    console.log(`projection model: skipped, the ${name} event store has no global order (readAll)`);
  }
} catch (error) {
  // fast-check's message holds the seed and the shrunk history; its cause, the broken rule.
  console.error(error instanceof Error ? `${error.message}\n\nBroken: ${(error.cause as Error | undefined)?.message ?? "(no cause)"}` : error);
  process.exitCode = 1;
} finally {
  await backend.close();
}

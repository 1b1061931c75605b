// A modest budget of the turn, event-sourced and projection models (tests/model/) on the servers `npm test`
// starts: PostgreSQL, Upstash (Redis behind the REST bridge), DynamoDB (moto) and MongoDB. Each is
// skipped, loudly and by name, when its service is not running. Larger runs:
// `npm run test:model -- --backend NAME --runs N`.
import { test } from "node:test";
import process from "node:process";
import { openModelBackend } from "../model/backends.ts";
import { checkTurnModel } from "../model/turn_model.ts";
import { checkEventModel } from "../model/event_model.ts";
import { checkProjectionModel } from "../model/projection_model.ts";

const budgets = [
  { backend: "postgres", needs: "POSTGRES_URL", runs: 100 },
  { backend: "upstash", needs: "UPSTASH_REDIS_REST_URL", runs: 50 },
  { backend: "dynamodb", needs: "DYNAMODB_ENDPOINT", runs: 30 },
  { backend: "mongodb", needs: "MONGODB_URL", runs: 30 },
];

for (const { backend, needs, runs } of budgets) {
  if (!process.env[needs]) {
    const reason = `${needs} is not set (start it with scripts/services/*.sh start)`;
    console.log(`SKIP ${backend} model: ${reason}`);
    test(`${backend} model (skipped: ${reason})`, { skip: reason }, () => {});
    continue;
  }
  test(`${backend}: turn, event-sourced and (with readAll) projection models hold over ${runs} random histories each`, async () => {
    const opened = await openModelBackend(backend);
    try {
      await checkTurnModel({ name: backend, storage: opened.storage, runs });
      await checkEventModel({ name: backend, eventStore: opened.eventStore, runs });
      // Projections need the global order; stores without it refuse readAll by name.
      if (opened.eventStore.capabilities.readAll) {
        await checkProjectionModel({ label: backend, eventStore: opened.eventStore, storage: opened.storage, runs: Math.ceil(runs / 3) });
      }
    } finally {
      await opened.close();
    }
  });
}

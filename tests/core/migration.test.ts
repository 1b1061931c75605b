import { test } from "node:test";
import assert from "node:assert/strict";
import * as v from "valibot";
import { copyStates, createActorSystem, defineActor, defineState, memoryStorage, readThroughStorage, type StateStorage } from "../../mod.ts";

const balance = defineState("balance", { schema: v.number(), initial: 0 });
const Account = defineActor("account", {
  states: { balance },
  handlers: {
    async add({ states }, cents: number) {
      states.balance.value += cents;
      await states.balance.save();
      return states.balance.value;
    },
    async close({ states }) {
      await states.balance.delete();
    },
    get: ({ states }) => states.balance.value,
  },
});

async function seed(storage: StateStorage, ids: string[]) {
  const system = createActorSystem({ storage });
  for (const [index, id] of ids.entries()) await system.actor(Account, id).add(index + 1);
  await system.shutdown();
}

test("copyStates moves every state, is safe to re-run, and never overwrites newer data", async () => {
  const from = memoryStorage();
  const to = memoryStorage();
  const ids = Array.from({ length: 12 }, (_, index) => `a${index}`);
  await seed(from, ids);
  const first = await copyStates({ from, to, actorTypes: ["account"], pageSize: 5 });
  assert.equal(first.copied, 12);
  const target = createActorSystem({ storage: to });
  assert.equal(await target.actor(Account, "a11").get(), 12);
  await target.actor(Account, "a0").add(100);
  await target.shutdown();
  const again = await copyStates({ from, to, actorTypes: ["account"] });
  assert.deepEqual([again.copied, again.alreadyCopied, again.keptNewer.map((key) => key.actorId)], [0, 11, ["a0"]]);
});

test("readThroughStorage migrates each state on first use and never resurrects deleted ones", async () => {
  const older = memoryStorage();
  const newer = memoryStorage();
  await seed(older, ["x", "y"]);
  const system = createActorSystem({ storage: readThroughStorage({ primary: newer, fallback: older }) });
  assert.equal(await system.actor(Account, "x").add(10), 11, "the old value was read through");
  assert.ok(await newer.read({ actorType: "account", actorId: "x", stateName: "balance" }), "x now lives in the new storage");
  assert.equal(await newer.read({ actorType: "account", actorId: "y", stateName: "balance" }), null, "y has not moved yet");
  await system.actor(Account, "y").close();
  await system.shutdown();
  const fresh = createActorSystem({ storage: readThroughStorage({ primary: newer, fallback: older }) });
  assert.equal(await fresh.actor(Account, "y").get(), 0, "a deleted state stays deleted");
  await fresh.shutdown();
});

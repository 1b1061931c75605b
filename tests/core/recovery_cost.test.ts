import { test } from "node:test";
import assert from "node:assert/strict";
import * as v from "valibot";
import { PGlite } from "@electric-sql/pglite";
import { createActorSystem, defineEventSourcedActor, memoryEventStore, memoryStorage, type EventStore } from "../../mod.ts";
import { pgliteEventStore, type PGliteClient } from "../../adapters/pglite/mod.ts";

const SNAPSHOT_EVERY = 10;
const EVENTS = 47;

function counter(snapshotEvery: number) {
  return defineEventSourcedActor("recovering", {
    events: v.object({ type: v.literal("Added"), by: v.number() }),
    state: v.object({ count: v.number() }),
    initial: { count: 0 },
    apply: (state, event) => ({ count: state.count + event.by }),
    snapshotEvery,
    commands: {
      async add(actor, by: number) {
        await actor.raise({ type: "Added", by });
        await actor.commit();
        return actor.state.count;
      },
      count: (actor) => actor.state.count,
    },
  });
}

// Counts the events every `read` yields; the store stays open across systems, since each test
// owns it and a system's shutdown would otherwise close it.
function countingReads(store: EventStore): { store: EventStore; eventsRead: () => number } {
  let eventsRead = 0;
  const counted = new Proxy(store, {
    get(target, property) {
      if (property === "close") return () => Promise.resolve();
      if (property === "read") {
        return async function* (...args: Parameters<EventStore["read"]>) {
          for await (const event of target.read(...args)) {
            eventsRead++;
            yield event;
          }
        };
      }
      const value = Reflect.get(target, property, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  return { store: counted, eventsRead: () => eventsRead };
}

async function eventsReadToRecover(open: () => EventStore, stream: string, snapshotEvery: number): Promise<number> {
  const actor = counter(snapshotEvery);
  const writer = createActorSystem({ storage: memoryStorage(), eventStore: countingReads(open()).store });
  for (let index = 0; index < EVENTS; index++) await writer.actor(actor, stream).add(1);
  await writer.shutdown();
  const counted = countingReads(open());
  const reader = createActorSystem({ storage: memoryStorage(), eventStore: counted.store });
  assert.equal(await reader.actor(actor, stream).count(), EVENTS);
  await reader.shutdown();
  return counted.eventsRead();
}

async function checkRecoveryBounded(open: () => EventStore): Promise<void> {
  // Without a snapshot in reach, recovery reads every event: the counter does count.
  assert.equal(await eventsReadToRecover(open, "whole", 1_000), EVENTS);
  // With one, it reads only the events after the last snapshot: fewer than the interval.
  const read = await eventsReadToRecover(open, "snapshotted", SNAPSHOT_EVERY);
  assert.ok(read < SNAPSHOT_EVERY, `recovery read ${read} events with a snapshot every ${SNAPSHOT_EVERY}`);
  assert.equal(read, EVENTS % SNAPSHOT_EVERY);
}

test("recovery reads at most the snapshot interval of events: memory", async () => {
  const store = memoryEventStore();
  await checkRecoveryBounded(() => store);
});

test("recovery reads at most the snapshot interval of events: PGlite", async () => {
  const database = new PGlite();
  const store = pgliteEventStore({ client: database as unknown as PGliteClient });
  await store.ensureSchema();
  try {
    await checkRecoveryBounded(() => store);
  } finally {
    await database.close();
  }
});

/**
 * The memory path, on one core: an actor call that mutates, validates, encodes and saves;
 * the memory storage's own conditional write with encoding; the raw floor of
 * `Map.set(structuredClone(value))`; compressed and encrypted saves; and the costs that must
 * stay flat as data grows (a `list()` page at 1k and 100k keys, an event append at 1k and
 * 100k events). Part of `npm run bench`.
 */
import * as v from "valibot";
import { createActorSystem, createCodec, defineActor, defineState, memoryEventStore, memoryStorage, type EventStore, type StateStorage } from "../../mod.ts";
import type { BenchSuite, OpenSuite } from "./_harness.ts";

const BATCH = 500;
const PAGE = 100;

const profile = defineState("profile", {
  schema: v.object({ name: v.string(), visits: v.number(), tags: v.array(v.string()) }),
  initial: { name: "ada", visits: 0, tags: ["reader", "writer"] },
});
const User = defineActor("user", {
  states: { profile },
  handlers: {
    async visit({ states }) {
      states.profile.value.visits++;
      await states.profile.save();
      return states.profile.value.visits;
    },
  },
});
const document = defineState("document", { schema: v.object({ body: v.string(), edits: v.number() }), initial: { body: "", edits: 0 } });
const Doc = defineActor("doc", {
  states: { document },
  handlers: {
    async edit({ states }, body: string) {
      states.document.value = { body, edits: states.document.value.edits + 1 };
      await states.document.save();
    },
  },
});

async function fillKeys(storage: StateStorage, count: number): Promise<void> {
  const value = new Uint8Array([1]);
  for (let index = 0; index < count; index++) {
    await storage.write({ key: { actorType: "listed", actorId: `id-${index}`, stateName: "s" }, value, etag: `e${index}`, expectedEtag: null });
  }
}

async function fillStream(store: EventStore, stream: string, count: number): Promise<void> {
  const events = Array.from({ length: 1_000 }, () => ({ type: "Filled", data: new Uint8Array([1]) }));
  for (let version = 0; version < count; version += events.length) await store.append(stream, events, version === 0 ? "no_stream" : version);
}

function listPages(storage: StateStorage, keyCount: number): () => Promise<void> {
  // Pages from a different place each time, so no page is always the first.
  let start = 0;
  return async () => {
    for (let page = 0; page < BATCH / 50; page++) {
      start = (start + 7_919) % keyCount;
      await storage.list({ actorType: "listed", limit: PAGE, cursor: `listed/id-${start}/s` });
    }
  };
}

function appends(store: EventStore, stream: string, startAt: number): () => Promise<void> {
  let version = startAt;
  const event = [{ type: "Appended", data: new Uint8Array([1]) }];
  return async () => {
    for (let index = 0; index < BATCH; index++) version = (await store.append(stream, event, version)).nextVersion;
  };
}

export const open: OpenSuite = async () => {
  const system = createActorSystem({ storage: memoryStorage() });
  const user = system.actor(User, "u1");
  const compressed = createActorSystem({ storage: memoryStorage(), codec: { compression: true } });
  const encrypted = createActorSystem({ storage: memoryStorage(), codec: { encryption: { keys: { k1: crypto.getRandomValues(new Uint8Array(32)) }, currentKeyId: "k1" } } });
  const body = JSON.stringify(Array.from({ length: 120 }, (_, index) => ({ line: index, text: `line ${index} of the document` }))).slice(0, 2_300);
  const storage = memoryStorage();
  const codec = createCodec();
  const key = { actorType: "user", actorId: "u1", stateName: "profile" };
  const value = { name: "ada", visits: 0, tags: ["reader", "writer"] };
  let etag: string | null = null;
  const raw = new Map<string, unknown>();
  const small = memoryStorage();
  const large = memoryStorage();
  await fillKeys(small, 1_000);
  await fillKeys(large, 100_000);
  const events = memoryEventStore();
  await fillStream(events, "short", 1_000);
  await fillStream(events, "long", 100_000);

  const suite: BenchSuite = {
    name: "memory",
    cases: [
      { name: "actor save", ops: BATCH, sample: async () => { for (let index = 0; index < BATCH; index++) await user.visit(); } },
      {
        name: "storage write + encode",
        ops: BATCH,
        sample: async () => {
          for (let index = 0; index < BATCH; index++) {
            value.visits++;
            const next = crypto.randomUUID();
            await storage.write({ key, value: await codec.encode(value, 1, "user/u1/profile"), etag: next, expectedEtag: etag });
            etag = next;
          }
        },
      },
      {
        name: "raw Map.set(structuredClone)",
        ops: BATCH,
        sample: async () => {
          for (let index = 0; index < BATCH; index++) {
            value.visits++;
            raw.set("user/u1/profile", structuredClone(value));
            await undefined;
          }
        },
      },
      { name: "actor save 2.3 KB", ops: 50, sample: async () => { for (let index = 0; index < 50; index++) await system.actor(Doc, "d1").edit(body + index); } },
      { name: "actor save 2.3 KB gzip", ops: 50, sample: async () => { for (let index = 0; index < 50; index++) await compressed.actor(Doc, "d1").edit(body + index); } },
      { name: "actor save 2.3 KB AES-GCM", ops: 50, sample: async () => { for (let index = 0; index < 50; index++) await encrypted.actor(Doc, "d1").edit(body + index); } },
      { name: "list page at 1k keys", ops: BATCH / 50, sample: listPages(small, 1_000) },
      { name: "list page at 100k keys", ops: BATCH / 50, sample: listPages(large, 100_000) },
      { name: "append at 1k events", ops: BATCH, sample: appends(events, "short", 1_000) },
      { name: "append at 100k events", ops: BATCH, sample: appends(events, "long", 100_000) },
    ],
    ratios: [
      { label: "memory: actor save / raw Map.set(structuredClone)", of: "actor save", to: "raw Map.set(structuredClone)" },
      { label: "memory: list page, 100k keys / 1k keys", of: "list page at 100k keys", to: "list page at 1k keys", target: "≈ 1" },
      { label: "memory: event append, 100k events / 1k events", of: "append at 100k events", to: "append at 1k events", target: "≈ 1" },
      { label: "memory: 2.3 KB save, gzip / plain", of: "actor save 2.3 KB gzip", to: "actor save 2.3 KB" },
      { label: "memory: 2.3 KB save, AES-GCM / plain", of: "actor save 2.3 KB AES-GCM", to: "actor save 2.3 KB" },
    ],
    close: async () => {
      await Promise.all([system.shutdown(), compressed.shutdown(), encrypted.shutdown()]);
    },
  };
  return suite;
};

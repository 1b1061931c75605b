// One trigger per row of the guide's troubleshooting table: each does what the row's cause
// says, the way a user would, and returns the error that comes out (or, for the ESM row,
// the text the tool prints). troubleshooting.test.ts compares them with the guide.
import * as v from "valibot";
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  createActorSystem,
  createCodec,
  defineActor,
  defineEventSourcedActor,
  defineState,
  memoryEventStore,
  memoryStorage,
} from "../../mod.ts";
import { postgresStorage } from "../../adapters/postgres/mod.ts";

/** What a trigger produced: a thrown error, or text a tool printed. */
export type Outcome = unknown;

async function thrown(action: () => unknown): Promise<unknown> {
  try {
    await action();
  } catch (error) {
    return error;
  }
  throw new Error("the trigger did not fail");
}

const counter = defineState("count", { schema: v.number(), initial: 0 });
const Counter = defineActor("counter", {
  states: { count: counter },
  handlers: {
    async add({ states }, by: number) {
      states.count.value += by;
      await states.count.save();
    },
  },
});

/** The encoded bytes of `value` as version `version` of a state wrote them. */
const encoded = (value: unknown, version = 1) => createCodec().encode(value, version, "counter/c1/count");

async function storageHolding(value: Uint8Array) {
  const storage = memoryStorage();
  await storage.write({ key: { actorType: "counter", actorId: "c1", stateName: "count" }, value, etag: crypto.randomUUID(), expectedEtag: null });
  return storage;
}

/** Keyed by the symptom, the first column of the table. */
export const triggers: Record<string, () => Promise<Outcome>> = {
  async "Conflicts on every save"() {
    const storage = memoryStorage();
    const [mine, theirs] = [createActorSystem({ storage }), createActorSystem({ storage })];
    await mine.actor(Counter, "c1").add(1);
    await theirs.actor(Counter, "c1").add(1);
    return thrown(() => mine.actor(Counter, "c1").add(1));
  },
  async "A state's storage is not found"() {
    const archive = defineState("archive", { schema: v.string(), initial: "", storage: "clod" });
    const Order = defineActor("order", { states: { archive }, handlers: {} });
    const system = createActorSystem({ storage: { default: memoryStorage(), cold: memoryStorage() } });
    return thrown(() => system.actor(Order, "o1"));
  },
  async "Calls fail after shutdown"() {
    const system = createActorSystem({ storage: memoryStorage() });
    await system.shutdown();
    return thrown(() => system.actor(Counter, "c1").add(1));
  },
  async "A write is refused"() {
    const balance = defineState("balance", { schema: v.object({ cents: v.pipe(v.number(), v.minValue(0, "Insufficient funds")) }), initial: { cents: 0 } });
    const Account = defineActor("account", {
      states: { balance },
      handlers: {
        async withdraw({ states }, cents: number) {
          states.balance.value = { cents: states.balance.value.cents - cents };
          await states.balance.save();
        },
      },
    });
    return thrown(() => createActorSystem({ storage: memoryStorage() }).actor(Account, "a1").withdraw(5));
  },
  async "Old data no longer fits the schema"() {
    // Version 1 of the app stored a string; the schema now wants a number, with no upcaster.
    const storage = await storageHolding(await encoded("seven"));
    return thrown(() => createActorSystem({ storage }).actor(Counter, "c1").add(1));
  },
  async "Data written by a newer deploy"() {
    // Written by version 3 of the state, read by an app that knows version 1 only.
    const storage = await storageHolding(await encoded(7, 3));
    return thrown(() => createActorSystem({ storage }).actor(Counter, "c1").add(1));
  },
  async "Reads fail after a key rotation"() {
    const k1 = crypto.getRandomValues(new Uint8Array(32));
    const k2 = crypto.getRandomValues(new Uint8Array(32));
    const before = await createCodec({ encryption: { keys: { k1 }, currentKeyId: "k1" } }).encode(7, 1, "counter/c1/count");
    const storage = await storageHolding(before);
    // Rotated to k2, and k1 dropped too early.
    const system = createActorSystem({ storage, codec: { encryption: { keys: { k2 }, currentKeyId: "k2" } } });
    return thrown(() => system.actor(Counter, "c1").add(1));
  },
  async "A large value is refused on read"() {
    const large = await createCodec({ limits: { maxBytes: 64 * 1024 * 1024 } }).encode("x".repeat(17 * 1024 * 1024), 1, "counter/c1/count");
    return thrown(() => createCodec().decode(large, "counter/c1/count"));
  },
  async "A value cannot be stored"() {
    const settings = defineState("settings", { schema: v.object({ theme: v.string(), onChange: v.optional(v.any()) }), initial: { theme: "dark" } });
    const User = defineActor("user", {
      states: { settings },
      handlers: {
        async watch({ states }) {
          states.settings.value = { ...states.settings.value, onChange: () => {} };
          await states.settings.save();
        },
      },
    });
    return thrown(() => createActorSystem({ storage: memoryStorage() }).actor(User, "u1").watch());
  },
  async "States on two storages cannot be saved together"() {
    const from = defineState("from", { schema: v.number(), initial: 100 });
    const to = defineState("to", { schema: v.number(), initial: 0, storage: "other" });
    const Transfer = defineActor("transfer", {
      states: { from, to },
      handlers: {
        async move({ states, saveStates }) {
          states.from.value -= 1;
          states.to.value += 1;
          await saveStates(["from", "to"]);
        },
      },
    });
    const system = createActorSystem({ storage: { default: memoryStorage(), other: memoryStorage() } });
    return thrown(() => system.actor(Transfer, "t1").move());
  },
  async "An actor fails to activate"() {
    const Greeter = defineActor("greeter", {
      states: {},
      onActivate: () => {
        throw new Error("the greeting service is down");
      },
      handlers: { hello: () => "hello" },
    });
    return thrown(() => createActorSystem({ storage: memoryStorage() }).actor(Greeter, "g1").hello());
  },
  async "The backend is down"() {
    // Port 9 (discard) on this machine: nothing listens, so the connection is refused.
    const storage = postgresStorage({ url: "postgres://quark@127.0.0.1:9/quark" });
    try {
      return await thrown(() => storage.read({ actorType: "counter", actorId: "c1", stateName: "count" }));
    } finally {
      await storage.close();
    }
  },
  async "A turn fails half-way"() {
    const debit = defineState("debit", { schema: v.number(), initial: 0 });
    const credit = defineState("credit", { schema: v.number(), initial: 0 });
    const Transfer = defineActor("transfer", {
      states: { debit, credit },
      handlers: {
        async move({ states }) {
          states.debit.value += 1;
          states.credit.value += 1;
          await states.debit.save();
          await states.credit.save();
        },
        async credit({ states }) {
          states.credit.value += 1;
          await states.credit.save();
        },
      },
    });
    const storage = memoryStorage();
    const [mine, theirs] = [createActorSystem({ storage }), createActorSystem({ storage })];
    await mine.actor(Transfer, "t1").move();
    await theirs.actor(Transfer, "t1").credit();
    return thrown(() => mine.actor(Transfer, "t1").move());
  },
  async "Events are lost"() {
    const Tally = defineEventSourcedActor("tally", {
      events: v.object({ type: v.literal("Counted") }),
      state: v.number(),
      initial: 0,
      apply: (count) => count + 1,
      commands: {
        async count(tally) {
          await tally.raise({ type: "Counted" });
        },
      },
    });
    const system = createActorSystem({ storage: memoryStorage(), eventStore: memoryEventStore() });
    return thrown(() => system.actor(Tally, "t1").count());
  },
  async "An id is refused"() {
    return thrown(() => createActorSystem({ storage: memoryStorage() }).actor(Counter, "c\u00001").add(1));
  },
  async "A CommonJS project fails to start"() {
    // A folder as `npm init -y` leaves it: "type": "commonjs", and a script with top-level await.
    const folder = mkdtempSync(join(tmpdir(), "quark-cjs-"));
    writeFileSync(join(folder, "package.json"), JSON.stringify({ name: "app", type: "commonjs" }));
    writeFileSync(join(folder, "main.ts"), "await Promise.resolve();\nexport {};\n");
    const result = spawnSync(process.execPath, ["--import", import.meta.resolve("tsx"), "main.ts"], { cwd: folder, encoding: "utf8" });
    return result.stderr;
  },
};

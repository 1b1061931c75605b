// The core on its own: a stateful actor with valibot state, validation, conflicts with the
// retry policy, and the codec pipeline (structured values, AES-GCM, gzip where the runtime
// has CompressionStream).
import * as v from "valibot";
import {
  createActorSystem,
  createCodec,
  defineActor,
  defineEventSourcedActor,
  defineState,
  isQuarkError,
  memoryEventStore,
  memoryStorage,
} from "../../../mod.ts";
import type { RuntimeSuite } from "../protocol.ts";

function check(condition: unknown, message: string): asserts condition {
  if (!condition) throw new Error(message);
}

const balance = defineState("balance", {
  schema: v.object({ cents: v.pipe(v.number(), v.integer(), v.minValue(0)) }),
  initial: { cents: 0 },
});
const opened = defineState("opened", { schema: v.nullable(v.date()), initial: null });

const Account = defineActor("account", {
  states: { balance },
  handlers: {
    async deposit({ states }, cents: number) {
      states.balance.value = { cents: states.balance.value.cents + cents };
      await states.balance.save();
      return states.balance.value.cents;
    },
    read({ states }) {
      return states.balance.value;
    },
  },
});

const Ledger = defineActor("ledger", {
  states: { opened },
  handlers: {
    async open({ states }, at: Date) {
      states.opened.value = at;
      await states.opened.save();
    },
    read({ states }) {
      return states.opened.value;
    },
  },
});

const Wallet = defineEventSourcedActor("wallet", {
  events: v.variant("type", [
    v.object({ type: v.literal("Deposited"), cents: v.number() }),
    v.object({ type: v.literal("Withdrawn"), cents: v.number() }),
  ]),
  state: v.object({ balance: v.number() }),
  initial: { balance: 0 },
  apply: (current, event) => ({ balance: current.balance + (event.type === "Deposited" ? event.cents : -event.cents) }),
  commands: {
    async deposit(wallet, cents: number) {
      await wallet.raise({ type: "Deposited", cents });
      await wallet.commit();
      return wallet.version;
    },
    balance: (wallet) => wallet.state.balance,
  },
});

const suite: RuntimeSuite = {
  name: "core",
  register(test, _env, skip) {
    test("core: a stateful actor saves, deactivates and reloads its state", async () => {
      const storage = memoryStorage();
      const first = createActorSystem({ storage });
      check(await first.actor(Account, "alice").deposit(500) === 500, "first deposit");
      check(await first.actor(Account, "alice").deposit(250) === 750, "second deposit");
      await first.shutdown();
      const second = createActorSystem({ storage });
      const value = await second.actor(Account, "alice").read();
      check(value.cents === 750, `reloaded balance ${value.cents}`);
      await second.shutdown();
    });

    const dates = "core: a Date-valued state validates, saves and reloads as a Date";
    if (!(structuredClone(new Date(0)) instanceof Date)) {
      // edge-runtime runs code in a Node vm context whose structuredClone returns objects of
      // the host realm, so `instanceof Date` (valibot's v.date()) fails on cloned drafts.
      skip(dates, "structuredClone here returns Dates of another realm (an edge-runtime emulator bug), so v.date() rejects cloned drafts");
    } else {
      test(dates, async () => {
        const storage = memoryStorage();
        const first = createActorSystem({ storage });
        await first.actor(Ledger, "l1").open(new Date(86_400_000));
        await first.shutdown();
        const second = createActorSystem({ storage });
        const at = await second.actor(Ledger, "l1").read();
        check(at instanceof Date && at.getTime() === 86_400_000, `reloaded ${String(at)}`);
        await second.shutdown();
      });
    }

    test("core: an event-sourced actor commits events and recovers them in a new system", async () => {
      const storage = memoryStorage();
      const eventStore = memoryEventStore();
      const first = createActorSystem({ storage, eventStore });
      await first.actor(Wallet, "w1").deposit(100);
      check(await first.actor(Wallet, "w1").deposit(50) === 2, "stream version after two deposits");
      await first.shutdown();
      const second = createActorSystem({ storage, eventStore });
      const balance = await second.actor(Wallet, "w1").balance();
      check(balance === 150, `recovered balance ${balance}`);
      await second.shutdown();
    });

    test("core: an invalid value is refused and nothing is stored", async () => {
      const system = createActorSystem({ storage: memoryStorage() });
      try {
        await system.actor(Account, "bob").deposit(-5);
        throw new Error("a negative balance was saved");
      } catch (error) {
        check(isQuarkError(error, "STATE_VALIDATION"), `expected STATE_VALIDATION, got ${String(error)}`);
      }
      check((await system.actor(Account, "bob").read()).cents === 0, "draft rolled back");
      await system.shutdown();
    });

    test("core: two systems racing on one storage converge with the retry policy", async () => {
      const storage = memoryStorage();
      const systems = [createActorSystem({ storage }), createActorSystem({ storage })];
      await Promise.all(systems.flatMap((system) =>
        Array.from({ length: 20 }, () => system.actor(Account, "shared", { conflict: "retry" }).deposit(1))));
      await Promise.all(systems.map((system) => system.shutdown()));
      const fresh = createActorSystem({ storage });
      const { cents } = await fresh.actor(Account, "shared").read();
      check(cents === 40, `expected 40 after the race, got ${cents}`);
      await fresh.shutdown();
    });

    test("core: the codec round-trips structured values through AES-GCM", async () => {
      const key = crypto.getRandomValues(new Uint8Array(32));
      const codec = createCodec({ encryption: { keys: { k1: key }, currentKeyId: "k1" } });
      const value = { when: new Date(86_400_000), tags: new Set(["a"]), map: new Map([[1, "x"]]), big: 2n ** 70n, bytes: Uint8Array.of(0, 255), gone: undefined };
      const decoded = (await codec.decode(await codec.encode(value, 3, "ctx"), "ctx")) as { value: typeof value; schemaVersion: number };
      check(decoded.schemaVersion === 3, "schema version");
      check(decoded.value.when.getTime() === 86_400_000, "Date");
      check(decoded.value.tags.has("a") && decoded.value.map.get(1) === "x", "Set and Map");
      check(decoded.value.big === 2n ** 70n, "BigInt");
      check(decoded.value.bytes[1] === 255 && "gone" in decoded.value, "Uint8Array and undefined");
      try {
        await codec.decode(await codec.encode(value, 3, "ctx"), "other");
        throw new Error("bytes decrypted under another context");
      } catch (error) {
        check(isQuarkError(error), `expected a library error, got ${String(error)}`);
      }
    });

    test("core: the observer reports storage calls, turns and a retried conflict; a throwing one changes nothing", async () => {
      const storage = memoryStorage();
      const seen: string[] = [];
      const observed = createActorSystem({
        storage,
        observer: {
          storageOperation: (event) => seen.push(`${event.operation}:${event.outcome}`),
          actor: (event) => seen.push(event.kind),
          write: (event) => seen.push(`${event.kind}:${event.kind === "conflict" ? event.resolution : ""}`),
        },
      });
      const other = createActorSystem({ storage, observer: { actor: () => { throw new Error("observer bug"); } } });
      await observed.actor(Account, "obs").deposit(1);
      await other.actor(Account, "obs").deposit(1);
      check(await observed.actor(Account, "obs", { conflict: "retry" }).deposit(1) === 3, "the retried turn saw the other deposit");
      await Promise.all([observed.shutdown(), other.shutdown()]);
      const expected = "read:ok,activation,write:ok,turn,write:error,conflict:retried,turn,retry,read:ok,write:ok,turn,deactivation";
      check(seen.join() === expected, `observed ${seen.join()}`);
    });

    const compression = "core: gzip compression shrinks large values and reads them back";
    if (typeof CompressionStream !== "function") {
      skip(compression, "this runtime has no CompressionStream; use the codec without compression here");
    } else {
      test(compression, async () => {
        const codec = createCodec({ compression: true });
        const value = "quark ".repeat(5000);
        const bytes = await codec.encode(value, 1, "ctx");
        check(bytes.length < 1000, `compressed size ${bytes.length}`);
        check((await codec.decode(bytes, "ctx")).value === value, "decompressed value");
      });
    }
  },
};

export default suite;

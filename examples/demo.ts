// The banking demo: account actors with validated state, concurrent callers, an overdraft
// refused by the schema, a conflict between two "servers" resolved by a policy, and an
// event-sourced ledger recovered from its snapshot. Everything lives in an embedded PGlite
// database under .demo-data/, so a second run starts from the first run's balances.
import { mkdirSync } from "node:fs";
import * as v from "valibot";
import {
  createActorSystem,
  defineActor,
  defineEventSourcedActor,
  defineState,
  isQuarkError,
  type ConflictPolicy,
  type StateStorage,
} from "../mod.ts";
import { pgliteEventStore, pgliteStorage } from "../adapters/pglite/mod.ts";
import { printTable } from "./print_table.ts";

const dataDir = new URL("../.demo-data/quark", import.meta.url).pathname;
// PGlite creates the database folder but not its parents.
mkdirSync(new URL("../.demo-data", import.meta.url), { recursive: true });

const balance = defineState("balance", {
  schema: v.object({ cents: v.pipe(v.number(), v.integer(), v.minValue(0, "Balance cannot go below zero")) }),
  initial: { cents: 0 },
});

function accountActor(conflict: ConflictPolicy<unknown>) {
  return defineActor("account", {
    states: { balance },
    conflict,
    handlers: {
      async deposit({ states }, cents: number) {
        states.balance.value = { cents: states.balance.value.cents + cents };
        await states.balance.save();
        return states.balance.value.cents;
      },
      async withdraw({ states }, cents: number) {
        states.balance.value = { cents: states.balance.value.cents - cents };
        await states.balance.save();
        return states.balance.value.cents;
      },
      balance: ({ states }) => states.balance.value.cents,
    },
  });
}

const Ledger = defineEventSourcedActor("ledger", {
  events: v.variant("type", [
    v.object({ type: v.literal("Credited"), cents: v.number(), memo: v.string() }),
    v.object({ type: v.literal("Debited"), cents: v.number(), memo: v.string() }),
  ]),
  state: v.object({ balance: v.number(), entries: v.number() }),
  initial: { balance: 0, entries: 0 },
  snapshotEvery: 5,
  apply: (state, event) => ({
    balance: state.balance + (event.type === "Credited" ? event.cents : -event.cents),
    entries: state.entries + 1,
  }),
  commands: {
    async post(ledger, type: "Credited" | "Debited", cents: number, memo: string) {
      await ledger.raise({ type, cents, memo });
      await ledger.commit();
    },
    summary: (ledger) => ({ ...ledger.state, version: ledger.version }),
  },
});

const euros = (cents: number) => `€${(cents / 100).toFixed(2)}`;
const people = ["alice", "bob", "carol"];

async function balancesOf(storage: StateStorage): Promise<number[]> {
  const system = createActorSystem({ storage });
  const Account = accountActor("abort");
  const result = await Promise.all(people.map((person) => system.actor(Account, person).balance()));
  await system.shutdown();
  return result;
}

const storage = pgliteStorage({ dataDir, autoCreateSchema: true });
const eventStore = pgliteEventStore({ dataDir, autoCreateSchema: true });

console.log(`Quark persistence demo: embedded PGlite at ${dataDir}\n`);
const before = await balancesOf(storage);
const firstRun = before.every((cents) => cents === 0);
console.log(firstRun ? "First run: every account starts empty." : "Balances kept from the previous run:");
if (!firstRun) printTable(people.map((person, index) => ({ account: person, balance: euros(before[index]!) })));

// 1. Concurrent callers: 30 deposits at once; each account's mailbox runs them one by one.
const system = createActorSystem({ storage, eventStore });
const Account = accountActor("abort");
const deposits = Array.from({ length: 30 }, (_, index) => ({ person: people[index % 3]!, cents: 100 * (index + 1) }));
await Promise.all(deposits.map(({ person, cents }) => system.actor(Account, person).deposit(cents)));
const afterDeposits = await Promise.all(people.map((person) => system.actor(Account, person).balance()));
console.log("\n1. Thirty concurrent deposits, one turn at a time per account:");
printTable(people.map((person, index) => ({
  account: person,
  deposited: euros(deposits.filter((deposit) => deposit.person === person).reduce((sum, deposit) => sum + deposit.cents, 0)),
  balance: euros(afterDeposits[index]!),
})));

// 2. An overdraft is refused by the schema before anything reaches storage.
console.log("\n2. Bob tries to withdraw more than he has:");
try {
  await system.actor(Account, "bob").withdraw(afterDeposits[1]! + 1);
} catch (error) {
  if (!isQuarkError(error, "STATE_VALIDATION")) throw error;
  printTable([{ request: `withdraw ${euros(afterDeposits[1]! + 1)}`, outcome: `refused: ${error.message}`, balance: euros(await system.actor(Account, "bob").balance()) }]);
}

// 3. Two servers hold carol in memory; the second writes with a stale etag.
console.log("\n3. Two servers update carol at once:");
const serverA = createActorSystem({ storage });
const serverB = createActorSystem({ storage });
const abortingAccount = accountActor("abort");
const retryingAccount = accountActor("retry");
await serverA.actor(abortingAccount, "carol").balance();
await serverB.actor(retryingAccount, "carol").balance();
await system.actor(Account, "carol").deposit(500);
const rows: Record<string, string>[] = [];
try {
  await serverA.actor(abortingAccount, "carol").deposit(1000);
} catch (error) {
  if (!isQuarkError(error, "STATE_CONFLICT")) throw error;
  rows.push({ server: "A", policy: "abort", outcome: "StateConflictError: nothing written" });
}
const afterRetry = await serverB.actor(retryingAccount, "carol").deposit(1000);
rows.push({ server: "B", policy: "retry", outcome: `reloaded and re-ran the turn: ${euros(afterRetry)}` });
printTable(rows);
await Promise.all([serverA.shutdown(), serverB.shutdown()]);

// 4. An event-sourced ledger: snapshots every 5 events, recovery from snapshot plus tail.
console.log("\n4. Carol's ledger, event-sourced with a snapshot every 5 events:");
for (let index = 1; index <= 7; index++) {
  await system.actor(Ledger, "carol").post(index % 3 === 0 ? "Debited" : "Credited", index * 100, `entry ${index}`);
}
const live = await system.actor(Ledger, "carol").summary();
await system.shutdown();
const snapshot = await eventStore.loadSnapshot("ledger/carol");
const restarted = createActorSystem({ storage, eventStore });
const recovered = await restarted.actor(Ledger, "carol").summary();
await restarted.shutdown();
printTable([
  { view: "live actor", entries: String(live.entries), version: String(live.version), balance: euros(live.balance) },
  { view: `recovered (snapshot at v${snapshot?.version ?? 0} + tail)`, entries: String(recovered.entries), version: String(recovered.version), balance: euros(recovered.balance) },
]);
if (JSON.stringify(live) !== JSON.stringify(recovered)) throw new Error("Recovery differs from the live state");

const after = await balancesOf(storage);
console.log("\nFinal balances (run the demo again: they will still be here):");
printTable(people.map((person, index) => ({ account: person, before: euros(before[index]!), after: euros(after[index]!) })));
await Promise.all([storage.close(), eventStore.close()]);

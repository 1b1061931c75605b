// An event-sourced ledger and a read model of its balances, for the recipes that show a
// projection served over HTTP. The ledger's events are described once and shared by the
// actor (which writes them) and the projection (which reads them).
import * as v from "valibot";
import { defineEventSourcedActor, defineProjection } from "../../mod.ts";

export const ledgerEvents = {
  actorType: "ledger",
  events: v.object({ type: v.literal("Deposited"), cents: v.pipe(v.number(), v.integer(), v.minValue(1)) }),
} as const;

export const Ledger = defineEventSourcedActor(ledgerEvents.actorType, {
  events: ledgerEvents.events,
  state: v.object({ balance: v.number() }),
  initial: { balance: 0 },
  apply: (state, event) => ({ balance: state.balance + event.cents }),
  conflict: "retry",
  commands: {
    async deposit(ledger, cents: number) {
      await ledger.raise({ type: "Deposited", cents });
      await ledger.commit();
      return ledger.state.balance;
    },
  },
});

/** One document per ledger: what the read side serves, without activating any actor. */
export const Balances = defineProjection("balances", {
  from: [ledgerEvents],
  state: v.object({ cents: v.number(), deposits: v.number() }),
  initial: { cents: 0, deposits: 0 },
  key: (_event, info) => info.actorId,
  apply: (balance, event) => ({ cents: balance.cents + event.cents, deposits: balance.deposits + 1 }),
});

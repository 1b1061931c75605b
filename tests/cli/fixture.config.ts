// The config the CLI tests hand to `quark --config`: PGlite in a folder, or postgres with
// tables of the test's own, chosen by environment variables the test sets per subprocess.
import * as v from "valibot";
import { defineActor, defineState, type EventStore, type StateStorage } from "../../mod.ts";
import type { QuarkConfig } from "../../cli/mod.ts";
import { pgliteEventStore, pgliteStorage } from "../../adapters/pglite/mod.ts";
import { postgresEventStore, postgresStorage } from "../../adapters/postgres/mod.ts";

export const codec = { encryption: { keys: { k1: new Uint8Array(32).fill(3) }, currentKeyId: "k1" } };

export const balance = defineState("balance", {
  schema: v.object({ cents: v.number(), currency: v.string() }),
  initial: { cents: 0, currency: "EUR" },
  version: 2,
  migrate: { 1: (old: { cents: number }) => ({ ...old, currency: "EUR" }) },
});
export const Account = defineActor("account", { states: { balance }, handlers: {} });
export const ledgerEvents = {
  actorType: "ledger",
  events: v.object({ type: v.literal("Deposited"), cents: v.number() }),
  state: v.object({ balance: v.number() }),
};

export function streamNames(count: number): string[] {
  return Array.from({ length: count }, (_, index) => `ledger/l${index}`);
}

/**
 * Opens the stores a location names: `postgres:SUFFIX` is postgres at POSTGRES_URL with tables
 * ending in SUFFIX, anything else a PGlite data folder. The seeding code uses it too.
 */
export function openStores(location: string): { storage: StateStorage; eventStore: EventStore } {
  if (location.startsWith("postgres:")) {
    const suffix = location.slice("postgres:".length);
    const tables = { stateTable: `cli_state_${suffix}`, eventsTable: `cli_events_${suffix}`, snapshotsTable: `cli_snapshots_${suffix}` };
    return {
      storage: postgresStorage({ url: process.env.POSTGRES_URL!, autoCreateSchema: true, ...tables }),
      eventStore: postgresEventStore({ url: process.env.POSTGRES_URL!, autoCreateSchema: true, ...tables }),
    };
  }
  return { storage: pgliteStorage({ dataDir: location, autoCreateSchema: true }), eventStore: pgliteEventStore({ dataDir: location, autoCreateSchema: true }) };
}

/** The config of the stores at `location`. */
export function configAt(location: string | undefined): QuarkConfig {
  if (!location) throw new Error("set QUARK_CLI_SOURCE (and QUARK_CLI_TARGET for a target config)");
  const { storage, eventStore } = openStores(location);
  return {
    storages: { default: storage },
    eventStore,
    codec,
    definitions: [Account, ledgerEvents],
    // "discover" leaves the list out, so the CLI finds the streams through readAll.
    ...(process.env.QUARK_CLI_STREAMS === "discover" ? {} : { streams: streamNames(Number(process.env.QUARK_CLI_STREAMS ?? 0)) }),
  };
}

export default (): QuarkConfig => configAt(process.env.QUARK_CLI_SOURCE);

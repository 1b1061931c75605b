/**
 * The `peers` suite of `npm run bench`: our PostgreSQL state writes next to two popular
 * key-value libraries on the same server, in one run:
 *
 * - **Keyv** with `@keyv/postgres` (`set`, through its own `pg.Pool`);
 * - **unstorage** with its `db0` driver on db0's `postgresql` connector (`setItemRaw`, bytes
 *   into a `bytea` column, through the one `pg.Client` that connector opens).
 *
 * Both peers write blindly (an upsert, no etag check, no revision), so each ratio says which
 * of our writes it compares with: our conditional write (what an actor's save sends) or our
 * last-write-wins write, the closest thing we have to a blind one. unstorage is left out of
 * the 16-caller case: its connector holds one connection, so its callers queue by design.
 *
 * Every side connects through its own counting TCP relay (`_relayed_postgres.ts`). Tables are
 * named per run and dropped.
 */
import { readFileSync } from "node:fs";
import postgres from "postgres";
import Keyv from "keyv";
import KeyvPostgres from "@keyv/postgres";
import { createStorage } from "unstorage";
import db0Driver from "unstorage/drivers/db0";
import { createDatabase } from "db0";
import postgresqlConnector from "db0/connectors/postgresql";
import { postgresStorage, type PostgresJsClient } from "../../adapters/postgres/mod.ts";
import { createActorSystem, type StateKey } from "../../mod.ts";
import { BenchNote, concurrently, type BenchSuite, type OpenSuite } from "./_harness.ts";
import { relayed, roundTripsPer } from "./_relayed_postgres.ts";

const CALLERS = 16;
const PER_CALLER = 4;
const VALUE_BYTES = 64;

/** The version of an installed package, read from its package.json. */
function installed(name: string): string {
  return JSON.parse(readFileSync(new URL(`../../node_modules/${name}/package.json`, import.meta.url), "utf8")).version;
}

export const open: OpenSuite = async (env) => {
  if (!env.POSTGRES_URL) return "POSTGRES_URL is not set (start it with scripts/services/postgres.sh start)";
  const run = crypto.randomUUID().slice(0, 8);
  const tables = { ours: `bench_peers_${run}`, keyv: `bench_keyv_${run}`, unstorage: `bench_unstorage_${run}` };
  const [oursRelay, keyvRelay, unstorageRelay] = await Promise.all([relayed(env.POSTGRES_URL), relayed(env.POSTGRES_URL), relayed(env.POSTGRES_URL)]);

  const sql = postgres(oursRelay.url, { max: CALLERS, onnotice: () => {} });
  const storage = postgresStorage({ client: sql as unknown as PostgresJsClient, stateTable: tables.ours });
  await storage.ensureSchema();
  const keyvStore = new KeyvPostgres({ uri: keyvRelay.url, table: tables.keyv, max: CALLERS });
  const keyv = new Keyv({ store: keyvStore });
  const database = createDatabase(postgresqlConnector({ url: unstorageRelay.url }));
  const unstorage = createStorage({ driver: db0Driver({ database, tableName: tables.unstorage }) });

  const value = crypto.getRandomValues(new Uint8Array(VALUE_BYTES));
  // Keyv stores text: the same bytes as base64.
  const valueText = Buffer.from(value).toString("base64");

  function conditionalChain() {
    const key: StateKey = { actorType: "bench", actorId: crypto.randomUUID(), stateName: "s" };
    let etag: string | null = null;
    return async () => {
      etag = (await storage.write({ key, value, etag: crypto.randomUUID(), expectedEtag: etag })).etag;
    };
  }
  const blindKey: StateKey = { actorType: "bench", actorId: crypto.randomUUID(), stateName: "s" };
  const oursBlind = async () => void await storage.write({ key: blindKey, value, etag: crypto.randomUUID(), lastWriteWins: true });
  const keyvSet = (key: string) => async () => {
    if (!await keyv.set(key, valueText)) throw new Error("Keyv refused a set");
  };
  const unstorageSet = async () => unstorage.setItemRaw(`bench:${run}`, value);

  const oursConditional = conditionalChain();
  const oursCallers = Array.from({ length: CALLERS }, conditionalChain);
  const keyvOne = keyvSet(`bench-${run}`);
  const keyvCallers = Array.from({ length: CALLERS }, (_, caller) => keyvSet(`bench-${run}-${caller}`));
  const system = createActorSystem({ storage });
  const one = system.actor(BenchNote, crypto.randomUUID());
  const many = Array.from({ length: CALLERS }, () => system.actor(BenchNote, crypto.randomUUID()));
  // First writes create the rows (and unstorage's table), so every timed write is an update.
  await Promise.all([oursConditional(), oursBlind(), keyvOne(), unstorageSet(), one.bump(), ...oursCallers.map((write) => write()), ...keyvCallers.map((set) => set()), ...many.map((actor) => actor.bump())]);
  const stored = await unstorage.getItemRaw(`bench:${run}`) as Uint8Array | null;
  if (!stored || Buffer.compare(Buffer.from(stored), Buffer.from(value)) !== 0) throw new Error("unstorage did not keep the bytes it was given");

  const blind = "a blind write: upsert, no etag check";
  const suite: BenchSuite = {
    name: "peers",
    cases: [
      { name: "our conditional write", ops: 1, sample: oursConditional },
      { name: "our last-write-wins write", ops: 1, sample: oursBlind },
      { name: "actor save", ops: 1, sample: () => one.bump() },
      { name: "Keyv set", ops: 1, sample: keyvOne },
      { name: "unstorage setItemRaw (db0 postgresql)", ops: 1, sample: unstorageSet },
      { name: `our conditional write, ${CALLERS} callers`, ops: CALLERS * PER_CALLER, sample: () => concurrently(CALLERS, PER_CALLER, (caller) => oursCallers[caller]!()) },
      { name: `actor save, ${CALLERS} callers`, ops: CALLERS * PER_CALLER, sample: () => concurrently(CALLERS, PER_CALLER, (caller) => many[caller]!.bump()) },
      { name: `Keyv set, ${CALLERS} callers`, ops: CALLERS * PER_CALLER, sample: () => concurrently(CALLERS, PER_CALLER, (caller) => keyvCallers[caller]!()) },
    ],
    ratios: [
      { label: `peers: our conditional write / Keyv set (${blind})`, of: "our conditional write", to: "Keyv set" },
      { label: "peers: our last-write-wins write / Keyv set (both blind)", of: "our last-write-wins write", to: "Keyv set" },
      { label: `peers: actor save / Keyv set (${blind})`, of: "actor save", to: "Keyv set" },
      { label: `peers: ${CALLERS} callers, actor save / Keyv set (time per op)`, of: `actor save, ${CALLERS} callers`, to: `Keyv set, ${CALLERS} callers` },
      { label: `peers: ${CALLERS} callers, our conditional write / Keyv set (time per op)`, of: `our conditional write, ${CALLERS} callers`, to: `Keyv set, ${CALLERS} callers` },
      { label: `peers: our conditional write / unstorage setItemRaw (${blind})`, of: "our conditional write", to: "unstorage setItemRaw (db0 postgresql)" },
      { label: "peers: our last-write-wins write / unstorage setItemRaw (both blind)", of: "our last-write-wins write", to: "unstorage setItemRaw (db0 postgresql)" },
    ],
    facts: async () => ({
      "TCP round trips per conditional write, ours": await roundTripsPer(oursRelay.roundTrips, 20, oursConditional),
      "TCP round trips per Keyv set": await roundTripsPer(keyvRelay.roundTrips, 20, keyvOne),
      "TCP round trips per unstorage setItemRaw": await roundTripsPer(unstorageRelay.roundTrips, 20, unstorageSet),
      "peers' versions": `keyv ${installed("keyv")} with @keyv/postgres ${installed("@keyv/postgres")} (pg.Pool); unstorage ${installed("unstorage")} with db0 ${installed("db0")} (postgresql connector, one pg.Client)`,
    }),
    close: async () => {
      await system.shutdown();
      await storage.close();
      await sql.unsafe(`DROP TABLE IF EXISTS "${tables.ours}", "${tables.keyv}", "${tables.unstorage}"`);
      await sql.end({ timeout: 1 });
      await keyv.disconnect();
      await database.dispose();
      for (const relay of [oursRelay, keyvRelay, unstorageRelay]) relay.close();
    },
  };
  return suite;
};

/**
 * The Cassandra suite of `npm run bench`, on the node at `CASSANDRA_CONTACT_POINTS`, in a
 * keyspace of its own that `close` drops:
 *
 * - the adapter's conditional write next to the raw driver sending the very LWT it builds
 *   (`USING TTL`, the etag and the revision in the condition), with the same options;
 * - the plain `UPDATE … IF etag = ?` a hand-written client would send, as the floor;
 * - the cases every backend shares (`_backend_suite.ts`);
 * - round trips counted by a TCP relay every driver connection goes through: per update,
 *   and per create-only write (the list-index row, then the LWT), per update whose revision
 *   the adapter no longer remembers (a serial read, then the LWT) and per refused update;
 * - contention: 16 clients (each its own driver connection, as separate processes would be,
 *   straight to the node) appending with `"any"` to one stream, under the current retry
 *   policy and under version 0.1's (10 ms doubling to 1 s, up to 100 attempts), which
 *   `docs/backends/cassandra.md` compares.
 */
import cassandra from "cassandra-driver";
import { cassandraEventStore, cassandraStorage, type CassandraClient, type CassandraEventStoreOptions } from "../../adapters/cassandra/mod.ts";
import { isQuarkError, type StateKey } from "../../mod.ts";
import type { BenchCase, OpenSuite } from "./_harness.ts";
import { backendSuite, type RawWrite } from "./_backend_suite.ts";
import { countingRelay } from "./_relay.ts";

// What the adapter sends an LWT with, by default (see adapters/cassandra/_driver.ts).
const LWT = {
  prepare: true,
  consistency: cassandra.types.consistencies.localQuorum,
  serialConsistency: cassandra.types.consistencies.serial,
  isIdempotent: false,
};

const APPENDERS = 16;
const APPENDS_EACH = 4;
const POLICY_0_1: Partial<CassandraEventStoreOptions> = { lwtBackoffMs: 10, lwtMaxBackoffMs: 1000, maxAnyAppendAttempts: 100 };

// Each policy's appenders race to append to one fresh stream per sample. An append that
// gives up is counted, not thrown, so one unlucky sample does not end the run.
async function contention(contactPoint: string, localDataCenter: string, keyspace: string) {
  const clients = await Promise.all(Array.from({ length: APPENDERS }, async () => {
    const own = new cassandra.Client({ contactPoints: [contactPoint], localDataCenter });
    await own.connect();
    return own;
  }));
  const gaveUp: Record<string, number> = {};
  const race = (policy: string, options: Partial<CassandraEventStoreOptions>): BenchCase => {
    const stores = clients.map((own) => cassandraEventStore({ client: own as unknown as CassandraClient, keyspace, ...options }));
    gaveUp[policy] = 0;
    return {
      name: `contended "any" append, ${policy}`,
      ops: APPENDERS * APPENDS_EACH,
      sample: async () => {
        const stream = `contend-${crypto.randomUUID()}`;
        await Promise.all(stores.map(async (store, appender) => {
          for (let round = 0; round < APPENDS_EACH; round++) {
            await store.append(stream, [{ type: "E", data: Uint8Array.of(appender, round) }], "any").catch((error) => {
              if (!isQuarkError(error) || error.code !== "CONTENTION") throw error;
              gaveUp[policy]!++;
            });
          }
        }));
      },
    };
  };
  const cases = [race("current policy", {}), race("0.1 policy", POLICY_0_1)];
  return { cases, gaveUp, close: () => Promise.all(clients.map((own) => own.shutdown())) };
}

// The driver learns the node's own address from the node and would connect there directly;
// translating every address back to the relay keeps all its connections counted. The
// typings declare AddressTranslator as an interface; the driver wants an instance of its class.
function toRelay(port: number) {
  const Translator = (cassandra.policies.addressResolution as unknown as { AddressTranslator: new () => Record<string, unknown> }).AddressTranslator;
  const translator = new Translator();
  translator.translate = (_address: string, _port: number, callback: (endpoint: string) => void) => callback(`127.0.0.1:${port}`);
  return translator as never;
}

export const open: OpenSuite = async (env) => {
  const contactPoint = env.CASSANDRA_CONTACT_POINTS?.split(",")[0];
  if (!contactPoint) return "CASSANDRA_CONTACT_POINTS is not set (start it with scripts/services/cassandra.sh start)";
  const [host, port] = contactPoint.split(":") as [string, string | undefined];
  const localDataCenter = env.CASSANDRA_DC ?? "datacenter1";
  const relay = await countingRelay(host, Number(port ?? 9042));
  const client = new cassandra.Client({
    contactPoints: [`127.0.0.1:${relay.port}`],
    localDataCenter,
    policies: { addressResolution: toRelay(relay.port) },
  });
  await client.connect();
  // One client for every side, so all share its connections and prepared statements.
  const db = client as unknown as CassandraClient;
  const keyspace = `quark_bench_${crypto.randomUUID().slice(0, 8)}`;
  const storage = cassandraStorage({ client: db, keyspace });
  await storage.ensureSchema();
  await cassandraEventStore({ client: db, keyspace }).ensureSchema();
  const contended = await contention(contactPoint, localDataCenter, keyspace);
  const table = `"${keyspace}"."quark_state"`;
  const where = (key: StateKey) => [key.actorType, key.actorId, key.stateName];
  // A Buffer over the same bytes, as the adapter binds a blob.
  const blob = (value: Uint8Array) => Buffer.from(value.buffer, value.byteOffset, value.byteLength);

  async function lwt(query: string, params: unknown[]): Promise<void> {
    if (!(await client.execute(query, params, LWT)).wasApplied()) throw new Error("a raw LWT lost its own etag");
  }
  const sameRequest: RawWrite = (key, value, stored, next) => lwt(
    `UPDATE ${table} USING TTL ? SET value = ?, etag = ?, revision = ? WHERE actor_type = ? AND actor_id = ? AND state_name = ? IF etag = ? AND revision = ?`,
    [0, blob(value), next, String(stored.revision + 1), ...where(key), stored.etag, String(stored.revision)],
  );
  const minimal: RawWrite = (key, value, stored, next) => lwt(
    `UPDATE ${table} SET value = ?, etag = ?, revision = ? WHERE actor_type = ? AND actor_id = ? AND state_name = ? IF etag = ?`,
    [blob(value), next, String(stored.revision + 1), ...where(key), stored.etag],
  );

  // Round trips of the write shapes beside the plain update, each counted once on a fresh key.
  async function writeShapes(): Promise<Record<string, string>> {
    const value = new Uint8Array(64);
    const freshKey = (): StateKey => ({ actorType: "bench", actorId: crypto.randomUUID(), stateName: "s" });
    const forgetful = cassandraStorage({ client: db, keyspace, revisionCacheSize: 0 });
    const counted = async (write: () => Promise<unknown>) => {
      const before = relay.roundTrips();
      await write();
      return String(relay.roundTrips() - before);
    };
    // Prepares the serial read first, so the counts below are the steady state.
    const warmKey = freshKey();
    const warm = await storage.write({ key: warmKey, value, etag: crypto.randomUUID(), expectedEtag: null });
    await forgetful.write({ key: warmKey, value, etag: crypto.randomUUID(), expectedEtag: warm.etag });
    const key = freshKey();
    let etag = "";
    const create = await counted(async () => (etag = (await storage.write({ key, value, etag: crypto.randomUUID(), expectedEtag: null })).etag));
    const cold = await counted(() => forgetful.write({ key, value, etag: crypto.randomUUID(), expectedEtag: etag }));
    const refused = await counted(() => storage.write({ key, value, etag: crypto.randomUUID(), expectedEtag: etag }).catch((error) => error));
    await forgetful.close();
    const version = (await client.execute("SELECT release_version FROM system.local")).rows[0]?.release_version;
    return {
      "TCP round trips per create-only write (list-index row, then the LWT)": create,
      "TCP round trips per update with a cold revision cache (serial read, then the LWT)": cold,
      "TCP round trips per refused update (conflict)": refused,
      ...Object.fromEntries(Object.entries(contended.gaveUp).map(([policy, count]) => [`"any" appends that gave up (ContentionError), ${policy}`, String(count)])),
      "server version": String(version),
    };
  }

  return backendSuite({
    name: "cassandra",
    storage,
    sameRequest,
    minimal: { name: "LWT UPDATE … IF etag", write: minimal },
    roundTrips: relay.roundTrips,
    unit: "TCP round trips",
    facts: writeShapes,
    cases: contended.cases,
    ratios: [{ label: `cassandra: ${APPENDERS} "any" appenders on one stream, current / 0.1 retry policy`, of: contended.cases[0]!.name, to: contended.cases[1]!.name }],
    close: async () => {
      await contended.close();
      await client.execute(`DROP KEYSPACE IF EXISTS "${keyspace}"`);
      await storage.close();
      await client.shutdown();
      relay.close();
    },
  });
};

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
 *   the adapter no longer remembers (a serial read, then the LWT) and per refused update.
 */
import cassandra from "cassandra-driver";
import { cassandraStorage, type CassandraClient } from "../../adapters/cassandra/mod.ts";
import type { StateKey } from "../../mod.ts";
import type { OpenSuite } from "./_harness.ts";
import { backendSuite, type RawWrite } from "./_backend_suite.ts";
import { countingRelay } from "./_relay.ts";

// What the adapter sends an LWT with, by default (see adapters/cassandra/_driver.ts).
const LWT = {
  prepare: true,
  consistency: cassandra.types.consistencies.localQuorum,
  serialConsistency: cassandra.types.consistencies.serial,
  isIdempotent: false,
};

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
  const relay = await countingRelay(host, Number(port ?? 9042));
  const client = new cassandra.Client({
    contactPoints: [`127.0.0.1:${relay.port}`],
    localDataCenter: env.CASSANDRA_DC ?? "datacenter1",
    policies: { addressResolution: toRelay(relay.port) },
  });
  await client.connect();
  // One client for every side, so all share its connections and prepared statements.
  const db = client as unknown as CassandraClient;
  const keyspace = `quark_bench_${crypto.randomUUID().slice(0, 8)}`;
  const storage = cassandraStorage({ client: db, keyspace });
  await storage.ensureSchema();
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
    close: async () => {
      await client.execute(`DROP KEYSPACE IF EXISTS "${keyspace}"`);
      await storage.close();
      await client.shutdown();
      relay.close();
    },
  });
};

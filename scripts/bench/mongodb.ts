/**
 * The MongoDB suite of `npm run bench`, on the server at `MONGODB_URL` (here mongo-java-server,
 * an in-memory wire-protocol server: compare its rows with each other, not with MongoDB), in
 * a database of its own that `close` drops:
 *
 * - the adapter's conditional write next to the raw driver sending the very findOneAndUpdate
 *   it builds (the etag filter with its expiry clause judged by the server's `$$NOW`, the
 *   `$unset` of the TTL fields, the revision `$inc`, the revision returned);
 * - the minimal conditional write, `updateOne({ _id, etag }, { $set, $inc })` checking
 *   `matchedCount`, as the floor, and a findOneAndUpdate on `_id` and etag alone, which tells
 *   the cost of findAndModify from the cost of the expiry filter;
 * - the cases every backend shares (`_backend_suite.ts`);
 * - commands per write, counted from the driver's command monitoring (`commandStarted`).
 */
import { MongoClient } from "mongodb";
import { mongoDbStorage } from "../../adapters/mongodb/mod.ts";
import { encodeKey } from "../../src/storage/keys.ts";
import type { OpenSuite } from "./_harness.ts";
import { backendSuite } from "./_backend_suite.ts";

interface StateDocument {
  _id: string;
  etag: string;
  revision: number;
  value: Uint8Array;
}

// The adapter's filter for a live state (see adapters/mongodb/mod.ts).
const LIVE = { $or: [{ ttlMs: { $exists: false } }, { $expr: { $gt: [{ $add: ["$writtenAt", "$ttlMs"] }, "$$NOW"] } }] };

export const open: OpenSuite = async (env) => {
  const url = env.MONGODB_URL;
  if (!url) return "MONGODB_URL is not set (start it with scripts/services/mongodb.sh start)";
  // One client for both sides, so both share its pool and its BSON costs.
  const client = new MongoClient(url, { monitorCommands: true });
  let commands = 0;
  client.on("commandStarted", () => void commands++);
  const database = `quark_bench_${crypto.randomUUID().slice(0, 8)}`;
  const storage = mongoDbStorage({ client, database });
  await storage.getInstance();
  const states = client.db(database).collection<StateDocument>("quark_state");
  const { version } = await client.db("admin").command({ buildInfo: 1 });

  return backendSuite({
    name: "mongodb",
    storage,
    sameRequest: async (key, value, stored, next) => {
      const updated = await states.findOneAndUpdate(
        { _id: encodeKey(key), etag: stored.etag, ...LIVE },
        { $set: { etag: next, value }, $unset: { writtenAt: "", ttlMs: "", purgeAt: "" }, $inc: { revision: 1 } },
        { returnDocument: "after", projection: { revision: 1 } },
      );
      if (updated === null) throw new Error("the raw findOneAndUpdate lost its own etag");
    },
    minimal: {
      name: "updateOne",
      write: async (key, value, stored, next) => {
        const result = await states.updateOne({ _id: encodeKey(key), etag: stored.etag }, { $set: { etag: next, value }, $inc: { revision: 1 } });
        if (result.matchedCount !== 1) throw new Error("the raw updateOne lost its own etag");
      },
    },
    others: {
      "raw findOneAndUpdate on _id and etag": async (key, value, stored, next) => {
        const updated = await states.findOneAndUpdate(
          { _id: encodeKey(key), etag: stored.etag },
          { $set: { etag: next, value }, $inc: { revision: 1 } },
          { returnDocument: "after", projection: { revision: 1 } },
        );
        if (updated === null) throw new Error("the raw findOneAndUpdate lost its own etag");
      },
    },
    roundTrips: () => commands,
    unit: "driver commands",
    facts: async () => ({ "server version (buildInfo)": String(version) }),
    close: async () => {
      await client.db(database).dropDatabase();
      await storage.close();
      await client.close();
    },
  });
};

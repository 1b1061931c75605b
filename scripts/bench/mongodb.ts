/**
 * MongoDB benchmark: round trips per single-state conditional write, counted from the
 * driver's command monitoring events, and the latency of the adapter's conditional write
 * next to the raw driver doing the equivalent update on the same server, in one run.
 *
 * Run: `set -a; . .services/mongodb/env; set +a; node --import tsx scripts/bench/mongodb.ts`
 */
import { MongoClient } from "mongodb";
import { mongoDbStorage } from "../../adapters/mongodb/mod.ts";

const url = process.env.MONGODB_URL;
if (url === undefined) {
  console.log("SKIP mongodb bench: MONGODB_URL is not set (start it with scripts/services/mongodb.sh start)");
  process.exit(0);
}

const ROUNDS = 7;
const WRITES_PER_ROUND = 300;
const database = "quark_bench";
const value = crypto.getRandomValues(new Uint8Array(64));

const client = new MongoClient(url, { monitorCommands: true });
let commands = 0;
client.on("commandStarted", () => {
  commands++;
});
const storage = mongoDbStorage({ client, database });
const raw = client.db(database).collection<{ _id: string; etag: string; revision: number; value: Uint8Array }>("quark_state");
const run = crypto.randomUUID().slice(0, 8);

// Each writer chains etags on its own key, so every write is a successful conditional write.
async function adapterRound(key: { actorType: string; actorId: string; stateName: string }, etag: string) {
  for (let index = 0; index < WRITES_PER_ROUND; index++) {
    const next = crypto.randomUUID();
    await storage.write({ key, value, etag: next, expectedEtag: etag });
    etag = next;
  }
  return etag;
}

async function rawUpdateOneRound(id: string, etag: string) {
  for (let index = 0; index < WRITES_PER_ROUND; index++) {
    const next = crypto.randomUUID();
    const result = await raw.updateOne({ _id: id, etag }, { $set: { etag: next, value }, $inc: { revision: 1 } });
    if (result.modifiedCount !== 1) throw new Error("raw updateOne missed");
    etag = next;
  }
  return etag;
}

async function rawFindAndModifyRound(id: string, etag: string) {
  for (let index = 0; index < WRITES_PER_ROUND; index++) {
    const next = crypto.randomUUID();
    const result = await raw.findOneAndUpdate({ _id: id, etag }, { $set: { etag: next, value }, $inc: { revision: 1 } }, { returnDocument: "after", projection: { revision: 1 } });
    if (result === null) throw new Error("raw findOneAndUpdate missed");
    etag = next;
  }
  return etag;
}

// The adapter's exact statement, sent by hand: separates the adapter's own cost from the
// cost of its expiry filter (judged by the server's $$NOW) and $unset on the server.
const LIVE = { $or: [{ ttlMs: { $exists: false } }, { $expr: { $gt: [{ $add: ["$writtenAt", "$ttlMs"] }, "$$NOW"] } }] };
async function rawSameStatementRound(id: string, etag: string) {
  for (let index = 0; index < WRITES_PER_ROUND; index++) {
    const next = crypto.randomUUID();
    const result = await raw.findOneAndUpdate(
      { _id: id, etag, ...LIVE },
      { $set: { etag: next, value }, $unset: { writtenAt: "", ttlMs: "", purgeAt: "" }, $inc: { revision: 1 } },
      { returnDocument: "after", projection: { revision: 1 } },
    );
    if (result === null) throw new Error("raw same-statement write missed");
    etag = next;
  }
  return etag;
}

async function timed(body: () => Promise<unknown>): Promise<number> {
  const started = performance.now();
  await body();
  return (performance.now() - started) / WRITES_PER_ROUND;
}

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)]!;

const adapterKey = { actorType: `bench-${run}`, actorId: "adapter", stateName: "s" };
let adapterEtag: string = crypto.randomUUID();
await storage.write({ key: adapterKey, value, etag: adapterEtag, expectedEtag: null });
const updateOneId = `bench-raw-${run}/updateOne`;
const findAndModifyId = `bench-raw-${run}/findAndModify`;
const sameStatementId = `bench-raw-${run}/sameStatement`;
let sameStatementEtag: string = crypto.randomUUID();
let updateOneEtag: string = crypto.randomUUID();
let findAndModifyEtag: string = crypto.randomUUID();
await raw.insertMany([
  { _id: updateOneId, etag: updateOneEtag, revision: 1, value },
  { _id: findAndModifyId, etag: findAndModifyEtag, revision: 1, value },
  { _id: sameStatementId, etag: sameStatementEtag, revision: 1, value },
]);

// Warm up both paths (JIT on both sides of the wire), then count one round exactly.
adapterEtag = await adapterRound(adapterKey, adapterEtag);
updateOneEtag = await rawUpdateOneRound(updateOneId, updateOneEtag);
findAndModifyEtag = await rawFindAndModifyRound(findAndModifyId, findAndModifyEtag);
sameStatementEtag = await rawSameStatementRound(sameStatementId, sameStatementEtag);
commands = 0;
adapterEtag = await adapterRound(adapterKey, adapterEtag);
const roundTrips = commands / WRITES_PER_ROUND;

const adapterTimes: number[] = [];
const updateOneTimes: number[] = [];
const findAndModifyTimes: number[] = [];
const sameStatementTimes: number[] = [];
for (let round = 0; round < ROUNDS; round++) {
  adapterTimes.push(await timed(async () => (adapterEtag = await adapterRound(adapterKey, adapterEtag))));
  updateOneTimes.push(await timed(async () => (updateOneEtag = await rawUpdateOneRound(updateOneId, updateOneEtag))));
  findAndModifyTimes.push(await timed(async () => (findAndModifyEtag = await rawFindAndModifyRound(findAndModifyId, findAndModifyEtag))));
  sameStatementTimes.push(await timed(async () => (sameStatementEtag = await rawSameStatementRound(sameStatementId, sameStatementEtag))));
}

const hello = await client.db("admin").command({ isMaster: 1 });
const adapterMs = median(adapterTimes);
const updateOneMs = median(updateOneTimes);
const findAndModifyMs = median(findAndModifyTimes);
const sameStatementMs = median(sameStatementTimes);
console.log(`mongodb bench: server ${url} (maxWireVersion ${hello.maxWireVersion}), ${ROUNDS} rounds x ${WRITES_PER_ROUND} sequential writes, 64-byte values`);
console.log(`round trips per single-state conditional write: ${roundTrips.toFixed(2)} (driver commands counted by commandStarted events)`);
console.log(`adapter write (findAndModify on _id+etag):     ${adapterMs.toFixed(3)} ms/op (median of rounds)`);
console.log(`raw driver updateOne on _id+etag:              ${updateOneMs.toFixed(3)} ms/op`);
console.log(`raw driver findOneAndUpdate on _id+etag:       ${findAndModifyMs.toFixed(3)} ms/op`);
console.log(`raw driver, the adapter's exact statement:   ${sameStatementMs.toFixed(3)} ms/op`);
console.log(`ratio adapter / raw updateOne:                 ${(adapterMs / updateOneMs).toFixed(2)}`);
console.log(`ratio adapter / raw findOneAndUpdate:          ${(adapterMs / findAndModifyMs).toFixed(2)}`);
console.log(`ratio adapter / raw same statement:            ${(adapterMs / sameStatementMs).toFixed(2)}`);

await raw.deleteMany({ _id: { $in: [updateOneId, findAndModifyId, sameStatementId, `${adapterKey.actorType}/${adapterKey.actorId}/${adapterKey.stateName}`] } });
await storage.close();
await client.close();

// DynamoDB adapter benchmark: HTTP round trips per single-state conditional write, and the
// adapter's latency beside the raw SDK sending the equivalent conditional request, on the same
// server in one run.
//
//   scripts/services/moto.sh start
//   set -a; . .services/moto/env; set +a
//   node --import tsx scripts/bench/dynamodb.ts [writes per round, default 300]
//
// Round trips are counted by a middleware in the SDK's deserialize step, which runs once per
// HTTP attempt (retries included), so the count is what went over the wire.

import { DynamoDBClient, PutItemCommand, UpdateItemCommand } from "@aws-sdk/client-dynamodb";
import { dynamoDbStorage } from "../../adapters/dynamodb/mod.ts";

const endpoint = process.env.DYNAMODB_ENDPOINT;
if (!endpoint) {
  console.error("DYNAMODB_ENDPOINT is not set (start moto with scripts/services/moto.sh start)");
  process.exit(1);
}
const writes = Number(process.argv[2] ?? 300);
const rounds = 3;

const client = new DynamoDBClient({
  endpoint,
  region: process.env.AWS_REGION ?? "us-east-1",
  credentials: { accessKeyId: process.env.AWS_ACCESS_KEY_ID ?? "bench", secretAccessKey: process.env.AWS_SECRET_ACCESS_KEY ?? "bench" },
});
let requests = 0;
client.middlewareStack.add((next) => (args) => {
  requests++;
  return next(args);
}, { step: "deserialize", name: "countRoundTrips" });

const tableName = `quark_bench_${crypto.randomUUID().slice(0, 8)}`;
const storage = dynamoDbStorage({ client, tableName });
await storage.ensureTable();

const value = crypto.getRandomValues(new Uint8Array(256));

function median(samples: number[]): number {
  const sorted = [...samples].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)]!;
}

// The adapter: a chain of conditional updates, each expecting the etag the last one stored.
async function adapterRound(): Promise<{ perWrite: number[]; roundTrips: number }> {
  const key = { actorType: "bench", actorId: crypto.randomUUID(), stateName: "s" };
  let { etag } = await storage.write({ key, value, etag: crypto.randomUUID(), expectedEtag: null });
  const perWrite: number[] = [];
  const before = requests;
  for (let index = 0; index < writes; index++) {
    const started = performance.now();
    ({ etag } = await storage.write({ key, value, etag: crypto.randomUUID(), expectedEtag: etag }));
    perWrite.push(performance.now() - started);
  }
  return { perWrite, roundTrips: (requests - before) / writes };
}

// The raw SDK: the very UpdateItem the adapter sends (etag check that also hides expired
// items, revision bump, TTL attributes cleared), so the ratio is the adapter's own overhead.
async function rawSameRound(): Promise<number[]> {
  const Key = { pk: { S: "state#bench-raw" }, sk: { S: `${crypto.randomUUID()}/s` } };
  let etag = crypto.randomUUID();
  await client.send(new PutItemCommand({ TableName: tableName, Item: { ...Key, v: { B: value }, etag: { S: etag }, rev: { N: "1" } } }));
  const perWrite: number[] = [];
  for (let index = 0; index < writes; index++) {
    const next = crypto.randomUUID();
    const started = performance.now();
    await client.send(new UpdateItemCommand({
      TableName: tableName,
      Key,
      UpdateExpression: "SET #v = :v, #etag = :etag, #rev = #rev + :one REMOVE #exp, #ttl",
      ConditionExpression: "#etag = :expected AND (attribute_not_exists(#exp) OR #exp > :now)",
      ExpressionAttributeNames: { "#v": "v", "#etag": "etag", "#rev": "rev", "#exp": "expiresAt", "#ttl": "ttl" },
      ExpressionAttributeValues: { ":v": { B: value }, ":etag": { S: next }, ":one": { N: "1" }, ":expected": { S: etag }, ":now": { N: String(Date.now()) } },
      ReturnValues: "UPDATED_NEW",
      ReturnValuesOnConditionCheckFailure: "ALL_OLD",
    }));
    perWrite.push(performance.now() - started);
    etag = next;
  }
  return perWrite;
}

// The raw SDK: the smallest conditional UpdateItem that keeps a revision (no TTL handling).
async function rawMinimalRound(): Promise<number[]> {
  const Key = { pk: { S: "state#bench-min" }, sk: { S: `${crypto.randomUUID()}/s` } };
  let etag = crypto.randomUUID();
  await client.send(new PutItemCommand({ TableName: tableName, Item: { ...Key, v: { B: value }, etag: { S: etag }, rev: { N: "1" } } }));
  const perWrite: number[] = [];
  for (let index = 0; index < writes; index++) {
    const next = crypto.randomUUID();
    const started = performance.now();
    await client.send(new UpdateItemCommand({
      TableName: tableName,
      Key,
      UpdateExpression: "SET v = :v, etag = :next, rev = rev + :one",
      ConditionExpression: "etag = :expected",
      ExpressionAttributeValues: { ":v": { B: value }, ":next": { S: next }, ":one": { N: "1" }, ":expected": { S: etag } },
      ReturnValues: "UPDATED_NEW",
    }));
    perWrite.push(performance.now() - started);
    etag = next;
  }
  return perWrite;
}

// The raw SDK: a conditional PutItem, the cheapest conditional write DynamoDB has (it keeps
// no revision, so it does less than the adapter; on moto it is also much cheaper to parse).
async function rawPutRound(): Promise<number[]> {
  const Key = { pk: { S: "state#bench-put" }, sk: { S: `${crypto.randomUUID()}/s` } };
  let etag = crypto.randomUUID();
  await client.send(new PutItemCommand({ TableName: tableName, Item: { ...Key, v: { B: value }, etag: { S: etag } } }));
  const perWrite: number[] = [];
  for (let index = 0; index < writes; index++) {
    const next = crypto.randomUUID();
    const started = performance.now();
    await client.send(new PutItemCommand({
      TableName: tableName,
      Item: { ...Key, v: { B: value }, etag: { S: next } },
      ConditionExpression: "etag = :expected",
      ExpressionAttributeValues: { ":expected": { S: etag } },
    }));
    perWrite.push(performance.now() - started);
    etag = next;
  }
  return perWrite;
}

// Warm up connections and the server's code paths, then interleave rounds so drift in
// machine load hits every variant alike.
await adapterRound();
await rawSameRound();
await rawMinimalRound();
await rawPutRound();
const adapter: number[] = [];
const rawSame: number[] = [];
const rawMinimal: number[] = [];
const rawPut: number[] = [];
let roundTrips = 0;
for (let round = 0; round < rounds; round++) {
  const result = await adapterRound();
  adapter.push(...result.perWrite);
  roundTrips = Math.max(roundTrips, result.roundTrips);
  rawSame.push(...await rawSameRound());
  rawMinimal.push(...await rawMinimalRound());
  rawPut.push(...await rawPutRound());
}

const format = (ms: number) => `${ms.toFixed(2)} ms`;
const ratio = (raw: number[]) => (median(adapter) / median(raw)).toFixed(2);
console.log(`DynamoDB (${endpoint}), ${rounds} x ${writes} sequential conditional writes of 256 bytes each`);
console.log(`round trips per single-state conditional write: ${roundTrips}`);
console.log(`adapter write                            median ${format(median(adapter))}`);
console.log(`raw SDK, the adapter's exact UpdateItem  median ${format(median(rawSame))}   adapter / raw: ${ratio(rawSame)}`);
console.log(`raw SDK, minimal conditional UpdateItem  median ${format(median(rawMinimal))}   adapter / raw: ${ratio(rawMinimal)}`);
console.log(`raw SDK, conditional PutItem (no rev)    median ${format(median(rawPut))}   adapter / raw: ${ratio(rawPut)}`);

const { DeleteTableCommand } = await import("@aws-sdk/client-dynamodb");
await client.send(new DeleteTableCommand({ TableName: tableName }));
await storage.close();
client.destroy();

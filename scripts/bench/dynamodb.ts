// DynamoDB adapter benchmark: HTTP round trips per single-state conditional write, and the
// adapter's latency beside the raw SDK sending the equivalent conditional request, on the same
// server in one run.
//
//   scripts/services/moto.sh start
//   set -a; . .services/moto/env; set +a
//   node --import tsx scripts/bench/dynamodb.ts [writes per contender, default 500]
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
const writes = Number(process.argv[2] ?? 500);

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

/** One contender: a chain of conditional writes to its own item, each expecting the last etag. */
interface Contender {
  readonly label: string;
  /** Writes once, expecting `etag`; returns the etag now stored. */
  readonly step: (etag: string) => Promise<string>;
  readonly samples: number[];
  etag: string;
}

// The adapter, on a key of its own.
const adapterKey = { actorType: "bench", actorId: crypto.randomUUID(), stateName: "s" };
const adapter: Contender = {
  label: "adapter write",
  step: async (etag) => (await storage.write({ key: adapterKey, value, etag: crypto.randomUUID(), expectedEtag: etag })).etag,
  samples: [],
  etag: (await storage.write({ key: adapterKey, value, etag: crypto.randomUUID(), expectedEtag: null })).etag,
};

// A raw SDK contender: `send` writes `next` over `etag` on an item made here.
async function raw(label: string, send: (Key: Record<string, { S: string }>, etag: string, next: string) => Promise<unknown>): Promise<Contender> {
  const Key = { pk: { S: "state#bench-raw" }, sk: { S: `${crypto.randomUUID()}/s` } };
  const etag = crypto.randomUUID();
  await client.send(new PutItemCommand({ TableName: tableName, Item: { ...Key, v: { B: value }, etag: { S: etag }, rev: { N: "1" } } }));
  return {
    label,
    step: async (expected) => {
      const next = crypto.randomUUID();
      await send(Key, expected, next);
      return next;
    },
    samples: [],
    etag,
  };
}

const contenders = [
  adapter,
  // The very UpdateItem the adapter sends (etag check that also hides expired items, revision
  // bump, TTL attributes cleared), so the ratio is the adapter's own overhead.
  await raw("raw SDK, the adapter's exact UpdateItem", (Key, etag, next) => client.send(new UpdateItemCommand({
    TableName: tableName,
    Key,
    UpdateExpression: "SET #v = :v, #etag = :etag, #rev = #rev + :one REMOVE #exp, #ttl",
    ConditionExpression: "#etag = :expected AND (attribute_not_exists(#exp) OR #exp > :now)",
    ExpressionAttributeNames: { "#v": "v", "#etag": "etag", "#rev": "rev", "#exp": "expiresAt", "#ttl": "ttl" },
    ExpressionAttributeValues: { ":v": { B: value }, ":etag": { S: next }, ":one": { N: "1" }, ":expected": { S: etag }, ":now": { N: String(Date.now()) } },
    ReturnValues: "UPDATED_NEW",
    ReturnValuesOnConditionCheckFailure: "ALL_OLD",
  }))),
  // The smallest conditional UpdateItem that keeps a revision (no TTL handling).
  await raw("raw SDK, minimal conditional UpdateItem", (Key, etag, next) => client.send(new UpdateItemCommand({
    TableName: tableName,
    Key,
    UpdateExpression: "SET v = :v, etag = :next, rev = rev + :one",
    ConditionExpression: "etag = :expected",
    ExpressionAttributeValues: { ":v": { B: value }, ":next": { S: next }, ":one": { N: "1" }, ":expected": { S: etag } },
    ReturnValues: "UPDATED_NEW",
  }))),
  // A conditional PutItem, the cheapest conditional write DynamoDB has (it keeps no revision,
  // so it does less than the adapter; on moto it is also much cheaper to parse).
  await raw("raw SDK, conditional PutItem (no rev)", (Key, etag, next) => client.send(new PutItemCommand({
    TableName: tableName,
    Item: { ...Key, v: { B: value }, etag: { S: next } },
    ConditionExpression: "etag = :expected",
    ExpressionAttributeValues: { ":expected": { S: etag } },
  }))),
];

// Warm up, then take turns write by write (rotating who goes first), so bursts of machine
// load hit every contender alike.
const warmup = 50;
let adapterRequests = 0;
for (let index = 0; index < warmup + writes; index++) {
  for (let turn = 0; turn < contenders.length; turn++) {
    const contender = contenders[(index + turn) % contenders.length]!;
    const before = requests;
    const started = performance.now();
    contender.etag = await contender.step(contender.etag);
    const elapsed = performance.now() - started;
    if (index < warmup) continue;
    contender.samples.push(elapsed);
    if (contender === adapter) adapterRequests += requests - before;
  }
}

const format = (ms: number) => `${ms.toFixed(2).padStart(6)} ms`;
console.log(`DynamoDB at ${endpoint}: ${writes} sequential conditional writes of 256 bytes per contender, interleaved`);
console.log(`round trips per single-state conditional write: ${adapterRequests / writes}`);
for (const contender of contenders) {
  const ratio = contender === adapter ? "" : `   adapter / this: ${(median(adapter.samples) / median(contender.samples)).toFixed(2)}`;
  console.log(`${contender.label.padEnd(40)} median ${format(median(contender.samples))}${ratio}`);
}

const { DeleteTableCommand } = await import("@aws-sdk/client-dynamodb");
await client.send(new DeleteTableCommand({ TableName: tableName }));
await storage.close();
client.destroy();

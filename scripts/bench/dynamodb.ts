/**
 * The DynamoDB suite of `npm run bench`, on the local moto server (`DYNAMODB_ENDPOINT`), in a
 * table of its own that `close` deletes:
 *
 * - the adapter's conditional write next to the raw SDK sending the very UpdateItem it builds
 *   (the etag check that also hides expired items, the revision bump, the TTL attributes
 *   cleared, the old item returned on a refusal);
 * - the minimal conditional UpdateItem (`etag = :expected`, revision bumped and returned) as
 *   the floor, and a conditional PutItem, the cheapest conditional write DynamoDB has, which
 *   keeps no revision and so does less than the adapter;
 * - the cases every backend shares (`_backend_suite.ts`); 1 MB values are left out, as
 *   DynamoDB items hold at most 400 KB;
 * - HTTP requests per write, counted by a middleware in the SDK's deserialize step, which runs
 *   once per HTTP attempt (retries included), so the count is what went over the wire.
 */
import { DeleteTableCommand, DynamoDBClient, PutItemCommand, UpdateItemCommand } from "@aws-sdk/client-dynamodb";
import { dynamoDbStorage } from "../../adapters/dynamodb/mod.ts";
import { encodeKey } from "../../src/storage/keys.ts";
import type { StateKey } from "../../mod.ts";
import type { OpenSuite } from "./_harness.ts";
import { backendSuite } from "./_backend_suite.ts";

// The item key the adapter gives a state (see adapters/dynamodb/mod.ts).
function itemKey(key: StateKey) {
  return { pk: { S: `state#${key.actorType}` }, sk: { S: encodeKey({ ...key, actorType: "" }).slice(1) } };
}

export const open: OpenSuite = async (env) => {
  const endpoint = env.DYNAMODB_ENDPOINT;
  if (!endpoint) return "DYNAMODB_ENDPOINT is not set (start moto with scripts/services/moto.sh start)";
  const client = new DynamoDBClient({
    endpoint,
    region: env.AWS_REGION ?? "us-east-1",
    credentials: { accessKeyId: env.AWS_ACCESS_KEY_ID ?? "bench", secretAccessKey: env.AWS_SECRET_ACCESS_KEY ?? "bench" },
  });
  let requests = 0;
  client.middlewareStack.add((next) => (args) => {
    requests++;
    return next(args);
  }, { step: "deserialize", name: "countRoundTrips" });
  const TableName = `quark_bench_${crypto.randomUUID().slice(0, 8)}`;
  // The adapter shares the client, so both sides pay the same SDK and keep-alive costs.
  const storage = dynamoDbStorage({ client, tableName: TableName });
  await storage.ensureTable();

  return backendSuite({
    name: "dynamodb",
    storage,
    sameRequest: (key, value, stored, next) => client.send(new UpdateItemCommand({
      TableName,
      Key: itemKey(key),
      UpdateExpression: "SET #v = :v, #etag = :etag, #rev = #rev + :one REMOVE #exp, #ttl",
      ConditionExpression: "#etag = :expected AND (attribute_not_exists(#exp) OR #exp > :now)",
      ExpressionAttributeNames: { "#v": "v", "#etag": "etag", "#rev": "rev", "#exp": "expiresAt", "#ttl": "ttl" },
      ExpressionAttributeValues: { ":v": { B: value }, ":etag": { S: next }, ":one": { N: "1" }, ":expected": { S: stored.etag }, ":now": { N: String(Date.now()) } },
      ReturnValues: "UPDATED_NEW",
      ReturnValuesOnConditionCheckFailure: "ALL_OLD",
    })).then(() => undefined),
    minimal: {
      name: "UpdateItem",
      write: (key, value, stored, next) => client.send(new UpdateItemCommand({
        TableName,
        Key: itemKey(key),
        UpdateExpression: "SET v = :v, etag = :next, rev = rev + :one",
        ConditionExpression: "etag = :expected",
        ExpressionAttributeValues: { ":v": { B: value }, ":next": { S: next }, ":one": { N: "1" }, ":expected": { S: stored.etag } },
        ReturnValues: "UPDATED_NEW",
      })).then(() => undefined),
    },
    others: {
      "raw conditional PutItem (no revision)": (key, value, stored, next) => client.send(new PutItemCommand({
        TableName,
        Item: { ...itemKey(key), v: { B: value }, etag: { S: next } },
        ConditionExpression: "etag = :expected",
        ExpressionAttributeValues: { ":expected": { S: stored.etag } },
      })).then(() => undefined),
    },
    roundTrips: () => requests,
    unit: "HTTP requests",
    close: async () => {
      await client.send(new DeleteTableCommand({ TableName }));
      await storage.close();
      client.destroy();
    },
  });
};

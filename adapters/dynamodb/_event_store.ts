// The DynamoDB event store. Layout, per stream, in the partition `stream#<name>`:
//   sk "head"          { version }         the stream's version; every append moves it
//   sk "e<16 digits>"  { version, type, data, metadata?, createdAt, appendId }  one item per event
// createdAt is epoch ms by the client's clock (corrected by the SDK's skew offset): DynamoDB
// offers no server clock to a write. Items written by 0.1 have neither metadata nor createdAt.
//   sk "snapshot"      { version, data }   the latest snapshot
// An append is one TransactWriteItems: an update of the head conditioned on the expected
// version, plus a conditional put (attribute_not_exists) of each event. DynamoDB applies it
// all or not at all, and of two appends at the same version exactly one passes the head check.

import type {
  AppendResult,
  EventStore,
  ExpectedVersion,
  NewEvent,
  ReadStreamOptions,
  StoredEvent,
  StoredSnapshot,
} from "../../src/events/types.ts";
import { assertExpectedVersion, assertNewEvents, readAllUnsupported } from "../../src/events/guards.ts";
import { CapabilityError, ContentionError, EventStoreConflictError, ValueTooLargeError } from "../../src/errors.ts";
import { assertKeyWithinLimit, assertValidKeyPart } from "../../src/storage/keys.ts";
import { attemptsOption } from "../_shared/attempts.ts";
import {
  backoff,
  binaryAttribute,
  cancellationReasons,
  clockOf,
  type Connection,
  connector,
  DRIVER_NAME,
  type DynamoDbConnectionOptions,
  type DynamoDbTableHandle,
  isConditionFailure,
  type Item,
  MAX_TRANSACTION_ITEMS,
  MAX_TRANSACTION_VALUE_BYTES,
  MAX_VALUE_BYTES,
  numberAttribute,
  PARTITION_KEY_LIMIT,
  stringAttribute,
  wasResent,
} from "./_client.ts";

/**
 * Options for {@linkcode dynamoDbEventStore}.
 *
 * @example
 * ```ts
 * import { dynamoDbEventStore, type DynamoDbEventStoreOptions } from "@quark/persistence/dynamodb";
 * const options: DynamoDbEventStoreOptions = { clientConfig: { region: "eu-west-1" }, tableName: "app_events" };
 * const store = dynamoDbEventStore(options);
 * ```
 */
export interface DynamoDbEventStoreOptions extends DynamoDbConnectionOptions {
  /**
   * The most attempts one append makes: an `"any"` append retries while other appenders
   * keep moving the stream (each attempt learns the current version from the failed one, so
   * it costs one round trip), and any append retries when DynamoDB cancels it for a
   * concurrent transaction on the same items, with jittered backoff after the first retry.
   * Past the bound the append throws `ContentionError`: nothing was appended. Defaults to 64.
   */
  readonly maxAppendAttempts?: number;
}

/**
 * An {@linkcode EventStore} on DynamoDB, with table management and the raw client.
 *
 * @example Creating the table from a deploy script
 * ```ts ignore
 * import { dynamoDbEventStore } from "@quark/persistence/dynamodb";
 * const store = dynamoDbEventStore({ clientConfig: { endpoint: "http://127.0.0.1:5055", region: "us-east-1" } });
 * await store.ensureTable();
 * await store.close();
 * ```
 */
export interface DynamoDbEventStore extends EventStore, DynamoDbTableHandle {}

const PARTITION_PREFIX = "stream#";
const HEAD = "head";
const SNAPSHOT = "snapshot";
const EVENT_PREFIX = "e";
const VERSION_DIGITS = 16; // Number.MAX_SAFE_INTEGER has 16 digits.
const DEFAULT_PAGE_SIZE = 500;
/** One transaction item is the stream head, so an append carries at most 99 events. */
export const MAX_EVENTS_PER_APPEND = MAX_TRANSACTION_ITEMS - 1;
const utf8 = new TextEncoder();

function eventSortKey(version: number): string {
  return EVENT_PREFIX + String(version).padStart(VERSION_DIGITS, "0");
}

/** The partition of a stream, after refusing a malformed name or one over the partition key limit. */
function partitionOf(stream: string): string {
  assertValidKeyPart("stream", stream);
  assertKeyWithinLimit(DRIVER_NAME, "stream", stream, PARTITION_KEY_LIMIT - PARTITION_PREFIX.length);
  return PARTITION_PREFIX + stream;
}

/**
 * Stores event streams and snapshots in one DynamoDB table. An append is one
 * TransactWriteItems call: a conditional update of the stream's head item plus a
 * conditional put of each event, so the batch is atomic and of concurrent appends at one
 * version exactly one wins. `"any"` appends retry on the version the failed attempt
 * reported, so versions stay gap-free. One append carries at most 99 events (DynamoDB's
 * 100-item transaction limit, less the head).
 *
 * @param options The client or its configuration, and the table.
 * @returns A {@linkcode DynamoDbEventStore}.
 * @throws {ConfigurationError} When the table name is invalid.
 *
 * @example Appending to a stream in a local DynamoDB
 * ```ts ignore
 * import { dynamoDbEventStore } from "@quark/persistence/dynamodb";
 * const store = dynamoDbEventStore({
 *   clientConfig: { endpoint: "http://127.0.0.1:5055", region: "us-east-1" },
 *   createTable: true,
 * });
 * const stream = `ledger-${crypto.randomUUID()}`;
 * await store.append(stream, [{ type: "Opened", data: new Uint8Array() }], "no_stream");
 * if ((await store.version(stream)) !== 1) throw new Error("not appended");
 * await store.close();
 * ```
 */
export function dynamoDbEventStore(options: DynamoDbEventStoreOptions = {}): DynamoDbEventStore {
  const connection = connector(options);
  const { tableName } = connection;
  const maxAppendAttempts = attemptsOption("maxAppendAttempts", options.maxAppendAttempts, 64);

  const run = connection.run;

  async function headVersion({ sdk, client }: Connection, pk: string): Promise<number> {
    const result = await client.send(new sdk.GetItemCommand({
      TableName: tableName,
      Key: { pk: { S: pk }, sk: { S: HEAD } },
      ConsistentRead: true,
    }));
    return result.Item === undefined ? 0 : numberAttribute(result.Item, "version", `${JSON.stringify(pk)}/head`);
  }

  function checkBatch(events: readonly NewEvent[]): void {
    if (events.length > MAX_EVENTS_PER_APPEND) {
      throw new CapabilityError(
        DRIVER_NAME,
        `appends of ${events.length} events`,
        `one append is one TransactWriteItems call of at most ${MAX_TRANSACTION_ITEMS} items, the stream head and ${MAX_EVENTS_PER_APPEND} events`,
      );
    }
    let total = 0;
    for (const event of events) {
      const size = event.data.byteLength + (event.metadata?.byteLength ?? 0) + utf8.encode(event.type).byteLength;
      if (size > MAX_VALUE_BYTES) throw new ValueTooLargeError(DRIVER_NAME, size, MAX_VALUE_BYTES);
      total += size;
    }
    if (total > MAX_TRANSACTION_VALUE_BYTES) {
      throw new CapabilityError(
        DRIVER_NAME,
        `appends of ${total} bytes of events`,
        `one append is one TransactWriteItems call, and DynamoDB refuses one over 4 MB; the limit for events is ${MAX_TRANSACTION_VALUE_BYTES} bytes`,
      );
    }
  }

  async function append(stream: string, events: readonly NewEvent[], expected: ExpectedVersion): Promise<AppendResult> {
    assertExpectedVersion(expected);
    assertNewEvents(events);
    checkBatch(events);
    const pk = partitionOf(stream);
    // Marks this call's events, so a re-send that finds them in place knows they are its own.
    const appendId = crypto.randomUUID();
    return await run("append", async (ready) => {
      let base = expected === "any" ? await headVersion(ready, pk) : expected === "no_stream" ? 0 : expected;
      for (let attempt = 1; ; attempt++) {
        const outcome = await appendAt(ready, pk, events, base, appendId);
        if (outcome.applied) return { nextVersion: base + events.length };
        if (outcome.actual !== undefined) {
          // The refusal reported the head the server held; no cause, which would carry event bytes.
          if (expected !== "any") throw new EventStoreConflictError(stream, expected, outcome.actual);
          base = outcome.actual;
        }
        // Otherwise DynamoDB cancelled on a concurrent transaction; nothing was applied, try again.
        if (attempt >= maxAppendAttempts) {
          throw new ContentionError(DRIVER_NAME, `append to stream ${JSON.stringify(stream)}`, attempt);
        }
        // Someone else just won. Go again at once on the version they left, but spread out
        // repeated losers (with jitter) so that a crowd of "any" appenders does not retry in
        // lockstep, each round costing every loser a transaction.
        if (outcome.actual === undefined || attempt > 1) await backoff(attempt);
      }
    });
  }

  type AppendOutcome =
    | { readonly applied: true }
    | { readonly applied: false; readonly actual: number | undefined };

  async function appendAt(
    { sdk, client }: Connection,
    pk: string,
    events: readonly NewEvent[],
    base: number,
    appendId: string,
  ): Promise<AppendOutcome> {
    const next = base + events.length;
    const createdAt = { N: String(clockOf(client)) };
    const head = {
      Update: {
        TableName: tableName,
        Key: { pk: { S: pk }, sk: { S: HEAD } },
        UpdateExpression: "SET #version = :next",
        ConditionExpression: base === 0 ? "attribute_not_exists(#pk)" : "#version = :base",
        ExpressionAttributeNames: (base === 0 ? { "#version": "version", "#pk": "pk" } : { "#version": "version" }) as Record<string, string>,
        ExpressionAttributeValues: (base === 0 ? { ":next": { N: String(next) } } : { ":next": { N: String(next) }, ":base": { N: String(base) } }) as Item,
        ReturnValuesOnConditionCheckFailure: "ALL_OLD" as const,
      },
    };
    const puts = events.map((event, index) => ({
      Put: {
        TableName: tableName,
        Item: {
          pk: { S: pk },
          sk: { S: eventSortKey(base + index + 1) },
          version: { N: String(base + index + 1) },
          type: { S: event.type },
          data: { B: event.data },
          ...(event.metadata === undefined ? {} : { metadata: { B: event.metadata } }),
          createdAt,
          appendId: { S: appendId },
        },
        ConditionExpression: "attribute_not_exists(#pk)",
        ExpressionAttributeNames: { "#pk": "pk" },
        // Only the first event is needed back: its appendId tells our own earlier attempt.
        ...(index === 0 ? { ReturnValuesOnConditionCheckFailure: "ALL_OLD" as const } : {}),
      },
    }));
    try {
      // The token makes the SDK's own re-send of this request a no-op on DynamoDB for 10
      // minutes; the appendId check below covers servers that ignore it (moto).
      await client.send(new sdk.TransactWriteItemsCommand({ TransactItems: [head, ...puts], ClientRequestToken: crypto.randomUUID() }));
      return { applied: true };
    } catch (error) {
      const reasons = cancellationReasons(error);
      if (reasons === undefined) throw error;
      // Our events already at base + 1: an earlier attempt of this very request applied
      // (its reply was lost and the SDK re-sent it).
      if (reasons[1]?.Item?.appendId?.S === appendId) return { applied: true };
      const headReason = reasons[0];
      if (headReason?.Code === "ConditionalCheckFailed") {
        const item = headReason.Item;
        const actual = item === undefined || item.version === undefined ? 0 : numberAttribute(item, "version", `${JSON.stringify(pk)}/head`);
        return { applied: false, actual };
      }
      if (reasons.some((reason) => reason.Code === "ConditionalCheckFailed")) {
        // The head allowed the append but an event item exists beyond it: the stream was
        // written without this store's head. Report it rather than overwrite.
        return { applied: false, actual: base + 1 };
      }
      if (reasons.every((reason) => reason.Code === undefined || reason.Code === "None" || reason.Code === "TransactionConflict")) {
        return { applied: false, actual: undefined };
      }
      throw error;
    }
  }

  async function* read(stream: string, options: ReadStreamOptions = {}): AsyncIterable<StoredEvent> {
    const pk = partitionOf(stream);
    const pageSize = options.pageSize ?? DEFAULT_PAGE_SIZE;
    if (!Number.isSafeInteger(pageSize) || pageSize < 1) throw new RangeError(`Page size must be a whole number of at least 1, got ${pageSize}`);
    const from = Math.max(1, options.fromVersion ?? 1);
    let start: Item | undefined;
    do {
      const page = await run("read", async ({ sdk, client }) => {
        return await client.send(new sdk.QueryCommand({
          TableName: tableName,
          KeyConditionExpression: "#pk = :pk AND #sk BETWEEN :from AND :to",
          ExpressionAttributeNames: { "#pk": "pk", "#sk": "sk" },
          ExpressionAttributeValues: {
            ":pk": { S: pk },
            ":from": { S: eventSortKey(from) },
            ":to": { S: EVENT_PREFIX + "9".repeat(VERSION_DIGITS) },
          },
          ExclusiveStartKey: start,
          Limit: pageSize,
          ConsistentRead: true,
        }));
      });
      for (const item of page.Items ?? []) {
        const where = `${JSON.stringify(pk)}/${JSON.stringify(item.sk?.S)}`;
        yield {
          stream,
          version: numberAttribute(item, "version", where),
          type: stringAttribute(item, "type", where),
          data: binaryAttribute(item, "data", where),
          ...(item.metadata === undefined ? {} : { metadata: binaryAttribute(item, "metadata", where) }),
          ...(item.createdAt === undefined ? {} : { createdAt: new Date(numberAttribute(item, "createdAt", where)) }),
        };
      }
      start = page.LastEvaluatedKey;
    } while (start !== undefined);
  }

  return {
    name: DRIVER_NAME,
    tableName,
    capabilities: { readAll: false },
    readAll: () => readAllUnsupported(DRIVER_NAME, "DynamoDB Streams on the events table"),
    append,
    read,
    async version(stream: string) {
      const pk = partitionOf(stream);
      return await run("version", (ready) => headVersion(ready, pk));
    },
    async saveSnapshot(stream: string, snapshot: StoredSnapshot) {
      const pk = partitionOf(stream);
      if (!Number.isSafeInteger(snapshot.version) || snapshot.version < 0) {
        throw new RangeError(`Snapshot version must be a whole number of at least 0, got ${snapshot.version}`);
      }
      if (snapshot.data.byteLength > MAX_VALUE_BYTES) throw new ValueTooLargeError(DRIVER_NAME, snapshot.data.byteLength, MAX_VALUE_BYTES);
      return await run("saveSnapshot", async ({ sdk, client }) => {
        try {
          await client.send(new sdk.PutItemCommand({
            TableName: tableName,
            Item: { pk: { S: pk }, sk: { S: SNAPSHOT }, version: { N: String(snapshot.version) }, data: { B: snapshot.data } },
            ConditionExpression: "attribute_not_exists(#pk) OR #version < :version",
            ExpressionAttributeNames: { "#pk": "pk", "#version": "version" },
            ExpressionAttributeValues: { ":version": { N: String(snapshot.version) } },
            ReturnValuesOnConditionCheckFailure: "ALL_OLD",
          }));
          return true;
        } catch (error) {
          if (!isConditionFailure(error)) throw error;
          // A re-send by the SDK that finds a snapshot at exactly its version finds its own
          // earlier attempt (or an equal one): either way that snapshot is kept.
          return wasResent(error) && error.Item?.version?.N === String(snapshot.version);
        }
      });
    },
    async loadSnapshot(stream: string) {
      const pk = partitionOf(stream);
      return await run("loadSnapshot", async ({ sdk, client }) => {
        const result = await client.send(new sdk.GetItemCommand({
          TableName: tableName,
          Key: { pk: { S: pk }, sk: { S: SNAPSHOT } },
          ConsistentRead: true,
        }));
        if (result.Item === undefined) return null;
        const where = `${JSON.stringify(pk)}/snapshot`;
        return { version: numberAttribute(result.Item, "version", where), data: binaryAttribute(result.Item, "data", where) };
      });
    },
    ensureTable: connection.ensureTable,
    getInstance: connection.getInstance,
    close: connection.close,
  };
}

/**
 * DynamoDB storage and event store over `@aws-sdk/client-dynamodb`, for Node, Deno, Bun and
 * edge runtimes (the SDK speaks HTTP through `fetch` or Node's `http`).
 *
 * Table layout (one table, string keys `pk` and `sk`; see `docs/backends/dynamodb.md`):
 *
 * | item | pk | sk | attributes |
 * |---|---|---|---|
 * | state | `state#` + actor type | escaped actor id `/` escaped state name | `v` (B), `etag` (S), `rev` (N), `expiresAt` (N, ms), `ttl` (N, s) |
 * | stream head | `stream#` + stream | `head` | `version` (N) |
 * | event | `stream#` + stream | `e` + version, 16 digits | `version` (N), `type` (S), `data` (B) |
 * | snapshot | `stream#` + stream | `snapshot` | `version` (N), `data` (B) |
 *
 * @module
 */

import type {
  DeleteRequest,
  ListPage,
  ListRequest,
  StateKey,
  StateStorage,
  StorageCapabilities,
  StoredRecord,
  TransactOperation,
  WriteRequest,
  WriteResult,
} from "../../src/storage/types.ts";
import { assertTransactable, assertWritable } from "../../src/storage/guards.ts";
import { assertKeyWithinLimit, assertValidKey, assertValidKeyPart, decodeKey, encodeKey, encodeKeyPrefix } from "../../src/storage/keys.ts";
import { ContentionError, StateConflictError } from "../../src/errors.ts";
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
  SORT_KEY_LIMIT,
  stringAttribute,
  wasResent,
} from "./_client.ts";

export type { DynamoDbConnectionOptions, DynamoDbTableHandle } from "./_client.ts";
export { dynamoDbEventStore, type DynamoDbEventStore, type DynamoDbEventStoreOptions } from "./_event_store.ts";

/**
 * Options for {@linkcode dynamoDbStorage}.
 *
 * @example
 * ```ts
 * import { dynamoDbStorage, type DynamoDbStorageOptions } from "@quark/persistence/dynamodb";
 * const options: DynamoDbStorageOptions = { clientConfig: { region: "eu-west-1" }, tableName: "app_state" };
 * const storage = dynamoDbStorage(options);
 * ```
 */
export interface DynamoDbStorageOptions extends DynamoDbConnectionOptions {
  /**
   * The most attempts `transact` makes when its last-write-wins operations lose a race or
   * DynamoDB reports a transaction conflict, with jittered backoff between them. Past the
   * bound it throws `ContentionError`: nothing was applied. Defaults to 20.
   */
  readonly maxTransactAttempts?: number;
}

/**
 * A {@linkcode StateStorage} on DynamoDB, with table management and the raw client.
 *
 * @example Creating the table from a deploy script
 * ```ts ignore
 * import { dynamoDbStorage } from "@quark/persistence/dynamodb";
 * const storage = dynamoDbStorage({ clientConfig: { endpoint: "http://127.0.0.1:5055", region: "us-east-1" } });
 * await storage.ensureTable();
 * await storage.close();
 * ```
 */
export interface DynamoDbStorage extends StateStorage, DynamoDbTableHandle {}

const PARTITION_PREFIX = "state#";
const DEFAULT_PAGE_SIZE = 100;

/**
 * The longest key, in UTF-8 bytes of `encodeKey(key)`. The actor type goes to the partition
 * key (2,048 bytes with its prefix) and the escaped id and state name to the sort key (1,024);
 * `encodeKey` is those plus a separator, so a key whose encoding fits 1,025 bytes fits both.
 * One limit, the sort key's, in place of two: an actor type is a name in code, never 1 KB.
 */
const MAX_KEY_BYTES = SORT_KEY_LIMIT + 1;

// Reserved words (TTL, and others in future) never appear bare in an expression.
const NAMES = { "#pk": "pk", "#v": "v", "#etag": "etag", "#rev": "rev", "#exp": "expiresAt", "#ttl": "ttl" };
const ALIVE = "(attribute_not_exists(#exp) OR #exp > :now)";
const ABSENT = "(attribute_not_exists(#pk) OR #exp <= :now)";

/**
 * The primary key of a state, after refusing a key DynamoDB cannot hold: malformed parts
 * (lone surrogates, NUL), or an encoding over {@linkcode MAX_KEY_BYTES}. The actor type is
 * the partition; see the module docs.
 */
function itemKey(key: StateKey): Item {
  assertValidKey(key);
  assertKeyWithinLimit(DRIVER_NAME, "key", encodeKey(key), MAX_KEY_BYTES);
  // encodeKey escapes each part; with an empty actor type it yields "/<id>/<state>".
  const sk = encodeKey({ actorType: "", actorId: key.actorId, stateName: key.stateName }).slice(1);
  return { pk: { S: PARTITION_PREFIX + key.actorType }, sk: { S: sk } };
}

function keyOf(actorType: string, sk: string): StateKey {
  return { ...decodeKey("/" + sk), actorType };
}

interface Stored {
  readonly etag: string;
  readonly revision: number;
  readonly alive: boolean;
}

function describeItem(item: Item): string {
  return `${JSON.stringify(item.pk?.S)}/${JSON.stringify(item.sk?.S)}`;
}

/** What an item holds, for conflict checks; `null` for no item. */
function storedOf(item: Item | undefined, now: number): Stored | null {
  if (item === undefined || item.pk === undefined) return null;
  const where = describeItem(item);
  const expiresAt = item.expiresAt === undefined ? undefined : numberAttribute(item, "expiresAt", where);
  return {
    etag: stringAttribute(item, "etag", where),
    revision: numberAttribute(item, "rev", where),
    alive: expiresAt === undefined || expiresAt > now,
  };
}

function recordOf(item: Item, now: number): StoredRecord | null {
  const where = describeItem(item);
  const expiresAt = item.expiresAt === undefined ? undefined : numberAttribute(item, "expiresAt", where);
  if (expiresAt !== undefined && expiresAt <= now) return null;
  const record = {
    value: binaryAttribute(item, "v", where),
    etag: stringAttribute(item, "etag", where),
    revision: numberAttribute(item, "rev", where),
  };
  return expiresAt === undefined ? record : { ...record, expiresAt };
}

/** The SET/REMOVE clauses and values that store a write, given how the revision is computed. */
function writeUpdate(request: WriteRequest, revision: string, now: number) {
  const values: Item = { ":v": { B: request.value }, ":etag": { S: request.etag } };
  let expression = `SET #v = :v, #etag = :etag, #rev = ${revision}`;
  if (request.ttlMs === undefined) {
    expression += " REMOVE #exp, #ttl";
  } else {
    const expiresAt = now + request.ttlMs;
    expression += ", #exp = :exp, #ttl = :ttl";
    values[":exp"] = { N: String(expiresAt) };
    // DynamoDB's own TTL works in seconds and deletes late; reads filter on expiresAt.
    values[":ttl"] = { N: String(Math.ceil(expiresAt / 1000)) };
  }
  return { expression, values };
}

/**
 * Stores actor state in one DynamoDB table. Each write and delete is a single conditional
 * request (`ConditionExpression` on the etag, `attribute_not_exists` for create-only), so it
 * takes one HTTP round trip; a repeat of a write whose reply was lost is recognised from the
 * item DynamoDB returns with the failed condition. `transact` uses TransactGetItems to learn
 * revisions, then TransactWriteItems (at most 100 operations). `list` is a paginated Query on
 * the actor type's partition.
 *
 * @param options The client or its configuration, and the table.
 * @returns A {@linkcode DynamoDbStorage}.
 * @throws {ConfigurationError} When the table name is invalid.
 *
 * @example Storing a state in a local DynamoDB
 * ```ts ignore
 * import { dynamoDbStorage } from "@quark/persistence/dynamodb";
 * const storage = dynamoDbStorage({
 *   clientConfig: { endpoint: "http://127.0.0.1:5055", region: "us-east-1" },
 *   createTable: true,
 * });
 * const key = { actorType: "account", actorId: "42", stateName: "balance" };
 * const { etag } = await storage.write({ key, value: new Uint8Array([1]), etag: crypto.randomUUID(), expectedEtag: null });
 * const record = await storage.read(key);
 * if (record?.etag !== etag) throw new Error("not stored");
 * await storage.close();
 * ```
 */
export function dynamoDbStorage(options: DynamoDbStorageOptions = {}): DynamoDbStorage {
  const connection = connector(options);
  const { tableName } = connection;
  const maxTransactAttempts = attemptsOption("maxTransactAttempts", options.maxTransactAttempts, 20);
  const capabilities: StorageCapabilities = {
    maxKeyBytes: MAX_KEY_BYTES,
    transactions: true,
    maxTransactionOperations: MAX_TRANSACTION_ITEMS,
    maxTransactionBytes: MAX_TRANSACTION_VALUE_BYTES,
    ttl: true,
    list: true,
    maxValueBytes: MAX_VALUE_BYTES,
  };

  const run = connection.run;

  async function write(request: WriteRequest): Promise<WriteResult> {
    assertWritable(DRIVER_NAME, capabilities, request);
    const Key = itemKey(request.key);
    return await run("write", async ({ sdk, client }) => {
      const now = clockOf(client);
      let condition: string;
      let revision: string;
      const conditionValues: Item = {};
      if (request.lastWriteWins) {
        // The only refusal is our own earlier success, so a repeat keeps its revision.
        condition = "attribute_not_exists(#pk) OR #etag <> :etag";
        revision = "if_not_exists(#rev, :zero) + :one";
        conditionValues[":zero"] = { N: "0" };
        conditionValues[":one"] = { N: "1" };
      } else if (request.expectedEtag === null) {
        condition = ABSENT;
        revision = ":one";
        conditionValues[":one"] = { N: "1" };
        conditionValues[":now"] = { N: String(now) };
      } else {
        condition = `#etag = :expected AND ${ALIVE}`;
        revision = "#rev + :one";
        conditionValues[":expected"] = { S: request.expectedEtag };
        conditionValues[":one"] = { N: "1" };
        conditionValues[":now"] = { N: String(now) };
      }
      const update = writeUpdate(request, revision, now);
      const values = { ...update.values, ...conditionValues };
      try {
        const result = await client.send(new sdk.UpdateItemCommand({
          TableName: tableName,
          Key,
          UpdateExpression: update.expression,
          ConditionExpression: condition,
          ExpressionAttributeNames: pickNames(`${update.expression} ${condition}`),
          ExpressionAttributeValues: values,
          ReturnValues: "UPDATED_NEW",
          ReturnValuesOnConditionCheckFailure: "ALL_OLD",
        }));
        // A create starts at 1; moto's UPDATED_NEW leaves out values that did not change.
        if (request.expectedEtag === null) return { etag: request.etag, revision: 1 };
        return { etag: request.etag, revision: numberAttribute(result.Attributes ?? {}, "rev", "after write") };
      } catch (error) {
        if (!isConditionFailure(error)) throw error;
        const stored = storedOf(error.Item, now);
        // Our own etag is stored: an earlier attempt of this very write succeeded, in this
        // call (the SDK re-sent it) or in an earlier one whose reply was lost.
        if (stored?.etag === request.etag) return { etag: request.etag, revision: stored.revision };
        const actual = stored?.alive ? stored.etag : null;
        // No cause: the SDK error carries the stored item, value bytes included.
        throw new StateConflictError(request.key, request.expectedEtag ?? null, actual);
      }
    });
  }

  // A delete the SDK re-sent (after a timeout or a 5xx) that then finds nothing may have
  // deleted the state itself on an earlier attempt; it reports true, as the first attempt
  // would have. Writes need no such care: a re-sent write finds its own etag.
  async function remove(request: DeleteRequest): Promise<boolean> {
    const Key = itemKey(request.key);
    return await run("delete", async ({ sdk, client }) => {
      const now = clockOf(client);
      const values: Item = { ":now": { N: String(now) } };
      if (request.lastWriteWins) {
        const result = await client.send(new sdk.DeleteItemCommand({ TableName: tableName, Key, ReturnValues: "ALL_OLD" }));
        return (storedOf(result.Attributes, now)?.alive ?? false) || wasResent(result);
      }
      let condition: string;
      if (request.expectedEtag === null) {
        // Succeeds only when nothing live is stored, clearing an expired leftover if any.
        condition = ABSENT;
      } else {
        condition = `#etag = :expected AND ${ALIVE}`;
        values[":expected"] = { S: request.expectedEtag };
      }
      try {
        await client.send(new sdk.DeleteItemCommand({
          TableName: tableName,
          Key,
          ConditionExpression: condition,
          ExpressionAttributeNames: pickNames(condition),
          ExpressionAttributeValues: values,
          ReturnValuesOnConditionCheckFailure: "ALL_OLD",
        }));
        return request.expectedEtag !== null;
      } catch (error) {
        if (!isConditionFailure(error)) throw error;
        const stored = storedOf(error.Item, now);
        if (stored === null || !stored.alive) return request.expectedEtag !== null && wasResent(error);
        throw new StateConflictError(request.key, request.expectedEtag, stored.etag);
      }
    });
  }

  async function list(request: ListRequest): Promise<ListPage> {
    const limit = request.limit ?? DEFAULT_PAGE_SIZE;
    if (!Number.isSafeInteger(limit) || limit < 1) throw new RangeError(`List limit must be a whole number of at least 1, got ${limit}`);
    assertValidKeyPart("actorType", request.actorType);
    assertValidKeyPart("actorIdPrefix", request.actorIdPrefix ?? "");
    assertKeyWithinLimit(DRIVER_NAME, "actorType and actorIdPrefix", encodeKeyPrefix(request.actorType, request.actorIdPrefix), MAX_KEY_BYTES);
    const pk = PARTITION_PREFIX + request.actorType;
    // The escaped id prefix, without the escaped (empty) actor type and its separator.
    const prefix = encodeKeyPrefix("", request.actorIdPrefix ?? "").slice(1);
    if (request.cursor !== undefined) assertKeyWithinLimit(DRIVER_NAME, "cursor", request.cursor, SORT_KEY_LIMIT);
    return await run("list", async ({ sdk, client }) => {
      const keys: StateKey[] = [];
      let start = request.cursor === undefined ? undefined : { pk: { S: pk }, sk: { S: request.cursor } };
      do {
        const now = clockOf(client);
        const result = await client.send(new sdk.QueryCommand({
          TableName: tableName,
          KeyConditionExpression: prefix === "" ? "#pk = :pk" : "#pk = :pk AND begins_with(#sk, :prefix)",
          FilterExpression: ALIVE,
          ProjectionExpression: "#sk",
          ExpressionAttributeNames: { "#pk": "pk", "#sk": "sk", "#exp": "expiresAt" },
          ExpressionAttributeValues: {
            ":pk": { S: pk },
            ":now": { N: String(now) },
            ...(prefix === "" ? {} : { ":prefix": { S: prefix } }),
          },
          ExclusiveStartKey: start,
          Limit: limit - keys.length,
          ConsistentRead: true,
        }));
        for (const item of result.Items ?? []) keys.push(keyOf(request.actorType, stringAttribute(item, "sk", "in list")));
        start = result.LastEvaluatedKey as typeof start;
      } while (start !== undefined && keys.length < limit);
      const cursor = start?.sk?.S;
      return cursor === undefined ? { keys } : { keys, cursor };
    });
  }

  async function transact(operations: readonly TransactOperation[]): Promise<Array<WriteResult | null>> {
    assertTransactable(DRIVER_NAME, capabilities, operations);
    if (operations.length === 0) return [];
    const keys = operations.map((operation) => itemKey(operation.key));
    return await run("transact", async (ready) => {
      for (let attempt = 1; ; attempt++) {
        const outcome = await transactOnce(ready, operations, keys);
        if (outcome !== "retry") return outcome;
        if (attempt >= maxTransactAttempts) {
          throw new ContentionError(DRIVER_NAME, `a transaction of ${operations.length} operations`, attempt);
        }
        await backoff(attempt);
      }
    });
  }

  // One attempt: read every item (serialisably), check preconditions, then write with every
  // item pinned to what was read. Returns "retry" when only our own pins failed.
  async function transactOnce(
    { sdk, client }: Connection,
    operations: readonly TransactOperation[],
    keys: readonly Item[],
  ): Promise<Array<WriteResult | null> | "retry"> {
    const read = await client.send(new sdk.TransactGetItemsCommand({
      TransactItems: keys.map((Key) => ({
        Get: { TableName: tableName, Key, ProjectionExpression: "#pk, #etag, #rev, #exp", ExpressionAttributeNames: { "#pk": "pk", "#etag": "etag", "#rev": "rev", "#exp": "expiresAt" } },
      })),
    }));
    const now = clockOf(client);
    const stored = (read.Responses ?? []).map((response) => storedOf(response.Item, now));
    const results: Array<WriteResult | null> = [];
    const items = operations.map((operation, index) => {
      const current = stored[index] ?? null;
      const live = current?.alive ? current : null;
      const Key = keys[index]!;
      const pinValues: Item = { ":now": { N: String(now) } };
      let pin: string;
      if (live === null) {
        pin = ABSENT;
      } else {
        pin = `#etag = :seen AND ${ALIVE}`;
        pinValues[":seen"] = { S: live.etag };
      }
      if (operation.kind === "write") {
        if (live?.etag === operation.etag) {
          // Applied before (lost reply): keep it as it is, and make sure it stays so.
          results.push({ etag: operation.etag, revision: live.revision });
          return { ConditionCheck: { TableName: tableName, Key, ConditionExpression: pin, ExpressionAttributeNames: pickNames(pin), ExpressionAttributeValues: pinValues } };
        }
        if (!operation.lastWriteWins && (live?.etag ?? null) !== operation.expectedEtag) {
          throw new StateConflictError(operation.key, operation.expectedEtag, live?.etag ?? null);
        }
        const revision = (live?.revision ?? 0) + 1;
        results.push({ etag: operation.etag, revision });
        const update = writeUpdate(operation, ":revision", now);
        const condition = pin;
        return {
          Update: {
            TableName: tableName,
            Key,
            UpdateExpression: update.expression,
            ConditionExpression: condition,
            ExpressionAttributeNames: pickNames(`${update.expression} ${condition}`),
            ExpressionAttributeValues: { ...update.values, ...pinValues, ":revision": { N: String(revision) } },
            ReturnValuesOnConditionCheckFailure: "ALL_OLD" as const,
          },
        };
      }
      if (!operation.lastWriteWins && live !== null && live.etag !== operation.expectedEtag) {
        throw new StateConflictError(operation.key, operation.expectedEtag, live.etag);
      }
      results.push(null);
      return {
        Delete: {
          TableName: tableName,
          Key,
          ConditionExpression: pin,
          ExpressionAttributeNames: pickNames(pin),
          ExpressionAttributeValues: pinValues,
          ReturnValuesOnConditionCheckFailure: "ALL_OLD" as const,
        },
      };
    });
    try {
      // The token makes a re-send of this very request (the SDK's, after a lost reply) a no-op
      // on DynamoDB for 10 minutes. Where it is not honoured (moto), the re-sent transaction
      // fails its pins and the next attempt's read recognises the writes by their etags.
      await client.send(new sdk.TransactWriteItemsCommand({ TransactItems: items, ClientRequestToken: crypto.randomUUID() }));
      return results;
    } catch (error) {
      const reasons = cancellationReasons(error);
      if (reasons === undefined) throw error;
      // A precondition the caller set that now fails is a conflict; anything else (a race on
      // a last-write-wins pin, a concurrent transaction, our own lost reply) is worth a retry,
      // whose fresh read decides again.
      for (const [index, reason] of reasons.entries()) {
        if (reason.Code !== "ConditionalCheckFailed") continue;
        const operation = operations[index]!;
        if (operation.lastWriteWins) continue;
        const current = storedOf(reason.Item, clockOf(client));
        const actual = current?.alive ? current.etag : null;
        if (operation.kind === "write" && actual === operation.etag) continue;
        if (operation.kind === "delete" && actual === null) continue;
        if (actual !== operation.expectedEtag) {
          // What the server held when it refused; no cause, which would carry its value bytes.
          throw new StateConflictError(operation.key, operation.expectedEtag, actual);
        }
      }
      if (reasons.some((reason) => reason.Code !== undefined && !RETRYABLE_REASONS.has(reason.Code))) throw error;
      return "retry";
    }
  }

  return {
    name: DRIVER_NAME,
    tableName,
    capabilities,
    async read(key: StateKey) {
      const Key = itemKey(key);
      return await run("read", async ({ sdk, client }) => {
        const result = await client.send(new sdk.GetItemCommand({ TableName: tableName, Key, ConsistentRead: true }));
        return result.Item === undefined ? null : recordOf(result.Item, clockOf(client));
      });
    },
    write,
    delete: remove,
    list,
    transact,
    ensureTable: connection.ensureTable,
    getInstance: connection.getInstance,
    close: connection.close,
  };
}

const RETRYABLE_REASONS = new Set(["None", "ConditionalCheckFailed", "TransactionConflict"]);

const NAME_PATTERNS = Object.entries(NAMES).map(([placeholder, name]) => [new RegExp(`${placeholder}\\b`), placeholder, name] as const);
// The adapter builds only a handful of distinct expressions, so their name maps are cached.
const namesByExpression = new Map<string, Record<string, string>>();

/** The attribute names an expression uses; DynamoDB rejects unused ones. */
function pickNames(expression: string): Record<string, string> {
  let names = namesByExpression.get(expression);
  if (names === undefined) {
    names = {};
    for (const [pattern, placeholder, name] of NAME_PATTERNS) {
      if (pattern.test(expression)) names[placeholder] = name;
    }
    namesByExpression.set(expression, names);
  }
  return names;
}

// Plumbing shared by the DynamoDB storage and event store: the lazily loaded SDK, the client,
// the table (validated name, optional auto-create), and the mapping of SDK errors.

import type { AttributeValue, DynamoDBClient, DynamoDBClientConfig } from "@aws-sdk/client-dynamodb";
import { ConfigurationError, CorruptDataError, isQuarkError, StorageUnavailableError } from "../../src/errors.ts";
import { loadDriverPackage } from "../_shared/driver.ts";

/** The backend name used in messages and as `StateStorage.name`. */
export const DRIVER_NAME = "dynamodb";

/** The table name used when none is given. */
export const DEFAULT_TABLE_NAME = "quark";

/** The largest item DynamoDB stores, in bytes (attribute names count too). */
export const ITEM_LIMIT_BYTES = 400 * 1024;

/**
 * The most bytes a value or event payload may have: the item limit less room for the
 * longest keys (2,048 + 1,024 bytes) and the other attributes, so no valid key can push an
 * item over 400 KB.
 */
export const MAX_VALUE_BYTES = 400_000;

/** DynamoDB's limit on items in one TransactWriteItems or TransactGetItems call. */
export const MAX_TRANSACTION_ITEMS = 100;

/** DynamoDB's limits on a partition key and a sort key, in UTF-8 bytes. */
export const PARTITION_KEY_LIMIT = 2048;
export const SORT_KEY_LIMIT = 1024;

/**
 * The most bytes of values (state values, or event payloads and types) one transaction may
 * carry. DynamoDB refuses a TransactWriteItems whose items add up to more than 4 MB; this is
 * 4 MiB less, for each of the 100 items, the longest keys (2,048 + 1,024 bytes) and 256 bytes
 * of attribute names, etag, revision and expiry, so no valid keys can push a batch over.
 */
export const MAX_TRANSACTION_VALUE_BYTES = 4 * 1024 * 1024 - MAX_TRANSACTION_ITEMS * (PARTITION_KEY_LIMIT + SORT_KEY_LIMIT + 256);

/** The SDK module, loaded on first use so that importing the adapter costs nothing. */
export type Sdk = typeof import("@aws-sdk/client-dynamodb");

/** One DynamoDB item as the low-level client sends and receives it. */
export type Item = Record<string, AttributeValue>;

/**
 * How to reach DynamoDB and which table to use; shared by the storage and the event store.
 *
 * @example Sharing one client and table between the storage and the event store
 * ```ts
 * import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
 * import { dynamoDbEventStore, dynamoDbStorage, type DynamoDbConnectionOptions } from "@quark/persistence/dynamodb";
 * const connection: DynamoDbConnectionOptions = { client: new DynamoDBClient({ region: "eu-west-1" }), tableName: "app" };
 * const storage = dynamoDbStorage(connection);
 * const events = dynamoDbEventStore(connection);
 * ```
 */
export interface DynamoDbConnectionOptions {
  /**
   * A ready `DynamoDBClient`, or a function that returns one. The adapter uses it as it is
   * and never destroys it. When absent, the adapter creates a client from `clientConfig`
   * and destroys it on `close()`.
   */
  readonly client?: DynamoDBClient | (() => DynamoDBClient | Promise<DynamoDBClient>);
  /**
   * Configuration for the client the adapter creates when `client` is absent, such as
   * `{ region, endpoint, credentials, maxAttempts }`. Defaults to the SDK's own defaults
   * (region and credentials from the environment).
   */
  readonly clientConfig?: DynamoDBClientConfig;
  /**
   * The table, with a string partition key `pk` and a string sort key `sk`. The storage and
   * the event store can share one table: their partition keys never collide. Defaults to
   * `"quark"`. Must be 3 to 255 characters of `A-Z a-z 0-9 _ . -`.
   */
  readonly tableName?: string;
  /**
   * Whether to create the table (on-demand billing, TTL on attribute `ttl`) on first use
   * when it does not exist. Defaults to `false`: call `ensureTable()` from a deploy script,
   * or manage the table with your infrastructure code.
   */
  readonly createTable?: boolean;
}

const TABLE_NAME_PATTERN = /^[A-Za-z0-9_.-]{3,255}$/;

/** Validates a table name against DynamoDB's rules, before any request is made. */
export function validateTableName(tableName: string): string {
  if (typeof tableName !== "string" || !TABLE_NAME_PATTERN.test(tableName)) {
    throw new ConfigurationError(
      `Invalid DynamoDB table name ${JSON.stringify(tableName)}: use 3 to 255 characters of A-Z, a-z, 0-9, "_", "." and "-"`,
    );
  }
  return tableName;
}

/** The SDK and a client, resolved once per adapter instance. */
export interface Connection {
  readonly sdk: Sdk;
  readonly client: DynamoDBClient;
  readonly tableName: string;
}

/**
 * What the DynamoDB storage and event store offer besides their contracts.
 *
 * @example Reaching the raw client
 * ```ts
 * import { dynamoDbStorage } from "@quark/persistence/dynamodb";
 * const storage = dynamoDbStorage({ clientConfig: { region: "eu-west-1" }, tableName: "app_state" });
 * const client = await storage.getInstance();
 * if (storage.tableName !== "app_state" || !client) throw new Error("unexpected");
 * ```
 */
export interface DynamoDbTableHandle {
  /** The table in use. */
  readonly tableName: string;
  /**
   * Creates the table if it is missing (on-demand billing, string keys `pk` and `sk`), waits
   * until it is active and enables TTL on attribute `ttl`. Safe to call concurrently and
   * repeatedly.
   * @throws {ConfigurationError} When a table of that name exists with other keys.
   */
  ensureTable(): Promise<void>;
  /** The `DynamoDBClient` in use, created on first call if the adapter owns it. */
  getInstance(): Promise<DynamoDBClient>;
}

/** Resolves the client lazily, creates the table when asked, and closes what it created. */
export interface Connector extends DynamoDbTableHandle {
  /** Runs `body` with the client, mapping every SDK error to a library error. */
  run<T>(operation: string, body: (connection: Connection) => Promise<T>): Promise<T>;
  /** Destroys the client if this connector created it. */
  close(): Promise<void>;
}

/** Builds a {@linkcode Connector} from adapter options. */
export function connector(options: DynamoDbConnectionOptions): Connector {
  const tableName = validateTableName(options.tableName ?? DEFAULT_TABLE_NAME);
  let base: Promise<Connection> | undefined;
  let tableReady: Promise<void> | undefined;
  let ownsClient = false;
  let closed = false;

  function connect(): Promise<Connection> {
    base ??= (async () => {
      const sdk: Sdk = await loadDriverPackage("dynamodb", "@aws-sdk/client-dynamodb", () => import("@aws-sdk/client-dynamodb"));
      let client: DynamoDBClient;
      if (options.client === undefined) {
        client = new sdk.DynamoDBClient(options.clientConfig ?? {});
        ownsClient = true;
      } else {
        client = typeof options.client === "function" ? await options.client() : options.client;
      }
      return { sdk, client, tableName };
    })();
    base.catch(() => (base = undefined));
    return base;
  }

  async function ensureTable(): Promise<void> {
    const connection = await connect();
    try {
      await createTableIfMissing(connection);
    } catch (error) {
      throw toQuarkError(error, "ensureTable", tableName);
    }
  }

  async function get(operation: string): Promise<Connection> {
    if (closed) throw new StorageUnavailableError(DRIVER_NAME, operation, new Error("The adapter is closed"));
    let connection: Connection;
    try {
      connection = await connect();
    } catch (error) {
      throw isQuarkError(error) ? error : new StorageUnavailableError(DRIVER_NAME, operation, error);
    }
    if (options.createTable) {
      tableReady ??= ensureTable();
      tableReady.catch(() => (tableReady = undefined));
      await tableReady;
    }
    return connection;
  }

  return {
    tableName,
    async run<T>(operation: string, body: (connection: Connection) => Promise<T>): Promise<T> {
      const connection = await get(operation);
      try {
        return await body(connection);
      } catch (error) {
        if (isQuarkError(error)) throw error;
        throw toQuarkError(error, `${operation} against ${await endpointOf(connection.client)}`, tableName);
      }
    },
    ensureTable,
    async getInstance() {
      return (await get("getInstance")).client;
    },
    async close() {
      closed = true;
      if (base === undefined || !ownsClient) return;
      const { client } = await base;
      client.destroy();
    },
  };
}

async function createTableIfMissing({ sdk, client, tableName }: Connection): Promise<void> {
  let description = await describe(sdk, client, tableName);
  if (description === undefined) {
    try {
      await client.send(new sdk.CreateTableCommand({
        TableName: tableName,
        BillingMode: "PAY_PER_REQUEST",
        AttributeDefinitions: [
          { AttributeName: "pk", AttributeType: "S" },
          { AttributeName: "sk", AttributeType: "S" },
        ],
        KeySchema: [
          { AttributeName: "pk", KeyType: "HASH" },
          { AttributeName: "sk", KeyType: "RANGE" },
        ],
      }));
    } catch (error) {
      // Another process created it first; fall through and wait for it like our own.
      if (errorName(error) !== "ResourceInUseException") throw error;
    }
  }
  const deadline = Date.now() + 120_000;
  for (;;) {
    description = await describe(sdk, client, tableName);
    if (description?.TableStatus === "ACTIVE") break;
    if (Date.now() > deadline) throw new Error(`Table ${tableName} did not become active within 120 s`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  const keys = description.KeySchema ?? [];
  const hash = keys.find((key) => key.KeyType === "HASH")?.AttributeName;
  const range = keys.find((key) => key.KeyType === "RANGE")?.AttributeName;
  if (hash !== "pk" || range !== "sk") {
    throw new ConfigurationError(
      `DynamoDB table ${JSON.stringify(tableName)} must have the string keys pk (partition) and sk (sort), found ${hash ?? "none"} and ${range ?? "none"}`,
    );
  }
  const ttl = await client.send(new sdk.DescribeTimeToLiveCommand({ TableName: tableName }));
  const status = ttl.TimeToLiveDescription?.TimeToLiveStatus;
  if (status === "ENABLED" || status === "ENABLING") return;
  try {
    await client.send(new sdk.UpdateTimeToLiveCommand({
      TableName: tableName,
      TimeToLiveSpecification: { AttributeName: "ttl", Enabled: true },
    }));
  } catch (error) {
    // A concurrent ensureTable enabled it between our describe and update.
    if (errorName(error) !== "ValidationException") throw error;
  }
}

async function describe(sdk: Sdk, client: DynamoDBClient, tableName: string) {
  try {
    const result = await client.send(new sdk.DescribeTableCommand({ TableName: tableName }));
    return result.Table;
  } catch (error) {
    if (errorName(error) === "ResourceNotFoundException") return undefined;
    throw error;
  }
}

/** The SDK's error name, which is stable across copies of the SDK. */
export function errorName(error: unknown): string | undefined {
  return typeof error === "object" && error !== null ? (error as { name?: string }).name : undefined;
}

/** Where the client sends its requests, for messages: its endpoint, or its region. */
async function endpointOf(client: DynamoDBClient): Promise<string> {
  const config = client.config as {
    endpoint?: () => Promise<{ protocol?: string; hostname?: string; port?: number; path?: string }>;
    region?: () => Promise<string>;
  };
  try {
    if (typeof config.endpoint === "function") {
      const { protocol = "https:", hostname = "", port, path = "" } = await config.endpoint();
      return `${protocol}//${hostname}${port === undefined ? "" : `:${port}`}${path === "/" ? "" : path}`;
    }
    if (typeof config.region === "function") return `DynamoDB in ${await config.region()}`;
  } catch {
    // The message is still worth having without the endpoint.
  }
  return "DynamoDB";
}

/**
 * Removes the items DynamoDB returns with a failed condition (`ALL_OLD`) from an SDK error,
 * so that no state value or event payload travels on as a library error's cause.
 */
export function withoutItems(error: unknown): unknown {
  if (typeof error !== "object" || error === null) return error;
  const shape = error as { Item?: unknown; CancellationReasons?: Array<{ Item?: unknown }> };
  if ("Item" in shape) delete shape.Item;
  for (const reason of shape.CancellationReasons ?? []) delete reason.Item;
  return error;
}

/**
 * Whether the SDK sent the request more than once (its retry strategy re-sends after a
 * timeout, a 5xx or a dropped connection), so that an earlier attempt may have applied.
 */
export function wasResent(result: unknown): boolean {
  return ((result as { $metadata?: { attempts?: number } } | null)?.$metadata?.attempts ?? 1) > 1;
}

/**
 * The time by which expiry is judged, in epoch milliseconds: this process's clock, corrected
 * by the offset the SDK keeps when DynamoDB reports the clock skewed by more than 5 minutes
 * (SigV4 refuses such requests). DynamoDB offers no server clock to a condition expression.
 */
export function clockOf(client: DynamoDBClient): number {
  const offset = (client.config as { systemClockOffset?: number }).systemClockOffset;
  return Date.now() + (typeof offset === "number" && Number.isFinite(offset) ? offset : 0);
}

/** Turns an SDK error into a library error; library errors pass through unchanged. */
export function toQuarkError(error: unknown, operation: string, tableName: string): Error {
  if (isQuarkError(error)) return error;
  withoutItems(error);
  if (errorName(error) === "ResourceNotFoundException") {
    return new ConfigurationError(
      `DynamoDB table ${JSON.stringify(tableName)} does not exist: call ensureTable() or pass createTable: true`,
      { cause: error },
    );
  }
  return new StorageUnavailableError(DRIVER_NAME, operation, error);
}

/** One reason from a TransactionCanceledException, by position in the request. */
export interface CancellationReason {
  readonly Code?: string;
  readonly Item?: Item;
}

/** The per-item reasons of a cancelled transaction, or `undefined` for any other error. */
export function cancellationReasons(error: unknown): readonly CancellationReason[] | undefined {
  if (errorName(error) !== "TransactionCanceledException") return undefined;
  return (error as { CancellationReasons?: CancellationReason[] }).CancellationReasons ?? [];
}

/** Whether an error is a failed ConditionExpression of a single-item request. */
export function isConditionFailure(error: unknown): error is { Item?: Item } {
  return errorName(error) === "ConditionalCheckFailedException";
}

/** Reads a number attribute, or throws `CorruptDataError`. */
export function numberAttribute(item: Item, name: string, where: string): number {
  const raw = item[name]?.N;
  const value = raw === undefined ? Number.NaN : Number(raw);
  if (!Number.isSafeInteger(value)) throw new CorruptDataError(`DynamoDB item ${where} has no valid number attribute ${name}`);
  return value;
}

/** Reads a binary attribute, or throws `CorruptDataError`. */
export function binaryAttribute(item: Item, name: string, where: string): Uint8Array {
  const value = item[name]?.B;
  if (!(value instanceof Uint8Array)) throw new CorruptDataError(`DynamoDB item ${where} has no binary attribute ${name}`);
  return value;
}

/** Reads a string attribute, or throws `CorruptDataError`. */
export function stringAttribute(item: Item, name: string, where: string): string {
  const value = item[name]?.S;
  if (typeof value !== "string") throw new CorruptDataError(`DynamoDB item ${where} has no string attribute ${name}`);
  return value;
}

/**
 * Waits before re-sending after attempt `attempt` lost a race: a random time below a ceiling
 * that doubles from 2 ms to 100 ms (full jitter), so contenders that lost together spread out.
 */
export function backoff(attempt: number): Promise<void> {
  const ceiling = Math.min(100, 2 ** Math.min(attempt, 7));
  return new Promise((resolve) => setTimeout(resolve, Math.random() * ceiling));
}



// Connection, schema naming, value conversion and error classification shared by the
// Cassandra storage and event store. Private to adapters/cassandra.

import { Buffer } from "node:buffer";
import { ConfigurationError, InvalidInputError, isQuarkError, StorageUnavailableError } from "../../src/errors.ts";
import { attemptsOption } from "../_shared/attempts.ts";
import { loadDriverPackage } from "../_shared/driver.ts";

export const DRIVER_NAME = "cassandra";

/** A row as the driver returns it: columns by name. */
export type CassandraRow = Record<string, unknown>;

/** The part of a driver result set the adapter reads. */
export interface CassandraResultSet {
  readonly rows: readonly CassandraRow[];
  /** The paging state of the next page, as hex, when there is one. */
  readonly pageState?: string | null;
}

/** Per-request options the adapter sets; a subset of the driver's `QueryOptions`. */
export interface CassandraQueryOptions {
  readonly prepare?: boolean;
  readonly consistency?: number;
  readonly serialConsistency?: number;
  readonly fetchSize?: number;
  /** The page to fetch; the first when undefined. */
  readonly pageState?: string | undefined;
  readonly isIdempotent?: boolean;
  readonly logged?: boolean;
}

/**
 * The structural shape of a `cassandra-driver` `Client` that the adapter needs, so that its
 * types do not depend on the driver's.
 *
 * @example Passing a driver client
 * ```ts ignore
 * import cassandra from "cassandra-driver";
 * import { cassandraStorage, type CassandraClient } from "@quark/persistence/cassandra";
 * const client = new cassandra.Client({ contactPoints: ["127.0.0.1:9042"], localDataCenter: "datacenter1" });
 * const storage = cassandraStorage({ client: client as unknown as CassandraClient });
 * ```
 */
export interface CassandraClient {
  /** Runs one CQL statement with bound parameters. */
  execute(query: string, params?: readonly unknown[], options?: CassandraQueryOptions): Promise<CassandraResultSet>;
  /** Runs several statements as one batch. */
  batch(
    queries: ReadonlyArray<{ query: string; params: readonly unknown[] }>,
    options?: CassandraQueryOptions,
  ): Promise<CassandraResultSet>;
  /** Closes the client's connections. */
  shutdown(): Promise<void>;
}

/**
 * Schema management and the raw client, offered by the storage and the event store alike.
 *
 * @example Creating the schema at start-up
 * ```ts ignore
 * import { cassandraStorage } from "@quark/persistence/cassandra";
 * const storage = cassandraStorage({ contactPoints: ["127.0.0.1:9042"], localDataCenter: "datacenter1" });
 * await storage.ensureSchema();
 * const client = await storage.getInstance();
 * ```
 */
export interface CassandraManaged {
  /**
   * Creates the keyspace (with the configured replication) and the tables when missing.
   * Safe to call repeatedly and concurrently.
   */
  ensureSchema(): Promise<void>;
  /** The driver `Client` in use, created on first call if the adapter owns it. */
  getInstance(): Promise<CassandraClient>;
}

/**
 * How to reach Cassandra (a ready client, a factory, or contact points), which keyspace to
 * use, and how lightweight transactions behave. Shared by the storage and the event store.
 *
 * @example Three data centres, Paxos kept local
 * ```ts ignore
 * import { cassandraStorage } from "@quark/persistence/cassandra";
 * const storage = cassandraStorage({
 *   contactPoints: ["10.0.0.1:9042"],
 *   localDataCenter: "eu-west",
 *   keyspace: "app",
 *   replication: { class: "NetworkTopologyStrategy", "eu-west": 3, "us-east": 3 },
 *   serialConsistency: "LOCAL_SERIAL",
 * });
 * ```
 */
export interface CassandraConnectionOptions {
  /**
   * A connected `cassandra-driver` `Client`, or a function that makes one. A client passed
   * as an object stays open on `close()`; one from a factory or from `contactPoints` is shut
   * down by it.
   */
  readonly client?: CassandraClient | (() => CassandraClient | Promise<CassandraClient>);
  /** Contact points such as `["127.0.0.1:9042"]`, when no `client` is given. */
  readonly contactPoints?: readonly string[];
  /** The local data centre, such as `"datacenter1"`; required with `contactPoints`. */
  readonly localDataCenter?: string;
  /** More options for the `Client` the adapter creates (credentials, TLS, pooling). */
  readonly clientOptions?: Record<string, unknown>;
  /** The keyspace that holds the tables. Letters, digits and `_`, at most 48. Defaults to `"quark"`. */
  readonly keyspace?: string;
  /**
   * The keyspace's replication, used only when the adapter creates the keyspace. Defaults
   * to `{ class: "SimpleStrategy", replication_factor: 1 }`, which suits one node; use
   * `NetworkTopologyStrategy` with a factor per data centre in production.
   */
  readonly replication?: Readonly<Record<string, string | number>>;
  /**
   * Create the keyspace and tables on first use when missing. Defaults to `false`: call
   * `ensureSchema()` yourself, or create them from `docs/backends/cassandra.md`.
   */
  readonly createSchema?: boolean;
  /**
   * The consistency of reads and of the commit phase of lightweight transactions.
   * Defaults to `"LOCAL_QUORUM"`.
   */
  readonly consistency?: ConsistencyName;
  /**
   * The consistency of the Paxos phase of lightweight transactions, and of the reads that
   * settle an unknown outcome. `"LOCAL_SERIAL"` keeps Paxos in the local data centre, which
   * is only linearizable if every writer of a key uses the same data centre. Defaults to `"SERIAL"`.
   */
  readonly serialConsistency?: "SERIAL" | "LOCAL_SERIAL";
  /**
   * The most lightweight transactions one write, delete, `transact` or snapshot sends: it
   * re-sends after a timeout whose outcome a serial read settled as not applied, or when the
   * row moved under a last-write-wins operation. Past the bound it throws `ContentionError`
   * (nothing was applied), or `StorageUnavailableError` when whether the last attempt applied
   * is unknown. Defaults to 10.
   */
  readonly maxLwtAttempts?: number;
  /**
   * The backoff ceiling before the second re-send, in milliseconds; it doubles with each
   * further one, and each wait is drawn uniformly below it (full jitter). The first re-send
   * goes at once: the refusal that caused it reported the row it lost to. Defaults to 5.
   */
  readonly lwtBackoffMs?: number;
  /** The largest backoff ceiling, in milliseconds. Defaults to 200. */
  readonly lwtMaxBackoffMs?: number;
}

/**
 * A non-serial consistency level, by its CQL name.
 *
 * @example
 * ```ts ignore
 * import { cassandraEventStore, type ConsistencyName } from "@quark/persistence/cassandra";
 * const consistency: ConsistencyName = "QUORUM";
 * const store = cassandraEventStore({ contactPoints: ["127.0.0.1:9042"], localDataCenter: "datacenter1", consistency });
 * ```
 */
export type ConsistencyName = "ONE" | "LOCAL_ONE" | "QUORUM" | "LOCAL_QUORUM" | "EACH_QUORUM" | "ALL";

// Protocol values from the CQL native protocol specification (section 3, [consistency]).
const CONSISTENCY: Record<ConsistencyName | "SERIAL" | "LOCAL_SERIAL", number> = {
  ONE: 0x0001,
  QUORUM: 0x0004,
  ALL: 0x0005,
  LOCAL_QUORUM: 0x0006,
  EACH_QUORUM: 0x0007,
  SERIAL: 0x0008,
  LOCAL_SERIAL: 0x0009,
  LOCAL_ONE: 0x000a,
};

/** The settings both the storage and the event store derive from their options. */
export interface Settings {
  readonly keyspace: string;
  readonly consistency: number;
  readonly serialConsistency: number;
  readonly maxLwtAttempts: number;
  readonly lwtBackoffMs: number;
  readonly lwtMaxBackoffMs: number;
  /** The contact points, for messages. */
  readonly endpoint: string;
}


export function settingsOf(options: CassandraConnectionOptions): Settings {
  const consistency = options.consistency ?? "LOCAL_QUORUM";
  const serial = options.serialConsistency ?? "SERIAL";
  if (!(consistency in CONSISTENCY) || consistency === "SERIAL" as string || consistency === "LOCAL_SERIAL" as string) {
    throw new ConfigurationError(`Unknown Cassandra consistency ${JSON.stringify(consistency)}`);
  }
  if (serial !== "SERIAL" && serial !== "LOCAL_SERIAL") {
    throw new ConfigurationError(`Serial consistency must be "SERIAL" or "LOCAL_SERIAL", got ${JSON.stringify(serial)}`);
  }
  const maxLwtAttempts = attemptsOption("maxLwtAttempts", options.maxLwtAttempts, 10);
  return {
    keyspace: quoteIdentifier(options.keyspace ?? "quark", "keyspace"),
    consistency: CONSISTENCY[consistency],
    serialConsistency: CONSISTENCY[serial],
    maxLwtAttempts,
    lwtBackoffMs: options.lwtBackoffMs ?? 5,
    lwtMaxBackoffMs: options.lwtMaxBackoffMs ?? 200,
    endpoint: options.contactPoints?.join(",") ?? "the given client",
  };
}

const IDENTIFIER = /^[A-Za-z][A-Za-z0-9_]{0,47}$/;

/**
 * Validates a keyspace or table name and quotes it. Cassandra allows only letters, digits
 * and underscores in these names (48 characters at most), so anything else is refused
 * rather than escaped; quoting keeps the case as given.
 */
export function quoteIdentifier(name: string, what: string): string {
  if (typeof name !== "string" || !IDENTIFIER.test(name)) {
    throw new ConfigurationError(
      `Invalid Cassandra ${what} name ${JSON.stringify(name)}: use a letter, then letters, digits or underscores, at most 48 in all`,
    );
  }
  return `"${name}"`;
}

const REPLICATION_PART = /^[A-Za-z0-9_.]{1,200}$/;

/** The `WITH replication = {…}` map literal, from validated keys and values. */
export function replicationLiteral(replication: Readonly<Record<string, string | number>> | undefined): string {
  const entries = Object.entries(replication ?? { class: "SimpleStrategy", replication_factor: 1 });
  if (entries.length === 0) throw new ConfigurationError("Cassandra replication must name at least a class");
  const parts = entries.map(([name, value]) => {
    const text = String(value);
    if (!REPLICATION_PART.test(name) || !REPLICATION_PART.test(text)) {
      throw new ConfigurationError(`Invalid Cassandra replication option ${JSON.stringify(name)}: ${JSON.stringify(text)}`);
    }
    return `'${name}': '${text}'`;
  });
  return `{${parts.join(", ")}}`;
}

/** Lazily made client, owned or borrowed. */
export interface Connection {
  client(): Promise<CassandraClient>;
  close(): Promise<void>;
}

export function connector(options: CassandraConnectionOptions): Connection {
  const given = options.client;
  if (given === undefined && (options.contactPoints === undefined || options.contactPoints.length === 0)) {
    throw new ConfigurationError("The cassandra adapter needs a client or contactPoints");
  }
  if (given === undefined && !options.localDataCenter) {
    throw new ConfigurationError("The cassandra adapter needs localDataCenter with contactPoints");
  }
  const owned = typeof given !== "object";
  let pending: Promise<CassandraClient> | undefined;
  let closed = false;

  async function make(): Promise<CassandraClient> {
    if (typeof given === "object") return given;
    if (typeof given === "function") return await given();
    const driver = await loadDriver();
    const client = new driver.Client({
      ...options.clientOptions,
      contactPoints: [...options.contactPoints!],
      localDataCenter: options.localDataCenter,
    });
    try {
      await client.connect();
    } catch (error) {
      await client.shutdown().catch(() => undefined);
      throw error;
    }
    return client;
  }

  return {
    client() {
      if (closed) return Promise.reject(new StorageUnavailableError(DRIVER_NAME, "connect", new Error("The storage is closed")));
      pending ??= make().catch((error) => {
        pending = undefined;
        const where = options.contactPoints === undefined ? "connect" : `connect to ${options.contactPoints.join(",")}`;
        throw isQuarkError(error) ? error : new StorageUnavailableError(DRIVER_NAME, where, error);
      });
      return pending;
    },
    async close() {
      closed = true;
      const current = pending;
      pending = undefined;
      if (!owned || current === undefined) return;
      const client = await current.catch(() => undefined);
      await client?.shutdown();
    },
  };
}

interface DriverModule {
  Client: new (options: Record<string, unknown>) => CassandraClient & { connect(): Promise<void> };
}

async function loadDriver(): Promise<DriverModule> {
  const module = await loadDriverPackage("cassandra", "cassandra-driver", () => import("cassandra-driver")) as unknown as
    & { default?: DriverModule }
    & DriverModule;
  return module.default ?? module;
}

/** A bigint column as a JavaScript number; the driver returns `Long` or `BigInt`. */
export function toNumber(value: unknown): number {
  if (typeof value === "number") return value;
  if (typeof value === "bigint") return Number(value);
  if (value !== null && typeof value === "object" && "toString" in value) return Number(String(value));
  return Number.NaN;
}

/** A blob column as a fresh `Uint8Array` that owns its bytes. */
export function toBytes(value: unknown): Uint8Array | undefined {
  if (!(value instanceof Uint8Array)) return undefined;
  return new Uint8Array(value);
}

/** Bytes for a blob parameter. The driver wants a `Buffer`, so wrap without copying. */
export function blobParam(bytes: Uint8Array): Buffer {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

// Driver error codes from the native protocol specification (section 9, error codes).
const UNAVAILABLE = 0x1000;
const WRITE_TIMEOUT = 0x1100;
const READ_TIMEOUT = 0x1200;
const CAS_WRITE_UNKNOWN = 0x1700;
const INVALID = 0x2200;

interface DriverErrorShape {
  readonly name?: string;
  readonly code?: number;
  readonly message?: string;
  readonly writeType?: string;
}

/**
 * Whether a failed lightweight transaction may or may not have been applied: the server
 * timed out in Paxos or in its commit, or the client gave up waiting. Only a serial read
 * tells which.
 */
export function isUnknownOutcome(error: unknown): boolean {
  const shape = error as DriverErrorShape | null;
  if (shape === null || typeof shape !== "object") return false;
  if (shape.name === "OperationTimedOutError") return true;
  return shape.code === WRITE_TIMEOUT || shape.code === READ_TIMEOUT || shape.code === CAS_WRITE_UNKNOWN;
}

/** Whether the server refused before doing anything because too few replicas were up. */
export function isUnavailable(error: unknown): boolean {
  return (error as DriverErrorShape | null)?.code === UNAVAILABLE;
}

/**
 * Turns a driver error into the library's: a missing schema is a `ConfigurationError`, any
 * other refusal of the query as invalid (a key over Cassandra's 65,535-byte limit, say) a
 * permanent `InvalidInputError`, and the rest `StorageUnavailableError` naming the contact
 * points. Driver errors carry no bound values, so no state bytes reach a message.
 */
export function toQuarkError(error: unknown, operation: string, settings?: Settings): Error {
  if (isQuarkError(error)) return error;
  const shape = error as DriverErrorShape | null;
  if (shape?.code === INVALID && /unconfigured table|keyspace .* does not exist/i.test(shape.message ?? "")) {
    return new ConfigurationError(
      `Cassandra schema is missing (${shape.message}): call ensureSchema() or set createSchema: true`,
      { cause: error },
    );
  }
  if (shape?.code === INVALID) return new InvalidInputError(DRIVER_NAME, operation, shape.message ?? "invalid query", { cause: error });
  const where = settings === undefined ? operation : `${operation} against ${settings.endpoint}`;
  return new StorageUnavailableError(DRIVER_NAME, where, error);
}

/**
 * Waits before attempt `attempt` (2 = the first re-send). The first re-send goes at once;
 * later ones wait a random time below a ceiling that doubles from `lwtBackoffMs` up to
 * `lwtMaxBackoffMs` (full jitter), so contenders that lost together spread out.
 */
export function backoff(attempt: number, settings: Settings): Promise<void> {
  if (attempt <= 2) return Promise.resolve();
  const ceiling = Math.min(settings.lwtMaxBackoffMs, settings.lwtBackoffMs * 2 ** Math.min(attempt - 3, 20));
  return new Promise((resolve) => setTimeout(resolve, Math.random() * ceiling));
}

/** Runs `create` once at a time until it succeeds; a failure lets the next caller try again. */
export function once(create: () => Promise<void>): () => Promise<void> {
  let pending: Promise<void> | undefined;
  return () => {
    pending ??= create().catch((error) => {
      pending = undefined;
      throw error;
    });
    return pending;
  };
}

/** Query options for plain reads, serial reads and lightweight transactions. */
export interface RequestOptions {
  readonly read: CassandraQueryOptions;
  readonly serialRead: CassandraQueryOptions;
  readonly lwt: CassandraQueryOptions;
}

/** What the storage and the event store share: settings, the client, and schema creation. */
export interface Context extends RequestOptions {
  readonly settings: Settings;
  /** The quoted keyspace. */
  readonly keyspace: string;
  /** The client, after creating the schema first if `createSchema` is set. */
  client(operation: string): Promise<CassandraClient>;
  ensureSchema(): Promise<void>;
  getInstance(): Promise<CassandraClient>;
  close(): Promise<void>;
}

/**
 * Builds the shared context. `tables` gives the `CREATE TABLE IF NOT EXISTS` statements
 * that follow the keyspace's.
 */
export function context(options: CassandraConnectionOptions, tables: readonly string[]): Context {
  const settings = settingsOf(options);
  const connection = connector(options);
  const keyspace = settings.keyspace;
  const replication = replicationLiteral(options.replication);
  const create = once(async () => {
    const client = await connection.client();
    const ddl = [`CREATE KEYSPACE IF NOT EXISTS ${keyspace} WITH replication = ${replication}`, ...tables];
    for (const statement of ddl) await client.execute(statement, [], { consistency: settings.consistency });
  });
  const ensureSchema = async () => {
    try {
      await create();
    } catch (error) {
      throw toQuarkError(error, "ensureSchema", settings);
    }
  };
  return {
    settings,
    keyspace,
    // Reads and plain inserts may be re-sent by the driver's retry policy. Lightweight
    // transactions never are, whatever the client's defaults say: the adapter settles a
    // timed-out LWT with a serial read before sending it again.
    read: { prepare: true, consistency: settings.consistency, isIdempotent: true },
    serialRead: { prepare: true, consistency: settings.serialConsistency, isIdempotent: true },
    lwt: { prepare: true, consistency: settings.consistency, serialConsistency: settings.serialConsistency, isIdempotent: false },
    async client(operation: string) {
      if (options.createSchema) await ensureSchema();
      try {
        return await connection.client();
      } catch (error) {
        throw toQuarkError(error, operation, settings);
      }
    },
    ensureSchema,
    getInstance: () => connection.client(),
    close: () => connection.close(),
  };
}

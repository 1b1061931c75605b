// How a storage event maps onto the stable OpenTelemetry database semantic conventions:
// the `db.system.name` registry value, the collection, the span name and the attributes that
// spans and the duration histogram share.
import type { StorageOperationEvent } from "../../src/observe/observer.ts";
import type { StateKey } from "../../src/storage/types.ts";

/** Backend names whose database has a `db.system.name` value in the OpenTelemetry registry. */
const REGISTERED_SYSTEMS: Readonly<Record<string, string>> = {
  // PGlite and Neon are PostgreSQL.
  postgres: "postgresql",
  pglite: "postgresql",
  neon: "postgresql",
  upstash: "redis",
  mongodb: "mongodb",
  cassandra: "cassandra",
  dynamodb: "aws.dynamodb",
  mssql: "microsoft.sql_server",
};

/** The registry value for a backend, or the backend's own name where the registry has none. */
export function dbSystemNameOf(backend: string): string {
  return REGISTERED_SYSTEMS[backend] ?? backend;
}

function collectionOfKey(key: StateKey): string {
  // Like `schema.table` in SQL: both parts are declared in code, so cardinality stays low.
  return `${key.actorType}.${key.stateName}`;
}

export function collectionOfStream(stream: string): string {
  // streamNameOf escapes `/` inside its parts, so the first `/` ends the actor type. The
  // actor id stays out: it would make span names and metric series unbounded.
  const separator = stream.indexOf("/");
  return separator === -1 ? stream : stream.slice(0, separator);
}

/** The collection an operation touched, or undefined when it spans several or none. */
export function collectionOf(event: StorageOperationEvent): string | undefined {
  if (event.key) return collectionOfKey(event.key);
  if (event.stream !== undefined) return collectionOfStream(event.stream);
  const collections = new Set(event.keys?.map(collectionOfKey));
  return collections.size === 1 ? [...collections][0] : undefined;
}

/** `{db.operation.name} {db.collection.name}`, or the operation alone without a single collection. */
export function spanNameOf(event: StorageOperationEvent): string {
  const collection = collectionOf(event);
  return collection === undefined ? event.operation : `${event.operation} ${collection}`;
}

/**
 * Where a backend's database listens, for the `server.address` and `server.port` attributes.
 *
 * @example From the URL the storage was given
 * ```ts
 * import type { ServerEndpoint } from "@quark/persistence/otel";
 * const url = new URL("postgres://app@db.internal:6432/shop");
 * const postgres: ServerEndpoint = { address: url.hostname, port: Number(url.port) || undefined };
 * if (postgres.port !== 6432) throw new Error("unexpected port");
 * ```
 */
export interface ServerEndpoint {
  /** The host name or IP address. */
  readonly address: string;
  /** The port, when not the protocol's default. */
  readonly port?: number | undefined;
}

/** The attributes both the span and the `db.client.operation.duration` histogram carry. */
export function operationAttributes(event: StorageOperationEvent, dbNamespace: string | undefined, server?: ServerEndpoint): Record<string, string | number> {
  const attributes: Record<string, string | number> = {
    "db.system.name": dbSystemNameOf(event.backend),
    "db.operation.name": event.operation,
    // The adapter itself, since several share one system name (pglite, postgres, neon).
    "quark.backend": event.backend,
  };
  const collection = collectionOf(event);
  if (collection !== undefined) attributes["db.collection.name"] = collection;
  if (dbNamespace !== undefined) attributes["db.namespace"] = dbNamespace;
  if (server) attributes["server.address"] = server.address;
  if (server?.port !== undefined) attributes["server.port"] = server.port;
  // A transaction of several writes is one batch operation.
  if (event.keys && event.keys.length > 1) attributes["db.operation.batch.size"] = event.keys.length;
  if (event.outcome === "error") attributes["error.type"] = event.errorCode ?? "UNEXPECTED";
  return attributes;
}

/**
 * How the SQL adapters report driver failures: what each kind of failure becomes, a copy of
 * the driver's error that keeps its diagnostics but none of the statement's parameters (so
 * no state bytes reach a log through `cause`), the endpoint and the root cause of a refused
 * connection. (A missing driver package is `adapters/_shared/driver.ts`'s.)
 *
 * @module
 */

import { ConfigurationError, InvalidInputError, isQuarkError, StorageUnavailableError } from "../../src/errors.ts";
import type { SqlDialect } from "./dialect.ts";

// Diagnostic fields of postgres.js, pg, PGlite, Neon and tedious errors, and of Node's
// network errors. Everything else (postgres.js `parameters`, PGlite `params`, `query`) is left
// behind: those carry the bound values.
const KEPT_FIELDS = [
  "code", "severity", "hint", "position", "routine", "constraint", "table", "column", "schema", "dataType",
  "errno", "syscall", "address", "port", "hostname", "number", "state", "class", "lineNumber",
] as const;

/**
 * Copies a driver error without what could carry state bytes: only its name, message,
 * diagnostic fields and (copied the same way) its cause chain. A PostgreSQL `detail` that
 * quotes a failing row is dropped.
 *
 * @param error The driver's error.
 * @param depth How deep into the cause chain this copy is.
 * @returns An `Error` safe to log.
 *
 * @example
 * ```ts
 * import { sanitizeDriverError } from "./errors.ts";
 * const raw = Object.assign(new Error("boom"), { code: "22021", parameters: [new Uint8Array([1, 2])] });
 * const safe = sanitizeDriverError(raw) as Error & { code?: string; parameters?: unknown };
 * if (safe.code !== "22021" || safe.parameters !== undefined) throw new Error("not sanitized");
 * ```
 */
export function sanitizeDriverError(error: unknown, depth = 0): Error {
  if (!(error instanceof Error) && (typeof error !== "object" || error === null)) return new Error(String(error));
  const source = error as Error & Record<string, unknown>;
  const copy = new Error(typeof source.message === "string" ? source.message : String(error)) as Error & Record<string, unknown>;
  copy.name = typeof source.name === "string" ? source.name : "Error";
  for (const field of KEPT_FIELDS) {
    const value = source[field];
    if (typeof value === "string" || typeof value === "number") copy[field] = value;
  }
  if (typeof source.detail === "string" && !/failing row/i.test(source.detail)) copy.detail = source.detail;
  if (typeof source.stack === "string") copy.stack = `${copy.name}: ${copy.message}\n${source.stack.split("\n").filter((line) => /^\s+at /.test(line)).join("\n")}`;
  // Neon's errors keep theirs in `sourceError`; AggregateError (Node's happy-eyeballs
  // connect) holds the per-address errors.
  const inner = source.cause ?? source.sourceError ?? (Array.isArray(source.errors) ? source.errors[0] : undefined);
  if (inner !== undefined && depth < 4) (copy as { cause?: unknown }).cause = sanitizeDriverError(inner, depth + 1);
  return copy;
}

/**
 * Turns a driver failure into the error the caller should see, and throws it. A QuarkError
 * passes unchanged; missing tables and refused settings are configuration mistakes; input the
 * server refuses for good is an InvalidInputError; anything else is an outage, named with the
 * endpoint when the adapter knows it.
 *
 * @param name The backend's name.
 * @param dialect Reads the driver's errors.
 * @param endpoint `host:port` of the server, or `undefined` when a ready client was given.
 * @returns A function of the operation and the error, which always throws.
 */
export function failureMapper(name: string, dialect: SqlDialect, endpoint: string | undefined): (operation: string, error: unknown) => never {
  return (operation, error) => {
    if (isQuarkError(error)) throw error;
    const safe = sanitizeDriverError(error);
    const kind = dialect.classify(error);
    if (kind.kind === "missing-schema") {
      throw new ConfigurationError(`Storage backend ${name} has no tables yet: call ensureSchema() once, or pass autoCreateSchema: true`, { cause: safe });
    }
    if (kind.kind === "configuration") {
      throw new ConfigurationError(`Storage backend ${name} refused the connection's settings during ${operation}: ${kind.problem}`, { cause: safe });
    }
    if (kind.kind === "invalid-input") throw new InvalidInputError(name, operation, kind.problem, { cause: safe });
    const where = endpoint === undefined ? "" : ` (endpoint ${endpoint})`;
    // The message follows the cause chain (a bare "fetch failed" is followed by the refused
    // connection behind it); the endpoint goes on its first line. The cause stays the copy.
    const failure = new StorageUnavailableError(name, operation, Object.assign(new Error(`${safe.message}${where}`, { cause: safe.cause }), { name: safe.name }));
    Object.defineProperty(failure, "cause", { value: safe, writable: true, configurable: true, enumerable: false });
    throw failure;
  };
}

/**
 * `host:port` of a connection string, without credentials, for error messages.
 *
 * @param url A `postgres://` URL or a SQL Server connection string.
 * @param defaultPort The port when the string names none.
 * @returns `host:port`, or `undefined` when the string cannot be read.
 *
 * @example
 * ```ts
 * import { endpointOf } from "./errors.ts";
 * if (endpointOf("postgres://user:secret@db.example:6432/app", 5432) !== "db.example:6432") throw new Error("wrong endpoint");
 * if (endpointOf("Server=127.0.0.1,1433;User Id=sa;Password=x", 1433) !== "127.0.0.1:1433") throw new Error("wrong endpoint");
 * ```
 */
export function endpointOf(url: unknown, defaultPort: number): string | undefined {
  if (typeof url !== "string") return undefined;
  const server = /(?:^|;)\s*(?:server|data source|address|addr)\s*=\s*(?:tcp:)?([^;,]+)(?:,(\d+))?/i.exec(url);
  if (server && !url.includes("://")) return `${server[1]!.trim()}:${server[2] ?? defaultPort}`;
  try {
    const parsed = new URL(url);
    if (parsed.hostname === "") return undefined;
    return `${parsed.hostname}:${parsed.port === "" ? defaultPort : parsed.port}`;
  } catch {
    return undefined;
  }
}

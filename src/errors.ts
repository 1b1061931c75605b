/**
 * The error family. Every error the library throws on purpose is a {@linkcode QuarkError}
 * with a stable string `code`, so callers can branch on it even when two copies of the
 * library (one from JSR, one from npm) are loaded side by side.
 *
 * @module
 */

import type { StateKey } from "./storage/types.ts";

/**
 * The stable codes carried by {@linkcode QuarkError} subclasses.
 *
 * @example Reporting failures by code
 * ```ts
 * import { ConfigurationError, isQuarkError, type QuarkErrorCode } from "@quark/persistence";
 * const codeOf = (error: unknown): QuarkErrorCode | "UNEXPECTED" => isQuarkError(error) ? error.code : "UNEXPECTED";
 * if (codeOf(new ConfigurationError("No storage providers were configured")) !== "CONFIGURATION") throw new Error("wrong code");
 * if (codeOf(new TypeError("boom")) !== "UNEXPECTED") throw new Error("plain errors carry no code");
 * ```
 */
export type QuarkErrorCode =
  | "STATE_CONFLICT"
  | "STATE_VALIDATION"
  | "STORAGE_UNAVAILABLE"
  | "CAPABILITY"
  | "CONFIGURATION"
  | "EVENT_STORE_CONFLICT"
  | "CORRUPT_DATA"
  | "DECRYPTION"
  | "VALUE_TOO_LARGE"
  | "ACTIVATION"
  | "ACTOR_SHUT_DOWN"
  | "CONTENTION"
  | "INVALID_KEY"
  | "INVALID_INPUT"
  | "SERIALIZATION"
  | "DECODE_LIMIT"
  | "TURN_PARTIALLY_COMMITTED"
  | "UNCOMMITTED_EVENTS"
  | "LEASE_HELD"
  | "LEASE_LOST";

const QUARK_ERROR_CODES: ReadonlySet<QuarkErrorCode> = new Set<QuarkErrorCode>([
  "STATE_CONFLICT",
  "STATE_VALIDATION",
  "STORAGE_UNAVAILABLE",
  "CAPABILITY",
  "CONFIGURATION",
  "EVENT_STORE_CONFLICT",
  "CORRUPT_DATA",
  "DECRYPTION",
  "VALUE_TOO_LARGE",
  "ACTIVATION",
  "ACTOR_SHUT_DOWN",
  "CONTENTION",
  "INVALID_KEY",
  "INVALID_INPUT",
  "SERIALIZATION",
  "DECODE_LIMIT",
  "TURN_PARTIALLY_COMMITTED",
  "UNCOMMITTED_EVENTS",
  "LEASE_HELD",
  "LEASE_LOST",
]);

/**
 * Base class of every error this library throws on purpose.
 *
 * @example Catching any library error
 * ```ts
 * import { QuarkError, ConfigurationError } from "@quark/persistence";
 * const error = new ConfigurationError("Unknown storage provider \"cold\"");
 * if (!(error instanceof QuarkError)) throw new Error("expected a QuarkError");
 * if (error.code !== "CONFIGURATION") throw new Error("wrong code");
 * ```
 */
export class QuarkError extends Error {
  /** A stable, machine-readable code. */
  readonly code: QuarkErrorCode;

  /**
   * Creates a `QuarkError`.
   *
   * @param code The stable code.
   * @param message A sentence-case message without a trailing period.
   * @param options The underlying cause, if any.
   */
  constructor(code: QuarkErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = "QuarkError";
  }
}

/**
 * Tells whether `error` is a library error, optionally with a given code. It checks the
 * shape rather than the prototype, because the JSR and npm copies of this library can be
 * loaded in one process and their classes are then distinct.
 *
 * @param error Anything that was thrown.
 * @param code The code to match, if any.
 * @returns Whether `error` looks like a {@linkcode QuarkError} (with that code).
 *
 * @example Branching on a code
 * ```ts
 * import { isQuarkError, StateConflictError } from "@quark/persistence";
 * const error = new StateConflictError({ actorType: "a", actorId: "1", stateName: "s" }, "e1", "e2");
 * if (!isQuarkError(error, "STATE_CONFLICT")) throw new Error("expected a conflict");
 * if (isQuarkError(new Error("plain"))) throw new Error("plain errors are not Quark errors");
 * ```
 */
export function isQuarkError(error: unknown, code?: QuarkErrorCode): error is QuarkError {
  if (typeof error !== "object" || error === null || !(error instanceof Error)) return false;
  const candidate = error as { code?: unknown; name?: unknown };
  if (typeof candidate.code !== "string" || typeof candidate.name !== "string") return false;
  if (!QUARK_ERROR_CODES.has(candidate.code as QuarkErrorCode)) return false;
  return code === undefined || candidate.code === code;
}

/** Formats a key for messages, quoting each part so that separators inside ids stay visible. */
export function describeKey(key: StateKey): string {
  return `${JSON.stringify(key.actorType)}/${JSON.stringify(key.actorId)}/${JSON.stringify(key.stateName)}`;
}

/**
 * The stored etag did not match the expectation of a write or delete.
 *
 * @example Reading the details of a conflict
 * ```ts
 * import { StateConflictError } from "@quark/persistence";
 * const key = { actorType: "account", actorId: "42", stateName: "balance" };
 * const error = new StateConflictError(key, "old-etag", "new-etag");
 * if (error.expectedEtag !== "old-etag" || error.actualEtag !== "new-etag") throw new Error("details lost");
 * ```
 */
export class StateConflictError extends QuarkError {
  /** The key whose write was refused. */
  readonly key: StateKey;
  /** The etag the writer expected; `null` means it expected the state not to exist. */
  readonly expectedEtag: string | null;
  /** The stored etag, where the backend reports it: `null` means absent, `undefined` unknown. */
  readonly actualEtag: string | null | undefined;

  /**
   * Creates a `StateConflictError`.
   *
   * @param key The key whose write was refused.
   * @param expectedEtag The etag the writer expected.
   * @param actualEtag The stored etag, where known.
   * @param options The underlying cause, if any.
   */
  constructor(
    key: StateKey,
    expectedEtag: string | null,
    actualEtag?: string | null,
    options?: { cause?: unknown; message?: string },
  ) {
    const actual = actualEtag === undefined ? "" : `, found ${actualEtag === null ? "no state" : JSON.stringify(actualEtag)}`;
    const expected = expectedEtag === null ? "no state" : JSON.stringify(expectedEtag);
    super("STATE_CONFLICT", options?.message ?? `State ${describeKey(key)} changed concurrently: expected ${expected}${actual}`, options);
    this.name = "StateConflictError";
    this.key = key;
    this.expectedEtag = expectedEtag;
    this.actualEtag = actualEtag;
  }
}

/**
 * One problem found by a schema, in Standard Schema form.
 *
 * @example Where a value broke its schema
 * ```ts
 * import * as v from "valibot";
 * import type { ValidationIssue } from "@quark/persistence";
 * const schema = v.object({ cents: v.pipe(v.number(), v.minValue(0)) });
 * const result = await schema["~standard"].validate({ cents: -1 });
 * const issues: readonly ValidationIssue[] = result.issues ?? [];
 * const where = issues.map((issue) => issue.path?.map((part) => typeof part === "object" ? part.key : part).join("."));
 * if (where.join() !== "cents") throw new Error(`unexpected issues: ${JSON.stringify(issues)}`);
 * ```
 */
export interface ValidationIssue {
  /** What is wrong. */
  readonly message: string;
  /** Where it is wrong, from the root of the value. */
  readonly path?: ReadonlyArray<PropertyKey | { readonly key: PropertyKey }> | undefined;
}

/**
 * A value failed its state, event or snapshot schema. Nothing was stored.
 *
 * @example Inspecting the issues
 * ```ts
 * import { StateValidationError } from "@quark/persistence";
 * const error = new StateValidationError("balance", "write", [{ message: "Must be at least 0", path: ["amount"] }]);
 * if (error.issues.length !== 1) throw new Error("issues lost");
 * ```
 */
export class StateValidationError extends QuarkError {
  /** The schema's issues, as the validator reported them (valibot issues for valibot schemas). */
  readonly issues: readonly ValidationIssue[];
  /** The state, event or snapshot name that was being validated. */
  readonly target: string;

  /**
   * Creates a `StateValidationError`.
   *
   * @param target The state, event or snapshot name.
   * @param phase Whether the value was being written or read.
   * @param issues The schema's issues.
   */
  constructor(target: string, phase: "write" | "read", issues: readonly ValidationIssue[]) {
    const summary = issues.slice(0, 3).map(formatIssue).join("; ");
    super("STATE_VALIDATION", `Invalid value for ${JSON.stringify(target)} on ${phase}: ${summary}`);
    this.name = "StateValidationError";
    this.issues = issues;
    this.target = target;
  }
}

function formatIssue(issue: ValidationIssue): string {
  const path = issue.path?.map((part) => String(typeof part === "object" ? part.key : part)).join(".");
  return path ? `${path}: ${issue.message}` : issue.message;
}

/**
 * The backend could not be reached or failed in a way that says nothing about the data.
 *
 * @example Wrapping a driver error
 * ```ts
 * import { StorageUnavailableError } from "@quark/persistence";
 * const error = new StorageUnavailableError("postgres", "read", new Error("ECONNREFUSED"));
 * if (!error.message.includes("postgres")) throw new Error("backend not named");
 * ```
 */
export class StorageUnavailableError extends QuarkError {
  /** The backend's name. */
  readonly backend: string;

  /**
   * Creates a `StorageUnavailableError`.
   *
   * @param backend The backend's name, for the message.
   * @param operation What was being done.
   * @param cause The driver's error.
   */
  constructor(backend: string, operation: string, cause: unknown) {
    super("STORAGE_UNAVAILABLE", `Storage backend ${backend} failed during ${operation}: ${rootCauses(cause)}`, { cause });
    this.name = "StorageUnavailableError";
    this.backend = backend;
  }
}

/**
 * The messages along an error's cause chain, outermost first, so that a bare "fetch failed"
 * carries the refused connection behind it. Messages already contained in an outer one are
 * left out.
 */
function rootCauses(cause: unknown): string {
  const parts: string[] = [];
  let current: unknown = cause;
  for (let depth = 0; depth < 6 && current !== undefined && current !== null; depth++) {
    const message = current instanceof Error ? current.message : String(current);
    if (message !== "" && !parts.some((part) => part.includes(message))) parts.push(message);
    current = current instanceof Error ? current.cause : undefined;
  }
  return parts.length === 0 ? String(cause) : parts.join(": ");
}

/**
 * A feature was asked of a backend that does not support it. It is never silently ignored.
 *
 * @example Naming the missing capability
 * ```ts
 * import { CapabilityError } from "@quark/persistence";
 * const error = new CapabilityError("memory", "ttl");
 * if (error.capability !== "ttl") throw new Error("capability not named");
 * ```
 */
export class CapabilityError extends QuarkError {
  /** The capability that is missing. */
  readonly capability: string;

  /**
   * Creates a `CapabilityError`.
   *
   * @param backend The backend's name.
   * @param capability The missing capability.
   * @param detail More about why, if any.
   */
  constructor(backend: string, capability: string, detail?: string) {
    super("CAPABILITY", `Storage backend ${backend} does not support ${capability}${detail ? `: ${detail}` : ""}`);
    this.name = "CapabilityError";
    this.capability = capability;
  }
}

/**
 * The configuration is wrong: an unknown provider name, a bad table name, a missing key.
 *
 * @example A configuration mistake
 * ```ts
 * import { ConfigurationError } from "@quark/persistence";
 * const error = new ConfigurationError("Unknown storage provider \"cold\"");
 * if (error.code !== "CONFIGURATION") throw new Error("wrong code");
 * ```
 */
export class ConfigurationError extends QuarkError {
  /**
   * Creates a `ConfigurationError`.
   *
   * @param message What is wrong.
   * @param options The underlying cause, if any.
   */
  constructor(message: string, options?: { cause?: unknown }) {
    super("CONFIGURATION", message, options);
    this.name = "ConfigurationError";
  }
}

/**
 * An append found the stream at another version than expected.
 *
 * @example Reading the versions of a conflict
 * ```ts
 * import { EventStoreConflictError } from "@quark/persistence";
 * const error = new EventStoreConflictError("ledger-1", 3, 4);
 * if (error.actualVersion !== 4) throw new Error("version lost");
 * ```
 */
export class EventStoreConflictError extends QuarkError {
  /** The stream that was appended to. */
  readonly stream: string;
  /** What the appender expected. */
  readonly expectedVersion: number | "no_stream" | "any";
  /** The stream's version, where the backend reports it. */
  readonly actualVersion: number | undefined;

  /**
   * Creates a `EventStoreConflictError`.
   *
   * @param stream The stream name.
   * @param expectedVersion What the appender expected.
   * @param actualVersion The stream's version, where known.
   * @param options The underlying cause, if any.
   */
  constructor(
    stream: string,
    expectedVersion: number | "no_stream" | "any",
    actualVersion?: number,
    options?: { cause?: unknown },
  ) {
    const actual = actualVersion === undefined ? "" : `, found version ${actualVersion}`;
    super("EVENT_STORE_CONFLICT", `Stream ${JSON.stringify(stream)} changed concurrently: expected ${typeof expectedVersion === "number" ? `version ${expectedVersion}` : expectedVersion}${actual}`, options);
    this.name = "EventStoreConflictError";
    this.stream = stream;
    this.expectedVersion = expectedVersion;
    this.actualVersion = actualVersion;
  }
}

/**
 * Stored bytes could not be decoded: truncated, from another format, or tampered with.
 *
 * @example Bytes that are not a Quark envelope
 * ```ts
 * import { CorruptDataError } from "@quark/persistence";
 * const error = new CorruptDataError("Unknown envelope format 7");
 * if (error.code !== "CORRUPT_DATA") throw new Error("wrong code");
 * ```
 */
export class CorruptDataError extends QuarkError {
  /**
   * Creates a `CorruptDataError`.
   *
   * @param message What is wrong with the bytes.
   * @param options The underlying cause, if any.
   */
  constructor(message: string, options?: { cause?: unknown }) {
    super("CORRUPT_DATA", message, options);
    this.name = "CorruptDataError";
  }
}

/**
 * Encrypted bytes failed authentication, or name a key id that is not configured.
 *
 * @example Bytes that fail authentication
 * ```ts
 * import { DecryptionError } from "@quark/persistence";
 * const error = new DecryptionError("Ciphertext failed authentication with key \"k1\"");
 * if (error.code !== "DECRYPTION") throw new Error("wrong code");
 * ```
 */
export class DecryptionError extends QuarkError {
  /**
   * Creates a `DecryptionError`.
   *
   * @param message What failed.
   * @param options The underlying cause, if any.
   */
  constructor(message: string, options?: { cause?: unknown }) {
    super("DECRYPTION", message, options);
    this.name = "DecryptionError";
  }
}

/**
 * An encoded value is larger than the backend accepts. Nothing was sent.
 *
 * @example Reading the size and the limit
 * ```ts
 * import { ValueTooLargeError } from "@quark/persistence";
 * const error = new ValueTooLargeError("dynamodb", 500_000, 400_000);
 * if (error.limit !== 400_000) throw new Error("limit lost");
 * ```
 */
export class ValueTooLargeError extends QuarkError {
  /** The encoded size in bytes. */
  readonly size: number;
  /** The backend's limit in bytes. */
  readonly limit: number;

  /**
   * Creates a `ValueTooLargeError`.
   *
   * @param backend The backend's name.
   * @param size The encoded size in bytes.
   * @param limit The backend's limit in bytes.
   */
  constructor(backend: string, size: number, limit: number) {
    super("VALUE_TOO_LARGE", `Value of ${size} bytes exceeds the ${limit}-byte limit of storage backend ${backend}`);
    this.name = "ValueTooLargeError";
    this.size = size;
    this.limit = limit;
  }
}

/**
 * An actor failed to activate: loading its state or its `onActivate` hook threw. The call
 * that triggered activation fails with this error; the next call tries again.
 *
 * @example Naming the actor that failed
 * ```ts
 * import { ActivationError } from "@quark/persistence";
 * const error = new ActivationError("account", "42", new Error("database down"));
 * if (!error.message.includes("account")) throw new Error("actor not named");
 * ```
 */
export class ActivationError extends QuarkError {
  /**
   * Creates a `ActivationError`.
   *
   * @param actorType The actor's type.
   * @param actorId The actor's id.
   * @param cause What went wrong.
   */
  constructor(actorType: string, actorId: string, cause: unknown) {
    const reason = cause instanceof Error ? cause.message : String(cause);
    super("ACTIVATION", `Actor ${JSON.stringify(actorType)}/${JSON.stringify(actorId)} failed to activate: ${reason}`, { cause });
    this.name = "ActivationError";
  }
}

/**
 * A call reached an actor system after `shutdown()`.
 *
 * @example Calls after shutdown
 * ```ts
 * import { ActorSystemShutDownError } from "@quark/persistence";
 * const error = new ActorSystemShutDownError();
 * if (error.code !== "ACTOR_SHUT_DOWN") throw new Error("wrong code");
 * ```
 */
export class ActorSystemShutDownError extends QuarkError {
  constructor() {
    super("ACTOR_SHUT_DOWN", "The actor system has shut down");
    this.name = "ActorSystemShutDownError";
  }
}

/**
 * A write or append lost to other writers too many times in a row: contention, not an outage.
 * The backend is healthy and nothing was applied; trying again later may succeed. The
 * runtime's `retry` policy treats it as retryable.
 *
 * @example Telling contention from an outage
 * ```ts
 * import { ContentionError, isQuarkError } from "@quark/persistence";
 * const error: unknown = new ContentionError("cassandra", "write", 10);
 * if (isQuarkError(error, "STORAGE_UNAVAILABLE")) throw new Error("contention is not an outage");
 * if (!(error instanceof ContentionError) || error.attempts !== 10) throw new Error("attempts lost");
 * ```
 */
export class ContentionError extends QuarkError {
  /** The backend's name. */
  readonly backend: string;
  /** How many attempts were made before giving up. */
  readonly attempts: number;

  /**
   * Creates a `ContentionError`.
   *
   * @param backend The backend's name.
   * @param operation What was being done.
   * @param attempts How many attempts were made.
   * @param options The last underlying cause, if any.
   */
  constructor(backend: string, operation: string, attempts: number, options?: { cause?: unknown }) {
    super("CONTENTION", `Storage backend ${backend} gave up on ${operation} after ${attempts} attempts under contention from concurrent writers; nothing was applied`, options);
    this.name = "ContentionError";
    this.backend = backend;
    this.attempts = attempts;
  }
}

/**
 * A key part (actor type, actor id, state name or stream name) cannot be stored: it is not
 * well-formed, or it is longer than the backend allows. Nothing was sent.
 *
 * @example Naming the part and the limit
 * ```ts
 * import { InvalidKeyError } from "@quark/persistence";
 * const error = new InvalidKeyError("actorId", "is 1200 bytes long, over the 900-byte limit of mssql", { limit: 900 });
 * if (error.part !== "actorId" || error.limit !== 900) throw new Error("details lost");
 * ```
 */
export class InvalidKeyError extends QuarkError {
  /** Which part of the key is at fault. */
  readonly part: string;
  /** The limit that was exceeded, in bytes, where the problem is a length. */
  readonly limit: number | undefined;

  /**
   * Creates an `InvalidKeyError`.
   *
   * @param part Which part of the key, such as `"actorId"` or `"stream"`.
   * @param problem What is wrong with it, completing "Key part actorId …".
   * @param options The limit, if any, and the underlying cause.
   */
  constructor(part: string, problem: string, options?: { limit?: number; cause?: unknown }) {
    super("INVALID_KEY", `Key part ${part} ${problem}`, options);
    this.name = "InvalidKeyError";
    this.part = part;
    this.limit = options?.limit;
  }
}

/**
 * The backend refused an input permanently (an out-of-range TTL, a value its index cannot
 * hold, a character it cannot store). Retrying the same input fails the same way; the
 * backend itself is healthy.
 *
 * @example A permanent refusal, named with its backend
 * ```ts
 * import { InvalidInputError } from "@quark/persistence";
 * const error = new InvalidInputError("postgres", "write", "ttlMs 1e20 is out of range");
 * if (!error.message.includes("postgres")) throw new Error("backend not named");
 * ```
 */
export class InvalidInputError extends QuarkError {
  /** The backend's name. */
  readonly backend: string;

  /**
   * Creates an `InvalidInputError`.
   *
   * @param backend The backend's name.
   * @param operation What was being done.
   * @param problem What the backend refused.
   * @param options The driver's error.
   */
  constructor(backend: string, operation: string, problem: string, options?: { cause?: unknown }) {
    super("INVALID_INPUT", `Storage backend ${backend} refused the input of ${operation}: ${problem}`, options);
    this.name = "InvalidInputError";
    this.backend = backend;
  }
}

/**
 * A value cannot be serialized: it holds a function, a class instance or another value the
 * serializer does not support. Names the state and the path to the offending part.
 *
 * @example Where the unserializable part is
 * ```ts
 * import { SerializationError } from "@quark/persistence";
 * const error = new SerializationError("profile", ["settings", "onChange"], "a function cannot be stored");
 * if (error.path.join(".") !== "settings.onChange") throw new Error("path lost");
 * ```
 */
export class SerializationError extends QuarkError {
  /** The state (or event) whose value was refused. */
  readonly target: string;
  /** The path inside the value to the part that cannot be stored. */
  readonly path: readonly (string | number)[];

  /**
   * Creates a `SerializationError`.
   *
   * @param target The state or event name.
   * @param path The path inside the value.
   * @param problem What is wrong with the part found there.
   * @param options The serializer's error.
   */
  constructor(target: string, path: readonly (string | number)[], problem: string, options?: { cause?: unknown }) {
    const where = path.length === 0 ? "the value itself" : path.map(String).join(".");
    super("SERIALIZATION", `Cannot serialize ${JSON.stringify(target)} at ${where}: ${problem}`, options);
    this.name = "SerializationError";
    this.target = target;
    this.path = path;
  }
}

/**
 * Stored bytes would decode past a configured bound (decompressed size, string length or
 * node count), so decoding stopped before using the memory. The stored data is untouched.
 *
 * @example Reading the bound that was hit
 * ```ts
 * import { DecodeLimitError } from "@quark/persistence";
 * const error = new DecodeLimitError("decompressed size", 4_000_000);
 * if (error.limit !== 4_000_000) throw new Error("limit lost");
 * ```
 */
export class DecodeLimitError extends QuarkError {
  /** The bound that was reached. */
  readonly limit: number;

  /**
   * Creates a `DecodeLimitError`.
   *
   * @param what Which quantity passed its bound.
   * @param limit The bound.
   */
  constructor(what: string, limit: number) {
    super("DECODE_LIMIT", `Stored value refused: its ${what} would exceed the limit of ${limit}`);
    this.name = "DecodeLimitError";
    this.limit = limit;
  }
}

/**
 * A turn (or command) conflicted after it had already committed other writes, so its
 * `retry` policy could not re-run it: re-running would apply the committed writes twice.
 * `committed` names what did take effect; nothing else did. Save the states together with
 * `saveStates` (or commit events once per command) so that a conflict comes before any write.
 *
 * @example What took effect
 * ```ts
 * import { StateConflictError, TurnPartiallyCommittedError } from "@quark/persistence";
 * const key = { actorType: "account", actorId: "a1", stateName: "credit" };
 * const error = new TurnPartiallyCommittedError("account", "a1", ["debit"], new StateConflictError(key, "e1", "e2"));
 * if (error.committed.join() !== "debit") throw new Error("committed states lost");
 * ```
 */
export class TurnPartiallyCommittedError extends QuarkError {
  /** The states (or `"events"`) this turn committed before the conflict. */
  readonly committed: readonly string[];

  /**
   * Creates a `TurnPartiallyCommittedError`.
   *
   * @param actorType The actor's type.
   * @param actorId The actor's id.
   * @param committed What the turn had committed.
   * @param conflict The conflict that could not be retried.
   */
  constructor(actorType: string, actorId: string, committed: readonly string[], conflict: unknown) {
    const reason = conflict instanceof Error ? conflict.message : String(conflict);
    super(
      "TURN_PARTIALLY_COMMITTED",
      `Actor ${JSON.stringify(actorType)}/${JSON.stringify(actorId)} conflicted after committing ${committed.join(", ")} in the same turn, so the turn was not retried (that would apply them twice): ${reason}`,
      { cause: conflict },
    );
    this.name = "TurnPartiallyCommittedError";
    this.committed = committed;
  }
}

/**
 * A command returned with events it raised but never committed. They were discarded, so the
 * call took no effect; call `commit()` before returning.
 *
 * @example How many events were dropped
 * ```ts
 * import { UncommittedEventsError } from "@quark/persistence";
 * const error = new UncommittedEventsError("ledger", "l1", 2);
 * if (error.count !== 2) throw new Error("count lost");
 * ```
 */
export class UncommittedEventsError extends QuarkError {
  /** How many raised events were discarded. */
  readonly count: number;

  /**
   * Creates an `UncommittedEventsError`.
   *
   * @param actorType The actor's type.
   * @param actorId The actor's id.
   * @param count How many raised events were discarded.
   */
  constructor(actorType: string, actorId: string, count: number) {
    super("UNCOMMITTED_EVENTS", `A command of ${JSON.stringify(actorType)}/${JSON.stringify(actorId)} returned with ${count} raised but uncommitted event(s); they were discarded: call commit() before returning`);
    this.name = "UncommittedEventsError";
    this.count = count;
  }
}

/**
 * Another holder has the lease of an actor, so this one may not activate it now. Nothing was
 * written; try again after `expiresAt`, or route the call to `holder`.
 *
 * @example Naming who holds the lease
 * ```ts
 * import { isQuarkError, LeaseHeldError } from "@quark/persistence";
 * const error: unknown = new LeaseHeldError("account", "alice", "web-2", Date.now() + 10_000);
 * if (!isQuarkError(error, "LEASE_HELD") || !(error instanceof LeaseHeldError) || error.holder !== "web-2") throw new Error("holder lost");
 * ```
 */
export class LeaseHeldError extends QuarkError {
  /** The actor's type. */
  readonly actorType: string;
  /** The actor's id. */
  readonly actorId: string;
  /** The holder that has the lease. */
  readonly holder: string;
  /** When its lease expires, in epoch milliseconds on the holder's clock. */
  readonly expiresAt: number;

  /**
   * Creates a `LeaseHeldError`.
   *
   * @param actorType The actor's type.
   * @param actorId The actor's id.
   * @param holder The holder that has the lease.
   * @param expiresAt When its lease expires, in epoch milliseconds.
   */
  constructor(actorType: string, actorId: string, holder: string, expiresAt: number) {
    super("LEASE_HELD", `The lease of actor ${JSON.stringify(actorType)}/${JSON.stringify(actorId)} is held by ${JSON.stringify(holder)} until ${new Date(expiresAt).toISOString()}`);
    this.name = "LeaseHeldError";
    this.actorType = actorType;
    this.actorId = actorId;
    this.holder = holder;
    this.expiresAt = expiresAt;
  }
}

/**
 * A lease was renewed or released after it was lost: it expired and another holder took it
 * over (or it was gone). Whatever the old holder still writes is fenced by the etags.
 *
 * @example Who took the lease over
 * ```ts
 * import { isQuarkError, LeaseLostError } from "@quark/persistence";
 * const error: unknown = new LeaseLostError("account", "alice", "web-2");
 * if (!isQuarkError(error, "LEASE_LOST") || !(error instanceof LeaseLostError) || error.newHolder !== "web-2") throw new Error("new holder lost");
 * ```
 */
export class LeaseLostError extends QuarkError {
  /** The actor's type. */
  readonly actorType: string;
  /** The actor's id. */
  readonly actorId: string;
  /** The holder that has the lease now, where known. */
  readonly newHolder: string | undefined;

  /**
   * Creates a `LeaseLostError`.
   *
   * @param actorType The actor's type.
   * @param actorId The actor's id.
   * @param newHolder The holder that has the lease now, where known.
   * @param options The underlying cause, if any.
   */
  constructor(actorType: string, actorId: string, newHolder: string | undefined, options?: { cause?: unknown }) {
    const now = newHolder === undefined ? "" : `; ${JSON.stringify(newHolder)} holds it now`;
    super("LEASE_LOST", `The lease of actor ${JSON.stringify(actorType)}/${JSON.stringify(actorId)} was lost${now}`, options);
    this.name = "LeaseLostError";
    this.actorType = actorType;
    this.actorId = actorId;
    this.newHolder = newHolder;
  }
}

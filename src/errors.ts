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
  | "ACTOR_SHUT_DOWN";

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
  readonly path?: ReadonlyArray<PropertyKey | { readonly key: PropertyKey }>;
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
    const reason = cause instanceof Error ? cause.message : String(cause);
    super("STORAGE_UNAVAILABLE", `Storage backend ${backend} failed during ${operation}: ${reason}`, { cause });
    this.name = "StorageUnavailableError";
    this.backend = backend;
  }
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

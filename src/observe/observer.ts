import type { StateKey } from "../storage/types.ts";

/**
 * One storage or event-store call, reported after it settles.
 *
 * @example What a failed write looks like
 * ```ts
 * import type { StorageOperationEvent } from "@quark/persistence";
 * const event: StorageOperationEvent = {
 *   backend: "postgres",
 *   operation: "write",
 *   key: { actorType: "account", actorId: "42", stateName: "balance" },
 *   durationMs: 1.8,
 *   roundTrips: 1,
 *   outcome: "error",
 *   errorCode: "STATE_CONFLICT",
 * };
 * if (event.outcome !== "error") throw new Error("expected a failure");
 * ```
 */
export interface StorageOperationEvent {
  /** The backend's name, such as `"postgres"`. */
  readonly backend: string;
  /** The contract method that was called. */
  readonly operation: "read" | "write" | "delete" | "list" | "transact" | "append" | "readStream" | "readAll" | "version" | "saveSnapshot" | "loadSnapshot";
  /** The state key, for single-key operations. */
  readonly key?: StateKey | undefined;
  /** Every key, for `transact`. */
  readonly keys?: readonly StateKey[] | undefined;
  /** The event stream, for event-store operations. */
  readonly stream?: string | undefined;
  /** Wall-clock time from call to settlement, in milliseconds. */
  readonly durationMs: number;
  /** Calls made through the contract; an adapter's own retries happen inside one. */
  readonly roundTrips: number;
  /** Whether the call resolved or threw. */
  readonly outcome: "ok" | "error";
  /** The library error code, or `"UNEXPECTED"` for an error without one. */
  readonly errorCode?: string | undefined;
}

/**
 * What an actor or a turn did, reported by the actor system.
 *
 * @example Telling a retried attempt from the first
 * ```ts
 * import type { ActorEvent } from "@quark/persistence";
 * const event: ActorEvent = { kind: "turn", actorType: "account", actorId: "42", handler: "deposit", attempt: 2, durationMs: 0.4, outcome: "ok" };
 * if (event.kind === "turn" && event.attempt > 1) console.log("a retried turn");
 * ```
 */
export type ActorEvent =
  | { readonly kind: "activation"; readonly actorType: string; readonly actorId: string; readonly durationMs: number; readonly outcome: "ok" | "error"; readonly errorCode?: string | undefined }
  | { readonly kind: "deactivation"; readonly actorType: string; readonly actorId: string; readonly reason: "idle" | "shutdown" }
  | {
    readonly kind: "turn";
    readonly actorType: string;
    readonly actorId: string;
    readonly handler: string;
    /** 1 for the first run of a call, 2 and up for retries. */
    readonly attempt: number;
    readonly durationMs: number;
    readonly outcome: "ok" | "error";
    readonly errorCode?: string | undefined;
  }
  | { readonly kind: "retry"; readonly actorType: string; readonly actorId: string; readonly handler: string; readonly attempt: number; readonly errorCode: string };

/**
 * One attempt of a turn, reported as it starts; the `turn` {@linkcode ActorEvent} reports its
 * end. Storage calls between the two are that attempt's (an actor runs one turn at a time),
 * which is how a tracer nests them under a span of the turn without async context.
 *
 * @example Announcing retried attempts
 * ```ts
 * import type { TurnStartEvent } from "@quark/persistence";
 * const event: TurnStartEvent = { actorType: "account", actorId: "42", handler: "deposit", attempt: 2 };
 * if (event.attempt > 1) console.log(`${event.actorType}.${event.handler} again`);
 * ```
 */
export interface TurnStartEvent {
  /** The actor's type. */
  readonly actorType: string;
  /** The actor's id. */
  readonly actorId: string;
  /** The handler the call runs. */
  readonly handler: string;
  /** 1 for the first run of a call, 2 and up for retries. */
  readonly attempt: number;
}

/**
 * What happened to one conflicting or uncertain write.
 *
 * @example A conflict the merge policy resolved
 * ```ts
 * import type { WriteEvent } from "@quark/persistence";
 * const key = { actorType: "poll", actorId: "p", stateName: "votes" };
 * const event: WriteEvent = { kind: "conflict", key, policy: "merge", resolution: "merged" };
 * if (event.kind === "conflict" && event.resolution === "merged") console.log("merged");
 * ```
 */
export type WriteEvent =
  | {
    readonly kind: "conflict";
    /** The state whose etag had changed; absent for an event stream. */
    readonly key?: StateKey | undefined;
    /** The event stream that had moved on, for an event-sourced command; absent for a state. */
    readonly stream?: string | undefined;
    readonly policy: "abort" | "retry" | "merge" | "last-write-wins";
    /** `retried`: the turn re-runs; `merged`: a merged value is written next; `partial`: the turn had committed before; `thrown`: the caller gets the conflict. */
    readonly resolution: "retried" | "merged" | "partial" | "thrown";
  }
  | { readonly kind: "merge"; readonly key: StateKey; readonly attempt: number }
  | {
    readonly kind: "lost-reply";
    readonly key: StateKey;
    /** `landed`: the stored etag was ours, so the write counts as done; `unknown`: the caller gets the outage. */
    readonly outcome: "landed" | "unknown";
  };

/**
 * What happened to an event-sourced actor's snapshot.
 *
 * @example A snapshot skipped because the state broke its schema
 * ```ts
 * import type { SnapshotEvent } from "@quark/persistence";
 * const event: SnapshotEvent = { stream: "ledger/l1", version: 200, outcome: "skipped", reason: "STATE_VALIDATION" };
 * if (event.outcome === "skipped") console.log(`no snapshot at ${event.version}: ${event.reason}`);
 * ```
 */
export interface SnapshotEvent {
  /** The actor's event stream. */
  readonly stream: string;
  /** The stream version the snapshot is (or would have been) taken at. */
  readonly version: number;
  /** `written`; `skipped` when it could not be validated, encoded or stored; `unreadable` when recovery ignored it. */
  readonly outcome: "written" | "skipped" | "unreadable";
  /** The error code behind a skip. */
  readonly reason?: string | undefined;
}

/**
 * One batch of a projector, reported once it is committed or lost to another projector.
 *
 * @example Watching a read model's progress
 * ```ts
 * import type { ProjectionBatchEvent } from "@quark/persistence";
 * const event: ProjectionBatchEvent = { name: "balances", events: 100, documents: 12, position: 4711n, durationMs: 3.2, outcome: "committed" };
 * if (event.outcome === "committed") console.log(`${event.name} at ${event.position}`);
 * ```
 */
export interface ProjectionBatchEvent {
  /** The projection's name. */
  readonly name: string;
  /** How many events of the global order the batch covered. */
  readonly events: number;
  /** How many documents it wrote. */
  readonly documents: number;
  /** The global position of its last event: the checkpoint once committed. */
  readonly position: bigint;
  /** From reading the checkpoint to the commit's settling, in milliseconds. */
  readonly durationMs: number;
  /** `committed`; `conflict` when another projector committed first, so the batch is read again. */
  readonly outcome: "committed" | "conflict";
}

/**
 * Callbacks for what storages and actors do. Give one to `createActorSystem({ observer })`,
 * or wrap a storage or event store with `observeStorage` / `observeEventStore`. Every callback
 * is optional and runs synchronously after the fact; one that throws is ignored, so an
 * observer never breaks a turn. It needs no platform API, so it runs on every runtime.
 *
 * @example Counting conflicts by policy
 * ```ts
 * import type { QuarkObserver } from "@quark/persistence";
 * const conflicts = new Map<string, number>();
 * const observer: QuarkObserver = {
 *   write(event) {
 *     if (event.kind === "conflict") conflicts.set(event.policy, (conflicts.get(event.policy) ?? 0) + 1);
 *   },
 * };
 * observer.write?.({ kind: "conflict", key: { actorType: "a", actorId: "1", stateName: "s" }, policy: "retry", resolution: "retried" });
 * if (conflicts.get("retry") !== 1) throw new Error("not counted");
 * ```
 */
export interface QuarkObserver {
  /** Every storage and event-store call: backend, operation, key, duration, round trips, outcome. */
  storageOperation?: ((event: StorageOperationEvent) => void) | undefined;
  /** Activations, deactivations, turns and retries. */
  actor?: ((event: ActorEvent) => void) | undefined;
  /** Each attempt of a turn as it starts, before its storage calls. */
  turnStart?: ((event: TurnStartEvent) => void) | undefined;
  /** Conflicts (of states and of event streams) and the policy that handled them, merges, and lost replies recognised. */
  write?: ((event: WriteEvent) => void) | undefined;
  /** Snapshots written, skipped, or found unreadable. */
  snapshot?: ((event: SnapshotEvent) => void) | undefined;
  /** Projection batches, from a projector given this observer. */
  projection?: ((event: ProjectionBatchEvent) => void) | undefined;
}

/** Calls one observer callback, swallowing what it throws: observing never changes the outcome. */
export function notify<Name extends keyof QuarkObserver>(
  observer: QuarkObserver | undefined,
  name: Name,
  event: Parameters<NonNullable<QuarkObserver[Name]>>[0],
): void {
  const callback = observer?.[name] as ((event: unknown) => void) | undefined;
  if (!callback) return;
  try {
    callback.call(observer, event);
  } catch {
    // An observer is told what happened; it cannot change it.
  }
}

/** The stable code of an error, for events. */
export function errorCodeOf(error: unknown): string {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "string" ? code : "UNEXPECTED";
}

/** Milliseconds from a monotonic clock where there is one. */
export function now(): number {
  return globalThis.performance?.now() ?? Date.now();
}

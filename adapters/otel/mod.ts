/**
 * OpenTelemetry for Quark: an observer that turns storage calls into database client spans
 * and the `db.client.operation.duration` histogram (stable database semantic conventions),
 * and counts conflicts and retries. It needs the `@opentelemetry/api` package (an optional
 * peer dependency) and an SDK registered by the application; without one, everything is a
 * no-op. Spans, metrics and attributes: docs/observability.md.
 *
 * @example Tracing an actor system
 * ```ts
 * import { createActorSystem, memoryStorage } from "@quark/persistence";
 * import { otelObserver } from "@quark/persistence/otel";
 * const system = createActorSystem({ storage: memoryStorage(), observer: otelObserver({ dbNamespace: "shop" }) });
 * await system.shutdown();
 * ```
 *
 * @module
 */

import { context, metrics, SpanKind, SpanStatusCode, trace, type Counter, type Histogram, type Meter, type Span, type SpanStatus, type Tracer } from "@opentelemetry/api";
import type { ActorEvent, QuarkObserver, StorageOperationEvent, TurnStartEvent, WriteEvent } from "../../src/observe/observer.ts";
import { streamNameOf } from "../../src/storage/keys.ts";
import { collectionOfStream, operationAttributes, spanNameOf, type ServerEndpoint } from "./_semconv.ts";

export type { ServerEndpoint } from "./_semconv.ts";

const INSTRUMENTATION_SCOPE = "@quark/persistence";

/** The boundaries the semantic conventions advise for `db.client.operation.duration`, in seconds. */
const DURATION_BUCKETS = [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10];

/**
 * Options for {@linkcode otelObserver}.
 *
 * @example A tracer and a meter of your own, and the database name
 * ```ts
 * import { metrics, trace } from "@opentelemetry/api";
 * import type { OtelObserverOptions } from "@quark/persistence/otel";
 * const options: OtelObserverOptions = { tracer: trace.getTracer("shop"), meter: metrics.getMeter("shop"), dbNamespace: "shop" };
 * if (options.dbNamespace !== "shop") throw new Error("unexpected");
 * ```
 */
export interface OtelObserverOptions {
  /** Where spans go. Defaults to the global tracer provider's `@quark/persistence` tracer. */
  readonly tracer?: Tracer | undefined;
  /**
   * Where metrics go. Defaults to the global meter provider's `@quark/persistence` meter,
   * looked up when `otelObserver` is called: register the SDK before calling it.
   */
  readonly meter?: Meter | undefined;
  /** The `db.namespace` attribute (the database, schema or keyspace name), when you want it reported. */
  readonly dbNamespace?: string | undefined;
  /**
   * The `server.address` and `server.port` of each backend, by its name (`"postgres"`,
   * `"upstash"`, ...). A storage does not expose where it connects, so the application, which
   * gave it the URL, says so here; backends left out get no server attributes.
   */
  readonly servers?: Readonly<Record<string, ServerEndpoint>> | undefined;
}

/** Milliseconds since the epoch, with a monotonic clock's precision where there is one. */
function epochMilliseconds(): number {
  const performance = globalThis.performance;
  return performance ? performance.timeOrigin + performance.now() : Date.now();
}

function recordSpan(tracer: Tracer, event: StorageOperationEvent, attributes: Record<string, string | number>, turn: Span | undefined): void {
  // The observer hears of a call once it has settled, so the span is opened back in time by
  // the call's duration and closed now; it is a child of the turn that made it, else of
  // whatever span is active here.
  const end = epochMilliseconds();
  const parent = turn ? trace.setSpan(context.active(), turn) : undefined;
  const span = tracer.startSpan(spanNameOf(event), { kind: SpanKind.CLIENT, startTime: end - event.durationMs, attributes }, parent);
  if (event.key) span.setAttribute("quark.actor.id", event.key.actorId);
  if (event.stream !== undefined) span.setAttribute("quark.stream", event.stream);
  if (event.outcome === "error") span.setStatus(errorStatus(event.errorCode));
  span.end(end);
}

/** An error status, with the error's code as its message when the event names one. */
function errorStatus(errorCode: string | undefined): SpanStatus {
  return errorCode === undefined ? { code: SpanStatusCode.ERROR } : { code: SpanStatusCode.ERROR, message: errorCode };
}

function countConflict(conflicts: Counter, event: WriteEvent): void {
  if (event.kind !== "conflict") return;
  // A state's conflict names its state; an event stream's, the stream's actor type only.
  const subject = event.key
    ? { "quark.actor.type": event.key.actorType, "quark.state.name": event.key.stateName }
    : { "quark.actor.type": collectionOfStream(event.stream ?? "") };
  conflicts.add(1, { ...subject, "quark.conflict.policy": event.policy, "quark.conflict.resolution": event.resolution });
}

/**
 * The turns in progress, innermost last, by actor. An actor's states and its event stream
 * both belong to it, so a storage call finds its turn from its key or stream alone: no async
 * context is needed, which keeps this working on every runtime. Storage calls outside a turn
 * (an activation's first read) have no turn and keep the active span as parent.
 */
function turnSpans(tracer: Tracer) {
  const open = new Map<string, Span[]>();
  const actorOf = (event: StorageOperationEvent): string | undefined => {
    const key = event.key ?? event.keys?.[0];
    return key ? streamNameOf(key.actorType, key.actorId) : event.stream;
  };
  return {
    start(event: TurnStartEvent): void {
      const span = tracer.startSpan(`${event.actorType}.${event.handler}`, {
        kind: SpanKind.INTERNAL,
        attributes: { "quark.actor.type": event.actorType, "quark.actor.id": event.actorId, "quark.actor.handler": event.handler, "quark.turn.attempt": event.attempt },
      });
      const actor = streamNameOf(event.actorType, event.actorId);
      open.set(actor, [...(open.get(actor) ?? []), span]);
    },
    end(event: ActorEvent): void {
      if (event.kind !== "turn") return;
      const actor = streamNameOf(event.actorType, event.actorId);
      const stack = open.get(actor);
      const span = stack?.pop();
      if (!span) return;
      if (stack!.length === 0) open.delete(actor);
      span.setAttribute("quark.turn.outcome", event.outcome);
      if (event.outcome === "error") {
        span.setAttribute("error.type", event.errorCode ?? "UNEXPECTED");
        span.setStatus(errorStatus(event.errorCode));
      }
      span.end();
    },
    of(event: StorageOperationEvent): Span | undefined {
      const actor = actorOf(event);
      return actor === undefined ? undefined : open.get(actor)?.at(-1);
    },
  };
}

function countRetry(retries: Counter, event: ActorEvent): void {
  if (event.kind !== "retry") return;
  retries.add(1, { "quark.actor.type": event.actorType, "quark.actor.handler": event.handler, "error.type": event.errorCode });
}

function instruments(meter: Meter): { duration: Histogram; conflicts: Counter; retries: Counter } {
  return {
    duration: meter.createHistogram("db.client.operation.duration", {
      description: "Duration of database client operations.",
      unit: "s",
      advice: { explicitBucketBoundaries: DURATION_BUCKETS },
    }),
    conflicts: meter.createCounter("quark.state.conflicts", {
      description: "Writes refused because the stored etag had changed, by the conflict policy that handled them and its resolution.",
      unit: "{conflict}",
    }),
    retries: meter.createCounter("quark.actor.retries", {
      description: "Turns re-run by the retry conflict policy.",
      unit: "{retry}",
    }),
  };
}

/**
 * An observer that reports to OpenTelemetry. Give it to `createActorSystem({ observer })` or
 * to `observeStorage` / `observeEventStore`. Each storage call becomes a CLIENT span named
 * `{db.operation.name} {db.collection.name}` and a point in `db.client.operation.duration`
 * (seconds); conflicts count in `quark.state.conflicts` and retried turns in
 * `quark.actor.retries`. The collection is `{actorType}.{stateName}` for a state and the
 * actor type for an event stream. Calls are reported after they settle, so each span starts
 * at the moment of reporting minus the call's duration and ends at the moment of reporting.
 * Each attempt of a turn is an INTERNAL span `{actorType}.{handler}`, the parent of the
 * storage spans of that attempt (found by actor, without async context).
 *
 * @param options Tracer, meter and `db.namespace`; all optional.
 * @returns The observer.
 *
 * @example Spans and metrics for a counter actor
 * ```ts
 * import * as v from "valibot";
 * import { trace } from "@opentelemetry/api";
 * import { createActorSystem, defineActor, defineState, memoryStorage } from "@quark/persistence";
 * import { otelObserver } from "@quark/persistence/otel";
 * const count = defineState("count", { schema: v.number(), initial: 0 });
 * const Counter = defineActor("counter", {
 *   states: { count },
 *   handlers: {
 *     async add({ states }, by: number) {
 *       states.count.value += by;
 *       await states.count.save();
 *       return states.count.value;
 *     },
 *   },
 * });
 * const system = createActorSystem({ storage: memoryStorage(), observer: otelObserver({ tracer: trace.getTracer("shop") }) });
 * if (await system.actor(Counter, "c").add(2) !== 2) throw new Error("unexpected count");
 * await system.shutdown();
 * ```
 */
export function otelObserver(options: OtelObserverOptions = {}): QuarkObserver {
  const tracer = options.tracer ?? trace.getTracer(INSTRUMENTATION_SCOPE);
  const { duration, conflicts, retries } = instruments(options.meter ?? metrics.getMeter(INSTRUMENTATION_SCOPE));
  const turns = turnSpans(tracer);
  return {
    storageOperation(event) {
      const attributes = operationAttributes(event, options.dbNamespace, options.servers?.[event.backend]);
      recordSpan(tracer, event, attributes, turns.of(event));
      duration.record(event.durationMs / 1000, attributes);
    },
    turnStart: (event) => turns.start(event),
    actor(event) {
      countRetry(retries, event);
      turns.end(event);
    },
    write: (event) => countConflict(conflicts, event),
  };
}

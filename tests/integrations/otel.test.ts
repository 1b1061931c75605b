// The OpenTelemetry observer (issue 12, part 2): a real turn against PGlite, with a conflict
// and a retry, exported through the SDK's in-memory span exporter and an in-memory metric
// exporter; the spans and metrics must follow the stable database semantic conventions.
import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { SpanKind, SpanStatusCode, type HrTime } from "@opentelemetry/api";
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from "@opentelemetry/sdk-trace-base";
import {
  AggregationTemporality,
  InMemoryMetricExporter,
  MeterProvider,
  PeriodicExportingMetricReader,
  type DataPoint,
  type Histogram,
  type MetricData,
} from "@opentelemetry/sdk-metrics";
import { PGlite } from "@electric-sql/pglite";
import { createActorSystem, memoryStorage, observeEventStore, observeStorage, type QuarkObserver, type StorageOperationEvent } from "../../mod.ts";
import { Counter } from "./_counter.ts";
import { pgliteEventStore, pgliteStorage } from "../../adapters/pglite/mod.ts";
import { otelObserver } from "../../adapters/otel/mod.ts";

function telemetry() {
  const spans = new InMemorySpanExporter();
  const tracerProvider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spans)] });
  const metricExporter = new InMemoryMetricExporter(AggregationTemporality.CUMULATIVE);
  // The interval never fires in a test: forceFlush() collects on demand.
  const reader = new PeriodicExportingMetricReader({ exporter: metricExporter, exportIntervalMillis: 3_600_000 });
  const meterProvider = new MeterProvider({ readers: [reader] });
  return {
    spans,
    tracer: tracerProvider.getTracer("test"),
    meter: meterProvider.getMeter("test"),
    async metrics(): Promise<MetricData[]> {
      await meterProvider.forceFlush();
      const exported = metricExporter.getMetrics();
      return exported.at(-1)?.scopeMetrics.flatMap((scope) => scope.metrics) ?? [];
    },
    async close() {
      await Promise.all([tracerProvider.shutdown(), meterProvider.shutdown()]);
    },
  };
}

/** The OpenTelemetry observer, plus a copy of every storage event to compare spans with. */
function recording(otel: QuarkObserver) {
  const events: StorageOperationEvent[] = [];
  const observer: QuarkObserver = {
    ...otel,
    storageOperation(event) {
      events.push(event);
      otel.storageOperation?.(event);
    },
  };
  return { observer, events };
}

const milliseconds = ([seconds, nanos]: HrTime) => seconds * 1e3 + nanos / 1e6;
const metricNamed = (metrics: MetricData[], name: string) => {
  const metric = metrics.find((candidate) => candidate.descriptor.name === name);
  assert.ok(metric, `metric ${name} was exported`);
  return metric;
};

// One in-memory database for the file: starting PGlite is the slow part.
let database: PGlite;
before(() => {
  database = new PGlite();
});
after(() => database.close());

test("a PGlite turn with a conflict and a retry gives conventional spans, a duration histogram and counters", async () => {
  const otel = telemetry();
  const storage = pgliteStorage({ client: database, autoCreateSchema: true });
  const { observer, events } = recording(otelObserver({ tracer: otel.tracer, meter: otel.meter, dbNamespace: "shop" }));
  const system = createActorSystem({ storage, observer });
  const other = createActorSystem({ storage });
  await system.actor(Counter, "c").add(1);
  await other.actor(Counter, "c").add(10); // moves the etag under the first system's cached state
  assert.equal(await system.actor(Counter, "c").add(100), 111);
  await Promise.all([system.shutdown(), other.shutdown()]);
  await storage.close();

  // The turns' INTERNAL spans are checked in the next test.
  const spans: ReadableSpan[] = otel.spans.getFinishedSpans().filter((span) => span.kind === SpanKind.CLIENT);
  assert.deepEqual(spans.map((span) => `${span.name}:${span.status.code}`), [
    `read counter.count:${SpanStatusCode.UNSET}`,
    `write counter.count:${SpanStatusCode.UNSET}`,
    `write counter.count:${SpanStatusCode.ERROR}`,
    `read counter.count:${SpanStatusCode.UNSET}`,
    `write counter.count:${SpanStatusCode.UNSET}`,
  ]);
  spans.forEach((span, index) => {
    const event = events[index]!;
    assert.equal(span.kind, SpanKind.CLIENT);
    assert.deepEqual(span.attributes, {
      "db.system.name": "postgresql",
      "db.operation.name": event.operation,
      "db.collection.name": "counter.count",
      "db.namespace": "shop",
      "quark.backend": "pglite",
      "quark.actor.id": "c",
      ...(event.outcome === "error" ? { "error.type": "STATE_CONFLICT" } : {}),
    });
    // Opened back in time by the reported duration, so the span lasts exactly as long.
    assert.ok(Math.abs(milliseconds(span.duration) - event.durationMs) < 0.01, `${span.name}: ${milliseconds(span.duration)} vs ${event.durationMs} ms`);
  });
  assert.equal(spans[2]!.status.message, "STATE_CONFLICT");

  const metrics = await otel.metrics();
  const duration = metricNamed(metrics, "db.client.operation.duration");
  assert.equal(duration.descriptor.unit, "s");
  const points = duration.dataPoints as DataPoint<Histogram>[];
  const summary = points.map((point) => `${point.attributes["db.operation.name"]}:${point.attributes["error.type"] ?? "ok"}:${point.value.count}`).sort();
  assert.deepEqual(summary, ["read:ok:2", "write:STATE_CONFLICT:1", "write:ok:2"]);
  for (const point of points) {
    assert.equal(point.attributes["db.system.name"], "postgresql");
    assert.equal(point.attributes["db.collection.name"], "counter.count");
    assert.equal(point.attributes["db.namespace"], "shop");
    assert.equal(point.attributes["quark.actor.id"], undefined, "no actor ids in metric series");
    assert.deepEqual(point.value.buckets.boundaries, [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10]);
  }
  const recordedSeconds = points.reduce((sum, point) => sum + (point.value.sum ?? 0), 0);
  const reportedSeconds = events.reduce((sum, event) => sum + event.durationMs / 1000, 0);
  assert.ok(Math.abs(recordedSeconds - reportedSeconds) < 1e-9, "the histogram records the reported durations in seconds");

  const conflicts = metricNamed(metrics, "quark.state.conflicts");
  assert.deepEqual(conflicts.dataPoints.map((point) => ({ attributes: point.attributes, value: point.value })), [{
    attributes: { "quark.actor.type": "counter", "quark.state.name": "count", "quark.conflict.policy": "retry", "quark.conflict.resolution": "retried" },
    value: 1,
  }]);
  const retries = metricNamed(metrics, "quark.actor.retries");
  assert.deepEqual(retries.dataPoints.map((point) => ({ attributes: point.attributes, value: point.value })), [{
    attributes: { "quark.actor.type": "counter", "quark.actor.handler": "add", "error.type": "STATE_CONFLICT" },
    value: 1,
  }]);
  await otel.close();
});

test("each attempt of a turn is an INTERNAL span, parent of the storage calls it made", async () => {
  const otel = telemetry();
  const storage = memoryStorage();
  const system = createActorSystem({ storage, observer: otelObserver({ tracer: otel.tracer, meter: otel.meter }) });
  const other = createActorSystem({ storage });
  await system.actor(Counter, "c").add(1);
  await other.actor(Counter, "c").add(10);
  assert.equal(await system.actor(Counter, "c").add(100), 111);
  await Promise.all([system.shutdown(), other.shutdown()]);

  const spans = otel.spans.getFinishedSpans();
  const turns = spans.filter((span) => span.kind === SpanKind.INTERNAL);
  assert.deepEqual(turns.map((span) => [span.name, span.attributes["quark.turn.attempt"], span.attributes["quark.turn.outcome"], span.status.code]), [
    ["counter.add", 1, "ok", SpanStatusCode.UNSET],
    ["counter.add", 1, "error", SpanStatusCode.ERROR],
    ["counter.add", 2, "ok", SpanStatusCode.UNSET],
  ]);
  assert.deepEqual(turns[0]!.attributes, { "quark.actor.type": "counter", "quark.actor.id": "c", "quark.actor.handler": "add", "quark.turn.attempt": 1, "quark.turn.outcome": "ok" });
  assert.equal(turns[1]!.attributes["error.type"], "STATE_CONFLICT");
  const calls = spans.filter((span) => span.kind === SpanKind.CLIENT).map((span) => {
    const turn = turns.findIndex((candidate) => candidate.spanContext().spanId === span.parentSpanContext?.spanId);
    if (turn !== -1) assert.equal(span.spanContext().traceId, turns[turn]!.spanContext().traceId, "a child shares its turn's trace");
    return `${span.name}@${turn === -1 ? "none" : turn}`;
  });
  // The activation's read runs before any turn; the retry's reload and write belong to attempt 2.
  assert.deepEqual(calls, ["read counter.count@none", "write counter.count@0", "write counter.count@1", "read counter.count@2", "write counter.count@2"]);
  await otel.close();
});

test("client spans carry server.address and server.port where the application names the backend's endpoint", async () => {
  const otel = telemetry();
  const observer = otelObserver({ tracer: otel.tracer, meter: otel.meter, servers: { postgres: { address: "db.internal", port: 6432 }, upstash: { address: "cache.internal" } } });
  for (const backend of ["postgres", "upstash", "memory"]) observer.storageOperation?.({ backend, operation: "list", durationMs: 1, roundTrips: 1, outcome: "ok" });
  assert.deepEqual(otel.spans.getFinishedSpans().map((span) => [span.attributes["server.address"], span.attributes["server.port"]]), [
    ["db.internal", 6432],
    ["cache.internal", undefined],
    [undefined, undefined],
  ]);
  const points = metricNamed(await otel.metrics(), "db.client.operation.duration").dataPoints;
  assert.ok(points.some((point) => point.attributes["server.address"] === "db.internal" && point.attributes["server.port"] === 6432), "the histogram carries them too");
  await otel.close();
});

test("an event stream's conflict counts under its actor type", async () => {
  const otel = telemetry();
  const observer = otelObserver({ tracer: otel.tracer, meter: otel.meter });
  observer.write?.({ kind: "conflict", stream: "ledger/l1", policy: "retry", resolution: "retried" });
  const conflicts = metricNamed(await otel.metrics(), "quark.state.conflicts");
  assert.deepEqual(conflicts.dataPoints.map((point) => point.attributes), [{ "quark.actor.type": "ledger", "quark.conflict.policy": "retry", "quark.conflict.resolution": "retried" }]);
  await otel.close();
});

test("event-store calls are named after the stream's actor type and keep the stream on the span", async () => {
  const otel = telemetry();
  const events = pgliteEventStore({ client: database, autoCreateSchema: true });
  const store = observeEventStore(events, otelObserver({ tracer: otel.tracer, meter: otel.meter }));
  await store.append("ledger/l1", [{ type: "Opened", data: new Uint8Array([1]) }], "no_stream");
  await assert.rejects(store.append("ledger/l1", [{ type: "Opened", data: new Uint8Array([1]) }], "no_stream"));
  await events.close();
  const spans = otel.spans.getFinishedSpans();
  assert.deepEqual(spans.map((span) => span.name), ["append ledger", "append ledger"]);
  assert.equal(spans[0]!.attributes["quark.stream"], "ledger/l1");
  assert.equal(spans[0]!.attributes["db.collection.name"], "ledger");
  assert.equal(spans[1]!.status.code, SpanStatusCode.ERROR);
  assert.equal(spans[1]!.attributes["error.type"], "EVENT_STORE_CONFLICT");
  await otel.close();
});

test("a transaction over several collections is a batch named by its operation alone", async () => {
  const otel = telemetry();
  const observed = observeStorage(memoryStorage(), otelObserver({ tracer: otel.tracer, meter: otel.meter }));
  await observed.transact([
    { kind: "write", key: { actorType: "order", actorId: "1", stateName: "lines" }, value: new Uint8Array([1]), etag: crypto.randomUUID(), expectedEtag: null },
    { kind: "write", key: { actorType: "stock", actorId: "1", stateName: "level" }, value: new Uint8Array([2]), etag: crypto.randomUUID(), expectedEtag: null },
  ]);
  const [span] = otel.spans.getFinishedSpans();
  assert.equal(span?.name, "transact");
  assert.equal(span.attributes["db.collection.name"], undefined);
  assert.equal(span.attributes["db.operation.batch.size"], 2);
  assert.equal(span.attributes["db.system.name"], "memory", "a backend without a registry value keeps its own name");
  await otel.close();
});

test("backends map to their db.system.name registry values", async () => {
  const otel = telemetry();
  const observer = otelObserver({ tracer: otel.tracer, meter: otel.meter });
  const backends = ["postgres", "pglite", "neon", "upstash", "mongodb", "cassandra", "dynamodb", "mssql", "memory"];
  for (const backend of backends) {
    observer.storageOperation?.({ backend, operation: "list", durationMs: 1, roundTrips: 1, outcome: "ok" });
  }
  assert.deepEqual(otel.spans.getFinishedSpans().map((span) => [span.name, span.attributes["db.system.name"]]), [
    ["list", "postgresql"],
    ["list", "postgresql"],
    ["list", "postgresql"],
    ["list", "redis"],
    ["list", "mongodb"],
    ["list", "cassandra"],
    ["list", "aws.dynamodb"],
    ["list", "microsoft.sql_server"],
    ["list", "memory"],
  ]);
  await otel.close();
});

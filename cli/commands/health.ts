import { createInspector } from "../../mod.ts";
import type { OpenConfig } from "../config.ts";
import type { parse } from "../args.ts";
import { table, toJson, type CliIo } from "../output.ts";

type Values = ReturnType<typeof parse>["values"];

/**
 * `health`: a round trip to each storage and the event store; exit 1 if any failed. Backends
 * connect on first use, so the first probe's latency includes connecting (for PGlite, starting
 * the database); a second probe measures the round trip alone.
 */
export async function health(config: OpenConfig, values: Values, io: CliIo): Promise<number> {
  const inspector = createInspector({ storage: config.storages, eventStore: config.eventStore });
  const first = await inspector.health();
  const second = first.every((report) => report.ok) ? await inspector.health() : first;
  const reports = second.map((report, index) => ({ ...report, firstLatencyMs: first[index]!.latencyMs }));
  if (values.json) io.stdout.write(`${toJson(reports)}\n`);
  else {
    io.stdout.write(table([
      ["TARGET", "NAME", "BACKEND", "STATUS", "CONNECT+TRIP", "ROUND TRIP"],
      ...reports.map((report) => [
        report.target,
        report.name,
        report.backend,
        report.ok ? "ok" : `${report.code}: ${report.message}`,
        `${report.firstLatencyMs.toFixed(1)} ms`,
        report.ok ? `${report.latencyMs.toFixed(1)} ms` : "-",
      ]),
    ]));
  }
  return reports.every((report) => report.ok) ? 0 : 1;
}

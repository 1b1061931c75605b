// Native-driver adapters (postgres, mongodb, cassandra, mssql) call this when their module
// loads. On Cloudflare Workers or Vercel Edge it throws a message that names the adapter and
// the edge adapters to use instead, before the driver is ever loaded, so users see that
// rather than an error from deep inside a TCP driver.
import { ConfigurationError } from "../../src/errors.ts";

/** The edge runtime this code is running on, if any. */
function edgeRuntimeName(): string | undefined {
  const scope = globalThis as { navigator?: { userAgent?: unknown }; EdgeRuntime?: unknown };
  if (scope.navigator?.userAgent === "Cloudflare-Workers") return "Cloudflare Workers";
  if (typeof scope.EdgeRuntime === "string") return "Vercel Edge";
  return undefined;
}

/**
 * Throws `ConfigurationError` on an edge runtime, where the named adapter's driver cannot run.
 *
 * @param adapter The adapter's entry name, such as `"mongodb"`.
 */
export function assertNativeRuntime(adapter: string): void {
  const runtime = edgeRuntimeName();
  if (runtime === undefined) return;
  throw new ConfigurationError(
    `The ${adapter} adapter cannot run on ${runtime}: its driver needs Node, Deno or Bun (raw TCP sockets and Node built-ins). ` +
      `On the edge use @quark/persistence/neon (Postgres over HTTP or WebSocket), @quark/persistence/upstash, @quark/persistence/dynamodb, or @quark/persistence/durable-objects inside a Durable Object`,
  );
}

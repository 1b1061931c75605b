/**
 * PostgreSQL behind a counting relay, for the suites of `npm run bench` that compare our
 * adapters with peer libraries: every side connects through a relay of its own, so each pays
 * the same extra hop and its round trips are counted, not inferred.
 */
import { countingRelay } from "./_relay.ts";

/** A connection string that reaches `url`'s server through a fresh counting relay. */
export async function relayed(url: string): Promise<{ url: string; roundTrips: () => number; close: () => void }> {
  const parsed = new URL(url);
  const relay = await countingRelay(parsed.hostname, Number(parsed.port || 5432));
  parsed.hostname = "127.0.0.1";
  parsed.port = String(relay.port);
  return { url: parsed.toString(), roundTrips: relay.roundTrips, close: relay.close };
}

/** The mean round trips `operation` takes over `times` runs, one after another. */
export async function roundTripsPer(roundTrips: () => number, times: number, operation: () => Promise<unknown>): Promise<string> {
  const before = roundTrips();
  for (let index = 0; index < times; index++) await operation();
  return ((roundTrips() - before) / times).toFixed(2);
}

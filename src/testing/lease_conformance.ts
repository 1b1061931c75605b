// The lease case: independent lease clients contend for a few actor ids, and a model of what
// they were told checks that no two of them ever held one id at once. Time is a shared
// clock that the clients move forward themselves, so leases expire after a number of steps
// rather than of milliseconds: the case runs as fast as the backend, on any backend.
import type { StateStorage } from "../storage/types.ts";
import { isQuarkError, type LeaseLostError } from "../errors.ts";
import { createLeaseClient, type Lease, type LeaseClient } from "../lease/lease_client.ts";
import { check, checkEqual, checkRejects, ConformanceFailure } from "./assert.ts";
import { registerCase, type TestRegistrar, uniqueName } from "./registrar.ts";
import { generator } from "./contention_conformance.ts";

/**
 * Options for {@linkcode runLeaseConformance}.
 *
 * @example A shorter run for a slow backend
 * ```ts
 * import { memoryStorage } from "@quark/persistence";
 * import { runLeaseConformance, type LeaseConformanceOptions } from "@quark/persistence/testing";
 * const options: LeaseConformanceOptions = { name: "memory", open: () => memoryStorage(), clients: 3, stepsPerClient: 20 };
 * const names: string[] = [];
 * runLeaseConformance((name) => names.push(name), options);
 * if (!names.every((name) => name.startsWith("memory storage: leases"))) throw new Error("cases are labelled by name");
 * ```
 */
export interface LeaseConformanceOptions {
  /** A label for the cases, such as `"postgres"`. */
  readonly name: string;
  /** Opens a storage; called once per case, and the case closes it. The clients share it. */
  readonly open: () => StateStorage | Promise<StateStorage>;
  /** How many lease clients contend. Defaults to 4. */
  readonly clients?: number;
  /** How many actor ids they contend for. Defaults to 4. */
  readonly ids?: number;
  /** How many steps each client takes. Defaults to 40. */
  readonly stepsPerClient?: number;
  /** Seeds the random schedule, to replay a failure; a failure message names its seed. */
  readonly seed?: number;
}

/** What one contender learned: a lease it got, renewed, released or was told it lost. */
export type LeaseEvent =
  | { readonly kind: "acquired" | "renewed"; readonly id: string; readonly holder: string; readonly takeover: number; readonly at: number; readonly expiresAt: number }
  | { readonly kind: "released"; readonly id: string; readonly holder: string; readonly takeover: number; readonly at: number }
  | { readonly kind: "lost"; readonly id: string; readonly holder: string; readonly takeover: number; readonly newHolder: string | undefined };

/** The clock and lease timings the contenders share. */
export interface LeaseTimings {
  readonly now: () => number;
  readonly ttlMs: number;
  readonly maxClockSkewMs: number;
}

/**
 * Registers the lease cases: a scripted one (acquire, held by another, takeover only after
 * expiry plus the clock-skew margin, a stale renew that learns who took over, release, and a
 * takeover counter that only grows), and a race in which independent clients acquire, renew,
 * release and abandon leases on a few ids. The race's history must show, per id, takeover
 * counters that grow with time, no two holds that overlap, and a takeover of an unreleased
 * lease only once its expiry plus the margin has passed.
 *
 * @param test The test registrar, such as `test` from `node:test`.
 * @param options The storage to test, and the size of the race.
 *
 * @example Running the cases on the memory storage
 * ```ts ignore
 * import { test } from "node:test";
 * import { memoryStorage } from "@quark/persistence";
 * import { runLeaseConformance } from "@quark/persistence/testing";
 * runLeaseConformance(test, { name: "memory", open: () => memoryStorage() });
 * ```
 */
export function runLeaseConformance(test: TestRegistrar, options: LeaseConformanceOptions): void {
  const clients = options.clients ?? 4;
  const ids = options.ids ?? 4;
  const steps = options.stepsPerClient ?? 40;
  registerCase(test, `${options.name} storage: leases: held, taken over only after expiry, lost, released`, options.open, scripted);
  registerCase(test, `${options.name} storage: leases: ${clients} clients contend for ${ids} ids; at most one holds each at a time`, options.open, async (storage) => {
    const seed = options.seed ?? Math.floor(Math.random() * 2 ** 31);
    let clock = 1_000_000;
    const timings: LeaseTimings = { now: () => clock, ttlMs: 100, maxClockSkewMs: 10 };
    const actorType = uniqueName("lease");
    const holders = Array.from({ length: clients }, (_, index) => `client-${index}`);
    const events = await Promise.all(holders.map((holder, index) => {
      const random = generator(seed + index * 7919);
      // Each step moves the shared clock, so leases left alone expire after a few rounds.
      const tick = () => (clock += Math.floor(random() * 20));
      return contendForLeases({ storage, holder, actorType, ids, steps, random, tick, timings });
    }));
    const history = events.flat();
    const failures = checkLeaseHistory(history, timings, holders);
    const count = (kind: LeaseEvent["kind"]) => history.filter((event) => event.kind === kind).length;
    if (failures.length > 0) throw new ConformanceFailure(`${failures.length} violations (seed ${seed}):\n${failures.slice(0, 10).join("\n")}`);
    check(count("acquired") > ids, `only ${count("acquired")} acquisitions in the race (seed ${seed})`);
  });
}

async function scripted(storage: StateStorage): Promise<void> {
  let clock = 1_000;
  const options = { storage, ttlMs: 1_000, maxClockSkewMs: 100, now: () => clock };
  const one = createLeaseClient({ ...options, holder: "one" });
  const two = createLeaseClient({ ...options, holder: "two" });
  const actorType = uniqueName("lease");
  const first = await one.acquire(actorType, "a");
  checkEqual(first.takeover, 1, "the first acquisition's takeover counter");
  checkEqual(first.expiresAt, 2_000, "the lease's expiry");
  const held = await checkRejects(() => two.acquire(actorType, "a"), "LEASE_HELD", "acquiring a lease another holder has");
  checkEqual((held as Error & { holder?: string }).holder, "one", "the holder named by LeaseHeldError");
  clock = 2_099; // expired on the holder's clock, but within the skew margin
  await checkRejects(() => two.acquire(actorType, "a"), "LEASE_HELD", "acquiring an expired lease within the clock-skew margin");
  clock = 2_100;
  const second = await two.acquire(actorType, "a");
  checkEqual(second.takeover, 2, "the takeover counter after a takeover");
  const lost = await checkRejects(() => one.renew(first), "LEASE_LOST", "renewing a lease that was taken over") as LeaseLostError;
  checkEqual(lost.newHolder, "two", "the new holder named by LeaseLostError");
  checkEqual(await one.release(first), false, "releasing a lease that was taken over");
  const renewed = await two.renew(second);
  checkEqual(renewed.expiresAt, 3_100, "the expiry after a renewal");
  await checkRejects(() => one.acquire(actorType, "a"), "LEASE_HELD", "acquiring a lease that was just renewed");
  checkEqual(await two.release(renewed), true, "releasing a held lease");
  const third = await one.acquire(actorType, "a");
  checkEqual(third.takeover, 3, "the takeover counter after a release");
  const other = await two.acquire(actorType, "b");
  checkEqual(other.takeover, 1, "the takeover counter of another id");
}

/** What one contender needs: its own lease client, its share of the schedule, the clock. */
export interface ContenderOptions {
  readonly storage: StateStorage;
  readonly holder: string;
  readonly actorType: string;
  readonly ids: number;
  readonly steps: number;
  readonly random: () => number;
  /** Called before each step: moves a fake clock, or waits for a real one. */
  readonly tick: () => unknown;
  readonly timings: LeaseTimings;
}

/**
 * One lease client taking random steps: acquire, renew, release, abandon a lease (as a
 * crashed or paused holder would), or renew an abandoned one late. Returns what it was told.
 */
export async function contendForLeases(options: ContenderOptions): Promise<LeaseEvent[]> {
  const { holder, random, timings } = options;
  const client: LeaseClient = createLeaseClient({ storage: options.storage, holder, ...timings });
  const held = new Map<string, Lease>();
  const abandoned = new Map<string, Lease>();
  const events: LeaseEvent[] = [];
  const record = (kind: "acquired" | "renewed", lease: Lease) =>
    events.push({ kind, id: lease.actorId, holder, takeover: lease.takeover, at: lease.expiresAt - timings.ttlMs, expiresAt: lease.expiresAt });
  const release = async (id: string, lease: Lease) => {
    const at = timings.now();
    held.delete(id);
    if (await client.release(lease)) events.push({ kind: "released", id, holder, takeover: lease.takeover, at });
  };
  for (let step = 0; step < options.steps; step++) {
    await options.tick();
    const id = `id-${Math.floor(random() * options.ids)}`;
    const draw = random();
    const lease = held.get(id) ?? abandoned.get(id);
    if (lease === undefined) {
      const acquired = await client.acquire(options.actorType, id).catch(expect("LEASE_HELD", "CONTENTION"));
      if (acquired !== undefined) held.set(id, acquired);
      if (acquired !== undefined) record("acquired", acquired);
    } else if (held.has(id) && draw < 0.2) {
      await release(id, lease);
    } else if (held.has(id) && draw < 0.35) {
      held.delete(id);
      abandoned.set(id, lease);
    } else {
      held.delete(id);
      abandoned.delete(id);
      try {
        const renewed = await client.renew(lease);
        held.set(id, renewed);
        record("renewed", renewed);
      } catch (error) {
        if (!isQuarkError(error, "LEASE_LOST")) throw error;
        events.push({ kind: "lost", id, holder, takeover: lease.takeover, newHolder: (error as LeaseLostError).newHolder });
      }
    }
  }
  // Leave nothing held, so the storage's next user starts clean.
  for (const [id, lease] of [...held]) await release(id, lease);
  return events;
}

function expect(...codes: Array<"LEASE_HELD" | "CONTENTION">): (error: unknown) => undefined {
  return (error) => {
    if (codes.some((code) => isQuarkError(error, code))) return undefined;
    throw error;
  };
}

/** One holder's tenure of one lease: from its acquisition to its release or last expiry. */
interface Hold {
  readonly holder: string;
  readonly takeover: number;
  readonly start: number;
  end: number;
  released: boolean;
}

/**
 * Checks a contenders' history against the lease rules; returns the violations found. Holds
 * are keyed by id and takeover counter, and ordered by the counter.
 */
export function checkLeaseHistory(events: readonly LeaseEvent[], timings: LeaseTimings, holders: readonly string[]): string[] {
  const failures: string[] = [];
  const holds = new Map<string, Map<number, Hold>>();
  const holdsOf = (id: string) => holds.get(id) ?? holds.set(id, new Map()).get(id)!;
  for (const event of events) {
    if (event.kind !== "acquired") continue;
    const hold = holdsOf(event.id).get(event.takeover);
    if (hold !== undefined) failures.push(`${event.id}: ${hold.holder} and ${event.holder} both acquired takeover ${event.takeover}`);
    else holdsOf(event.id).set(event.takeover, { holder: event.holder, takeover: event.takeover, start: event.at, end: event.expiresAt, released: false });
  }
  for (const event of events) {
    if (event.kind === "acquired") continue;
    const hold = holdsOf(event.id).get(event.takeover);
    if (event.kind === "lost") {
      if (event.newHolder !== undefined && !holders.includes(event.newHolder)) failures.push(`${event.id}: LeaseLostError names ${event.newHolder}, who never contended`);
      const later = [...holdsOf(event.id).keys()].some((takeover) => takeover > event.takeover);
      if (!later) failures.push(`${event.id}: ${event.holder} was told takeover ${event.takeover} was lost, but nobody took it over`);
    } else if (hold === undefined || hold.holder !== event.holder) {
      failures.push(`${event.id}: ${event.holder} ${event.kind} takeover ${event.takeover}, which it never acquired`);
    } else if (event.kind === "renewed") {
      hold.end = Math.max(hold.end, event.expiresAt);
    } else {
      hold.released = true;
      hold.end = event.at;
    }
  }
  for (const [id, byTakeover] of holds) {
    const ordered = [...byTakeover.values()].sort((a, b) => a.takeover - b.takeover);
    for (let index = 1; index < ordered.length; index++) {
      const [before, after] = [ordered[index - 1]!, ordered[index]!];
      const free = before.released ? before.end : before.end + timings.maxClockSkewMs;
      if (after.start < free) {
        failures.push(`${id}: ${after.holder} took over (takeover ${after.takeover}) at ${after.start}, while ${before.holder}'s takeover ${before.takeover} ${before.released ? "was released" : "held it"} until ${before.end}`);
      }
    }
  }
  return failures;
}

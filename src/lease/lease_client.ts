import type { StateStorage, WriteResult } from "../storage/types.ts";
import { ConfigurationError, ContentionError, isQuarkError, LeaseHeldError, LeaseLostError } from "../errors.ts";
import { decodeLease, encodeLease, leaseKey, type LeaseRecord } from "./lease_record.ts";

/**
 * Options for {@linkcode createLeaseClient}.
 *
 * Holders' clocks are assumed to agree within `maxClockSkewMs`: a holder trusts its lease
 * until `expiresAt` on its own clock, and another holder takes it over only once its clock
 * reads `expiresAt + maxClockSkewMs`.
 *
 * @example A lease client with a fake clock
 * ```ts
 * import { createLeaseClient, memoryStorage, type LeaseClientOptions } from "@quark/persistence";
 * let clock = 0;
 * const options: LeaseClientOptions = { storage: memoryStorage(), holder: "web-1", ttlMs: 5_000, maxClockSkewMs: 500, now: () => clock };
 * const lease = await createLeaseClient(options).acquire("account", "alice");
 * if (lease.expiresAt !== 5_000) throw new Error("the lease runs for ttlMs");
 * ```
 */
export interface LeaseClientOptions {
  /** Where the leases live; any backend, since only conditional writes are used. */
  readonly storage: StateStorage;
  /** This holder's name, unique among holders. Defaults to a random UUID. */
  readonly holder?: string | undefined;
  /** How long a lease lasts without a renewal, in milliseconds. Defaults to 10 seconds. */
  readonly ttlMs?: number | undefined;
  /** The most two holders' clocks may differ, in milliseconds. Defaults to 1 second. */
  readonly maxClockSkewMs?: number | undefined;
  /**
   * How long the backend keeps a lease record after its last write, through the storage's TTL
   * where it has one. The takeover counter survives as long as the record. Defaults to a day.
   */
  readonly retainMs?: number | undefined;
  /** The clock, in epoch milliseconds. Defaults to `Date.now`. */
  readonly now?: (() => number) | undefined;
}

/**
 * A lease as its holder knows it. Pass it back to `renew` and `release`.
 *
 * @example What a lease carries
 * ```ts
 * import { createLeaseClient, memoryStorage, type Lease } from "@quark/persistence";
 * const lease: Lease = await createLeaseClient({ storage: memoryStorage(), holder: "web-1" }).acquire("account", "alice");
 * if (lease.holder !== "web-1" || lease.takeover !== 1) throw new Error("the first acquisition is takeover 1");
 * ```
 */
export interface Lease {
  /** The leased actor's type. */
  readonly actorType: string;
  /** The leased actor's id. */
  readonly actorId: string;
  /** Who holds it. */
  readonly holder: string;
  /** Which acquisition of this lease this is: it only grows, like a fencing token. */
  readonly takeover: number;
  /** When it expires, in epoch milliseconds on the holder's clock. */
  readonly expiresAt: number;
  /** The etag of the lease record; every renew and release checks it. */
  readonly etag: string;
}

/**
 * Acquires, renews and releases leases of actors.
 *
 * @example Renewing and releasing
 * ```ts
 * import { createLeaseClient, memoryStorage, type LeaseClient } from "@quark/persistence";
 * const leases: LeaseClient = createLeaseClient({ storage: memoryStorage() });
 * const lease = await leases.renew(await leases.acquire("account", "alice"));
 * if (!(await leases.release(lease))) throw new Error("a held lease releases");
 * ```
 */
export interface LeaseClient {
  /** This holder's name. */
  readonly holder: string;
  /** How long a lease lasts without a renewal, in milliseconds. */
  readonly ttlMs: number;
  /** The most two holders' clocks may differ, in milliseconds. */
  readonly maxClockSkewMs: number;
  /** The clock the client judges expiry by. */
  readonly now: () => number;
  /**
   * Acquires the lease of one actor: a create-only write when there is none, or an
   * etag-checked takeover when the stored one was released or has expired.
   * @throws {LeaseHeldError} When another holder (or another lease of this one) has it.
   * @throws {ContentionError} When racing acquirers kept winning over this one.
   */
  acquire(actorType: string, actorId: string): Promise<Lease>;
  /**
   * Extends a lease by `ttlMs` from now, if nobody took it over.
   * @throws {LeaseLostError} When the stored lease is no longer this one.
   */
  renew(lease: Lease): Promise<Lease>;
  /**
   * Gives a lease up, so another holder may take it at once.
   * @returns `false` when it was already lost.
   */
  release(lease: Lease): Promise<boolean>;
}

const DEFAULT_TTL_MS = 10_000;
const DEFAULT_MAX_CLOCK_SKEW_MS = 1_000;
const DEFAULT_RETAIN_MS = 24 * 60 * 60_000;
const ACQUIRE_ATTEMPTS = 5;

function checkDuration(name: string, value: number | undefined, fallback: number, minimum: number): number {
  const duration = value ?? fallback;
  if (!Number.isFinite(duration) || duration < minimum) {
    throw new ConfigurationError(`Lease option ${name} must be a finite number of milliseconds of at least ${minimum}, got ${String(value)}`);
  }
  return duration;
}

/**
 * Creates a lease client over any storage. A lease saves wasted work by keeping an actor
 * active in one place; it does not make writes correct. A holder that pauses past its expiry
 * can wake up and write after another holder took over (Kleppmann's fencing-token
 * argument), and it is the storage's etag check on every save that fences such a write.
 *
 * @param options The storage, holder name, TTL, clock-skew bound and clock.
 * @returns A {@linkcode LeaseClient}.
 * @throws {ConfigurationError} When a duration is not a finite, positive number.
 *
 * @example Two holders, one lease
 * ```ts
 * import { createLeaseClient, isQuarkError, memoryStorage } from "@quark/persistence";
 * let clock = 0;
 * const storage = memoryStorage();
 * const options = { storage, ttlMs: 1_000, maxClockSkewMs: 100, now: () => clock };
 * const web1 = createLeaseClient({ ...options, holder: "web-1" });
 * const web2 = createLeaseClient({ ...options, holder: "web-2" });
 * const first = await web1.acquire("account", "alice");
 * await web2.acquire("account", "alice").catch((error) => {
 *   if (!isQuarkError(error, "LEASE_HELD")) throw error;
 * });
 * clock = 1_100; // expired, past the skew margin
 * const second = await web2.acquire("account", "alice");
 * if (second.takeover !== 2) throw new Error("a takeover counts up");
 * await web1.renew(first).catch((error) => {
 *   if (!isQuarkError(error, "LEASE_LOST")) throw error;
 * });
 * ```
 */
export function createLeaseClient(options: LeaseClientOptions): LeaseClient {
  const { storage } = options;
  const holder = options.holder ?? crypto.randomUUID();
  const ttlMs = checkDuration("ttlMs", options.ttlMs, DEFAULT_TTL_MS, 1);
  const maxClockSkewMs = checkDuration("maxClockSkewMs", options.maxClockSkewMs, DEFAULT_MAX_CLOCK_SKEW_MS, 0);
  const retainMs = checkDuration("retainMs", options.retainMs, DEFAULT_RETAIN_MS, ttlMs + maxClockSkewMs);
  const now = options.now ?? Date.now;

  /** One etag-checked (or create-only) write of a lease record. */
  async function put(lease: Omit<Lease, "etag" | "holder">, record: LeaseRecord, expectedEtag: string | null): Promise<Lease> {
    const key = leaseKey(lease.actorType, lease.actorId);
    const etag = crypto.randomUUID();
    // The storage TTL only collects abandoned records; expiry is judged by the record itself.
    const ttl = storage.capabilities.ttl ? { ttlMs: retainMs } : {};
    const written: WriteResult = await storage.write({ key, value: encodeLease(record), etag, expectedEtag, ...ttl });
    return { ...lease, holder: record.holder, etag: written.etag };
  }

  async function acquire(actorType: string, actorId: string): Promise<Lease> {
    const key = leaseKey(actorType, actorId);
    for (let attempt = 1; attempt <= ACQUIRE_ATTEMPTS; attempt++) {
      const stored = await storage.read(key);
      const record = stored && decodeLease(stored.value, key);
      const at = now();
      if (record && !record.released && at < record.expiresAt + maxClockSkewMs) {
        throw new LeaseHeldError(actorType, actorId, record.holder, record.expiresAt);
      }
      const takeover = (record?.takeover ?? 0) + 1;
      const expiresAt = at + ttlMs;
      try {
        return await put({ actorType, actorId, takeover, expiresAt }, { holder, takeover, expiresAt, released: false }, stored?.etag ?? null);
      } catch (error) {
        // Another acquirer wrote first; the next read tells who holds it now.
        if (!isQuarkError(error, "STATE_CONFLICT")) throw error;
      }
    }
    throw new ContentionError(storage.name, `acquiring the lease of ${JSON.stringify(actorType)}/${JSON.stringify(actorId)}`, ACQUIRE_ATTEMPTS);
  }

  /** Why a renew or release was refused: who holds the lease now, if anyone. */
  async function lost(lease: Lease, cause: unknown): Promise<LeaseLostError> {
    const key = leaseKey(lease.actorType, lease.actorId);
    const stored = await storage.read(key).catch(() => null);
    const record = stored && decodeLease(stored.value, key);
    const newHolder = record && !record.released ? record.holder : undefined;
    return new LeaseLostError(lease.actorType, lease.actorId, newHolder, { cause });
  }

  async function renew(lease: Lease): Promise<Lease> {
    const expiresAt = now() + ttlMs;
    try {
      return await put({ ...lease, expiresAt }, { holder: lease.holder, takeover: lease.takeover, expiresAt, released: false }, lease.etag);
    } catch (error) {
      if (!isQuarkError(error, "STATE_CONFLICT")) throw error;
      throw await lost(lease, error);
    }
  }

  async function release(lease: Lease): Promise<boolean> {
    const expiresAt = now();
    try {
      await put({ ...lease, expiresAt }, { holder: lease.holder, takeover: lease.takeover, expiresAt, released: true }, lease.etag);
      return true;
    } catch (error) {
      if (!isQuarkError(error, "STATE_CONFLICT")) throw error;
      return false;
    }
  }

  return { holder, ttlMs, maxClockSkewMs, now, acquire, renew, release };
}

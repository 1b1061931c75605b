// The actor system's side of leases: hold the lease of every activation, renew it in the
// background, and tell the system when it is lost so that the activation is dropped.
import type { StateStorage } from "../storage/types.ts";
import { ConfigurationError, isQuarkError, LeaseLostError } from "../errors.ts";
import { createLeaseClient, type Lease, type LeaseClientOptions } from "./lease_client.ts";

/**
 * The `lease` option of `createActorSystem`: the system then holds the lease of every actor
 * it activates, so that each actor id is active in one system at a time.
 *
 * @example Waiting up to two seconds for another system to let an actor go
 * ```ts
 * import { createActorSystem, defineActor, memoryStorage, type ActorLeaseOptions } from "@quark/persistence";
 * const Echo = defineActor("echo", { handlers: { echo: (_context, text: string) => text } });
 * const storage = memoryStorage();
 * const lease: ActorLeaseOptions = { ttlMs: 5_000, onHeld: "wait", waitMs: 2_000 };
 * const [a, b] = [createActorSystem({ storage, lease }), createActorSystem({ storage, lease })];
 * await a.actor(Echo, "e1").echo("a has it");
 * const waiting = b.actor(Echo, "e1").echo("b waits");
 * await a.shutdown(); // releases the lease
 * if ((await waiting) !== "b waits") throw new Error("b should have taken over");
 * await b.shutdown();
 * ```
 */
export interface ActorLeaseOptions extends Omit<LeaseClientOptions, "storage"> {
  /** Where the leases live. Defaults to the system's `default` storage. */
  readonly storage?: StateStorage | undefined;
  /**
   * What a call does when another holder has the actor's lease: `"fail"` (the default) rejects
   * it at once with `LeaseHeldError`; `"wait"` retries until the lease is free, for at most
   * `waitMs`.
   */
  readonly onHeld?: "fail" | "wait" | undefined;
  /** The longest a call waits for a lease with `onHeld: "wait"`. Defaults to `ttlMs + maxClockSkewMs`. */
  readonly waitMs?: number | undefined;
  /** How often a held lease is renewed. Defaults to a third of `ttlMs`. */
  readonly renewEveryMs?: number | undefined;
  /** Told when a held lease is lost; the activation is then dropped. */
  readonly onLost?: ((error: LeaseLostError) => void) | undefined;
}

/** What the actor system asks of its leases. */
export interface LeaseGuard {
  /** Acquires (or waits for) the lease of one actor; `onLost` runs if it is lost later. */
  hold(actorType: string, actorId: string, onLost: () => void): Promise<void>;
  /** Stops renewing the lease of one actor and releases it; never throws. */
  release(actorType: string, actorId: string): Promise<void>;
}

interface Held {
  lease: Lease;
  timer: ReturnType<typeof setTimeout> | undefined;
  renewing: Promise<void> | undefined;
  readonly onLost: () => void;
}

/**
 * What the actor system does when an activation's lease is lost: the next turn activates
 * afresh (acquiring the lease again), also when the loss came while it was still activating.
 */
export function dropActivation(activation: { activated: boolean; readonly activating: Promise<void> | undefined }): void {
  activation.activated = false;
  activation.activating?.then(() => (activation.activated = false), () => {});
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Creates the guard behind the `lease` option of an actor system. */
export function createLeaseGuard(options: ActorLeaseOptions, defaultStorage: StateStorage): LeaseGuard {
  const client = createLeaseClient({ ...options, storage: options.storage ?? defaultStorage });
  const { ttlMs, now } = client;
  const waitMs = options.waitMs ?? ttlMs + client.maxClockSkewMs;
  const renewEveryMs = options.renewEveryMs ?? ttlMs / 3;
  if (!(renewEveryMs > 0 && renewEveryMs < ttlMs)) {
    throw new ConfigurationError(`Lease option renewEveryMs must be above 0 and below ttlMs (${ttlMs}), got ${renewEveryMs}`);
  }
  const held = new Map<string, Held>();
  const keyOf = (actorType: string, actorId: string) => JSON.stringify([actorType, actorId]);

  async function acquire(actorType: string, actorId: string): Promise<Lease> {
    const deadline = now() + waitMs;
    for (;;) {
      try {
        return await client.acquire(actorType, actorId);
      } catch (error) {
        if (options.onHeld !== "wait" || !isQuarkError(error, "LEASE_HELD")) throw error;
        const remaining = deadline - now();
        if (remaining <= 0) throw error;
        // The holder may release early, so look again well before its lease expires.
        await sleep(Math.max(5, Math.min(remaining, ttlMs / 10)));
      }
    }
  }

  function schedule(key: string, entry: Held): void {
    entry.timer = setTimeout(() => {
      entry.renewing = renew(key, entry).finally(() => {
        entry.renewing = undefined;
      });
    }, renewEveryMs);
    // Renewals must not keep a process alive on their own (Node and Bun timers have unref).
    (entry.timer as { unref?: () => void }).unref?.();
  }

  async function renew(key: string, entry: Held): Promise<void> {
    try {
      entry.lease = await client.renew(entry.lease);
    } catch (error) {
      // An unreachable storage is retried until the lease runs out on this holder's clock.
      if (isQuarkError(error, "LEASE_LOST") || now() >= entry.lease.expiresAt) {
        lose(key, entry, error instanceof LeaseLostError ? error : new LeaseLostError(entry.lease.actorType, entry.lease.actorId, undefined, { cause: error }));
        return;
      }
    }
    if (held.get(key) === entry) schedule(key, entry);
  }

  function lose(key: string, entry: Held, error: LeaseLostError): void {
    if (held.get(key) !== entry) return;
    held.delete(key);
    try {
      options.onLost?.(error);
    } catch {
      // A listener that throws must not keep the activation from being dropped.
    }
    entry.onLost();
  }

  return {
    async hold(actorType, actorId, onLost) {
      const lease = await acquire(actorType, actorId);
      const key = keyOf(actorType, actorId);
      const entry: Held = { lease, timer: undefined, renewing: undefined, onLost };
      held.set(key, entry);
      schedule(key, entry);
    },
    async release(actorType, actorId) {
      const key = keyOf(actorType, actorId);
      const entry = held.get(key);
      if (entry === undefined) return;
      held.delete(key);
      clearTimeout(entry.timer);
      // A renewal in flight changes the etag; release the lease it leaves.
      await entry.renewing;
      // A failed release only delays the next holder until the lease expires.
      await client.release(entry.lease).catch(() => false);
    },
  };
}

import type { EventStore, GlobalEvent } from "./types.ts";
import type { StateKey, StateStorage } from "../storage/types.ts";
import { encodePosition, readPosition, type StoredPosition } from "./checkpoint.ts";
import { isQuarkError } from "../errors.ts";

/**
 * How a follower of the global order polls: it waits longer while nothing new arrives.
 *
 * @example Polling every 50 ms at first, at most every 2 s, until aborted
 * ```ts
 * import type { PollOptions } from "@quark/persistence";
 * const controller = new AbortController();
 * const polling: PollOptions = { pollIntervalMs: 50, maxPollIntervalMs: 2_000, signal: controller.signal };
 * controller.abort();
 * if (!polling.signal?.aborted) throw new Error("expected an aborted signal");
 * ```
 */
export interface PollOptions {
  /** The first wait after an empty poll, in milliseconds. Defaults to 100. */
  readonly pollIntervalMs?: number | undefined;
  /** The longest wait between polls, in milliseconds. Defaults to 5,000. */
  readonly maxPollIntervalMs?: number | undefined;
  /** Stops the follower; `done` then resolves. */
  readonly signal?: AbortSignal | undefined;
}

/**
 * Options for {@linkcode subscribe}.
 *
 * @example A subscription that starts at the end of what is stored
 * ```ts
 * import { memoryEventStore, memoryStorage, type SubscriptionOptions } from "@quark/persistence";
 * const options: SubscriptionOptions = {
 *   eventStore: memoryEventStore(),
 *   checkpoint: { storage: memoryStorage(), name: "mailer" },
 *   handler: (event) => console.log(event.type),
 *   batchSize: 50,
 * };
 * if (options.checkpoint.name !== "mailer") throw new Error("unexpected");
 * ```
 */
export interface SubscriptionOptions extends PollOptions {
  /** The store to follow; it must declare `capabilities.readAll`. */
  readonly eventStore: EventStore;
  /** Where the position is kept: any storage, under the subscription's name. */
  readonly checkpoint: { readonly storage: StateStorage; readonly name: string };
  /**
   * Called for each event in global order. Delivery is at least once: after a crash, or when
   * another process advanced the checkpoint first, the events since the last stored
   * position are delivered again. A handler that throws stops the subscription.
   */
  readonly handler: (event: GlobalEvent) => void | Promise<void>;
  /** Where to start when no position is stored yet: after this position. Defaults to `0n`. */
  readonly from?: bigint | undefined;
  /** How many events are handled between checkpoint writes. Defaults to 100. */
  readonly batchSize?: number | undefined;
}

/**
 * A running subscription.
 *
 * @example Stopping a subscription
 * ```ts
 * import { memoryEventStore, memoryStorage, subscribe, type Subscription } from "@quark/persistence";
 * const subscription: Subscription = subscribe({
 *   eventStore: memoryEventStore(),
 *   checkpoint: { storage: memoryStorage(), name: "noop" },
 *   handler: () => {},
 * });
 * await subscription.stop();
 * ```
 */
export interface Subscription {
  /** Settles when the subscription stops: resolves on `stop()` or abort, rejects on a handler error. */
  readonly done: Promise<void>;
  /** Stops after the batch in progress, and waits for it. */
  stop(): Promise<void>;
}

/** The storage key a subscription's position lives under. */
export function subscriptionCheckpointKey(name: string): StateKey {
  return { actorType: "quark.subscription", actorId: name, stateName: "checkpoint" };
}

/**
 * Follows every event of a store in global order and hands each to `handler`, at least once.
 * The position is stored through a `StateStorage` with an etag after each batch, so two
 * processes running one subscription never both advance it: the one that loses re-reads the
 * position and goes on from there. Polls back off while nothing arrives; storage outages
 * are retried with the same backoff.
 *
 * @param options The store, the checkpoint, the handler and the polling.
 * @returns The running subscription.
 *
 * @example Following deposits
 * ```ts
 * import { memoryEventStore, memoryStorage, subscribe } from "@quark/persistence";
 * const eventStore = memoryEventStore();
 * const seen: string[] = [];
 * const subscription = subscribe({
 *   eventStore,
 *   checkpoint: { storage: memoryStorage(), name: "audit" },
 *   handler: (event) => void seen.push(`${event.stream}@${event.version}`),
 *   pollIntervalMs: 5,
 * });
 * await eventStore.append("account/1", [{ type: "Deposited", data: new Uint8Array() }], "no_stream");
 * while (seen.length < 1) await new Promise((resolve) => setTimeout(resolve, 5));
 * await subscription.stop();
 * if (seen.join() !== "account/1@1") throw new Error(`unexpected: ${seen}`);
 * ```
 */
export function subscribe(options: SubscriptionOptions): Subscription {
  const key = subscriptionCheckpointKey(options.checkpoint.name);
  const storage = options.checkpoint.storage;
  const batchSize = options.batchSize ?? 100;
  if (!Number.isSafeInteger(batchSize) || batchSize < 1) throw new RangeError(`batchSize must be a whole number of at least 1, got ${batchSize}`);

  // The position this process last read or wrote; read again only after another process
  // moved it (a conflict), so a batch costs one checkpoint write and no extra read.
  let known: StoredPosition | undefined;

  async function step(): Promise<number> {
    const stored = known ??= await readPosition(storage, key);
    const start = stored.etag === null ? options.from ?? 0n : stored.position;
    let last = start;
    let handled = 0;
    for await (const event of options.eventStore.readAll({ after: start, pageSize: batchSize })) {
      await options.handler(event);
      last = event.position;
      if (++handled === batchSize) break;
    }
    if (handled === 0) return 0;
    try {
      const written = await storage.write({ key, value: encodePosition(last), etag: crypto.randomUUID(), expectedEtag: stored.etag });
      known = { position: last, etag: written.etag };
    } catch (error) {
      // Another process moved the position first (or the outcome is unknown): read it again.
      known = undefined;
      if (!isQuarkError(error, "STATE_CONFLICT")) throw error;
    }
    return handled;
  }

  return follow(step, options);
}

/**
 * Runs `step` until stopped: again at once while it makes progress, after a growing pause
 * while it finds nothing or the store is unavailable. Any other error stops it.
 */
export function follow(step: () => Promise<number>, options: PollOptions): Subscription {
  const firstWait = options.pollIntervalMs ?? 100;
  const longestWait = Math.max(firstWait, options.maxPollIntervalMs ?? 5_000);
  const stopper = new AbortController();
  const signal = options.signal ? AbortSignal.any([options.signal, stopper.signal]) : stopper.signal;
  let wait = firstWait;

  const done = (async () => {
    while (!signal.aborted) {
      let progressed = false;
      try {
        progressed = (await step()) > 0;
      } catch (error) {
        if (!isQuarkError(error, "STORAGE_UNAVAILABLE") && !isQuarkError(error, "CONTENTION")) throw error;
      }
      if (progressed) {
        wait = firstWait;
        continue;
      }
      await pause(wait, signal);
      wait = Math.min(longestWait, wait * 2);
    }
  })();
  // A rejection surfaces through `done`; without a listener it must not crash the process.
  done.catch(() => {});

  return {
    done,
    async stop() {
      stopper.abort();
      await done;
    },
  };
}

function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(finish, ms);
    function finish() {
      clearTimeout(timer);
      signal.removeEventListener("abort", finish);
      resolve();
    }
    signal.addEventListener("abort", finish, { once: true });
  });
}

/**
 * Quark's observer events on Node's `diagnostics_channel`, for APM agents and tools that
 * subscribe there: `quark:storage`, `quark:actor`, `quark:write` and `quark:snapshot`. The
 * module `node:diagnostics_channel` is imported only when {@linkcode diagnosticsObserver} is
 * called, so loading this entry touches no other runtime; where that module does not exist
 * (browsers, edge-runtime, Workers without `nodejs_compat`) the observer does nothing.
 *
 * @example Publishing an actor system's events
 * ```ts
 * import { createActorSystem, memoryStorage } from "@quark/persistence";
 * import { diagnosticsObserver } from "@quark/persistence/diagnostics";
 * const system = createActorSystem({ storage: memoryStorage(), observer: await diagnosticsObserver() });
 * await system.shutdown();
 * ```
 *
 * @module
 */

import type { QuarkObserver } from "../../src/observe/observer.ts";

/**
 * The channel each observer callback publishes to. Each message is the observer's event
 * object as it is (`StorageOperationEvent`, `ActorEvent`, `WriteEvent`, `SnapshotEvent`).
 *
 * @example Subscribing to storage calls
 * ```ts
 * import { subscribe } from "node:diagnostics_channel";
 * import { diagnosticsChannels } from "@quark/persistence/diagnostics";
 * subscribe(diagnosticsChannels.storage, (message) => console.log("storage call", message));
 * ```
 */
export const diagnosticsChannels: {
  readonly storage: "quark:storage";
  readonly actor: "quark:actor";
  readonly write: "quark:write";
  readonly snapshot: "quark:snapshot";
} = {
  storage: "quark:storage",
  actor: "quark:actor",
  write: "quark:write",
  snapshot: "quark:snapshot",
};

/** The part of a diagnostics channel this module uses. */
interface Channel {
  readonly hasSubscribers: boolean;
  publish(message: unknown): void;
}

async function loadChannelFactory(): Promise<((name: string) => Channel) | undefined> {
  try {
    const diagnostics = await import("node:diagnostics_channel");
    return (name) => diagnostics.channel(name);
  } catch {
    // No diagnostics_channel on this runtime: nobody can subscribe, so there is nothing to do.
    return undefined;
  }
}

function publisher(channel: Channel): (event: unknown) => void {
  // Checking for subscribers first keeps an unwatched channel free.
  return (event) => {
    if (channel.hasSubscribers) channel.publish(event);
  };
}

/**
 * An observer that publishes every event to the channels in {@linkcode diagnosticsChannels}.
 * It resolves once `node:diagnostics_channel` is loaded; on a runtime without that module it
 * resolves to an observer with no callbacks, which does nothing. Events are published after
 * the call they describe has settled, so they are plain channels rather than a
 * `TracingChannel` (which wraps a call while it runs).
 *
 * @returns The observer.
 *
 * @example Seeing a turn's storage calls
 * ```ts
 * import * as v from "valibot";
 * import { subscribe, unsubscribe } from "node:diagnostics_channel";
 * import { createActorSystem, defineActor, defineState, memoryStorage, type StorageOperationEvent } from "@quark/persistence";
 * import { diagnosticsChannels, diagnosticsObserver } from "@quark/persistence/diagnostics";
 * const count = defineState("count", { schema: v.number(), initial: 0 });
 * const Counter = defineActor("counter", {
 *   states: { count },
 *   handlers: {
 *     async add({ states }, by: number) {
 *       states.count.value += by;
 *       await states.count.save();
 *     },
 *   },
 * });
 * const operations: string[] = [];
 * const listener = (message: unknown) => operations.push((message as StorageOperationEvent).operation);
 * subscribe(diagnosticsChannels.storage, listener);
 * const system = createActorSystem({ storage: memoryStorage(), observer: await diagnosticsObserver() });
 * await system.actor(Counter, "c").add(1);
 * await system.shutdown();
 * unsubscribe(diagnosticsChannels.storage, listener);
 * if (operations.join() !== "read,write") throw new Error(`unexpected: ${operations}`);
 * ```
 */
export async function diagnosticsObserver(): Promise<QuarkObserver> {
  const channelOf = await loadChannelFactory();
  if (!channelOf) return {};
  return {
    storageOperation: publisher(channelOf(diagnosticsChannels.storage)),
    actor: publisher(channelOf(diagnosticsChannels.actor)),
    write: publisher(channelOf(diagnosticsChannels.write)),
    snapshot: publisher(channelOf(diagnosticsChannels.snapshot)),
  };
}

// The diagnostics_channel observer (issue 12, part 2): a subscriber to each quark: channel
// receives the observer's events of a real turn with a conflict and a retry. Node, Deno and
// Bun all have node:diagnostics_channel; a runtime without it skips by name.
import { test } from "node:test";
import assert from "node:assert/strict";
import { createActorSystem, memoryStorage } from "../../mod.ts";
import { Counter } from "./_counter.ts";
import { diagnosticsChannels, diagnosticsObserver } from "../../adapters/diagnostics/mod.ts";

const diagnostics = await import("node:diagnostics_channel").catch(() => undefined);
const skip = diagnostics ? false : "this runtime has no node:diagnostics_channel";

type Channel = keyof typeof diagnosticsChannels;

/** Subscribes to every quark: channel; `stop()` unsubscribes and returns what each one received. */
function listen() {
  const received: Record<Channel, unknown[]> = { storage: [], actor: [], write: [], snapshot: [] };
  const listeners = (Object.keys(diagnosticsChannels) as Channel[]).map((channel) => {
    const listener = (message: unknown, name: string | symbol) => {
      assert.equal(name, diagnosticsChannels[channel]);
      received[channel].push(message);
    };
    diagnostics!.subscribe(diagnosticsChannels[channel], listener);
    return () => diagnostics!.unsubscribe(diagnosticsChannels[channel], listener);
  });
  return {
    stop() {
      for (const unsubscribe of listeners) unsubscribe();
      return received;
    },
  };
}

test("the channels are named quark:storage, quark:actor, quark:write and quark:snapshot", () => {
  assert.deepEqual(diagnosticsChannels, { storage: "quark:storage", actor: "quark:actor", write: "quark:write", snapshot: "quark:snapshot" });
});

test("a turn's events reach the subscribers of each channel", { skip }, async () => {
  const shared = memoryStorage();
  const subscription = listen();
  const system = createActorSystem({ storage: shared, observer: await diagnosticsObserver() });
  const other = createActorSystem({ storage: shared });
  await system.actor(Counter, "c").add(1);
  await other.actor(Counter, "c").add(10);
  assert.equal(await system.actor(Counter, "c").add(100), 111);
  await Promise.all([system.shutdown(), other.shutdown()]);
  const received = subscription.stop();

  const key = { actorType: "counter", actorId: "c", stateName: "count" };
  const storage = received.storage as Array<{ backend: string; operation: string; key: unknown; outcome: string; errorCode?: string }>;
  assert.deepEqual(storage.map((event) => `${event.operation}:${event.outcome}${event.errorCode ? `:${event.errorCode}` : ""}`), [
    "read:ok", "write:ok", "write:error:STATE_CONFLICT", "read:ok", "write:ok",
  ]);
  assert.ok(storage.every((event) => event.backend === "memory"));
  assert.deepEqual(storage[2]!.key, key);
  const actor = received.actor as Array<{ kind: string; attempt?: number }>;
  assert.deepEqual(actor.map((event) => event.attempt ? `${event.kind}:${event.attempt}` : event.kind), [
    "activation", "turn:1", "turn:1", "retry:2", "turn:2", "deactivation",
  ]);
  assert.deepEqual(received.write, [{ kind: "conflict", key, policy: "retry", resolution: "retried" }]);
  assert.deepEqual(received.snapshot, []);
});

test("with nobody subscribed, turns run as before", { skip }, async () => {
  assert.equal(diagnostics!.hasSubscribers(diagnosticsChannels.storage), false);
  const observer = await diagnosticsObserver();
  const system = createActorSystem({ storage: memoryStorage(), observer });
  assert.equal(await system.actor(Counter, "c").add(2), 2);
  await system.shutdown();
});

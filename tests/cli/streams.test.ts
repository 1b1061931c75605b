// Which streams the CLI works on: the config's list, else every stream of the global order
// (each once, in order of first appearance), else a one-line error naming the fix.
import { test } from "node:test";
import assert from "node:assert/strict";
import { memoryEventStore, type EventStore } from "../../mod.ts";
import { streamsOf } from "../../cli/config.ts";
import { UsageError } from "../../cli/usage_error.ts";

async function storeWith(streams: string[]): Promise<EventStore> {
  const store = memoryEventStore();
  const data = new Uint8Array();
  for (const stream of streams) await store.append(stream, [{ type: "E", data }], "any");
  return store;
}

test("without a list, the streams come from readAll, each once, in order of first appearance", async () => {
  const store = await storeWith(["b/1", "a/1", "b/1", "c/1", "a/1"]);
  assert.deepEqual(await streamsOf({ eventStore: store }, "quark.config.ts"), ["b/1", "a/1", "c/1"]);
});

test("a list in the config wins, from an array or a function", async () => {
  const store = await storeWith(["b/1"]);
  assert.deepEqual(await streamsOf({ eventStore: store, streams: ["x/1", "x/1", "y/1"] }, "quark.config.ts"), ["x/1", "y/1"]);
  assert.deepEqual(await streamsOf({ eventStore: store, streams: async () => ["z/1"] }, "quark.config.ts"), ["z/1"]);
});

test("a store without readAll and no list is a one-line usage error", async () => {
  const store = await storeWith(["b/1"]);
  const blind: EventStore = { ...store, name: "dynamodb", capabilities: { readAll: false } };
  await assert.rejects(streamsOf({ eventStore: blind }, "quark.config.ts"), (error: unknown) => {
    assert.ok(error instanceof UsageError);
    assert.equal(error.message, 'config quark.config.ts: event store dynamodb cannot list its streams (no readAll); name them in "streams"');
    return true;
  });
  assert.deepEqual(await streamsOf({}, "quark.config.ts"), [], "no event store, no streams");
});

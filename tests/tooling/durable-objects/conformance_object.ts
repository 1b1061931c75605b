// A Worker whose Durable Object runs the conformance suites inside itself, on its own
// `ctx.storage`: the Worker forwards `/cases` and `/run` to one object, whose handler is the
// runtime harness's. Every case opens the storage or event store afresh on the same database;
// cases keep apart by their unique names.
import { durableObjectEventStore, durableObjectStorage, type DurableObjectSqlStorage } from "../../../adapters/durable-objects/mod.ts";
import { runContentionConformance, runEventStoreConformance, runStorageConformance } from "../../../src/testing/mod.ts";
import { isQuarkError } from "../../../src/errors.ts";
import { createHandler } from "../../runtimes/handler.ts";

interface Namespace {
  idFromName(name: string): unknown;
  get(id: unknown): { fetch(request: Request): Promise<Response> };
}

export class ConformanceObject {
  readonly #handle: (request: Request, env: Record<string, string>) => Promise<Response>;

  constructor(ctx: { storage: DurableObjectSqlStorage }) {
    const name = "durable-objects";
    this.#handle = createHandler([{
      name,
      register(test) {
        runStorageConformance(test, { name, open: () => durableObjectStorage(ctx.storage) });
        runContentionConformance(test, { name, open: () => durableObjectStorage(ctx.storage) });
        runEventStoreConformance(test, { name, open: () => durableObjectEventStore(ctx.storage) });
        registerLimitCases(test, ctx.storage);
      },
    }]);
  }

  fetch(request: Request): Promise<Response> {
    return this.#handle(request, {});
  }
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function check(condition: boolean, message: string): void {
  if (!condition) throw new Error(message);
}

/** What this backend adds to the suites: its row limit on events, and the TTL purge. */
function registerLimitCases(test: (name: string, body: () => Promise<void>) => unknown, storage: DurableObjectSqlStorage): void {
  test("durable-objects: an event over the 2 MB row limit fails with InvalidInputError, and its batch appends nothing", async () => {
    const store = durableObjectEventStore(storage);
    const stream = `too-big-${crypto.randomUUID()}`;
    await store.append(stream, [{ type: "Small", data: new Uint8Array(1) }], "no_stream");
    const outcome = await store.append(stream, [{ type: "Small", data: new Uint8Array(1) }, { type: "Big", data: new Uint8Array(2_300_000) }], 1)
      .then(() => "appended", (error: unknown) => error);
    check(isQuarkError(outcome, "INVALID_INPUT"), `expected InvalidInputError, got ${String(outcome)}`);
    check(await store.version(stream) === 1, "the refused batch appended nothing");
  });

  test("durable-objects: purgeExpired deletes expired rows and keeps the rest", async () => {
    const states = durableObjectStorage(storage);
    const actorType = `purge-${crypto.randomUUID()}`;
    const write = (actorId: string, ttlMs?: number) =>
      states.write({ key: { actorType, actorId, stateName: "s" }, value: new Uint8Array([1]), etag: crypto.randomUUID(), expectedEtag: null, ttlMs });
    await write("short", 1);
    await write("long", 600_000);
    await write("forever");
    await sleep(20);
    check(states.purgeExpired() >= 1, "at least the expired row is purged");
    const left = storage.sql.exec("SELECT actor_id FROM quark_state WHERE actor_type = ? ORDER BY actor_id", actorType).toArray().map((row) => row.actor_id);
    check(left.join() === "forever,long", `rows left: ${left.join()}`);
  });
}

export default {
  fetch(request: Request, env: { CONFORMANCE: Namespace }): Promise<Response> {
    return env.CONFORMANCE.get(env.CONFORMANCE.idFromName("conformance")).fetch(request);
  },
};

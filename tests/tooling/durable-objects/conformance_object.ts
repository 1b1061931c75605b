// A Worker whose Durable Object runs the conformance suites inside itself, on its own
// `ctx.storage`: the Worker forwards `/cases` and `/run` to one object, whose handler is the
// runtime harness's. Every case opens the storage or event store afresh on the same database;
// cases keep apart by their unique names.
import { durableObjectEventStore, durableObjectStorage, type DurableObjectSqlStorage } from "../../../adapters/durable-objects/mod.ts";
import { runContentionConformance, runEventStoreConformance, runStorageConformance } from "../../../src/testing/mod.ts";
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
      },
    }]);
  }

  fetch(request: Request): Promise<Response> {
    return this.#handle(request, {});
  }
}

export default {
  fetch(request: Request, env: { CONFORMANCE: Namespace }): Promise<Response> {
    return env.CONFORMANCE.get(env.CONFORMANCE.idFromName("conformance")).fetch(request);
  },
};

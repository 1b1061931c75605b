import type { StateStorage } from "../storage/types.ts";
import type { EventStore } from "../events/types.ts";
import { errorCodeOf, notify, now, type QuarkObserver, type StorageOperationEvent } from "./observer.ts";

type Subject = Pick<StorageOperationEvent, "operation" | "key" | "keys" | "stream">;

function timed<T>(observer: QuarkObserver, backend: string, subject: Subject, call: () => Promise<T>): Promise<T> {
  const begin = now();
  const report = (outcome: "ok" | "error", error?: unknown) =>
    notify(observer, "storageOperation", {
      backend,
      ...subject,
      durationMs: now() - begin,
      roundTrips: 1,
      outcome,
      errorCode: outcome === "error" ? errorCodeOf(error) : undefined,
    });
  return call().then(
    (result) => {
      report("ok");
      return result;
    },
    (error) => {
      report("error", error);
      throw error;
    },
  );
}

/**
 * Wraps a storage so that every call is reported to `observer.storageOperation`. The
 * wrapper changes no result and no error. `createActorSystem({ observer })` applies it to
 * the system's storages itself.
 *
 * @param storage The storage to observe.
 * @param observer Where to report.
 * @returns A storage with the same behaviour.
 *
 * @example Timing every write
 * ```ts
 * import { memoryStorage, observeStorage, type StorageOperationEvent } from "@quark/persistence";
 * const events: StorageOperationEvent[] = [];
 * const storage = observeStorage(memoryStorage(), { storageOperation: (event) => events.push(event) });
 * const key = { actorType: "account", actorId: "42", stateName: "balance" };
 * await storage.write({ key, value: new Uint8Array([1]), etag: crypto.randomUUID(), expectedEtag: null });
 * if (events[0]?.operation !== "write" || events[0].outcome !== "ok") throw new Error("write not reported");
 * ```
 */
export function observeStorage(storage: StateStorage, observer: QuarkObserver): StateStorage {
  const backend = storage.name;
  return {
    name: storage.name,
    capabilities: storage.capabilities,
    read: (key) => timed(observer, backend, { operation: "read", key }, () => storage.read(key)),
    write: (request) => timed(observer, backend, { operation: "write", key: request.key }, () => storage.write(request)),
    delete: (request) => timed(observer, backend, { operation: "delete", key: request.key }, () => storage.delete(request)),
    list: (request) => timed(observer, backend, { operation: "list" }, () => storage.list(request)),
    transact: (operations) => timed(observer, backend, { operation: "transact", keys: operations.map((operation) => operation.key) }, () => storage.transact(operations)),
    close: () => storage.close(),
  };
}

/**
 * Wraps an event store so that every call is reported to `observer.storageOperation`;
 * reading a stream is reported once it has been read to the end (or failed).
 *
 * @param store The event store to observe.
 * @param observer Where to report.
 * @returns An event store with the same behaviour.
 *
 * @example Reporting appends
 * ```ts
 * import { memoryEventStore, observeEventStore } from "@quark/persistence";
 * const operations: string[] = [];
 * const store = observeEventStore(memoryEventStore(), { storageOperation: (event) => operations.push(`${event.operation} ${event.stream}`) });
 * await store.append("order/1", [{ type: "Placed", data: new Uint8Array() }], "no_stream");
 * if (operations.join() !== "append order/1") throw new Error(`unexpected: ${operations}`);
 * ```
 */
export function observeEventStore(store: EventStore, observer: QuarkObserver): EventStore {
  const backend = store.name;
  return {
    name: store.name,
    append: (stream, events, expected) => timed(observer, backend, { operation: "append", stream }, () => store.append(stream, events, expected)),
    capabilities: store.capabilities,
    read: (stream, options) => observedIteration(observer, backend, "readStream", stream, () => store.read(stream, options)),
    readAll: (options) => observedIteration(observer, backend, "readAll", undefined, () => store.readAll(options)),
    version: (stream) => timed(observer, backend, { operation: "version", stream }, () => store.version(stream)),
    saveSnapshot: (stream, snapshot) => timed(observer, backend, { operation: "saveSnapshot", stream }, () => store.saveSnapshot(stream, snapshot)),
    loadSnapshot: (stream) => timed(observer, backend, { operation: "loadSnapshot", stream }, () => store.loadSnapshot(stream)),
    close: () => store.close(),
  };
}

/** Reports one iteration of a read as one operation, when it ends or fails. */
function observedIteration<T>(observer: QuarkObserver, backend: string, operation: "readStream" | "readAll", stream: string | undefined, open: () => AsyncIterable<T>): AsyncIterable<T> {
  return {
    async *[Symbol.asyncIterator]() {
      const begin = now();
      const report = (outcome: "ok" | "error", error?: unknown) =>
        notify(observer, "storageOperation", {
          backend,
          operation,
          ...(stream === undefined ? {} : { stream }),
          durationMs: now() - begin,
          roundTrips: 1,
          outcome,
          errorCode: outcome === "error" ? errorCodeOf(error) : undefined,
        });
      try {
        yield* open();
      } catch (error) {
        report("error", error);
        throw error;
      }
      report("ok");
    },
  };
}

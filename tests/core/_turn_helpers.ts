// Small helpers for the actor-runtime tests: gates, write interception and reading a stored number.
import { createCodec, encodeKey, type StateKey, type StateStorage, type WriteRequest } from "../../mod.ts";

/** A promise with its resolver, to hold a turn at a chosen point. */
export function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((done) => (resolve = done));
  return { promise, resolve };
}

/** A storage that runs `before` ahead of every write, to let another writer in first. */
export function interceptWrites(inner: StateStorage, before: (request: WriteRequest) => Promise<void>): StateStorage {
  return {
    ...inner,
    async write(request) {
      await before(request);
      return inner.write(request);
    },
  };
}

/** The value stored under `key`, decoded with the default codec; `undefined` when absent. */
export async function storedValue(storage: StateStorage, key: StateKey): Promise<unknown> {
  const record = await storage.read(key);
  return record ? (await createCodec().decode(record.value, encodeKey(key))).value : undefined;
}

/** The number stored under `key`; 0 when absent. */
export async function storedNumber(storage: StateStorage, key: StateKey): Promise<number> {
  return (await storedValue(storage, key) ?? 0) as number;
}

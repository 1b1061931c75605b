// The target side of `quark copy --to` and `quark verify --to` in the CLI tests. A test that
// interrupts a copy slows the target's writes, so that the interrupt always lands mid-copy
// instead of racing a copy that may finish first on a fast runtime.
import type { StateStorage } from "../../mod.ts";
import { configAt } from "./fixture.config.ts";

function slowed(storage: StateStorage, delayMs: number): StateStorage {
  const pause = () => new Promise((resolve) => setTimeout(resolve, delayMs));
  return {
    ...storage,
    write: async (request) => (await pause(), storage.write(request)),
    transact: async (operations) => (await pause(), storage.transact(operations)),
    read: (key) => storage.read(key),
    delete: (request) => storage.delete(request),
    list: (request) => storage.list(request),
    close: () => storage.close(),
  };
}

export default () => {
  const config = configAt(process.env.QUARK_CLI_TARGET);
  const delayMs = Number(process.env.QUARK_CLI_SLOW_TARGET_WRITES_MS ?? 0);
  // configAt always names one storage, `default`.
  const { default: storage } = config.storages as Readonly<Record<string, StateStorage>>;
  return delayMs > 0 ? { ...config, storages: { default: slowed(storage!, delayMs) } } : config;
};

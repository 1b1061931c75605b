import type { StateStorage } from "./types.ts";
import { ConfigurationError } from "../errors.ts";

/**
 * Storages by name, such as `{ default: pglite, cold: dynamo }`. States pick one by name.
 *
 * @example Hot and cold storage side by side
 * ```ts
 * import { resolveProviders, memoryStorage, type StorageProviders } from "@quark/persistence";
 * const providers: StorageProviders = { default: memoryStorage(), cold: memoryStorage() };
 * if (resolveProviders(providers).get("cold") !== providers.cold) throw new Error("wrong provider");
 * ```
 */
export type StorageProviders = Readonly<Record<string, StateStorage>>;

/**
 * Looks storages up by name.
 *
 * @example One storage is the default provider
 * ```ts
 * import { memoryStorage, resolveProviders, type ProviderRegistry } from "@quark/persistence";
 * const storage = memoryStorage();
 * const registry: ProviderRegistry = resolveProviders(storage);
 * if (registry.get("default") !== storage) throw new Error("a single storage is named default");
 * ```
 */
export interface ProviderRegistry {
  /**
   * Returns the storage registered under `name`.
   *
   * @throws {ConfigurationError} When no storage has that name; there is never a fallback.
   */
  get(name: string): StateStorage;
  /** Every registered storage, each once. */
  readonly storages: readonly StateStorage[];
}

function isStorage(value: unknown): value is StateStorage {
  return typeof value === "object" && value !== null && typeof (value as StateStorage).write === "function" &&
    typeof (value as StateStorage).read === "function";
}

/**
 * Turns one storage or named storages into a registry that refuses unknown names.
 *
 * @param storage One storage (named `"default"`) or a record of named storages.
 * @returns A {@linkcode ProviderRegistry}.
 * @throws {ConfigurationError} When there are no storages, or an entry is not a storage.
 *
 * @example A mistyped provider name fails loudly
 * ```ts
 * import { isQuarkError, memoryStorage, resolveProviders } from "@quark/persistence";
 * const providers = resolveProviders({ default: memoryStorage(), cold: memoryStorage() });
 * try {
 *   providers.get("clod");
 *   throw new Error("should have refused");
 * } catch (error) {
 *   if (!isQuarkError(error, "CONFIGURATION")) throw error;
 * }
 * ```
 */
export function resolveProviders(storage: StateStorage | StorageProviders): ProviderRegistry {
  const named: StorageProviders = isStorage(storage) ? { default: storage } : storage;
  const names = Object.keys(named);
  if (names.length === 0) throw new ConfigurationError("No storage providers were configured");
  for (const name of names) {
    if (!isStorage(named[name])) throw new ConfigurationError(`Storage provider ${JSON.stringify(name)} is not a storage`);
  }
  return {
    get(name) {
      const found = Object.hasOwn(named, name) ? named[name] : undefined;
      if (!found) {
        throw new ConfigurationError(`Unknown storage provider ${JSON.stringify(name)}; configured: ${names.map((n) => JSON.stringify(n)).join(", ")}`);
      }
      return found;
    },
    storages: [...new Set(Object.values(named))],
  };
}

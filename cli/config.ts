// Loads the user's config module: the storages, event store, codec options and definitions
// the CLI works on. A config may export the object itself or a function that opens it, so
// that `copy` can open two configs side by side.
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";
import type { CodecOptions, EventStore, InspectableDefinition, StateStorage, StorageProviders } from "../mod.ts";
import { UsageError } from "./usage_error.ts";

/**
 * What a `quark.config.ts` exports, as its default export or as a function returning it.
 *
 * @example A PGlite database in a folder
 * ```ts ignore
 * import { pgliteEventStore, pgliteStorage } from "@quark/persistence/pglite";
 * import type { QuarkConfig } from "@quark/persistence/cli";
 * export default (): QuarkConfig => ({
 *   storages: { default: pgliteStorage({ dataDir: "./.data", autoCreateSchema: true }) },
 *   eventStore: pgliteEventStore({ dataDir: "./.data", autoCreateSchema: true }),
 *   actorTypes: ["account"],
 *   streams: ["ledger/l1"],
 * });
 * ```
 */
export interface QuarkConfig {
  /** Named storages, as given to `createActorSystem`; a single storage is named `default`. */
  readonly storages: StorageProviders | StateStorage;
  /** The event store, if the system is event-sourced. */
  readonly eventStore?: EventStore | undefined;
  /** The codec options the system uses; needed to decode (`get`, `events tail`), not to move bytes. */
  readonly codec?: CodecOptions | undefined;
  /** Actor, state and event definitions, for decoding and for the actor types to list. */
  readonly definitions?: readonly InspectableDefinition[] | undefined;
  /** Actor types to export and copy besides those the definitions name. */
  readonly actorTypes?: readonly string[] | undefined;
  /**
   * The event streams to export, copy and verify. Leave it out where the event store has
   * `capabilities.readAll` (memory, PGlite, PostgreSQL, Neon, SQL Server, Upstash, Durable
   * Objects): the CLI then finds every stream in the global order. Stores without it
   * (DynamoDB, MongoDB, Cassandra) need the list, or a function returning it (for instance
   * from a table of ids).
   */
  readonly streams?: readonly string[] | (() => AsyncIterable<string> | Iterable<string> | Promise<Iterable<string>>) | undefined;
}

/** A config once opened: storages by name, and everything the commands need. */
export interface OpenConfig {
  readonly path: string;
  readonly storages: StorageProviders;
  readonly eventStore?: EventStore | undefined;
  readonly codec?: CodecOptions | undefined;
  readonly definitions: readonly InspectableDefinition[];
  readonly actorTypes: readonly string[];
  streams(): Promise<string[]>;
  close(): Promise<void>;
}

// The config's path is known only at run time. `deno publish` warns about every `import()` it
// cannot resolve statically; going through a Function keeps the module graph free of it.
const importModule = new Function("specifier", "return import(specifier)") as (specifier: string) => Promise<unknown>;

const DEFAULT_PATHS = ["quark.config.ts", "quark.config.js", "quark.config.mjs"];

function locate(given: string | undefined, cwd: string): string {
  if (given !== undefined) {
    const path = resolve(cwd, given);
    if (!existsSync(path)) throw new UsageError(`config file not found: ${given}`);
    return path;
  }
  const found = DEFAULT_PATHS.map((name) => resolve(cwd, name)).find((path) => existsSync(path));
  if (!found) throw new UsageError(`no config: pass --config FILE or create ${DEFAULT_PATHS.slice(0, 2).join(" or ")}`);
  return found;
}

function isStorage(value: unknown): value is StateStorage {
  return typeof value === "object" && value !== null && typeof (value as StateStorage).read === "function" && typeof (value as StateStorage).list === "function";
}

function actorTypesOf(config: QuarkConfig): string[] {
  const named = (config.definitions ?? []).flatMap((definition) => "actorType" in definition ? [definition.actorType] : []);
  return [...new Set([...named, ...(config.actorTypes ?? [])])];
}

/**
 * The streams a command works on: the config's list where it gives one, else every stream the
 * event store's global order holds, in order of first appearance. That order only grows at
 * its end, so a resumed export finds the streams it had done at the same indexes. The scan
 * keeps the names, not the events.
 */
export async function streamsOf(config: Pick<QuarkConfig, "streams" | "eventStore">, path: string): Promise<string[]> {
  const given = config.streams;
  const names = new Set<string>();
  if (given !== undefined) {
    const source = typeof given === "function" ? await given() : given;
    for await (const stream of source as AsyncIterable<string>) names.add(stream);
    return [...names];
  }
  const eventStore = config.eventStore;
  if (!eventStore) return [];
  if (!eventStore.capabilities.readAll) {
    throw new UsageError(`config ${path}: event store ${eventStore.name} cannot list its streams (no readAll); name them in "streams"`);
  }
  for await (const event of eventStore.readAll({ pageSize: 1000 })) names.add(event.stream);
  return [...names];
}

/** Imports and opens a config module. */
export async function openConfig(given: string | undefined, cwd: string): Promise<OpenConfig> {
  const path = locate(given, cwd);
  let loaded: { default?: unknown };
  try {
    loaded = await importModule(pathToFileURL(path).href) as { default?: unknown };
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code === "ERR_UNKNOWN_FILE_EXTENSION") throw new UsageError(`this Node cannot import ${path}: run with \`node --import tsx\` or write the config as .js`);
    throw new UsageError(`cannot load config ${path}: ${(error as Error).message.split("\n")[0]}`);
  }
  const exported = typeof loaded.default === "function" ? await (loaded.default as () => unknown)() : loaded.default;
  if (typeof exported !== "object" || exported === null || !("storages" in exported)) {
    throw new UsageError(`config ${path} must export default an object (or a function returning one) with "storages"`);
  }
  const config = exported as QuarkConfig;
  const storages: StorageProviders = isStorage(config.storages) ? { default: config.storages } : config.storages;
  if (typeof storages !== "object" || storages === null || Object.keys(storages).length === 0) {
    throw new UsageError(`config ${path}: "storages" must be a storage or an object of named storages`);
  }
  for (const [name, storage] of Object.entries(storages)) {
    if (!isStorage(storage)) throw new UsageError(`config ${path}: storages.${name} is not a storage`);
  }
  return {
    path,
    storages,
    eventStore: config.eventStore,
    codec: config.codec,
    definitions: config.definitions ?? [],
    actorTypes: actorTypesOf(config),
    streams: () => streamsOf(config, path),
    async close() {
      await Promise.all([...new Set(Object.values(storages))].map((storage) => storage.close()));
      await config.eventStore?.close();
    },
  };
}

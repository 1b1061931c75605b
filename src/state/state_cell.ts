import type { StateDefinition } from "./define_state.ts";
import type { StateKey, StateStorage } from "../storage/types.ts";
import type { Codec } from "../codec/codec.ts";
import { validate } from "./standard_schema.ts";
import { encodeKey } from "../storage/keys.ts";
import { CorruptDataError } from "../errors.ts";

/** A state as the storage last confirmed it. Never handed to user code, so never aliased. */
export interface CommittedState<T> {
  readonly value: T;
  readonly etag: string | null;
  readonly revision: number;
}

/**
 * One state of one activation: the committed copy every turn starts from. Turns never
 * change it directly; only a confirmed write or a reload does. `stale` marks a copy that
 * may be behind storage (after a conflict or an unknown outcome), so the next turn reloads.
 */
export interface StateCell<T> {
  readonly definition: StateDefinition<T>;
  readonly storage: StateStorage;
  readonly key: StateKey;
  committed: CommittedState<T> | undefined;
  stale: boolean;
  /** Reads storage and makes the result the committed copy. */
  load(): Promise<CommittedState<T>>;
  /** Reads storage without touching the committed copy. */
  read(): Promise<CommittedState<T>>;
  /** Validates a value and encodes it for storage. */
  encode(value: unknown): Promise<{ value: T; bytes: Uint8Array }>;
  /**
   * After a write whose reply was lost: reads back, and returns the stored revision when the
   * stored etag is the one that write carried (etags never repeat, so it landed), else `undefined`.
   */
  landed(etag: string): Promise<number | undefined>;
}

/** Creates the cell of one state; it loads nothing until asked. */
export function createStateCell<T>(definition: StateDefinition<T>, storage: StateStorage, codec: Codec, key: StateKey): StateCell<T> {
  const encodedKey = encodeKey(key);

  async function read(): Promise<CommittedState<T>> {
    const record = await storage.read(key);
    if (!record) return { value: definition.initial(), etag: null, revision: 0 };
    const decoded = await codec.decode(record.value, encodedKey);
    const upcast = upcastValue(definition, decoded.value, decoded.schemaVersion);
    const value = await validate(definition.schema, upcast, definition.name, "read");
    return { value, etag: record.etag, revision: record.revision };
  }

  const cell: StateCell<T> = {
    definition,
    storage,
    key,
    committed: undefined,
    stale: false,
    read,
    async load() {
      const fresh = await read();
      cell.committed = fresh;
      cell.stale = false;
      return fresh;
    },
    async encode(value) {
      const valid = await validate(definition.schema, value, definition.name, "write");
      return { value: valid, bytes: await codec.encode(valid, definition.version, encodedKey) };
    },
    async landed(etag) {
      const record = await storage.read(key);
      return record?.etag === etag ? record.revision : undefined;
    },
  };
  return cell;
}

/** Applies a definition's upcasters from `fromVersion` up to its current version. */
export function upcastValue<T>(definition: Pick<StateDefinition<T>, "name" | "version" | "migrate">, value: unknown, fromVersion: number): unknown {
  if (fromVersion > definition.version) {
    throw new CorruptDataError(`State ${JSON.stringify(definition.name)} was written by schema version ${fromVersion}, newer than this code's ${definition.version}`);
  }
  let current = value;
  for (let version = fromVersion; version < definition.version; version++) {
    const upcaster = definition.migrate[version];
    if (!upcaster) {
      throw new CorruptDataError(`State ${JSON.stringify(definition.name)} has no upcaster from version ${version} to ${version + 1}`);
    }
    current = upcaster(current);
  }
  return current;
}

import type { InferOutput, StandardSchemaV1 } from "./standard_schema.ts";
import type { ConflictPolicy } from "./conflict.ts";
import { serialize } from "../codec/serializer.ts";
import { StateValidationError } from "../errors.ts";

/**
 * Upcasters by the version they read: `migrate[1]` turns a version-1 value into version 2.
 *
 * @example Two schema changes, applied in order
 * ```ts
 * import * as v from "valibot";
 * import { defineState, type Upcasters } from "@quark/persistence";
 * const migrate: Upcasters = {
 *   1: (old: { cents: string }) => ({ cents: Number(old.cents) }),
 *   2: (old: { cents: number }) => ({ ...old, currency: "EUR" }),
 * };
 * const balance = defineState("balance", {
 *   schema: v.object({ cents: v.number(), currency: v.string() }),
 *   initial: { cents: 0, currency: "EUR" },
 *   version: 3,
 *   migrate,
 * });
 * const upcast = balance.migrate[2]!(balance.migrate[1]!({ cents: "12" }));
 * if (JSON.stringify(upcast) !== '{"cents":12,"currency":"EUR"}') throw new Error("wrong upcast");
 * ```
 */
export type Upcasters = Readonly<Record<number, (value: any) => unknown>>;

/**
 * Options for {@linkcode defineState}.
 *
 * @example A lazy, expiring state that merges concurrent visits
 * ```ts
 * import * as v from "valibot";
 * import { defineState, type StateOptions } from "@quark/persistence";
 * const schema = v.object({ pages: v.array(v.string()) });
 * const options: StateOptions<typeof schema> = {
 *   schema,
 *   initial: () => ({ pages: [] }),
 *   ttlMs: 30 * 60_000,
 *   lazy: true,
 *   conflict: { merge: (_base, mine, theirs) => ({ pages: [...new Set([...theirs.pages, ...mine.pages])] }) },
 * };
 * const visits = defineState("visits", options);
 * if (!visits.lazy || visits.ttlMs !== 1_800_000) throw new Error("options lost");
 * ```
 */
export interface StateOptions<Schema extends StandardSchemaV1> {
  /** The valibot (or any Standard Schema) schema every read and write is validated against. */
  readonly schema: Schema;
  /** The value of a state that was never saved; a function is called for each fresh state. */
  readonly initial: InferOutput<Schema> | (() => InferOutput<Schema>);
  /** The schema version written into each stored value. Defaults to 1. */
  readonly version?: number | undefined;
  /** Upcasters for values written by older versions, applied in order on read. */
  readonly migrate?: Upcasters | undefined;
  /** The name of the storage provider that holds this state. Defaults to `"default"`. */
  readonly storage?: string | undefined;
  /** Expire the stored value this many milliseconds after each write. */
  readonly ttlMs?: number | undefined;
  /**
   * What a save does when another writer got there first. A policy given to the call wins
   * over this one, and this one over the actor's. Defaults to `"abort"`.
   */
  readonly conflict?: ConflictPolicy<InferOutput<Schema>> | undefined;
  /** Load on first access instead of on activation. Defaults to `false`. */
  readonly lazy?: boolean | undefined;
}

/**
 * A named, typed, validated state, ready to attach to actors.
 *
 * @example Each fresh state gets its own initial value
 * ```ts
 * import * as v from "valibot";
 * import { defineState, type StateDefinition } from "@quark/persistence";
 * const tags: StateDefinition<string[]> = defineState("tags", { schema: v.array(v.string()), initial: [] });
 * tags.initial().push("vip");
 * if (tags.initial().length !== 0) throw new Error("initial values must not be shared");
 * if (tags.version !== 1 || tags.storage !== "default") throw new Error("wrong defaults");
 * ```
 */
export interface StateDefinition<T = unknown> {
  /** The state's name, unique within an actor. */
  readonly name: string;
  /** The schema. */
  readonly schema: StandardSchemaV1<unknown, T>;
  /** Makes the value of a state that was never saved. */
  readonly initial: () => T;
  /** The current schema version. */
  readonly version: number;
  /** Upcasters for older versions. */
  readonly migrate: Upcasters;
  /** The storage provider's name. */
  readonly storage: string;
  /** Time to live after each write, if any. */
  readonly ttlMs?: number | undefined;
  /** The state's own conflict policy, if it has one. */
  readonly conflict?: ConflictPolicy<T> | undefined;
  /** Whether the state loads on first access. */
  readonly lazy: boolean;
}

/**
 * The value type of a {@linkcode StateDefinition}.
 *
 * @example Naming a state's value type
 * ```ts
 * import * as v from "valibot";
 * import { defineState, type StateValue } from "@quark/persistence";
 * const cart = defineState("cart", { schema: v.object({ items: v.array(v.string()) }), initial: { items: [] } });
 * type Cart = StateValue<typeof cart>;
 * const withItem = (current: Cart, item: string): Cart => ({ items: [...current.items, item] });
 * if (withItem(cart.initial(), "book").items[0] !== "book") throw new Error("item lost");
 * ```
 */
export type StateValue<Definition> = Definition extends StateDefinition<infer T> ? T : never;

/**
 * Defines a state: its name, schema, initial value and schema version. The value's type is
 * inferred from the schema, so handles need no casts.
 *
 * The initial value is checked here, once, so a definition that could never be saved fails
 * where it is written rather than on some later save: it must pass the schema (when the
 * schema validates synchronously, as valibot's sync schemas do; an async schema checks it on
 * the first save) and be serializable. An `initial` function is called once for this check.
 *
 * @param name The state's name within its actor.
 * @param options Schema, initial value, version, upcasters, storage, TTL and conflict policy.
 * @returns A {@linkcode StateDefinition}.
 * @throws {TypeError} When the name is empty or the schema is not a Standard Schema.
 * @throws {RangeError} When the version is not a whole number of at least 1, or an upcaster is missing.
 * @throws {StateValidationError} When the initial value fails the schema; it names the state.
 * @throws {SerializationError} When the initial value cannot be stored; it names the state and the path.
 *
 * @example A balance that must never go negative, migrated from a version that stored cents as a string
 * ```ts
 * import * as v from "valibot";
 * import { defineState } from "@quark/persistence";
 * const balance = defineState("balance", {
 *   schema: v.object({ cents: v.pipe(v.number(), v.minValue(0)) }),
 *   initial: { cents: 0 },
 *   version: 2,
 *   migrate: { 1: (old: { cents: string }) => ({ cents: Number(old.cents) }) },
 * });
 * if (balance.initial().cents !== 0) throw new Error("wrong initial value");
 * ```
 */
export function defineState<Schema extends StandardSchemaV1>(
  name: string,
  options: StateOptions<Schema>,
): StateDefinition<InferOutput<Schema>> {
  if (typeof name !== "string" || name === "") throw new TypeError("A state needs a non-empty name");
  if (typeof options.schema?.["~standard"]?.validate !== "function") {
    throw new TypeError(`State ${JSON.stringify(name)} needs a Standard Schema (such as a valibot schema)`);
  }
  const version = options.version ?? 1;
  if (!Number.isSafeInteger(version) || version < 1) {
    throw new RangeError(`State ${JSON.stringify(name)} version must be a whole number of at least 1, got ${version}`);
  }
  const migrate = options.migrate ?? {};
  for (const from of Object.keys(migrate).map(Number)) {
    if (!Number.isSafeInteger(from) || from < 1 || from >= version) {
      throw new RangeError(`State ${JSON.stringify(name)} has an upcaster for version ${from}, outside 1 to ${version - 1}`);
    }
  }
  const initial = options.initial;
  const makeInitial = typeof initial === "function" ? initial as () => InferOutput<Schema> : () => structuredClone(initial);
  assertValidInitial(name, options.schema, typeof initial === "function" ? makeInitial() : initial);
  return {
    name,
    schema: options.schema as StandardSchemaV1<unknown, InferOutput<Schema>>,
    initial: makeInitial,
    version,
    migrate,
    storage: options.storage ?? "default",
    ttlMs: options.ttlMs,
    conflict: options.conflict,
    lazy: options.lazy ?? false,
  };
}

function assertValidInitial(name: string, schema: StandardSchemaV1, value: unknown): void {
  try {
    serialize(value, name);
    const result = schema["~standard"].validate(value);
    // An async schema cannot be awaited here; the first save validates the value instead.
    if (result instanceof Promise) result.catch(() => {});
    else if (result.issues) throw new StateValidationError(name, "write", result.issues);
  } catch (error) {
    if (error instanceof Error) error.message += " (the initial value, checked by defineState)";
    throw error;
  }
}

/**
 * Quark persistence: durable, schema-validated state and event sourcing for actors, on
 * every JavaScript runtime. This entry holds the Web-standard core and the memory backend;
 * each durable backend has its own entry, such as `@quark/persistence/pglite`.
 *
 * @example A stateful actor
 * ```ts
 * import * as v from "valibot";
 * import { createActorSystem, defineActor, defineState, memoryStorage } from "@quark/persistence";
 *
 * const balance = defineState("balance", { schema: v.object({ cents: v.pipe(v.number(), v.minValue(0)) }), initial: { cents: 0 } });
 * const Account = defineActor("account", {
 *   states: { balance },
 *   handlers: {
 *     async deposit({ states }, cents: number) {
 *       states.balance.value = { cents: states.balance.value.cents + cents };
 *       await states.balance.save();
 *       return states.balance.value.cents;
 *     },
 *   },
 * });
 * const system = createActorSystem({ storage: memoryStorage() });
 * if ((await system.actor(Account, "alice").deposit(500)) !== 500) throw new Error("deposit lost");
 * await system.shutdown();
 * ```
 *
 * @module
 */
export {
  ActivationError,
  ActorSystemShutDownError,
  CapabilityError,
  ConfigurationError,
  ContentionError,
  CorruptDataError,
  DecodeLimitError,
  DecryptionError,
  EventStoreConflictError,
  InvalidInputError,
  InvalidKeyError,
  isQuarkError,
  LeaseHeldError,
  LeaseLostError,
  QuarkError,
  type QuarkErrorCode,
  SerializationError,
  StateConflictError,
  StateValidationError,
  StorageUnavailableError,
  TurnPartiallyCommittedError,
  UncommittedEventsError,
  type ValidationIssue,
  ValueTooLargeError,
} from "./src/errors.ts";
export type * from "./src/storage/types.ts";
export type { ActorEvent, ProjectionBatchEvent, QuarkObserver, SnapshotEvent, StorageOperationEvent, TurnStartEvent, WriteEvent } from "./src/observe/observer.ts";
export { observeEventStore, observeStorage } from "./src/observe/observe_storage.ts";
export type * from "./src/events/types.ts";
export {
  assertKeyWithinLimit,
  assertValidKey,
  assertValidKeyPart,
  decodeKey,
  encodeKey,
  encodeKeyPrefix,
  streamNameOf,
} from "./src/storage/keys.ts";
export { assertWritable, assertTransactable } from "./src/storage/guards.ts";
export { memoryStorage, type MemoryStorageOptions } from "./src/storage/memory.ts";
export { resolveProviders, type ProviderRegistry, type StorageProviders } from "./src/storage/providers.ts";
export {
  copyStates,
  readThroughStorage,
  type CopyReport,
  type CopyStatesOptions,
  type ReadThroughOptions,
} from "./src/storage/migration.ts";
export { memoryEventStore } from "./src/events/memory.ts";
export { assertExpectedVersion, assertNewEvents, readAllBounds, readAllUnsupported } from "./src/events/guards.ts";
export { serialize, deserialize, DEFAULT_MAX_DECODED_BYTES, type DecodeLimits } from "./src/codec/serializer.ts";
export { createCodec, type Codec, type CodecOptions, type DecodedValue } from "./src/codec/codec.ts";
export type { EncryptionOptions } from "./src/codec/encryption.ts";
export { defineState, type StateDefinition, type StateOptions, type StateValue, type Upcasters } from "./src/state/define_state.ts";
export type { InferOutput, StandardSchemaV1, StandardResult } from "./src/state/standard_schema.ts";
export type { ConflictPolicy, RetryOptions } from "./src/state/conflict.ts";
export type { SaveOptions, StateHandle } from "./src/state/state_handle.ts";
export {
  defineActor,
  type ActorContext,
  type ActorDefinition,
  type ActorOptions,
  type Handler,
  type SaveStatesOptions,
  type StateDefinitions,
  type StateHandles,
} from "./src/actors/define_actor.ts";
export {
  defineEventSourcedActor,
  type CommandHandler,
  type CommandsAsHandlers,
  type EventSourcedActorOptions,
  type EventSourcedContext,
} from "./src/events/define_event_sourced_actor.ts";
export {
  createActorSystem,
  type ActorRef,
  type ActorRefOptions,
  type ActorSystem,
  type ActorSystemMethods,
  type ActorSystemOptions,
  type AsyncDisposableWhereTyped,
} from "./src/actors/actor_system.ts";
export type { CallInfo, CallOrigin } from "./src/actors/call_info.ts";
export { createLeaseClient, type Lease, type LeaseClient, type LeaseClientOptions } from "./src/lease/lease_client.ts";
export type { ActorLeaseOptions } from "./src/lease/lease_guard.ts";
export { createInspector, type InspectListRequest, type Inspector, type InspectorOptions } from "./src/inspect/inspector.ts";
export type { EventStreamDefinition, InspectableDefinition } from "./src/inspect/definitions.ts";
export type { EventPage, HealthReport, InspectedEvent, InspectedSnapshot, InspectedState, StatePage } from "./src/inspect/types.ts";
export { subscribe, type PollOptions, type Subscription, type SubscriptionOptions } from "./src/events/subscription.ts";
export type { EventSource } from "./src/events/event_decoder.ts";
export type { EventMetadata } from "./src/events/aggregate.ts";
export { defineProjection, type ProjectedEvent, type Projection, type ProjectionOptions } from "./src/projections/define_projection.ts";
export { createProjector, type Projector, type ProjectorOptions } from "./src/projections/projector.ts";

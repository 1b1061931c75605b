// Turns stored event bytes back into typed, validated events: the one path shared by
// aggregates (recovery) and projections (read models), so both see the same upcasting.
import type { Codec } from "../codec/codec.ts";
import type { Upcasters } from "../state/define_state.ts";
import type { InferOutput, StandardSchemaV1 } from "../state/standard_schema.ts";
import { validate } from "../state/standard_schema.ts";
import { upcastValue } from "../state/state_cell.ts";
import { eventBinding, metadataBinding, type EventMetadata } from "./aggregate.ts";

/**
 * What decodes one actor type's events: the actor type, its event schema, the version
 * written now and the upcasters for older versions. Share these options between
 * `defineEventSourcedActor` and the projections that read its streams.
 *
 * @example One set of options for an actor and its readers
 * ```ts
 * import * as v from "valibot";
 * import { defineEventSourcedActor, type EventSource } from "@quark/persistence";
 * const tallyEvents = { actorType: "tally", events: v.object({ type: v.literal("Counted") }) } satisfies EventSource;
 * const Tally = defineEventSourcedActor(tallyEvents.actorType, {
 *   events: tallyEvents.events,
 *   state: v.object({ count: v.number() }),
 *   initial: { count: 0 },
 *   apply: (tally) => ({ count: tally.count + 1 }),
 *   commands: {},
 * });
 * if (Tally.actorType !== "tally") throw new Error("unexpected actor type");
 * ```
 */
export interface EventSource<Schema extends StandardSchemaV1 = StandardSchemaV1> {
  /** The actor type whose streams hold these events. */
  readonly actorType: string;
  /** The event schema. */
  readonly events: Schema;
  /** The schema version of events written now. Defaults to 1. */
  readonly eventVersion?: number | undefined;
  /** Upcasters for events written by older versions. */
  readonly migrateEvent?: Upcasters | undefined;
  /** The schema the actor validates event metadata with, to validate it again on read. */
  readonly metadata?: StandardSchemaV1<unknown, EventMetadata> | undefined;
}

/** Decodes, upcasts and validates one stored event of `source`. */
export async function decodeEvent<Schema extends StandardSchemaV1>(source: EventSource<Schema>, codec: Codec, stream: string, version: number, data: Uint8Array): Promise<InferOutput<Schema>> {
  const target = `${source.actorType} event`;
  const decoded = await codec.decode(data, eventBinding(stream, version));
  const upcast = upcastValue({ name: target, version: source.eventVersion ?? 1, migrate: source.migrateEvent ?? {} }, decoded.value, decoded.schemaVersion);
  return validate(source.events, upcast, target, "read");
}

/** Decodes an event's metadata, validated where the source has a schema; events stored without any have none. */
export async function decodeEventMetadata(codec: Codec, stream: string, version: number, metadata: Uint8Array | undefined, source?: EventSource): Promise<EventMetadata | undefined> {
  if (metadata === undefined) return undefined;
  const decoded = await codec.decode(metadata, metadataBinding(stream, version));
  if (!source?.metadata) return decoded.value as EventMetadata;
  return validate(source.metadata, decoded.value, `${source.actorType} event metadata`, "read");
}

/**
 * The Standard Schema v1 interface (https://standardschema.dev), declared here as the spec
 * intends, so that valibot, zod and arktype schemas are all accepted without a dependency.
 *
 * @module
 */
import { StateValidationError, type ValidationIssue } from "../errors.ts";

/**
 * A validator that implements Standard Schema v1.
 *
 * @example A hand-written schema, no library needed
 * ```ts
 * import { defineState, type StandardSchemaV1 } from "@quark/persistence";
 * const positive: StandardSchemaV1<number> = {
 *   "~standard": {
 *     version: 1,
 *     vendor: "my-app",
 *     validate: (value) => typeof value === "number" && value > 0 ? { value } : { issues: [{ message: "Expected a positive number" }] },
 *   },
 * };
 * const quota = defineState("quota", { schema: positive, initial: 10 });
 * const result = await quota.schema["~standard"].validate(-1);
 * if (!result.issues) throw new Error("accepted a negative quota");
 * ```
 */
export interface StandardSchemaV1<Input = unknown, Output = Input> {
  /** The Standard Schema properties. */
  readonly "~standard": {
    readonly version: 1;
    readonly vendor: string;
    readonly validate: (value: unknown) => StandardResult<Output> | Promise<StandardResult<Output>>;
    readonly types?: { readonly input: Input; readonly output: Output } | undefined;
  };
}

/**
 * The result of a Standard Schema validation.
 *
 * @example A validator's two outcomes
 * ```ts
 * import type { StandardResult } from "@quark/persistence";
 * function parsePort(value: unknown): StandardResult<number> {
 *   return typeof value === "number" && Number.isInteger(value) && value > 0 && value < 65_536
 *     ? { value }
 *     : { issues: [{ message: "Expected a port number" }] };
 * }
 * if (parsePort(70_000).issues === undefined) throw new Error("accepted an invalid port");
 * ```
 */
export type StandardResult<Output> =
  | { readonly value: Output; readonly issues?: undefined }
  | { readonly issues: readonly ValidationIssue[] };

/**
 * The type a schema produces.
 *
 * @example The type a valibot schema produces
 * ```ts
 * import * as v from "valibot";
 * import type { InferOutput } from "@quark/persistence";
 * const Balance = v.object({ cents: v.number() });
 * const zero: InferOutput<typeof Balance> = { cents: 0 };
 * if (zero.cents !== 0) throw new Error("unreachable");
 * ```
 */
export type InferOutput<Schema extends StandardSchemaV1> = NonNullable<Schema["~standard"]["types"]>["output"];

/**
 * Validates a value, returning the schema's output or throwing a {@linkcode StateValidationError}.
 *
 * @param schema Any Standard Schema v1 validator.
 * @param value The value to check.
 * @param target The state, event or snapshot name, for the message.
 * @param phase Whether the value is being written or read.
 */
export function validate<Schema extends StandardSchemaV1>(
  schema: Schema,
  value: unknown,
  target: string,
  phase: "write" | "read",
): InferOutput<Schema> | Promise<InferOutput<Schema>> {
  // A synchronous schema's answer is used as it comes: every save validates, and a promise
  // here would cost each one an allocation and a turn of the microtask queue. Callers await.
  const result = schema["~standard"].validate(value);
  if (result instanceof Promise) return result.then((settled) => outputOf<InferOutput<Schema>>(settled, target, phase));
  return outputOf(result, target, phase);
}

function outputOf<Output>(result: StandardResult<unknown>, target: string, phase: "write" | "read"): Output {
  if (result.issues) throw new StateValidationError(target, phase, result.issues);
  return result.value as Output;
}

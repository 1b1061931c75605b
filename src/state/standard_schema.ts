/**
 * The Standard Schema v1 interface (https://standardschema.dev), declared here as the spec
 * intends, so that valibot, zod and arktype schemas are all accepted without a dependency.
 *
 * @module
 */
import { StateValidationError, type ValidationIssue } from "../errors.ts";

/** A validator that implements Standard Schema v1. */
export interface StandardSchemaV1<Input = unknown, Output = Input> {
  /** The Standard Schema properties. */
  readonly "~standard": {
    readonly version: 1;
    readonly vendor: string;
    readonly validate: (value: unknown) => StandardResult<Output> | Promise<StandardResult<Output>>;
    readonly types?: { readonly input: Input; readonly output: Output } | undefined;
  };
}

/** The result of a Standard Schema validation. */
export type StandardResult<Output> =
  | { readonly value: Output; readonly issues?: undefined }
  | { readonly issues: readonly ValidationIssue[] };

/** The type a schema produces. */
export type InferOutput<Schema extends StandardSchemaV1> = NonNullable<Schema["~standard"]["types"]>["output"];

/**
 * Validates a value, returning the schema's output or throwing a {@linkcode StateValidationError}.
 *
 * @param schema Any Standard Schema v1 validator.
 * @param value The value to check.
 * @param target The state, event or snapshot name, for the message.
 * @param phase Whether the value is being written or read.
 */
export async function validate<Schema extends StandardSchemaV1>(
  schema: Schema,
  value: unknown,
  target: string,
  phase: "write" | "read",
): Promise<InferOutput<Schema>> {
  const result = await schema["~standard"].validate(value);
  if (result.issues) throw new StateValidationError(target, phase, result.issues);
  return result.value as InferOutput<Schema>;
}

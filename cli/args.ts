// Argument parsing over Node's built-in util.parseArgs (no dependency), with its errors
// turned into one-line usage errors.
import { parseArgs, type ParseArgsConfig } from "node:util";
import { UsageError } from "./usage_error.ts";

export type Options = NonNullable<ParseArgsConfig["options"]>;

/** Options by name (`true` for flags), and the words that are not options. */
export interface ParsedArgs {
  readonly values: Readonly<Record<string, string | boolean | undefined>>;
  readonly positionals: string[];
}

export function parse(args: readonly string[], options: Options): ParsedArgs {
  try {
    return parseArgs({ args: [...args], options: { ...options, config: { type: "string" }, help: { type: "boolean", short: "h" } }, allowPositionals: true, strict: true }) as ParsedArgs;
  } catch (error) {
    throw new UsageError((error as Error).message.split("\n")[0]!.replace(/\. To specify a positional.*$/, ""));
  }
}

export function positiveInteger(value: unknown, name: string, fallback: number): number {
  if (value === undefined) return fallback;
  const number = Number(value);
  if (typeof value !== "string" || !Number.isSafeInteger(number) || number < 1) throw new UsageError(`--${name} must be a whole number of at least 1, got ${JSON.stringify(value)}`);
  return number;
}

// Every retry loop inside an adapter is bounded by an option; this validates one.
import { ConfigurationError } from "../../src/errors.ts";

/**
 * The bound on attempts an option gives, or its default.
 *
 * @param name The option's name, for the message.
 * @param value The option as given.
 * @param fallback The default.
 * @returns A whole number of at least 1.
 * @throws {ConfigurationError} When the option is not a whole number of at least 1.
 */
export function attemptsOption(name: string, value: number | undefined, fallback: number): number {
  const attempts = value ?? fallback;
  if (!Number.isSafeInteger(attempts) || attempts < 1) {
    throw new ConfigurationError(`${name} must be a whole number of at least 1, got ${attempts}`);
  }
  return attempts;
}

// A few assertions without `node:assert`, so the suites also run inside Workers and Edge.
import { isQuarkError, type QuarkErrorCode } from "../errors.ts";

/**
 * Thrown when a conformance check fails.
 *
 * @example A storage that forgets fails its checks
 * ```ts
 * import { memoryStorage, type StateStorage } from "@quark/persistence";
 * import { ConformanceFailure, runStorageConformance } from "@quark/persistence/testing";
 * const forgetful = (): StateStorage => ({ ...memoryStorage(), read: () => Promise.resolve(null) });
 * const cases: Array<() => Promise<void>> = [];
 * runStorageConformance((_name, body) => cases.push(body), { name: "forgetful", open: forgetful });
 * const failure = await cases[0]!().then(() => undefined, (error: unknown) => error);
 * if (!(failure instanceof ConformanceFailure)) throw new Error("a storage that forgets must fail");
 * ```
 */
export class ConformanceFailure extends Error {
  /** Creates a failure carrying what the check found. */
  constructor(message: string) {
    super(message);
    this.name = "ConformanceFailure";
  }
}

export function check(condition: unknown, message: string): asserts condition {
  if (!condition) throw new ConformanceFailure(message);
}

export function checkEqual<T>(actual: T, expected: T, message: string): void {
  if (!Object.is(actual, expected)) {
    throw new ConformanceFailure(`${message}: expected ${describe(expected)}, got ${describe(actual)}`);
  }
}

export function checkBytes(actual: Uint8Array | undefined, expected: Uint8Array, message: string): void {
  check(actual instanceof Uint8Array, `${message}: expected bytes, got ${describe(actual)}`);
  checkEqual(actual.length, expected.length, `${message} (length)`);
  for (let index = 0; index < expected.length; index++) {
    if (actual[index] !== expected[index]) throw new ConformanceFailure(`${message}: byte ${index} differs`);
  }
}

/** Runs `action` and requires it to throw a library error with `code`; returns that error. */
export async function checkRejects(action: () => Promise<unknown>, code: QuarkErrorCode, message: string): Promise<Error> {
  try {
    await action();
  } catch (error) {
    if (isQuarkError(error, code)) return error;
    throw new ConformanceFailure(`${message}: expected a ${code} error, got ${describe(error)}`);
  }
  throw new ConformanceFailure(`${message}: expected a ${code} error, but it succeeded`);
}

function describe(value: unknown): string {
  if (value instanceof Error) return `${value.name}: ${value.message}`;
  try {
    return JSON.stringify(value, (_key, inner) => typeof inner === "bigint" ? `${inner}n` : inner) ?? String(value);
  } catch {
    return String(value);
  }
}

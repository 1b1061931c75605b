/**
 * How the suites register their cases. `test` from `node:test`, `Deno.test`, `bun:test` and
 * vitest all fit, and so does a plain function that collects cases to run elsewhere.
 *
 * @example Collecting the cases to run them yourself
 * ```ts
 * import { memoryStorage } from "@quark/persistence";
 * import { runStorageConformance, type TestRegistrar } from "@quark/persistence/testing";
 * const cases = new Map<string, () => Promise<void>>();
 * const collect: TestRegistrar = (name, body) => cases.set(name, body);
 * runStorageConformance(collect, { name: "memory", open: () => memoryStorage() });
 * await cases.get("memory storage: create-only writes succeed once")!();
 * ```
 */
export type TestRegistrar = (name: string, body: () => Promise<void>) => unknown;

/** A name that no other run shares, so cases never see each other's data. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${crypto.randomUUID().slice(0, 8)}`;
}

/** Registers one case that opens a resource, runs, and always closes what it opened. */
export function registerCase<Resource extends { close(): Promise<void> }>(
  test: TestRegistrar,
  name: string,
  open: () => Resource | Promise<Resource>,
  body: (resource: Resource) => Promise<void>,
): void {
  test(name, async () => {
    const resource = await open();
    try {
      await body(resource);
    } finally {
      await resource.close();
    }
  });
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

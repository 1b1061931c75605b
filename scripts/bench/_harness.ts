/**
 * The shape every benchmark suite in `scripts/bench/` takes for `npm run bench`
 * (`scripts/bench/run.ts`): a set of cases, each one timed sample after sample, interleaved
 * with every other case of every suite in a random order per cycle, so drift on a shared
 * machine hits all sides alike and no side always runs after another's heavier operation.
 */
import * as v from "valibot";
import { defineActor, defineState } from "../../mod.ts";

/** One measured operation. */
export interface BenchCase {
  /** A short name, unique in its suite: `"actor save"`, `"raw same statement"`. */
  readonly name: string;
  /** How many operations one sample runs (many for in-memory work, one for a round trip). */
  readonly ops: number;
  /** Runs one sample of `ops` operations. */
  readonly sample: () => Promise<void>;
}

/** A comparison printed first: the median time per operation of `of` over that of `to`. */
export interface BenchRatio {
  readonly label: string;
  readonly of: string;
  readonly to: string;
  /** What the issue asks for, such as `"≤ 1.15"`; shown beside the figure. */
  readonly target?: string;
}

/** A suite: one backend or one part of the library, with its raw baselines. */
export interface BenchSuite {
  readonly name: string;
  readonly cases: readonly BenchCase[];
  readonly ratios: readonly BenchRatio[];
  /** Facts counted once rather than timed, such as round trips per write. */
  readonly facts?: () => Promise<Record<string, string>>;
  readonly close: () => Promise<void>;
}

/** A suite's module: it opens the suite, or says why it cannot run here. */
export type OpenSuite = (env: Record<string, string | undefined>) => Promise<BenchSuite | string>;

/** Runs `count` callers at once, each running `perCaller` operations in turn. */
export async function concurrently(count: number, perCaller: number, operation: (caller: number) => Promise<unknown>): Promise<void> {
  await Promise.all(Array.from({ length: count }, async (_, caller) => {
    for (let index = 0; index < perCaller; index++) await operation(caller);
  }));
}

/** The value at quantile `q` (0 to 1) of values sorted in ascending order. */
export function quantile(sorted: readonly number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

/** Shuffles `items` in place (Fisher–Yates) and returns them. */
export function shuffle<T>(items: T[]): T[] {
  for (let index = items.length - 1; index > 0; index--) {
    const other = Math.floor(Math.random() * (index + 1));
    [items[index], items[other]] = [items[other]!, items[index]!];
  }
  return items;
}

const note = defineState("note", { schema: v.object({ n: v.number(), text: v.string() }), initial: { n: 0, text: "" } });

/** The actor the backend suites call: each call bumps a counter and saves one small state. */
export const BenchNote = defineActor("bench-note", {
  states: { note },
  handlers: {
    async bump({ states }) {
      states.note.value.n++;
      await states.note.save();
    },
  },
});

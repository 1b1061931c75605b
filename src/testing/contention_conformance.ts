// The contention case: clients that race transactions, single writes and deletes on a few
// shared keys, then checks that what they were told agrees with one history. It needs no
// clock and no driver access, so it runs on every backend and in every runtime.
import type { StateKey, StateStorage, TransactOperation } from "../storage/types.ts";
import { isQuarkError } from "../errors.ts";
import { check, ConformanceFailure } from "./assert.ts";
import { registerCase, type TestRegistrar, uniqueName } from "./registrar.ts";

/**
 * Options for {@linkcode runContentionConformance}.
 *
 * @example A smaller run for a slow backend
 * ```ts
 * import { memoryStorage } from "@quark/persistence";
 * import { runContentionConformance, type ContentionConformanceOptions } from "@quark/persistence/testing";
 * const options: ContentionConformanceOptions = { name: "memory", open: () => memoryStorage(), clients: 4, operationsPerClient: 10 };
 * const names: string[] = [];
 * runContentionConformance((name) => names.push(name), options);
 * if (!names[0]?.startsWith("memory storage: contention")) throw new Error("cases are labelled by name");
 * ```
 */
export interface ContentionConformanceOptions {
  /** A label for the cases, such as `"postgres"`. */
  readonly name: string;
  /** Opens a storage; called once per case, and the case closes it. The clients share it. */
  readonly open: () => StateStorage | Promise<StateStorage>;
  /** How many clients run at once. Defaults to 8. */
  readonly clients?: number;
  /** How many operations each client runs, one after another. Defaults to 25. */
  readonly operationsPerClient?: number;
  /** How many keys the clients contend on. Defaults to 5. */
  readonly keys?: number;
  /** Seeds the random schedule, to replay a failure; a failure message names its seed. */
  readonly seed?: number;
}

/** What a conflict error carries, read by shape. */
interface ConflictShape {
  readonly key?: StateKey;
  readonly expectedEtag?: string | null;
  readonly actualEtag?: string | null;
}

/** One operation as the clients plan it: which key, and what it expects. */
type Planned =
  | { readonly kind: "write"; readonly key: number; readonly expected: string | null | "lww"; readonly etag: string }
  | { readonly kind: "delete"; readonly key: number; readonly expected: string | null | "lww" };

/** Everything the clients learned; checked against itself when they are done. */
class History {
  /** Etags of writes the storage acknowledged, per key. */
  readonly acknowledged = new Map<number, Set<string>>();
  /** Etags of writes that the storage refused, or that belonged to a refused transaction. */
  readonly refused = new Set<string>();
  /** Etags seen stored (reads, conflict reports), per key, checked once every reply is in. */
  readonly observed: Array<{ key: number; etag: string; where: string }> = [];
  /** Per key, the etags that acknowledged conditional writes and deletes replaced. */
  readonly consumed = new Map<number, Map<string, string>>();
  /** Per key, acknowledged create-only writes and deletes that returned true. */
  readonly creates = new Map<number, number>();
  readonly deletes = new Map<number, number>();
  readonly failures: string[] = [];
  conflicts = 0;
  contention = 0;

  fail(message: string): void {
    this.failures.push(message);
  }

  acknowledge(operation: Planned, where: string): void {
    if (operation.kind === "write") {
      if (!this.acknowledged.has(operation.key)) this.acknowledged.set(operation.key, new Set());
      this.acknowledged.get(operation.key)!.add(operation.etag);
      if (operation.expected === null) this.creates.set(operation.key, (this.creates.get(operation.key) ?? 0) + 1);
    }
    if (typeof operation.expected === "string" && operation.expected !== "lww") {
      const consumed = this.consumed.get(operation.key) ?? new Map<string, string>();
      this.consumed.set(operation.key, consumed);
      const earlier = consumed.get(operation.expected);
      // Etags never repeat, so two operations that both replaced one etag mean a lost update.
      if (earlier !== undefined) this.fail(`lost update on key ${operation.key}: ${earlier} and ${where} both replaced etag ${operation.expected}`);
      consumed.set(operation.expected, where);
    }
  }

  deleted(key: number): void {
    this.deletes.set(key, (this.deletes.get(key) ?? 0) + 1);
  }

  observe(key: number, etag: string | null | undefined, where: string): void {
    if (typeof etag === "string") this.observed.push({ key, etag, where });
  }
}

/** A small seeded generator (mulberry32), so a failing schedule can be replayed. */
export function generator(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

/**
 * Registers the contention case: clients race transactions of 2 to 4 keys (conditional,
 * create-only and unconditional writes, conditional and unconditional deletes, in random
 * order), single writes, deletes and reads on a few shared keys. When they are done it checks
 * that no update was lost (no two acknowledged operations replaced one etag), that refused
 * transactions applied nothing (none of their etags is ever seen stored), that
 * last-write-wins operations never conflicted, and that every conflict names a state that was
 * really stored (or absent) and differs from what was expected. `ContentionError` is allowed:
 * it promises that nothing was applied, and the checks hold it to that.
 *
 * @param test The test registrar, such as `test` from `node:test`.
 * @param options The storage to test, and the size of the run.
 *
 * @example Running the case on the memory storage
 * ```ts ignore
 * import { test } from "node:test";
 * import { memoryStorage } from "@quark/persistence";
 * import { runContentionConformance } from "@quark/persistence/testing";
 * runContentionConformance(test, { name: "memory", open: () => memoryStorage() });
 * ```
 */
export function runContentionConformance(test: TestRegistrar, options: ContentionConformanceOptions): void {
  const clients = options.clients ?? 8;
  const perClient = options.operationsPerClient ?? 25;
  const keyCount = Math.max(2, options.keys ?? 5);
  const name = `${options.name} storage: contention: ${clients} clients race transactions, writes and deletes on ${keyCount} keys`;
  registerCase(test, name, options.open, async (storage) => {
    const seed = options.seed ?? Math.floor(Math.random() * 2 ** 31);
    const history = await race(storage, seed, clients, perClient, keyCount);
    if (history.failures.length > 0) {
      throw new ConformanceFailure(`${history.failures.length} inconsistencies (seed ${seed}):\n${history.failures.slice(0, 10).join("\n")}`);
    }
  });
}

async function race(storage: StateStorage, seed: number, clients: number, perClient: number, keyCount: number): Promise<History> {
  const actorType = uniqueName("contention");
  // The states of one actor, as saveStates writes them: every backend with transactions can
  // put these in one transaction, including those whose transactions cover one actor only.
  const keys: StateKey[] = Array.from({ length: keyCount }, (_, index) => ({ actorType, actorId: "contended", stateName: `s${index}` }));
  const history = new History();
  const transactions = storage.capabilities.transactions;
  await Promise.all(Array.from({ length: clients }, (_, client) =>
    runClient(storage, keys, history, generator(seed + client * 7919), perClient, transactions, `client ${client}`)));
  for (const [index, key] of keys.entries()) {
    const stored = await storage.read(key);
    checkRecord(history, index, stored, "final read");
  }
  checkHistory(history);
  check(history.acknowledged.size > 0, "no write was acknowledged at all");
  return history;
}

function checkRecord(history: History, key: number, stored: { etag: string; value: Uint8Array } | null, where: string): void {
  if (stored === null) return;
  history.observe(key, stored.etag, where);
  // Each value spells its own etag, so a row whose value and etag disagree was torn.
  const spelled = decoder.decode(stored.value);
  if (spelled !== stored.etag) history.fail(`${where} of key ${key}: value written with etag ${spelled} is stored under etag ${stored.etag}`);
}

function checkHistory(history: History): void {
  for (const { key, etag, where } of history.observed) {
    if (history.refused.has(etag)) history.fail(`${where}: key ${key} holds etag ${etag} of a write that was refused or rolled back`);
    else if (!history.acknowledged.get(key)?.has(etag)) history.fail(`${where}: key ${key} holds etag ${etag}, which no acknowledged write stored`);
  }
  for (const [key, creates] of history.creates) {
    const deletes = history.deletes.get(key) ?? 0;
    if (creates > deletes + 1) history.fail(`key ${key}: ${creates} create-only writes succeeded with only ${deletes} deletes between them`);
  }
}

async function runClient(
  storage: StateStorage,
  keys: readonly StateKey[],
  history: History,
  random: () => number,
  count: number,
  transactions: boolean,
  client: string,
): Promise<void> {
  // What this client believes each key holds: the expectation of its next conditional write.
  const known = new Map<number, string | null>();
  const pick = () => Math.floor(random() * keys.length);
  const expectation = (key: number, draw: number): string | null | "lww" => {
    if (draw < 0.2) return "lww";
    if (draw < 0.4) return null;
    return known.get(key) ?? null;
  };
  for (let step = 0; step < count; step++) {
    const where = `${client} step ${step}`;
    const draw = random();
    if (transactions && draw < 0.35) {
      const size = 2 + Math.floor(random() * 3);
      const chosen = shuffle([...keys.keys()], random).slice(0, Math.min(size, keys.length));
      const planned = chosen.map((key): Planned => {
        const kind = random() < 0.7 ? "write" : "delete";
        const expected = expectation(key, random());
        return kind === "write" ? { kind, key, expected, etag: crypto.randomUUID() } : { kind, key, expected };
      });
      await runTransaction(storage, keys, history, known, planned, where);
    } else if (draw < 0.75) {
      const key = pick();
      await runSingle(storage, keys, history, known, { kind: "write", key, expected: expectation(key, random()), etag: crypto.randomUUID() }, where);
    } else if (draw < 0.88) {
      const key = pick();
      await runSingle(storage, keys, history, known, { kind: "delete", key, expected: expectation(key, random()) }, where);
    } else {
      const key = pick();
      const stored = await storage.read(keys[key]!);
      checkRecord(history, key, stored, `${where} read`);
      known.set(key, stored?.etag ?? null);
    }
  }
}

function shuffle<T>(items: T[], random: () => number): T[] {
  for (let index = items.length - 1; index > 0; index--) {
    const other = Math.floor(random() * (index + 1));
    [items[index], items[other]] = [items[other]!, items[index]!];
  }
  return items;
}

function request(keys: readonly StateKey[], operation: Planned): TransactOperation {
  const key = keys[operation.key]!;
  const precondition = operation.expected === "lww" ? { lastWriteWins: true as const } : { expectedEtag: operation.expected };
  return operation.kind === "write"
    ? { kind: "write", key, value: encoder.encode(operation.etag), etag: operation.etag, ...precondition }
    : { kind: "delete", key, ...precondition };
}

function describeOperation(operation: Planned): string {
  const expected = operation.expected === "lww" ? "last-write-wins" : operation.expected === null ? "create-only" : `expecting ${operation.expected}`;
  return `${operation.kind} of key ${operation.key} ${operation.kind === "delete" && operation.expected === null ? "expecting no state" : expected}`;
}

async function runSingle(
  storage: StateStorage,
  keys: readonly StateKey[],
  history: History,
  known: Map<number, string | null>,
  operation: Planned,
  where: string,
): Promise<void> {
  const { kind: _kind, ...call } = request(keys, operation);
  try {
    if (operation.kind === "write") {
      const result = await storage.write(call as Parameters<StateStorage["write"]>[0]);
      if (result.etag !== operation.etag) history.fail(`${where}: a write reported etag ${result.etag}, not its own ${operation.etag}`);
      history.acknowledge(operation, `${where} (${describeOperation(operation)})`);
      known.set(operation.key, operation.etag);
    } else {
      const deleted = await storage.delete(call as Parameters<StateStorage["delete"]>[0]);
      if (deleted) {
        history.acknowledge(operation, `${where} (${describeOperation(operation)})`);
        history.deleted(operation.key);
      }
      known.set(operation.key, null);
    }
  } catch (error) {
    if (operation.kind === "write") history.refused.add(operation.etag);
    settleError(history, known, [operation], error, `${where} (${describeOperation(operation)})`);
  }
}

async function runTransaction(
  storage: StateStorage,
  keys: readonly StateKey[],
  history: History,
  known: Map<number, string | null>,
  planned: readonly Planned[],
  where: string,
): Promise<void> {
  const label = `${where} (transaction: ${planned.map(describeOperation).join(", ")})`;
  let results: ReadonlyArray<{ etag: string } | null>;
  try {
    results = await storage.transact(planned.map((operation) => request(keys, operation)));
  } catch (error) {
    for (const operation of planned) if (operation.kind === "write") history.refused.add(operation.etag);
    settleError(history, known, planned, error, label);
    return;
  }
  for (const [index, operation] of planned.entries()) {
    if (operation.kind === "write") {
      if (results[index]?.etag !== operation.etag) history.fail(`${label}: result ${index} is ${JSON.stringify(results[index])}, not etag ${operation.etag}`);
      history.acknowledge(operation, label);
      known.set(operation.key, operation.etag);
    } else {
      // A delete inside a transaction does not say whether it found a state, so it neither
      // proves it replaced its etag nor that it deleted; counting it only loosens the checks.
      history.deleted(operation.key);
      known.set(operation.key, null);
    }
  }
}

function settleError(history: History, known: Map<number, string | null>, planned: readonly Planned[], error: unknown, where: string): void {
  if (isQuarkError(error, "CONTENTION")) {
    history.contention++;
    return;
  }
  if (!isQuarkError(error, "STATE_CONFLICT")) {
    history.fail(`${where} failed with ${describe(error)}`);
    return;
  }
  history.conflicts++;
  const conflict = error as unknown as ConflictShape;
  const operation = planned.find((candidate) => conflict.key?.stateName === `s${candidate.key}`);
  if (operation === undefined) {
    history.fail(`${where}: the conflict names ${JSON.stringify(conflict.key)}, which the call did not touch`);
    return;
  }
  if (operation.expected === "lww") {
    history.fail(`${where}: a last-write-wins ${operation.kind} of key ${operation.key} was refused as a conflict: ${describe(error)}`);
    return;
  }
  if (conflict.expectedEtag !== operation.expected) {
    history.fail(`${where}: the conflict expected ${JSON.stringify(conflict.expectedEtag)}, the call ${JSON.stringify(operation.expected)}`);
  }
  const actual = conflict.actualEtag;
  if (actual !== undefined && actual === operation.expected) {
    history.fail(`${where}: the conflict reports the expected etag ${JSON.stringify(actual)} as the stored one`);
  }
  // A create-only write and a delete that finds nothing never conflict with an absent state.
  if (actual === null && (operation.expected === null || operation.kind === "delete")) {
    history.fail(`${where}: the ${operation.kind} was refused while the conflict reports no state stored`);
  }
  history.observe(operation.key, actual, `${where} conflict report`);
  if (actual !== undefined) known.set(operation.key, actual);
}

/**
 * Apache Cassandra storage and event store over `cassandra-driver`, for Node, Deno and Bun.
 * Every conditional write is one lightweight transaction (LWT); see
 * `docs/backends/cassandra.md` for the tables, the list index and the limits.
 *
 * | table | partition key | clustering | columns |
 * |---|---|---|---|
 * | `quark_state` | `(actor_type, actor_id)` | `state_name` | `value` blob, `etag` text, `revision` bigint, `expires_at` bigint (ms) |
 * | `quark_state_by_type` | `(actor_type, bucket)` | `actor_id, state_name` | `indexed_at` bigint: the list index |
 * | `quark_events` | `stream` | `version` | `head_version` bigint static, `type` text, `data` blob, `append_id` uuid |
 * | `quark_snapshots` | `stream` | | `version` bigint, `data` blob |
 *
 * @module
 */

import { assertNativeRuntime } from "../_shared/native_only.ts";
import type {
  DeleteRequest,
  ListPage,
  ListRequest,
  StateKey,
  StateStorage,
  StorageCapabilities,
  StoredRecord,
  TransactOperation,
  WriteRequest,
  WriteResult,
} from "../../src/storage/types.ts";
import { assertTransactable, assertWritable } from "../../src/storage/guards.ts";
import { CapabilityError, CorruptDataError, isQuarkError, StateConflictError, StorageUnavailableError } from "../../src/errors.ts";
import {
  backoff,
  blobParam,
  type CassandraClient,
  type CassandraConnectionOptions,
  type CassandraManaged,
  type CassandraRow,
  context,
  DRIVER_NAME,
  isUnavailable,
  isUnknownOutcome,
  quoteIdentifier,
  toBytes,
  toNumber,
  toQuarkError,
} from "./_driver.ts";
import {
  assertEncodableKey,
  conditionOf,
  expiresAtOf,
  type Observed,
  observedOf,
  parseExpiresAt,
  type Plan,
  planFromObservation,
  planOptimistic,
  prefixEnd,
  type Step,
  ttlSecondsOf,
} from "./_plan.ts";

export type { CassandraClient, CassandraConnectionOptions, CassandraManaged, ConsistencyName } from "./_driver.ts";
export { cassandraEventStore, type CassandraEventStore, type CassandraEventStoreOptions } from "./_event_store.ts";

assertNativeRuntime("cassandra");

/**
 * Options for {@linkcode cassandraStorage}.
 *
 * @example Sharing one client with the event store
 * ```ts ignore
 * import { cassandraEventStore, cassandraStorage } from "@quark/persistence/cassandra";
 * const storage = cassandraStorage({ contactPoints: ["127.0.0.1:9042"], localDataCenter: "datacenter1", table: "actor_state" });
 * const events = cassandraEventStore({ client: await storage.getInstance() });
 * ```
 */
export interface CassandraStorageOptions extends CassandraConnectionOptions {
  /** The state table. Defaults to `"quark_state"`. */
  readonly table?: string;
  /** The list-index table. Defaults to `"quark_state_by_type"`. */
  readonly listTable?: string;
  /**
   * How old an index entry without a live state must be before `list` removes it, in
   * milliseconds. It must exceed the longest time between a create's index write and its
   * LWT. Defaults to 10 minutes.
   */
  readonly indexGraceMs?: number;
  /** The largest value accepted, in bytes. Defaults to 4 MiB; keep it well under the commit log's mutation limit. */
  readonly maxValueBytes?: number;
  /** How many etag-to-revision pairs to remember, so updates need no read. Defaults to 10,000. */
  readonly revisionCacheSize?: number;
}

/**
 * A {@linkcode StateStorage} on Cassandra, with schema management and the raw client.
 *
 * @example
 * ```ts ignore
 * import { cassandraStorage, type CassandraStorage } from "@quark/persistence/cassandra";
 * const storage: CassandraStorage = cassandraStorage({ contactPoints: ["127.0.0.1:9042"], localDataCenter: "datacenter1" });
 * await storage.ensureSchema();
 * ```
 */
export interface CassandraStorage extends StateStorage, CassandraManaged {}

const DEFAULT_PAGE_SIZE = 100;
const MAX_TRANSACTION_OPERATIONS = 100;
const HEX = /^(?:[0-9a-f]{2})+$/i;

/**
 * A storage on Apache Cassandra 4.1 or 5.0. Conditional writes and deletes are single
 * lightweight transactions (`UPDATE … IF etag = …`), TTLs use `USING TTL`, `transact` is a
 * conditional batch over one actor's states, and `list` pages through a per-type index.
 *
 * @param options A client or contact points, keyspace and tables, and LWT tuning.
 * @returns A {@linkcode CassandraStorage}.
 * @throws {ConfigurationError} When a name is not a valid identifier or no client is configured.
 *
 * @example Counting with optimistic concurrency
 * ```ts ignore
 * import { cassandraStorage } from "@quark/persistence/cassandra";
 * const storage = cassandraStorage({ contactPoints: ["127.0.0.1:9042"], localDataCenter: "datacenter1" });
 * await storage.ensureSchema();
 * const key = { actorType: "counter", actorId: "1", stateName: "count" };
 * const { etag } = await storage.write({ key, value: new Uint8Array([1]), etag: crypto.randomUUID(), expectedEtag: null });
 * await storage.write({ key, value: new Uint8Array([2]), etag: crypto.randomUUID(), expectedEtag: etag });
 * await storage.close();
 * ```
 */
export function cassandraStorage(options: CassandraStorageOptions): CassandraStorage {
  const ks = quoteIdentifier(options.keyspace ?? "quark", "keyspace");
  const table = `${ks}.${quoteIdentifier(options.table ?? "quark_state", "table")}`;
  const listTable = `${ks}.${quoteIdentifier(options.listTable ?? "quark_state_by_type", "table")}`;
  const shared = context(options, [
    `CREATE TABLE IF NOT EXISTS ${table} (actor_type text, actor_id text, state_name text, value blob, etag text, ` +
    `revision bigint, expires_at bigint, PRIMARY KEY ((actor_type, actor_id), state_name))`,
    `CREATE TABLE IF NOT EXISTS ${listTable} (actor_type text, bucket int, actor_id text, state_name text, ` +
    `indexed_at bigint, PRIMARY KEY ((actor_type, bucket), actor_id, state_name))`,
  ]);
  const { settings, read, serialRead, lwt } = shared;
  const indexGraceMs = options.indexGraceMs ?? 10 * 60_000;
  const revisions = revisionCache(options.revisionCacheSize ?? 10_000);
  const capabilities: StorageCapabilities = {
    transactions: true,
    maxTransactionOperations: MAX_TRANSACTION_OPERATIONS,
    ttl: true,
    list: true,
    maxValueBytes: options.maxValueBytes ?? 4 * 1024 * 1024,
  };
  const client = (operation: string) => shared.client(operation);

  const selectRow = `SELECT value, etag, revision, expires_at FROM ${table} WHERE actor_type = ? AND actor_id = ? AND state_name = ?`;
  const selectObserved = `SELECT state_name, etag, revision, expires_at FROM ${table} WHERE actor_type = ? AND actor_id = ? AND state_name IN ?`;
  const upsertIndex = `INSERT INTO ${listTable} (actor_type, bucket, actor_id, state_name, indexed_at) VALUES (?, 0, ?, ?, ?)`;

  function recordOf(row: CassandraRow, key: StateKey, now: number): StoredRecord | null {
    const expiresAt = parseExpiresAt(row.expires_at);
    if (expiresAt !== null && expiresAt <= now) return null;
    const value = toBytes(row.value);
    const revision = toNumber(row.revision);
    if (value === undefined || typeof row.etag !== "string" || !Number.isSafeInteger(revision)) {
      throw new CorruptDataError(`Cassandra row for ${JSON.stringify(key)} lacks a value, etag or revision`);
    }
    revisions.remember(row.etag, revision);
    return expiresAt === null ? { value, etag: row.etag, revision } : { value, etag: row.etag, revision, expiresAt };
  }

  function statementOf(step: Step, now: number): { query: string; params: unknown[] } {
    const { key } = step.operation;
    const condition = conditionOf(step.basis, now);
    const where = [key.actorType, key.actorId, key.stateName];
    if (step.operation.kind === "delete") {
      return {
        query: `DELETE FROM ${table} WHERE actor_type = ? AND actor_id = ? AND state_name = ? ${condition.clause}`,
        params: [...where, ...condition.params],
      };
    }
    const write = step.operation;
    return {
      query: `UPDATE ${table} USING TTL ? SET value = ?, etag = ?, revision = ?, expires_at = ? ` +
        `WHERE actor_type = ? AND actor_id = ? AND state_name = ? ${condition.clause}`,
      params: [
        ttlSecondsOf(write.ttlMs),
        blobParam(write.value),
        write.etag,
        String(step.revision),
        expiresAtOf(write.ttlMs, now),
        ...where,
        ...condition.params,
      ],
    };
  }

  /** Reads the rows of `names` in one partition at serial consistency: linearizable. */
  async function observe(db: CassandraClient, key: StateKey, names: readonly string[]): Promise<Map<string, Observed | null>> {
    const result = await db.execute(selectObserved, [key.actorType, key.actorId, [...names]], serialRead);
    const observed = new Map<string, Observed | null>(names.map((name) => [name, null]));
    for (const row of result.rows) observed.set(String(row.state_name), observedOf(row));
    return observed;
  }

  /** Makes sure every state a step may create has its list-index row, before the LWT. */
  async function indexCreates(db: CassandraClient, steps: readonly Step[], indexed: Set<string>): Promise<void> {
    const pending = steps.filter((step) => step.creates && !indexed.has(step.operation.key.stateName));
    if (pending.length === 0) return;
    const now = String(Date.now());
    const statements = pending.map((step) => ({
      query: upsertIndex,
      params: [step.operation.key.actorType, step.operation.key.actorId, step.operation.key.stateName, now],
    }));
    if (statements.length === 1) await db.execute(statements[0]!.query, statements[0]!.params, read);
    else await db.batch(statements, { ...read, logged: false });
    for (const step of pending) indexed.add(step.operation.key.stateName);
  }

  /**
   * Runs operations on one partition as one LWT (a statement, or a conditional batch):
   * plans from the caller's expectations, sends, and on a refusal re-plans from the rows
   * the refusal reported. A timeout leaves the outcome unknown; a serial read settles it.
   */
  async function run(operations: readonly TransactOperation[], operation: string): Promise<Array<WriteResult | boolean>> {
    const db = await client(operation);
    const key = operations[0]!.key;
    const names = operations.map((op) => op.key.stateName);
    const single = operations.length === 1;
    const indexed = new Set<string>();
    let observed: Map<string, Observed | null> | undefined;
    let unknownOutcome = false;
    let lastError: unknown;
    const sent = new Map<string, Step>();

    for (let attempt = 1; attempt <= settings.maxLwtAttempts; attempt++) {
      if (attempt > 2) await backoff(attempt - 2, settings);
      const now = Date.now();
      try {
        let plans: Plan[] = operations.map((op) =>
          observed
            ? planFromObservation(op, observed.get(op.key.stateName) ?? null, now)
            : planOptimistic(op, revisions.get(op.expectedEtag), single)
        );
        if (plans.some((plan) => plan.kind === "observe")) {
          observed = await observe(db, key, names);
          plans = operations.map((op) => planFromObservation(op, observed!.get(op.key.stateName) ?? null, now));
        }
        const conflict = plans.findIndex((plan) => plan.kind === "conflict");
        if (conflict >= 0) {
          const op = operations[conflict]!;
          const actual = (plans[conflict] as { actualEtag: string | null }).actualEtag;
          if (unknownOutcome && !provenUnapplied(op, observed?.get(op.key.stateName) ?? null, sent)) {
            // Ours may have landed and been overwritten since; a conflict would invite a
            // retry that applies the change twice, so say that the outcome is unknown.
            throw new StorageUnavailableError(
              DRIVER_NAME,
              operation,
              new Error("A lightweight transaction timed out and the state has changed since, so whether it was applied is unknown", {
                cause: lastError,
              }),
            );
          }
          throw new StateConflictError(op.key, op.lastWriteWins ? null : op.expectedEtag!, actual);
        }
        if (plans.some((plan) => plan.kind === "observe")) {
          throw new CorruptDataError(`Cassandra rows of ${JSON.stringify(key)} lack a revision`);
        }
        const steps = plans.flatMap((plan) =>
          plan.kind === "send" ? [plan.step] : plan.kind === "done" && plan.assert && !single ? [plan.assert] : []
        );
        if (!plans.some((plan) => plan.kind === "send")) {
          // Settled by the observation: repeats of applied writes, deletes of absent states.
          return plans.map((plan) => {
            const result = (plan as { result: WriteResult | boolean }).result;
            return unknownOutcome && single && result === false ? true : result;
          });
        }
        await indexCreates(db, steps, indexed);
        for (const step of steps) sent.set(step.operation.key.stateName, step);
        const statements = steps.map((step) => statementOf(step, now));
        const result = statements.length === 1
          ? await db.execute(statements[0]!.query, statements[0]!.params, lwt)
          : await db.batch(statements, lwt);
        const applied = result.rows[0]?.["[applied]"] === true;
        if (applied) {
          return plans.map((plan) => {
            if (plan.kind === "done") return plan.result;
            const step = (plan as { step: Step }).step;
            if (step.operation.kind === "delete") return true;
            revisions.remember(step.operation.etag, step.revision);
            return { etag: step.operation.etag, revision: step.revision };
          });
        }
        if (single && steps[0]!.basis.kind === "anyLive") return [false];
        observed = new Map(names.map((name) => [name, null]));
        for (const row of result.rows) {
          const name = single ? key.stateName : String(row.state_name);
          const seen = observedOf(row);
          if (seen?.revision !== undefined) revisions.remember(seen.etag, seen.revision);
          observed.set(name, seen);
        }
      } catch (error) {
        if (isQuarkError(error) || error instanceof RangeError) throw error;
        if (isUnavailable(error) || !isUnknownOutcome(error)) throw toQuarkError(error, operation);
        // Paxos contention or a lost reply: whether the LWT applied is unknown until a serial read.
        lastError = error;
        unknownOutcome = true;
        observed = undefined;
        try {
          observed = await observe(db, key, names);
        } catch (readError) {
          if (!isUnknownOutcome(readError)) throw toQuarkError(readError, operation);
          lastError = readError;
          continue;
        }
      }
    }
    throw new StorageUnavailableError(
      DRIVER_NAME,
      operation,
      lastError ?? new Error(`Gave up after ${settings.maxLwtAttempts} lightweight-transaction attempts under contention`),
    );
  }

  return {
    name: DRIVER_NAME,
    capabilities,
    ensureSchema: shared.ensureSchema,
    getInstance: shared.getInstance,

    async read(key: StateKey): Promise<StoredRecord | null> {
      assertEncodableKey(key);
      const db = await client("read");
      let rows: readonly CassandraRow[];
      try {
        rows = (await db.execute(selectRow, [key.actorType, key.actorId, key.stateName], read)).rows;
      } catch (error) {
        throw toQuarkError(error, "read");
      }
      return rows[0] ? recordOf(rows[0], key, Date.now()) : null;
    },

    async write(request: WriteRequest): Promise<WriteResult> {
      assertWritable(DRIVER_NAME, capabilities, request);
      assertEncodableKey(request.key);
      ttlSecondsOf(request.ttlMs);
      const [result] = await run([{ kind: "write", ...request }], "write");
      return result as WriteResult;
    },

    async delete(request: DeleteRequest): Promise<boolean> {
      assertEncodableKey(request.key);
      const [result] = await run([{ kind: "delete", ...request }], "delete");
      return result as boolean;
    },

    async list(request: ListRequest): Promise<ListPage> {
      const limit = request.limit ?? DEFAULT_PAGE_SIZE;
      if (!Number.isSafeInteger(limit) || limit < 1) throw new RangeError(`List limit must be a whole number of at least 1, got ${limit}`);
      if (request.cursor !== undefined && !HEX.test(request.cursor)) throw new RangeError("Invalid list cursor");
      assertEncodableKey({ actorType: request.actorType, actorId: request.actorIdPrefix ?? "", stateName: "" });
      const db = await client("list");
      const prefix = request.actorIdPrefix ?? "";
      const end = prefix === "" ? undefined : prefixEnd(prefix);
      let query = `SELECT actor_id, state_name, writetime(indexed_at) AS written FROM ${listTable} WHERE actor_type = ? AND bucket = 0`;
      const params: unknown[] = [request.actorType];
      if (prefix !== "") {
        query += " AND actor_id >= ?";
        params.push(prefix);
      }
      if (end !== undefined) {
        query += " AND actor_id < ?";
        params.push(end);
      }
      try {
        const page = await db.execute(query, params, { ...read, fetchSize: limit, pageState: request.cursor });
        const cursor = page.pageState ? String(page.pageState) : undefined;
        if (page.rows.length === 0) return { keys: [], cursor };
        // The index may name states that were deleted or expired since; keep only live ones.
        // One query over the page's actors; an actor's partition holds only its few states.
        const ids = [...new Set(page.rows.map((row) => String(row.actor_id)))];
        const states: CassandraRow[] = [];
        let statesPage: string | undefined;
        do {
          const result = await db.execute(
            `SELECT actor_id, state_name, expires_at FROM ${table} WHERE actor_type = ? AND actor_id IN ?`,
            [request.actorType, ids],
            { ...read, pageState: statesPage },
          );
          states.push(...result.rows);
          statesPage = result.pageState ? String(result.pageState) : undefined;
        } while (statesPage !== undefined);
        const now = Date.now();
        const live = new Set<string>();
        for (const row of states) {
          const expiresAt = parseExpiresAt(row.expires_at);
          if (expiresAt === null || expiresAt > now) live.add(JSON.stringify([row.actor_id, row.state_name]));
        }
        const keys: StateKey[] = [];
        const stale: CassandraRow[] = [];
        for (const row of page.rows) {
          if (live.has(JSON.stringify([row.actor_id, row.state_name]))) {
            keys.push({ actorType: request.actorType, actorId: String(row.actor_id), stateName: String(row.state_name) });
          } else if (toNumber(row.written) / 1000 < now - indexGraceMs) {
            stale.push(row);
          }
        }
        if (stale.length > 0) await removeStale(db, request.actorType, stale);
        return { keys, cursor };
      } catch (error) {
        if (error instanceof CorruptDataError) throw error;
        if ((error as { message?: string }).message?.includes("paging state")) throw new RangeError("Invalid list cursor");
        throw toQuarkError(error, "list");
      }
    },

    async transact(operations: readonly TransactOperation[]): Promise<ReadonlyArray<WriteResult | null>> {
      assertTransactable(DRIVER_NAME, capabilities, operations);
      if (operations.length === 0) return [];
      const first = operations[0]!.key;
      for (const operation of operations) {
        assertEncodableKey(operation.key);
        if (operation.kind === "write") ttlSecondsOf(operation.ttlMs);
        if (operation.key.actorType !== first.actorType || operation.key.actorId !== first.actorId) {
          throw new CapabilityError(
            DRIVER_NAME,
            "transactions across actors",
            "a conditional batch covers one partition, so every operation must name the same actor type and id",
          );
        }
      }
      const results = await run(operations, "transact");
      return results.map((result) => (typeof result === "boolean" ? null : result));
    },

    close: shared.close,
  };

  /**
   * Drops index entries whose state is gone. The tombstone carries the entry's own write
   * time, so an entry re-written by a concurrent create (a later write time) survives.
   */
  async function removeStale(db: CassandraClient, actorType: string, rows: readonly CassandraRow[]): Promise<void> {
    const statements = rows.map((row) => ({
      query: `DELETE FROM ${listTable} USING TIMESTAMP ? WHERE actor_type = ? AND bucket = 0 AND actor_id = ? AND state_name = ?`,
      params: [String(row.written), actorType, String(row.actor_id), String(row.state_name)],
    }));
    try {
      await db.batch(statements, { ...read, logged: false });
    } catch {
      // Best effort: a stale entry costs a lookup, never a wrong answer.
    }
  }
}

/**
 * After a timed-out LWT, whether the row it found proves that the LWT never applied. Each
 * revision number along one etag chain is written by exactly one writer, so a row at the
 * very revision we tried to write (or, for a delete, the one after the etag we expected)
 * was written by someone who won our slot. A higher revision, or an absent row, could
 * equally follow our own write.
 */
function provenUnapplied(operation: TransactOperation, observed: Observed | null, sent: ReadonlyMap<string, Step>): boolean {
  const step = sent.get(operation.key.stateName);
  if (observed === null || observed.revision === undefined || step === undefined) return false;
  if (operation.kind === "write") return observed.revision === step.revision;
  const expected = step.basis.kind === "live" ? step.basis.revision : undefined;
  return expected !== undefined && observed.revision === expected + 1;
}

/** Remembers which revision each etag was stored with; an etag never repeats, so entries never go stale. */
function revisionCache(size: number) {
  const entries = new Map<string, number>();
  return {
    get(etag: string | null | undefined): number | undefined {
      return etag == null ? undefined : entries.get(etag);
    },
    remember(etag: string, revision: number): void {
      if (size <= 0) return;
      entries.delete(etag);
      entries.set(etag, revision);
      if (entries.size > size) entries.delete(entries.keys().next().value!);
    },
  };
}

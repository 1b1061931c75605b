/**
 * Apache Cassandra storage and event store over `cassandra-driver`, for Node, Deno and Bun.
 * Every conditional write is one lightweight transaction (LWT); see
 * `docs/backends/cassandra.md` for the tables, the list index and the limits.
 *
 * | table | partition key | clustering | columns |
 * |---|---|---|---|
 * | `quark_state` | `(actor_type, actor_id)` | `state_name` | `value` blob, `etag` text, `revision` bigint; TTL by `USING TTL` |
 * | `quark_state_by_type` | `(actor_type, bucket)` | `actor_id, state_name` | `indexed_at` bigint: the list index, `bucket` a hash of the actor id |
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
import { assertKeyWithinLimit, assertValidKeyPart, encodeKeyPrefix } from "../../src/storage/keys.ts";
import {
  CapabilityError,
  ConfigurationError,
  ContentionError,
  CorruptDataError,
  isQuarkError,
  StateConflictError,
  StorageUnavailableError,
} from "../../src/errors.ts";
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
  assertStorableKey,
  conditionOf,
  MAX_KEY_BYTES,
  type Observed,
  observedOf,
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
  /**
   * The most bytes of values one `transact` batch may carry. A conditional batch is one
   * mutation and one request frame, and Cassandra refuses either over 16 MiB by default
   * (half of `commitlog_segment_size`, and `native_transport_max_frame_size`). Defaults to 8 MiB.
   */
  readonly maxTransactionBytes?: number;
  /**
   * Into how many partitions the list index spreads each actor type, by a hash of the actor
   * id. Fixed for the life of the index: changing it hides the entries written under the old
   * count until they are re-indexed (see `docs/backends/cassandra.md`). `1` reads an index
   * written by version 0.1. Defaults to 16.
   */
  readonly listBuckets?: number;
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
const utf8 = new TextEncoder();
const fromUtf8 = new TextDecoder("utf-8", { fatal: true });

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
    `revision bigint, PRIMARY KEY ((actor_type, actor_id), state_name))`,
    `CREATE TABLE IF NOT EXISTS ${listTable} (actor_type text, bucket int, actor_id text, state_name text, ` +
    `indexed_at bigint, PRIMARY KEY ((actor_type, bucket), actor_id, state_name))`,
  ]);
  const { settings, read, serialRead, lwt } = shared;
  const indexGraceMs = options.indexGraceMs ?? 10 * 60_000;
  const revisions = revisionCache(options.revisionCacheSize ?? 10_000);
  const buckets = options.listBuckets ?? 16;
  if (!Number.isSafeInteger(buckets) || buckets < 1 || buckets > 1024) {
    throw new ConfigurationError(`listBuckets must be a whole number from 1 to 1024, got ${buckets}`);
  }
  const capabilities: StorageCapabilities = {
    transactions: true,
    maxTransactionOperations: MAX_TRANSACTION_OPERATIONS,
    ttl: true,
    list: true,
    maxValueBytes: options.maxValueBytes ?? 4 * 1024 * 1024,
    maxKeyBytes: MAX_KEY_BYTES,
    maxTransactionBytes: options.maxTransactionBytes ?? 8 * 1024 * 1024,
  };
  const client = (operation: string) => shared.client(operation);
  const failure = (error: unknown, operation: string) => toQuarkError(error, operation, settings);

  // TTL(value) is the server's own count of seconds left; null without TTL.
  const selectRow = `SELECT value, etag, revision, TTL(value) AS ttl FROM ${table} WHERE actor_type = ? AND actor_id = ? AND state_name = ?`;
  const selectObserved = `SELECT state_name, etag, revision FROM ${table} WHERE actor_type = ? AND actor_id = ? AND state_name IN ?`;
  const upsertIndex = `INSERT INTO ${listTable} (actor_type, bucket, actor_id, state_name, indexed_at) VALUES (?, ?, ?, ?, ?)`;

  function recordOf(row: CassandraRow, key: StateKey, now: number): StoredRecord | null {
    // A row without an etag holds only cells a 0.1 write left without TTL (expires_at): no state.
    if (row.etag === null || row.etag === undefined) return null;
    const value = toBytes(row.value);
    const revision = toNumber(row.revision);
    if (value === undefined || typeof row.etag !== "string" || !Number.isSafeInteger(revision)) {
      throw new CorruptDataError(`Cassandra row for ${JSON.stringify(key)} lacks a value, etag or revision`);
    }
    revisions.remember(row.etag, revision);
    if (row.ttl === null || row.ttl === undefined) return { value, etag: row.etag, revision };
    return { value, etag: row.etag, revision, expiresAt: now + toNumber(row.ttl) * 1000 };
  }

  function statementOf(step: Step): { query: string; params: unknown[] } {
    const { key } = step.operation;
    const condition = conditionOf(step.basis);
    const where = [key.actorType, key.actorId, key.stateName];
    if (step.operation.kind === "delete") {
      return {
        query: `DELETE FROM ${table} WHERE actor_type = ? AND actor_id = ? AND state_name = ? ${condition.clause}`,
        params: [...where, ...condition.params],
      };
    }
    const write = step.operation;
    return {
      query: `UPDATE ${table} USING TTL ? SET value = ?, etag = ?, revision = ? ` +
        `WHERE actor_type = ? AND actor_id = ? AND state_name = ? ${condition.clause}`,
      params: [ttlSecondsOf(write.ttlMs), blobParam(write.value), write.etag, String(step.revision), ...where, ...condition.params],
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
    const statements = pending.map((step) => {
      const { actorType, actorId, stateName } = step.operation.key;
      return { query: upsertIndex, params: [actorType, bucketOf(actorId, buckets), actorId, stateName, now] };
    });
    if (statements.length === 1) await db.execute(statements[0]!.query, statements[0]!.params, read);
    else await db.batch(statements, { ...read, logged: false });
    for (const step of pending) indexed.add(step.operation.key.stateName);
  }

  /**
   * Runs operations on one partition as one LWT (a statement, or a conditional batch):
   * plans from the caller's expectations, sends, and on a refusal re-plans from the rows
   * the refusal reported. A timeout leaves the outcome unknown; a serial read settles it.
   * At most `maxLwtAttempts` LWTs are sent.
   */
  async function run(operations: readonly TransactOperation[], operation: string): Promise<Array<WriteResult | boolean>> {
    const db = await client(operation);
    const key = operations[0]!.key;
    const names = operations.map((op) => op.key.stateName);
    const single = operations.length === 1;
    const indexed = new Set<string>();
    let observed: Map<string, Observed | null> | undefined;
    let lastError: unknown;
    // Steps whose LWT timed out: each may have applied, until an observation proves it did not.
    const uncertain: Step[] = [];
    const unproven = (name: string) =>
      uncertain.some((step) => step.operation.key.stateName === name && !provenUnapplied(step, observed?.get(name)));

    for (let attempt = 1; ; attempt++) {
      await backoff(attempt, settings);
      // A serial read or a refused LWT settles every Paxos round before it: a step proven
      // unapplied once can never apply later.
      for (let index = uncertain.length - 1; index >= 0; index--) {
        const step = uncertain[index]!;
        if (observed !== undefined && provenUnapplied(step, observed.get(step.operation.key.stateName))) uncertain.splice(index, 1);
      }
      try {
        let plans: Plan[] = operations.map((op) =>
          observed
            ? planFromObservation(op, observed.get(op.key.stateName) ?? null)
            : planOptimistic(op, revisions.get(op.expectedEtag), single)
        );
        if (plans.some((plan) => plan.kind === "observe")) {
          observed = await observe(db, key, names);
          plans = operations.map((op) => planFromObservation(op, observed!.get(op.key.stateName) ?? null));
        }
        const conflict = plans.findIndex((plan) => plan.kind === "conflict");
        if (conflict >= 0) {
          const op = operations[conflict]!;
          const actual = (plans[conflict] as { actualEtag: string | null }).actualEtag;
          if (unproven(op.key.stateName)) {
            // Ours may have landed and been overwritten since; a conflict would invite a
            // retry that applies the change twice, so say that the outcome is unknown.
            throw unknownOutcome(operation, lastError);
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
            return uncertain.length > 0 && single && result === false ? true : result;
          });
        }
        if (attempt > settings.maxLwtAttempts) {
          if (operations.some((op) => unproven(op.key.stateName))) throw unknownOutcome(operation, lastError);
          throw new ContentionError(DRIVER_NAME, operation, settings.maxLwtAttempts, { cause: lastError });
        }
        await indexCreates(db, steps, indexed);
        const statements = steps.map(statementOf);
        let result;
        try {
          result = statements.length === 1
            ? await db.execute(statements[0]!.query, statements[0]!.params, lwt)
            : await db.batch(statements, lwt);
        } catch (error) {
          if (isUnknownOutcome(error) && !isUnavailable(error)) uncertain.push(...steps);
          throw error;
        }
        const applied = result.rows[0]?.["[applied]"] === true;
        if (applied) {
          return plans.map((plan) => {
            if (plan.kind === "done") return plan.result;
            const step = (plan as { step: Step }).step;
            // A delete that expected no state found none: it deleted nothing.
            if (step.operation.kind === "delete") return step.basis.kind !== "absent";
            revisions.remember(step.operation.etag, step.revision);
            return { etag: step.operation.etag, revision: step.revision };
          });
        }
        if (single && steps[0]!.basis.kind === "anyLive") return [false];
        lastError = undefined;
        observed = new Map(names.map((name) => [name, null]));
        for (const row of result.rows) {
          const name = single ? key.stateName : String(row.state_name);
          const seen = observedOf(row);
          if (seen?.revision !== undefined) revisions.remember(seen.etag, seen.revision);
          observed.set(name, seen);
        }
      } catch (error) {
        if (isQuarkError(error) || error instanceof RangeError) throw error;
        if (isUnavailable(error) || !isUnknownOutcome(error)) throw failure(error, operation);
        // Paxos contention or a lost reply: whether the LWT applied is unknown until a serial read.
        lastError = error;
        observed = undefined;
        try {
          observed = await observe(db, key, names);
        } catch (readError) {
          if (!isUnknownOutcome(readError)) throw failure(readError, operation);
          lastError = readError;
          if (attempt >= settings.maxLwtAttempts) throw unknownOutcome(operation, lastError);
        }
      }
    }
  }

  function unknownOutcome(operation: string, cause: unknown): StorageUnavailableError {
    return new StorageUnavailableError(
      DRIVER_NAME,
      `${operation} against ${settings.endpoint}`,
      new Error("A lightweight transaction timed out and the state has changed since, so whether it was applied is unknown", { cause }),
    );
  }

  return {
    name: DRIVER_NAME,
    capabilities,
    ensureSchema: shared.ensureSchema,
    getInstance: shared.getInstance,

    async read(key: StateKey): Promise<StoredRecord | null> {
      assertStorableKey(key);
      const db = await client("read");
      let rows: readonly CassandraRow[];
      try {
        rows = (await db.execute(selectRow, [key.actorType, key.actorId, key.stateName], read)).rows;
      } catch (error) {
        throw failure(error, "read");
      }
      return rows[0] ? recordOf(rows[0], key, Date.now()) : null;
    },

    async write(request: WriteRequest): Promise<WriteResult> {
      assertWritable(DRIVER_NAME, capabilities, request);
      assertStorableKey(request.key);
      ttlSecondsOf(request.ttlMs);
      const [result] = await run([{ kind: "write", ...request }], "write");
      return result as WriteResult;
    },

    async delete(request: DeleteRequest): Promise<boolean> {
      assertStorableKey(request.key);
      const [result] = await run([{ kind: "delete", ...request }], "delete");
      return result as boolean;
    },

    async list(request: ListRequest): Promise<ListPage> {
      const limit = request.limit ?? DEFAULT_PAGE_SIZE;
      if (!Number.isSafeInteger(limit) || limit < 1) throw new RangeError(`List limit must be a whole number of at least 1, got ${limit}`);
      const prefix = request.actorIdPrefix ?? "";
      assertValidKeyPart("actorType", request.actorType);
      assertValidKeyPart("actorIdPrefix", prefix);
      assertKeyWithinLimit(DRIVER_NAME, "actorType and actorIdPrefix", encodeKeyPrefix(request.actorType, prefix), MAX_KEY_BYTES);
      const after = request.cursor === undefined ? undefined : positionOf(request.cursor);
      const db = await client("list");
      try {
        const entries = await indexPage(db, request.actorType, prefix, after, limit);
        const last = entries.length === limit ? entries[limit - 1] : undefined;
        const cursor = last === undefined ? undefined : cursorOf([String(last.actor_id), String(last.state_name)]);
        if (entries.length === 0) return { keys: [] };
        // The index may name states that were deleted or expired since; keep only live ones.
        // One query over the page's actors; an actor's partition holds only its few states.
        const ids = [...new Set(entries.map((row) => String(row.actor_id)))];
        const live = new Set<string>();
        let statesPage: string | undefined;
        do {
          const result = await db.execute(
            `SELECT actor_id, state_name, etag FROM ${table} WHERE actor_type = ? AND actor_id IN ?`,
            [request.actorType, ids],
            { ...read, pageState: statesPage },
          );
          for (const row of result.rows) if (typeof row.etag === "string") live.add(JSON.stringify([row.actor_id, row.state_name]));
          statesPage = result.pageState ? String(result.pageState) : undefined;
        } while (statesPage !== undefined);
        const now = Date.now();
        const keys: StateKey[] = [];
        const stale: CassandraRow[] = [];
        for (const row of entries) {
          if (live.has(JSON.stringify([row.actor_id, row.state_name]))) {
            keys.push({ actorType: request.actorType, actorId: String(row.actor_id), stateName: String(row.state_name) });
          } else if (toNumber(row.written) / 1000 < now - indexGraceMs) {
            stale.push(row);
          }
        }
        if (stale.length > 0) await removeStale(db, request.actorType, stale);
        return cursor === undefined ? { keys } : { keys, cursor };
      } catch (error) {
        if (isQuarkError(error)) throw error;
        throw failure(error, "list");
      }
    },

    async transact(operations: readonly TransactOperation[]): Promise<ReadonlyArray<WriteResult | null>> {
      assertTransactable(DRIVER_NAME, capabilities, operations);
      if (operations.length === 0) return [];
      const first = operations[0]!.key;
      for (const operation of operations) {
        assertStorableKey(operation.key);
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
   * The first `limit` index entries after `after` (or from the start of `prefix`), in
   * `(actor_id, state_name)` order across every bucket: a merge of the buckets' sorted
   * partitions. Each bucket is read a chunk at a time, and a bucket is read again only when
   * the merge has used up what it gave while it may hold more.
   */
  async function indexPage(
    db: CassandraClient,
    actorType: string,
    prefix: string,
    after: Position | undefined,
    limit: number,
  ): Promise<CassandraRow[]> {
    const end = prefix === "" ? undefined : prefixEnd(prefix);
    const chunk = Math.min(limit, Math.ceil(limit / buckets) + 2);
    const lanes = Array.from({ length: buckets }, (_, bucket) => ({ bucket, rows: [] as CassandraRow[], next: 0, after, done: false }));
    const fill = async (lane: (typeof lanes)[number]) => {
      let query = `SELECT actor_id, state_name, writetime(indexed_at) AS written FROM ${listTable} WHERE actor_type = ? AND bucket = ?`;
      const params: unknown[] = [actorType, lane.bucket];
      // One restriction style per query: Cassandra refuses tuple and single-column slices together.
      if (lane.after !== undefined) {
        query += " AND (actor_id, state_name) > (?, ?)";
        params.push(...lane.after);
        if (end !== undefined) {
          query += " AND (actor_id) < (?)";
          params.push(end);
        }
      } else {
        if (prefix !== "") {
          query += " AND actor_id >= ?";
          params.push(prefix);
        }
        if (end !== undefined) {
          query += " AND actor_id < ?";
          params.push(end);
        }
      }
      query += " LIMIT ?";
      params.push(chunk);
      const rows = (await db.execute(query, params, read)).rows;
      lane.rows = [...rows];
      lane.next = 0;
      lane.done = rows.length < chunk;
      const last = rows[rows.length - 1];
      if (last !== undefined) lane.after = [String(last.actor_id), String(last.state_name)];
    };
    await Promise.all(lanes.map(fill));
    const out: CassandraRow[] = [];
    while (out.length < limit) {
      const empty = lanes.filter((lane) => lane.next === lane.rows.length && !lane.done);
      if (empty.length > 0) await Promise.all(empty.map(fill));
      let best: (typeof lanes)[number] | undefined;
      for (const lane of lanes) {
        if (lane.next === lane.rows.length) continue;
        if (best === undefined || comparePosition(positionOfRow(lane.rows[lane.next]!), positionOfRow(best.rows[best.next]!)) < 0) best = lane;
      }
      if (best === undefined) break;
      out.push(best.rows[best.next++]!);
    }
    return out;
  }

  /**
   * Drops index entries whose state is gone. The tombstone carries the entry's own write
   * time, so an entry re-written by a concurrent create (a later write time) survives.
   */
  async function removeStale(db: CassandraClient, actorType: string, rows: readonly CassandraRow[]): Promise<void> {
    const statements = rows.map((row) => ({
      query: `DELETE FROM ${listTable} USING TIMESTAMP ? WHERE actor_type = ? AND bucket = ? AND actor_id = ? AND state_name = ?`,
      params: [String(row.written), actorType, bucketOf(String(row.actor_id), buckets), String(row.actor_id), String(row.state_name)],
    }));
    try {
      await db.batch(statements, { ...read, logged: false });
    } catch {
      // Best effort: a stale entry costs a lookup, never a wrong answer.
    }
  }
}

function positionOfRow(row: CassandraRow): Position {
  return [String(row.actor_id), String(row.state_name)];
}

/**
 * After a timed-out LWT, whether a later linearizable observation of its row proves that it
 * never applied. The row still holding the etag it expected proves it (etags never repeat,
 * so nothing was written since). So does another writer's row at the very revision the step
 * tried to write: each revision along one etag chain is written by exactly one writer. A
 * higher revision, or an absent row, could equally follow the step's own write.
 */
function provenUnapplied(step: Step, observed: Observed | null | undefined): boolean {
  if (observed === undefined || observed === null) return false;
  if (step.basis.kind === "live" && observed.etag === step.basis.etag) return true;
  if (step.operation.kind === "write") return observed.etag !== step.operation.etag && observed.revision === step.revision;
  return step.basis.kind === "live" && step.basis.revision !== undefined && observed.revision === step.basis.revision + 1;
}

/**
 * The list-index partition of an actor id: FNV-1a over its UTF-8 bytes, modulo the bucket
 * count. Part of the stored layout: it must never change.
 *
 * @example Which index partition holds an actor
 * ```ts
 * import { bucketOf } from "@quark/persistence/cassandra";
 * const bucket = bucketOf("alice", 16);
 * if (bucket < 0 || bucket >= 16 || bucketOf("alice", 16) !== bucket) throw new Error("not a stable bucket");
 * ```
 */
export function bucketOf(actorId: string, buckets: number): number {
  if (buckets === 1) return 0;
  let hash = 0x811c9dc5;
  for (const byte of utf8.encode(actorId)) {
    hash ^= byte;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash % buckets;
}

/** Orders strings as Cassandra orders `text`: by UTF-8 bytes, which is code point order. */
function compareText(left: string, right: string): number {
  const length = Math.min(left.length, right.length);
  for (let index = 0; index < length; index++) {
    let a = left.charCodeAt(index);
    let b = right.charCodeAt(index);
    if (a === b) continue;
    // Surrogates (supplementary code points) sort above U+E000..U+FFFF in code point order.
    if (a >= 0xd800 && b >= 0xd800) {
      a = a >= 0xe000 ? a - 0x800 : a + 0x2000;
      b = b >= 0xe000 ? b - 0x800 : b + 0x2000;
    }
    return a - b;
  }
  return left.length - right.length;
}

type Position = readonly [actorId: string, stateName: string];

function comparePosition(left: Position, right: Position): number {
  return compareText(left[0], right[0]) || compareText(left[1], right[1]);
}

/** A list cursor: the last index entry returned, as hex of its JSON, so it survives any transport. */
function cursorOf(position: Position): string {
  return [...utf8.encode(JSON.stringify(position))].map((byte) => byte.toString(16).padStart(2, "0")).join("");
}

function positionOf(cursor: string): Position {
  try {
    if (!HEX.test(cursor)) throw new Error("not hex");
    const bytes = new Uint8Array(cursor.match(/../g)!.map((pair) => parseInt(pair, 16)));
    const position = JSON.parse(fromUtf8.decode(bytes)) as unknown;
    if (Array.isArray(position) && position.length === 2 && position.every((part) => typeof part === "string")) {
      return position as unknown as Position;
    }
  } catch {
    // Reported below, as for any other malformed cursor.
  }
  throw new RangeError("Invalid list cursor");
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

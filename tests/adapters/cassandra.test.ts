import { test } from "node:test";
import assert from "node:assert/strict";
import cassandra from "cassandra-driver";
import {
  type CassandraClient,
  cassandraEventStore,
  type CassandraEventStoreOptions,
  cassandraStorage,
  type CassandraStorageOptions,
} from "../../adapters/cassandra/mod.ts";
import { toQuarkError } from "../../adapters/cassandra/_driver.ts";
import { HOSTILE_IDS, runContentionConformance, runLeaseConformance, runEventStoreConformance, runStorageConformance } from "../../src/testing/mod.ts";
import { isQuarkError } from "../../src/errors.ts";

const contactPoints = process.env.CASSANDRA_CONTACT_POINTS;
const localDataCenter = process.env.CASSANDRA_DC ?? "datacenter1";
const keyspace = "quark_test";

if (contactPoints === undefined) {
  const reason = "CASSANDRA_CONTACT_POINTS is not set (start it with scripts/services/cassandra.sh start)";
  console.log(`SKIP cassandra: ${reason}`);
  test(`cassandra conformance: ${reason}`, { skip: reason }, () => {});
} else {
  const points = contactPoints.split(",");
  const uid = () => crypto.randomUUID().slice(0, 8);
  const bytes = (...values: number[]) => Uint8Array.from(values);
  const newClient = (options: Record<string, unknown> = {}) =>
    new cassandra.Client({ contactPoints: points, localDataCenter, ...options }) as unknown as CassandraClient;
  const storageOptions = (extra: Partial<CassandraStorageOptions> = {}): CassandraStorageOptions => ({
    contactPoints: points,
    localDataCenter,
    keyspace,
    ...extra,
  });
  const eventOptions = (extra: Partial<CassandraEventStoreOptions> = {}): CassandraEventStoreOptions => ({
    contactPoints: points,
    localDataCenter,
    keyspace,
    ...extra,
  });

  // Creates the keyspace and tables once; every case then opens storages without DDL.
  let schema: Promise<void> | undefined;
  const ensureSchema = () =>
    schema ??= (async () => {
      const storage = cassandraStorage(storageOptions());
      const events = cassandraEventStore(eventOptions());
      try {
        await storage.ensureSchema();
        await events.ensureSchema();
      } finally {
        await storage.close();
        await events.close();
      }
    })();

  runStorageConformance(test, {
    name: "cassandra",
    open: async () => {
      await ensureSchema();
      return cassandraStorage(storageOptions());
    },
    // 64 writers contend on one Paxos partition; most attempts lose and retry.
    raceRetry: { maxAttempts: 5000, baseDelayMs: 2, maxDelayMs: 100 },
  });
  runContentionConformance(test, {
    name: "cassandra",
    open: async () => {
      await ensureSchema();
      return cassandraStorage(storageOptions());
    },
  });
  runLeaseConformance(test, {
    name: "cassandra",
    open: async () => {
      await ensureSchema();
      return cassandraStorage(storageOptions());
    },
  });
  runEventStoreConformance(test, {
    name: "cassandra",
    open: async () => {
      await ensureSchema();
      return cassandraEventStore(eventOptions());
    },
  });

  test("cassandra: hostile keyspace, table and replication options are refused before any CQL", () => {
    for (const name of ['quark"; DROP KEYSPACE quark; --', "1abc", "a b", "", "x".repeat(49), "ks.table"]) {
      assert.throws(() => cassandraStorage(storageOptions({ keyspace: name })), { code: "CONFIGURATION" }, name);
      assert.throws(() => cassandraStorage(storageOptions({ table: name })), { code: "CONFIGURATION" }, name);
      assert.throws(() => cassandraEventStore(eventOptions({ eventsTable: name })), { code: "CONFIGURATION" }, name);
    }
    assert.throws(
      () => cassandraStorage(storageOptions({ replication: { class: "SimpleStrategy', 'x': '1" } })),
      { code: "CONFIGURATION" },
    );
    assert.throws(() => cassandraStorage({ keyspace }), { code: "CONFIGURATION" }, "no client and no contact points");
  });

  test("cassandra: hostile ids travel as bound values", async () => {
    await ensureSchema();
    const storage = cassandraStorage(storageOptions());
    try {
      const actorType = `hostile-${uid()}`;
      const victim = { actorType, actorId: "victim", stateName: "s" };
      await storage.write({ key: victim, value: bytes(1), etag: crypto.randomUUID(), expectedEtag: null });
      for (const actorId of [...HOSTILE_IDS, "' IF EXISTS; --", "?", "%s"]) {
        const key = { actorType, actorId, stateName: "s" };
        assert.equal(await storage.read(key), null);
        await storage.write({ key, value: bytes(2), etag: crypto.randomUUID(), expectedEtag: null });
        assert.deepEqual((await storage.read(key))?.value, bytes(2));
      }
      assert.deepEqual((await storage.read(victim))?.value, bytes(1));
      await assert.rejects(
        storage.write({ key: { actorType, actorId: "\uD800", stateName: "s" }, value: bytes(1), etag: "e", expectedEtag: null }),
        { code: "INVALID_KEY" },
        "lone surrogates would collide after UTF-8 encoding",
      );
    } finally {
      await storage.close();
    }
  });

  test("cassandra: transactions across actors are refused with CapabilityError", async () => {
    const storage = cassandraStorage(storageOptions());
    try {
      const actorType = `cross-${uid()}`;
      await assert.rejects(
        storage.transact([
          { kind: "write", key: { actorType, actorId: "1", stateName: "s" }, value: bytes(1), etag: crypto.randomUUID(), expectedEtag: null },
          { kind: "write", key: { actorType, actorId: "2", stateName: "s" }, value: bytes(1), etag: crypto.randomUUID(), expectedEtag: null },
        ]),
        { code: "CAPABILITY" },
      );
    } finally {
      await storage.close();
    }
  });

  test("cassandra: transactions with last-write-wins, absent deletes and repeats", async () => {
    await ensureSchema();
    const storage = cassandraStorage(storageOptions());
    const cold = cassandraStorage(storageOptions({ revisionCacheSize: 0 }));
    try {
      const actorType = `transact-${uid()}`;
      const [one, two, three] = ["one", "two", "three"].map((stateName) => ({ actorType, actorId: "1", stateName }));
      const [a, b] = await storage.transact([
        { kind: "write", key: one!, value: bytes(1), etag: crypto.randomUUID(), expectedEtag: null },
        { kind: "write", key: two!, value: bytes(2), etag: crypto.randomUUID(), expectedEtag: null },
      ]);
      // A cold cache has to observe the rows serially before it can batch.
      const [lww, removed] = await cold.transact([
        { kind: "write", key: one!, value: bytes(3), etag: crypto.randomUUID(), lastWriteWins: true },
        { kind: "delete", key: two!, lastWriteWins: true },
      ]);
      assert.equal(lww?.revision, 2);
      assert.equal(removed, null);
      assert.equal(await storage.read(two!), null);
      const repeat = [
        { kind: "write" as const, key: one!, value: bytes(4), etag: crypto.randomUUID(), expectedEtag: lww!.etag },
        { kind: "delete" as const, key: three!, expectedEtag: crypto.randomUUID() },
      ];
      const first = await storage.transact(repeat);
      const again = await storage.transact(repeat);
      assert.deepEqual(again, first, "a repeated transaction succeeds without bumping revisions");
      assert.equal((await storage.read(one!))?.revision, 3);
      await assert.rejects(storage.transact([{ kind: "delete", key: one!, expectedEtag: null }]), { code: "STATE_CONFLICT" });
      await assert.rejects(
        storage.transact([
          { kind: "write", key: two!, value: bytes(5), etag: crypto.randomUUID(), expectedEtag: null },
          { kind: "write", key: one!, value: bytes(5), etag: crypto.randomUUID(), expectedEtag: a!.etag },
        ]),
        { code: "STATE_CONFLICT", actualEtag: first[0]!.etag },
      );
      assert.equal(await storage.read(two!), null, "nothing of the refused transaction was applied");
      assert.ok(b);
    } finally {
      await storage.close();
      await cold.close();
    }
  });

  test("cassandra: a dead server gives StorageUnavailableError naming the backend", async () => {
    const storage = cassandraStorage({ contactPoints: ["127.0.0.1:1"], localDataCenter, keyspace });
    const events = cassandraEventStore({ contactPoints: ["127.0.0.1:1"], localDataCenter, keyspace });
    try {
      const key = { actorType: "t", actorId: "1", stateName: "s" };
      await assert.rejects(storage.read(key), (error: Error & { code?: string }) => {
        assert.equal(error.code, "STORAGE_UNAVAILABLE");
        assert.match(error.message, /cassandra/);
        assert.match(error.message, /127\.0\.0\.1:1/, "the message names the contact point");
        return true;
      });
      await assert.rejects(storage.write({ key, value: bytes(1), etag: "e", expectedEtag: null }), { code: "STORAGE_UNAVAILABLE" });
      await assert.rejects(events.append("s", [{ type: "E", data: bytes() }], "any"), { code: "STORAGE_UNAVAILABLE" });
    } finally {
      await storage.close();
      await events.close();
    }
  });

  test("cassandra: a missing schema gives ConfigurationError, and createSchema creates it", async () => {
    const scratch = `quark_scratch_${uid()}`;
    const client = newClient();
    const missing = cassandraStorage({ client, keyspace: scratch });
    const auto = cassandraStorage({ client, keyspace: scratch, createSchema: true });
    try {
      const key = { actorType: "t", actorId: "1", stateName: "s" };
      await assert.rejects(missing.read(key), { code: "CONFIGURATION" });
      await auto.write({ key, value: bytes(1), etag: crypto.randomUUID(), expectedEtag: null });
      assert.deepEqual((await missing.read(key))?.value, bytes(1));
    } finally {
      await client.execute(`DROP KEYSPACE IF EXISTS ${scratch}`);
      await missing.close();
      await auto.close();
      await client.shutdown();
    }
  });

  test("cassandra: corrupt rows give CorruptDataError", async () => {
    await ensureSchema();
    const client = newClient();
    const storage = cassandraStorage({ client, keyspace });
    try {
      const key = { actorType: `corrupt-${uid()}`, actorId: "1", stateName: "s" };
      await client.execute(
        `INSERT INTO ${keyspace}.quark_state (actor_type, actor_id, state_name, etag) VALUES (?, ?, ?, ?)`,
        [key.actorType, key.actorId, key.stateName, "e"],
        { prepare: true },
      );
      await assert.rejects(storage.read(key), { code: "CORRUPT_DATA" });
    } finally {
      await storage.close();
      await client.shutdown();
    }
  });

  test("cassandra: a conditional update is one round trip once its etag was read", async () => {
    await ensureSchema();
    const requests: string[] = [];
    // The typings declare RequestTracker as an interface; the driver wants an instance of its class.
    const Tracker = (cassandra.tracker as unknown as { RequestTracker: new () => Record<string, unknown> }).RequestTracker;
    const tracker = new Tracker();
    tracker.onSuccess = (_host: unknown, query: unknown) => void requests.push(String(query).slice(0, 30));
    tracker.onError = (_host: unknown, query: unknown) => void requests.push(String(query).slice(0, 30));
    const client = newClient({ requestTracker: tracker });
    const storage = cassandraStorage({ client, keyspace });
    try {
      const key = { actorType: `trips-${uid()}`, actorId: "1", stateName: "s" };
      const created = await storage.write({ key, value: bytes(0), etag: crypto.randomUUID(), expectedEtag: null });
      assert.equal(requests.length, 2, "a create writes the list index, then the LWT");
      requests.length = 0;
      const updated = await storage.write({ key, value: bytes(1), etag: crypto.randomUUID(), expectedEtag: created.etag });
      assert.equal(requests.length, 1, `an update is one LWT: ${requests.join(" | ")}`);
      requests.length = 0;
      const fresh = cassandraStorage({ client, keyspace });
      const stored = await fresh.read(key);
      await fresh.write({ key, value: bytes(2), etag: crypto.randomUUID(), expectedEtag: stored!.etag });
      assert.equal(requests.length, 2, "read, then one LWT");
      assert.equal(updated.revision, 2);
      assert.equal((await fresh.read(key))?.revision, 3);
      await fresh.close();
    } finally {
      await storage.close();
      await client.shutdown();
    }
  });

  test("cassandra: an update whose etag was never read learns the revision by a serial read", async () => {
    await ensureSchema();
    const storage = cassandraStorage(storageOptions());
    const other = cassandraStorage(storageOptions({ revisionCacheSize: 0 }));
    try {
      const key = { actorType: `cold-${uid()}`, actorId: "1", stateName: "s" };
      const first = await storage.write({ key, value: bytes(0), etag: crypto.randomUUID(), expectedEtag: null });
      const second = await other.write({ key, value: bytes(1), etag: crypto.randomUUID(), expectedEtag: first.etag });
      assert.equal(second.revision, 2);
      await assert.rejects(
        other.write({ key, value: bytes(2), etag: crypto.randomUUID(), expectedEtag: first.etag }),
        { code: "STATE_CONFLICT", actualEtag: second.etag },
      );
    } finally {
      await storage.close();
      await other.close();
    }
  });

  /** A client whose LWTs time out: before reaching the server, or after applying (a lost reply). */
  function flakyClient(real: CassandraClient, mode: "before" | "after", times: number): CassandraClient {
    let remaining = times;
    const timeout = () => Object.assign(new Error("Server timeout during write query at consistency SERIAL"), {
      name: "ResponseError",
      code: 0x1100,
      writeType: "CAS",
    });
    const isLwt = (query: string) => / IF /.test(query);
    return {
      async execute(query, params, options) {
        if (!isLwt(query) || remaining <= 0) return real.execute(query, params, options);
        remaining--;
        if (mode === "after") await real.execute(query, params, options);
        throw timeout();
      },
      async batch(queries, options) {
        if (!queries.some((entry) => isLwt(entry.query)) || remaining <= 0) return real.batch(queries, options);
        remaining--;
        if (mode === "after") await real.batch(queries, options);
        throw timeout();
      },
      shutdown: () => real.shutdown(),
    };
  }

  test("cassandra: an LWT timeout is settled by a serial read, never surfaced", async () => {
    await ensureSchema();
    const real = newClient();
    try {
      for (const mode of ["before", "after"] as const) {
        const storage = cassandraStorage({ client: flakyClient(real, mode, 1000), keyspace, maxLwtAttempts: 3 });
        const key = { actorType: `unknown-${uid()}`, actorId: "1", stateName: "s" };
        const flaky = cassandraStorage({ client: flakyClient(real, mode, 1), keyspace });
        const created = await flaky.write({ key, value: bytes(1), etag: crypto.randomUUID(), expectedEtag: null });
        assert.equal(created.revision, 1, `create with a timeout ${mode} applying`);
        const again = cassandraStorage({ client: flakyClient(real, mode, 1), keyspace });
        const updated = await again.write({ key, value: bytes(2), etag: crypto.randomUUID(), expectedEtag: created.etag });
        assert.equal(updated.revision, 2, `update with a timeout ${mode} applying`);
        const deleting = cassandraStorage({ client: flakyClient(real, mode, 1), keyspace });
        assert.equal(await deleting.delete({ key, expectedEtag: updated.etag }), true, `delete with a timeout ${mode} applying`);
        // Persistent timeouts on a create end in StorageUnavailableError: an absent row could
        // follow our own create and someone's delete, so whether it applied is unknown.
        const error = await storage.write({ key, value: bytes(3), etag: crypto.randomUUID(), expectedEtag: null }).then(
          () => undefined,
          (caught: Error & { code?: string; cause?: unknown }) => caught,
        );
        if (mode === "before") {
          assert.equal(error?.code, "STORAGE_UNAVAILABLE");
          assert.equal(((error?.cause as Error).cause as { code?: number }).code, 0x1100);
          assert.match(error!.message, /whether it was applied is unknown/);
        } else {
          assert.equal(error, undefined, "a write that applied before its timeout succeeds");
        }

        const events = cassandraEventStore({ client: flakyClient(real, mode, 1), keyspace });
        const stream = `unknown-${uid()}`;
        assert.equal((await events.append(stream, [{ type: "E", data: bytes(1) }, { type: "E", data: bytes(2) }], "no_stream")).nextVersion, 2);
        const more = cassandraEventStore({ client: flakyClient(real, mode, 1), keyspace });
        assert.equal((await more.append(stream, [{ type: "E", data: bytes(3) }], "any")).nextVersion, 3);
        assert.equal(await more.version(stream), 3, `no duplicate events after a timeout ${mode} applying`);
      }
    } finally {
      await real.shutdown();
    }
  });

  test("cassandra: after a timeout, a conflict is reported only when it is proven", async () => {
    await ensureSchema();
    const real = newClient();
    const other = cassandraStorage({ client: real, keyspace });
    try {
      const key = { actorType: `proof-${uid()}`, actorId: "1", stateName: "s" };
      const first = await other.write({ key, value: bytes(1), etag: crypto.randomUUID(), expectedEtag: null });
      // Another writer takes our slot (revision 2) while our LWT times out unapplied.
      let interfere: (() => Promise<unknown>) | undefined = () =>
        other.write({ key, value: bytes(2), etag: crypto.randomUUID(), expectedEtag: first.etag });
      const racing: CassandraClient = {
        async execute(query, params, options) {
          if (/ IF /.test(query) && interfere) {
            const run = interfere;
            interfere = undefined;
            const applied = await run();
            throw Object.assign(new Error("Server timeout during write query"), { name: "ResponseError", code: 0x1100, writeType: "CAS", applied });
          }
          return real.execute(query, params, options);
        },
        batch: (queries, options) => real.batch(queries, options),
        shutdown: async () => {},
      };
      const storage = cassandraStorage({ client: racing, keyspace });
      await assert.rejects(
        storage.write({ key, value: bytes(3), etag: crypto.randomUUID(), expectedEtag: first.etag }),
        { code: "STATE_CONFLICT" },
        "the row holds another writer's revision 2: ours never applied",
      );
      // Our LWT lands, then someone writes on top of it, then our reply times out.
      const second = await other.read(key);
      const ours = crypto.randomUUID();
      interfere = async () => {
        await real.execute(
          `UPDATE ${keyspace}.quark_state SET etag = ?, revision = ? WHERE actor_type = ? AND actor_id = ? AND state_name = ? IF etag = ?`,
          [ours, "3", key.actorType, key.actorId, key.stateName, second!.etag],
          { prepare: true },
        );
        await other.write({ key, value: bytes(9), etag: crypto.randomUUID(), lastWriteWins: true });
      };
      await assert.rejects(
        storage.write({ key, value: bytes(4), etag: ours, expectedEtag: second!.etag }),
        { code: "STORAGE_UNAVAILABLE" },
        "revision 4 could follow our own write: the outcome is unknown, not a conflict",
      );
    } finally {
      await other.close();
      await real.shutdown();
    }
  });

  test("cassandra: list skips deleted states and sweeps their old index entries", async () => {
    await ensureSchema();
    const client = newClient();
    const storage = cassandraStorage({ client, keyspace, indexGraceMs: 0 });
    try {
      const actorType = `sweep-${uid()}`;
      const written = [];
      for (let index = 0; index < 6; index++) {
        const key = { actorType, actorId: String(index), stateName: "s" };
        written.push({ key, ...(await storage.write({ key, value: bytes(index), etag: crypto.randomUUID(), expectedEtag: null })) });
      }
      for (const { key, etag } of written.slice(0, 3)) await storage.delete({ key, expectedEtag: etag });
      const page = await storage.list({ actorType, limit: 10 });
      assert.deepEqual(page.keys.map((key) => key.actorId), ["3", "4", "5"]);
      const index = await client.execute(
        `SELECT actor_id FROM ${keyspace}.quark_state_by_type WHERE actor_type = ? AND bucket IN ?`,
        [actorType, Array.from({ length: 16 }, (_, bucket) => bucket)],
        { prepare: true },
      );
      assert.deepEqual(index.rows.map((row) => row.actor_id).sort(), ["3", "4", "5"], "stale index entries were removed");
      await assert.rejects(storage.list({ actorType, cursor: "not a cursor" }), RangeError);
      await assert.rejects(storage.list({ actorType, cursor: "00ff" }), RangeError);
    } finally {
      await storage.close();
      await client.shutdown();
    }
  });

  test("cassandra: LOCAL_SERIAL works for writes and appends", async () => {
    await ensureSchema();
    const storage = cassandraStorage(storageOptions({ serialConsistency: "LOCAL_SERIAL" }));
    const events = cassandraEventStore(eventOptions({ serialConsistency: "LOCAL_SERIAL" }));
    try {
      const key = { actorType: `local-${uid()}`, actorId: "1", stateName: "s" };
      const first = await storage.write({ key, value: bytes(1), etag: crypto.randomUUID(), expectedEtag: null });
      await assert.rejects(storage.write({ key, value: bytes(2), etag: crypto.randomUUID(), expectedEtag: null }), { code: "STATE_CONFLICT" });
      assert.equal(await storage.delete({ key, expectedEtag: first.etag }), true);
      const stream = `local-${uid()}`;
      await events.append(stream, [{ type: "E", data: bytes(1) }], "no_stream");
      await assert.rejects(events.append(stream, [{ type: "E", data: bytes(2) }], 0), { code: "EVENT_STORE_CONFLICT" });
    } finally {
      await storage.close();
      await events.close();
    }
  });

  test("cassandra: keys over the limit and malformed keys are refused before any CQL", async () => {
    await ensureSchema();
    const sent: string[] = [];
    const real = newClient();
    const counting: CassandraClient = {
      execute: (query, params, options) => (sent.push(query), real.execute(query, params, options)),
      batch: (queries, options) => (sent.push("BATCH"), real.batch(queries, options)),
      shutdown: async () => {},
    };
    const storage = cassandraStorage({ client: counting, keyspace });
    const events = cassandraEventStore({ client: counting, keyspace });
    try {
      assert.equal(storage.capabilities.maxKeyBytes, 65_531);
      const long = { actorType: "t", actorId: "x".repeat(65_530), stateName: "s" };
      for (const action of [
        () => storage.read(long),
        () => storage.write({ key: long, value: bytes(1), etag: crypto.randomUUID(), expectedEtag: null }),
        () => storage.delete({ key: long, lastWriteWins: true }),
        () => storage.list({ actorType: "t", actorIdPrefix: long.actorId }),
        () => storage.read({ actorType: "t", actorId: "\uDC00", stateName: "s" }),
        () => storage.delete({ key: { actorType: "t", actorId: "a\0b", stateName: "s" }, expectedEtag: null }),
        () => storage.list({ actorType: "t\uD800" }),
        () => events.append("x".repeat(65_536), [{ type: "E", data: bytes() }], "any"),
        () => events.version(""),
        () => events.loadSnapshot("s\uD800"),
      ]) {
        await assert.rejects(action(), { code: "INVALID_KEY" });
      }
      assert.deepEqual(sent, [], "no CQL was sent");
      // A key right at the limit fits every table, the list index included.
      const actorType = `limit-${uid()}`;
      const atLimit = { actorType, actorId: "y".repeat(65_531 - actorType.length - 3), stateName: "s" };
      const { etag } = await storage.write({ key: atLimit, value: bytes(1), etag: crypto.randomUUID(), expectedEtag: null });
      assert.equal((await storage.read(atLimit))?.etag, etag);
      assert.deepEqual((await storage.list({ actorType })).keys, [atLimit]);
      // A refusal by the server itself is permanent input, not an outage.
      const refused = toQuarkError(Object.assign(new Error("Key length of 65536 is longer than maximum of 65535"), { code: 0x2200 }), "write");
      assert.ok(isQuarkError(refused, "INVALID_INPUT"), String(refused));
    } finally {
      await real.shutdown();
    }
  });

  test("cassandra: deleting an absent state with expectedEtag null returns false", async () => {
    await ensureSchema();
    const storage = cassandraStorage(storageOptions());
    try {
      const key = { actorType: `absent-${uid()}`, actorId: "1", stateName: "s" };
      assert.equal(await storage.delete({ key, expectedEtag: null }), false);
      await storage.write({ key, value: bytes(1), etag: crypto.randomUUID(), expectedEtag: null });
      await assert.rejects(storage.delete({ key, expectedEtag: null }), { code: "STATE_CONFLICT" });
    } finally {
      await storage.close();
    }
  });

  /** A client whose LWTs are all refused, each time with a row (or head) that moved again. */
  function movingClient(real: CassandraClient): CassandraClient & { lwts: number } {
    const client = {
      lwts: 0,
      execute(query: string, params?: readonly unknown[], options?: Parameters<CassandraClient["execute"]>[2]) {
        if (!/ IF /.test(query)) return real.execute(query, params, options);
        client.lwts++;
        return Promise.resolve({ rows: [{ "[applied]": false, etag: crypto.randomUUID(), revision: 1000 + client.lwts }] });
      },
      batch(queries: Parameters<CassandraClient["batch"]>[0], options?: Parameters<CassandraClient["batch"]>[1]) {
        if (!queries.some((entry) => / IF /.test(entry.query))) return real.batch(queries, options);
        client.lwts++;
        return Promise.resolve({ rows: [{ "[applied]": false, head_version: 1000 + client.lwts }] });
      },
      shutdown: async () => {},
    };
    return client;
  }

  test("cassandra: contention ends in ContentionError after the configured number of LWTs", async () => {
    await ensureSchema();
    const real = newClient();
    try {
      const moving = movingClient(real);
      const storage = cassandraStorage({ client: moving, keyspace, maxLwtAttempts: 4, lwtBackoffMs: 1, lwtMaxBackoffMs: 2 });
      const key = { actorType: `moving-${uid()}`, actorId: "1", stateName: "s" };
      await assert.rejects(
        storage.write({ key, value: bytes(1), etag: crypto.randomUUID(), lastWriteWins: true }),
        (error: Error & { code?: string; attempts?: number }) => {
          assert.equal(error.code, "CONTENTION", String(error));
          assert.equal(error.attempts, 4);
          return true;
        },
      );
      assert.equal(moving.lwts, 4, "exactly maxLwtAttempts LWTs were sent");
      moving.lwts = 0;
      const events = cassandraEventStore({ client: moving, keyspace, maxAnyAppendAttempts: 5, lwtBackoffMs: 1, lwtMaxBackoffMs: 2 });
      await assert.rejects(events.append(`moving-${uid()}`, [{ type: "E", data: bytes(1) }], "any"), { code: "CONTENTION", attempts: 5 });
      assert.equal(moving.lwts, 5, "exactly maxAnyAppendAttempts batches were sent");
      // An update whose every LWT times out unapplied is proven unapplied by the serial read
      // (the expected etag is still stored): contention, not an unknown outcome.
      const plain = cassandraStorage({ client: real, keyspace });
      const created = await plain.write({ key, value: bytes(1), etag: crypto.randomUUID(), expectedEtag: null });
      const timingOut = cassandraStorage({ client: flakyClient(real, "before", 1000), keyspace, maxLwtAttempts: 3, lwtBackoffMs: 1 });
      await assert.rejects(
        timingOut.write({ key, value: bytes(2), etag: crypto.randomUUID(), expectedEtag: created.etag }),
        { code: "CONTENTION", attempts: 3 },
      );
      assert.equal((await plain.read(key))?.etag, created.etag);
    } finally {
      await real.shutdown();
    }
  });

  test("cassandra: LWTs are never marked idempotent, so the driver never re-sends them blindly", async () => {
    await ensureSchema();
    const real = newClient({ queryOptions: { isIdempotent: true } });
    const seen: Array<{ lwt: boolean; idempotent: unknown }> = [];
    const recording: CassandraClient = {
      execute: (query, params, options) => (seen.push({ lwt: / IF /.test(query), idempotent: options?.isIdempotent }), real.execute(query, params, options)),
      batch: (queries, options) => (
        seen.push({ lwt: queries.some((entry) => / IF /.test(entry.query)), idempotent: options?.isIdempotent }), real.batch(queries, options)
      ),
      shutdown: async () => {},
    };
    const storage = cassandraStorage({ client: recording, keyspace });
    const events = cassandraEventStore({ client: recording, keyspace });
    try {
      const key = { actorType: `idem-${uid()}`, actorId: "1", stateName: "s" };
      const first = await storage.write({ key, value: bytes(1), etag: crypto.randomUUID(), expectedEtag: null });
      await storage.read(key);
      await storage.delete({ key, expectedEtag: first.etag });
      await events.append(`idem-${uid()}`, [{ type: "E", data: bytes(1) }], "any");
      await events.saveSnapshot(`idem-${uid()}`, { version: 1, data: bytes(1) });
      assert.ok(seen.some((entry) => entry.lwt) && seen.some((entry) => !entry.lwt));
      for (const entry of seen) assert.equal(entry.idempotent, !entry.lwt, JSON.stringify(entry));
    } finally {
      await real.shutdown();
    }
  });

  test("cassandra: expiry is judged by the server's clock, not the client's", async () => {
    await ensureSchema();
    const storage = cassandraStorage(storageOptions());
    const realNow = Date.now;
    try {
      const key = { actorType: `clock-${uid()}`, actorId: "1", stateName: "s" };
      const { etag } = await storage.write({ key, value: bytes(1), etag: crypto.randomUUID(), expectedEtag: null, ttlMs: 60_000 });
      const before = await storage.read(key);
      assert.ok(before?.expiresAt !== undefined && before.expiresAt > realNow() + 55_000 && before.expiresAt <= realNow() + 62_000);
      // A client clock an hour fast neither hides the state nor lets a create overwrite it.
      Date.now = () => realNow() + 3_600_000;
      assert.equal((await storage.read(key))?.etag, etag);
      await assert.rejects(storage.write({ key, value: bytes(2), etag: crypto.randomUUID(), expectedEtag: null }), { code: "STATE_CONFLICT" });
      Date.now = realNow;
      const short = { actorType: key.actorType, actorId: "2", stateName: "s" };
      await storage.write({ key: short, value: bytes(1), etag: crypto.randomUUID(), expectedEtag: null, ttlMs: 1000 });
      // A client clock an hour slow does not keep an expired state alive either.
      await new Promise((resolve) => setTimeout(resolve, 2100));
      Date.now = () => realNow() - 3_600_000;
      assert.equal(await storage.read(short), null);
      await storage.write({ key: short, value: bytes(2), etag: crypto.randomUUID(), expectedEtag: null });
    } finally {
      Date.now = realNow;
      await storage.close();
    }
  });

  test("cassandra: list merges the index buckets in id order, and one bucket reads a 0.1 index", async () => {
    await ensureSchema();
    const client = newClient();
    const storage = cassandraStorage({ client, keyspace });
    const single = cassandraStorage({ client, keyspace, listBuckets: 1 });
    try {
      const actorType = `buckets-${uid()}`;
      const ids = ["a", "b", "ab", "\u{1F600}", "\uFF21", "z", "a/b", "", "b0", "b1", "b2", "c"];
      for (const actorId of ids) {
        for (const stateName of ["x", "y"]) {
          await storage.write({ key: { actorType, actorId, stateName }, value: bytes(1), etag: crypto.randomUUID(), expectedEtag: null });
        }
      }
      const spread = await client.execute(
        `SELECT DISTINCT actor_type, bucket FROM ${keyspace}.quark_state_by_type`,
        [],
        { prepare: true },
      );
      assert.ok(spread.rows.filter((row) => row.actor_type === actorType).length > 1, "the type spans several index partitions");
      const listed: string[] = [];
      let cursor: string | undefined;
      do {
        const page = await storage.list({ actorType, limit: 3, cursor });
        assert.ok(page.keys.length <= 3);
        listed.push(...page.keys.map((key) => `${key.actorId}|${key.stateName}`));
        cursor = page.cursor;
      } while (cursor !== undefined);
      // Code point order, as Cassandra sorts text: U+FF21 before the emoji, unlike UTF-16 order.
      const codePoints = (text: string) => [...text].map((char) => char.codePointAt(0)!);
      const byCodePoints = (a: string, b: string) => {
        const [left, right] = [codePoints(a), codePoints(b)];
        for (let index = 0; index < Math.min(left.length, right.length); index++) if (left[index] !== right[index]) return left[index]! - right[index]!;
        return left.length - right.length;
      };
      const expected = [...ids].sort(byCodePoints).flatMap((id) => [`${id}|x`, `${id}|y`]);
      assert.deepEqual(listed, expected);
      const prefixed = await storage.list({ actorType, actorIdPrefix: "b", limit: 2 });
      assert.deepEqual(prefixed.keys.map((key) => `${key.actorId}|${key.stateName}`), ["b|x", "b|y"]);
      const rest = await storage.list({ actorType, actorIdPrefix: "b", limit: 10, cursor: prefixed.cursor });
      assert.deepEqual(rest.keys.map((key) => key.actorId), ["b0", "b0", "b1", "b1", "b2", "b2"]);
      assert.equal(rest.cursor, undefined);
      // An index written by 0.1 holds every entry in bucket 0; listBuckets: 1 reads it as it is.
      const legacyType = `legacy-${uid()}`;
      await single.write({ key: { actorType: legacyType, actorId: "q", stateName: "s" }, value: bytes(1), etag: crypto.randomUUID(), expectedEtag: null });
      const legacy = await client.execute(
        `SELECT bucket FROM ${keyspace}.quark_state_by_type WHERE actor_type = ? AND bucket = 0`,
        [legacyType],
        { prepare: true },
      );
      assert.equal(legacy.rows.length, 1);
      assert.deepEqual((await single.list({ actorType: legacyType })).keys.map((key) => key.actorId), ["q"]);
    } finally {
      await storage.close();
      await single.close();
      await client.shutdown();
    }
  });

  test("cassandra: events written in the 0.1 layout still read, and ensureSchema adds the new columns", async () => {
    const client = newClient();
    const eventsTable = `old_events_${uid()}`;
    const snapshotsTable = `old_snapshots_${uid()}`;
    // The 0.1 DDL and row layout: no metadata, no created_at.
    await client.execute(
      `CREATE TABLE ${keyspace}.${eventsTable} (stream text, version bigint, head_version bigint static, type text, ` +
        `data blob, append_id text, PRIMARY KEY ((stream), version))`,
      [],
    );
    const store = cassandraEventStore({ client, keyspace, eventsTable, snapshotsTable });
    try {
      const stream = `old-${uid()}`;
      await client.execute(
        `INSERT INTO ${keyspace}.${eventsTable} (stream, version, head_version, type, data, append_id) VALUES (?, 1, 1, 'Old', ?, 'a')`,
        [stream, Buffer.from([7, 8])],
        { prepare: true },
      );
      await store.ensureSchema();
      await store.append(stream, [{ type: "New", data: bytes(9), metadata: bytes(1, 2) }], 1);
      const read = [];
      for await (const event of store.read(stream)) read.push(event);
      assert.equal(read.length, 2);
      assert.deepEqual({ ...read[0]! }, { stream, version: 1, type: "Old", data: bytes(7, 8) }, "an old event reads without metadata or createdAt");
      assert.deepEqual(read[1]!.metadata, bytes(1, 2));
      assert.ok(read[1]!.createdAt instanceof Date);
    } finally {
      await client.execute(`DROP TABLE IF EXISTS ${keyspace}.${eventsTable}`, []);
      await client.execute(`DROP TABLE IF EXISTS ${keyspace}.${snapshotsTable}`, []);
      await store.close();
      await client.shutdown();
    }
  });

  test("cassandra: createdAt comes from the server's clock, not the client's", async () => {
    await ensureSchema();
    const store = cassandraEventStore(eventOptions());
    const realNow = Date.now;
    try {
      const stream = `clock-${uid()}`;
      Date.now = () => realNow() + 3_600_000;
      await store.append(stream, [{ type: "E", data: bytes(1) }], "no_stream");
      Date.now = realNow;
      for await (const event of store.read(stream)) {
        assert.ok(Math.abs(event.createdAt!.getTime() - realNow()) < 600_000, "not the client's shifted clock");
      }
    } finally {
      Date.now = realNow;
      await store.close();
    }
  });
}

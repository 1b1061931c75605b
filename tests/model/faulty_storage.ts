// Stand-ins for processes sharing one backend: each actor system reaches the real storage
// through its own wrapper, which lets the fast-check scheduler interleave every storage call
// and injects the faults a network gives: an outage before a write is sent, and a lost reply
// after it landed.
import fc from "fast-check";
import { StorageUnavailableError, type ActorSystem, type EventStore, type StateStorage } from "../../mod.ts";

/** A fault armed for a system's next write (or append) or read. */
export type Fault = "lost-reply" | "unavailable" | "read-unavailable";

/** The faults armed for one system, consumed in order by its next matching calls. */
export interface FaultQueue {
  readonly writes: Exclude<Fault, "read-unavailable">[];
  reads: number;
}

export function createFaultQueue(): FaultQueue {
  return { writes: [], reads: 0 };
}

export function arm(queue: FaultQueue, fault: Fault): void {
  if (fault === "read-unavailable") queue.reads++;
  else queue.writes.push(fault);
}

function outage(what: string): StorageUnavailableError {
  return new StorageUnavailableError("model", what, new Error(`injected ${what}`));
}

/** Runs `send` as a write that may fail before it is sent or lose its reply after it landed. */
async function faultyWrite<T>(scheduler: fc.Scheduler, queue: FaultQueue, label: string, send: () => Promise<T>): Promise<T> {
  await scheduler.schedule(Promise.resolve(), label);
  const fault = queue.writes.shift();
  if (fault === "unavailable") throw outage("outage before send");
  const result = await send();
  if (fault === "lost-reply") throw outage("lost reply");
  return result;
}

async function faultyRead<T>(scheduler: fc.Scheduler, queue: FaultQueue, label: string, send: () => Promise<T>): Promise<T> {
  await scheduler.schedule(Promise.resolve(), label);
  if (queue.reads > 0) {
    queue.reads--;
    throw outage("read outage");
  }
  return send();
}

/** One system's view of the shared storage. */
export function faultyStorage(inner: StateStorage, scheduler: fc.Scheduler, queue: FaultQueue): StateStorage {
  return {
    name: inner.name,
    capabilities: inner.capabilities,
    read: (key) => faultyRead(scheduler, queue, `read ${key.stateName}`, () => inner.read(key)),
    write: (request) => faultyWrite(scheduler, queue, `write ${request.key.stateName}`, () => inner.write(request)),
    delete: (request) => faultyWrite(scheduler, queue, `delete ${request.key.stateName}`, () => inner.delete(request)),
    list: (request) => inner.list(request),
    transact: (operations) => faultyWrite(scheduler, queue, "transact", () => inner.transact(operations)),
    close: () => Promise.resolve(),
  };
}

/** One system's view of the shared event store. */
export function faultyEventStore(inner: EventStore, scheduler: fc.Scheduler, queue: FaultQueue): EventStore {
  return {
    name: inner.name,
    capabilities: inner.capabilities,
    read: (stream, options) => inner.read(stream, options),
    readAll: (options) => inner.readAll(options),
    version: (stream) => inner.version(stream),
    saveSnapshot: (stream, snapshot) => inner.saveSnapshot(stream, snapshot),
    append: (stream, events, expected) => faultyWrite(scheduler, queue, `append ${events.length}`, () => inner.append(stream, events, expected)),
    loadSnapshot: (stream) => faultyRead(scheduler, queue, "load snapshot", () => inner.loadSnapshot(stream)),
    close: () => Promise.resolve(),
  };
}

/** A command that arms a fault on one system's next matching storage call. */
export class FaultCommand implements fc.AsyncCommand<object, { readonly faults: FaultQueue[] }> {
  readonly system: number;
  readonly fault: Fault;
  constructor(system: number, fault: Fault) {
    this.system = system;
    this.fault = fault;
  }
  check(): boolean {
    return true;
  }
  async run(_model: object, real: { readonly faults: FaultQueue[] }): Promise<void> {
    arm(real.faults[this.system % real.faults.length]!, this.fault);
  }
  toString(): string {
    return `fault(system ${this.system}, ${this.fault})`;
  }
}

/**
 * Plays one generated history: the commands start calls without awaiting them, the scheduler
 * drives every call to its end in the order it picks, then the systems shut down.
 */
export async function playHistory(
  scheduler: fc.Scheduler,
  commands: Iterable<fc.AsyncCommand<object, { readonly settled: Promise<unknown>[] }>>,
  real: { readonly settled: Promise<unknown>[] },
  systems: readonly ActorSystem[],
): Promise<void> {
  try {
    await fc.asyncModelRun(() => ({ model: {}, real }), commands);
    await scheduler.waitFor(Promise.all(real.settled));
  } finally {
    await scheduler.waitFor(Promise.all(systems.map((system) => system.shutdown())));
  }
}

/** Runs tasks one at a time, in arrival order. */
export interface Mailbox {
  /** Queues a task; resolves or rejects with its outcome. A failed task never blocks later ones. */
  run<T>(task: () => Promise<T>): Promise<T>;
  /** How many tasks are queued or running. */
  readonly depth: number;
}

/** Creates an empty {@linkcode Mailbox}. */
export function createMailbox(): Mailbox {
  let tail: Promise<unknown> = Promise.resolve();
  let depth = 0;
  const finished = () => {
    depth--;
  };
  return {
    run<T>(task: () => Promise<T>): Promise<T> {
      depth++;
      const result = tail.then(task);
      // One settled-either-way promise for the next task to wait on; it is registered first,
      // so `depth` already counts this task out when the caller resumes.
      tail = result.then(finished, finished);
      return result;
    },
    get depth() {
      return depth;
    },
  };
}

// Up to this many objects a list beats a Set: a Set must give each fresh object an identity
// hash, which V8 stores on the object itself (one more allocation per object copied or
// encoded), while a short scan touches nothing.
const LIST_LIMIT = 32;

/** The objects one walk of a value has met, to find cycles and shared references. */
export class SeenObjects {
  readonly #list: object[] = [];
  #set: Set<object> | undefined;

  /** Records `node`; false when the walk met it before. */
  add(node: object): boolean {
    if (this.#set) {
      if (this.#set.has(node)) return false;
      this.#set.add(node);
      return true;
    }
    if (this.#list.includes(node)) return false;
    this.#list.push(node);
    if (this.#list.length > LIST_LIMIT) this.#set = new Set(this.#list);
    return true;
  }

  clear(): void {
    this.#list.length = 0;
    this.#set = undefined;
  }
}

let idle: SeenObjects | undefined = new SeenObjects();

/**
 * Runs `walk` with an empty {@linkcode SeenObjects}. One instance serves every walk in turn,
 * which saves an allocation per walk; a walk started inside another (a getter that copies
 * state, say) gets one of its own.
 */
export function withSeenObjects<R>(walk: (seen: SeenObjects) => R): R {
  const seen = idle ?? new SeenObjects();
  idle = undefined;
  try {
    return walk(seen);
  } finally {
    seen.clear();
    idle = seen;
  }
}

/**
 * A sorted set of strings kept as a list of small sorted blocks, so an insert or delete moves
 * at most one block's worth of entries and a range scan starts with two binary searches. The
 * memory storage keeps one beside its `Map`, so a `list()` page costs what the page holds,
 * not what the whole store holds. Order is JavaScript's `<` on strings, as the storage's
 * cursors compare.
 *
 * @module
 */

// Blocks split at twice this size; 512 keeps both the block search and the splice short at
// a million keys.
const BLOCK_SIZE = 512;

/** The sorted set the memory storage lists from. */
export interface SortedKeys {
  /** Adds `key`; adding a present key does nothing. */
  add(key: string): void;
  /** Removes `key`; removing an absent key does nothing. */
  delete(key: string): void;
  /** The keys after `bound` in order, `bound` itself included when `inclusive`. */
  from(bound: string, inclusive: boolean): IterableIterator<string>;
}

// The first of `count` ascending entries that is not below `key` (inclusive) or above it.
function search(count: number, entryAt: (index: number) => string, key: string, inclusive: boolean): number {
  let low = 0;
  let high = count;
  while (low < high) {
    const middle = (low + high) >>> 1;
    const entry = entryAt(middle);
    if (inclusive ? entry < key : entry <= key) low = middle + 1;
    else high = middle;
  }
  return low;
}

function searchIn(entries: readonly string[], key: string, inclusive: boolean): number {
  return search(entries.length, (index) => entries[index]!, key, inclusive);
}

/**
 * Creates an empty {@linkcode SortedKeys}.
 *
 * @returns The set.
 */
export function sortedKeys(): SortedKeys {
  const blocks: string[][] = [];
  // Counts adds and deletes, so a scan knows when its place may have moved.
  let changes = 0;

  // The first block whose last key is not below `key` (or above it, when exclusive).
  function blockFor(key: string, inclusive: boolean): number {
    return search(blocks.length, (index) => blocks[index]!.at(-1)!, key, inclusive);
  }

  return {
    add(key) {
      if (blocks.length === 0) {
        blocks.push([key]);
        changes++;
        return;
      }
      const index = Math.min(blockFor(key, true), blocks.length - 1);
      const block = blocks[index]!;
      const at = searchIn(block, key, true);
      if (block[at] === key) return;
      block.splice(at, 0, key);
      changes++;
      if (block.length >= 2 * BLOCK_SIZE) blocks.splice(index + 1, 0, block.splice(BLOCK_SIZE));
    },
    delete(key) {
      const index = blockFor(key, true);
      const block = blocks[index];
      if (block === undefined) return;
      const at = searchIn(block, key, true);
      if (block[at] !== key) return;
      block.splice(at, 1);
      changes++;
      if (block.length === 0) blocks.splice(index, 1);
    },
    *from(bound, inclusive) {
      let index = blockFor(bound, inclusive);
      if (index === blocks.length) return;
      let at = searchIn(blocks[index]!, bound, inclusive);
      while (index < blocks.length) {
        const key = blocks[index]![at]!;
        const seen = changes;
        yield key;
        if (changes === seen) {
          // Nothing moved: step to the next entry.
          if (++at === blocks[index]!.length) [index, at] = [index + 1, 0];
          continue;
        }
        // The caller changed the set (an expired key is deleted while a page is read): find
        // the place again from the last key yielded.
        index = blockFor(key, false);
        if (index === blocks.length) return;
        at = searchIn(blocks[index]!, key, false);
      }
    },
  };
}

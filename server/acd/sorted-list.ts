/**
 * An ordered collection kept as a list of sorted chunks (as in Python's
 * sortedcontainers): insert and delete cost O(log n + chunk size), the
 * smallest element is O(1), in-order iteration is plain. The comparator must
 * be a total order: two elements comparing 0 are the same element.
 */
export interface SortedList<T> {
  readonly size: number;
  add(value: T): void;
  /** Removes the element comparing equal to `value`; false when absent. */
  delete(value: T): boolean;
  first(): T | undefined;
  /** How many elements sort strictly before `probe`. */
  countBefore(probe: T): number;
  [Symbol.iterator](): Iterator<T>;
}

const LOAD = 128;

class ChunkedSortedList<T> implements SortedList<T> {
  private chunks: T[][] = [];
  private count = 0;

  constructor(private readonly cmp: (a: T, b: T) => number) {}

  get size(): number {
    return this.count;
  }

  /** Index of the first chunk whose last element is >= value (or the last chunk). */
  private chunkFor(value: T): number {
    const chunks = this.chunks;
    let lo = 0;
    let hi = chunks.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const c = chunks[mid]!;
      if (this.cmp(c[c.length - 1]!, value) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  private static lowerBound<U>(arr: U[], value: U, cmp: (a: U, b: U) => number): number {
    let lo = 0;
    let hi = arr.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (cmp(arr[mid]!, value) < 0) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  add(value: T): void {
    this.count++;
    if (this.chunks.length === 0) {
      this.chunks.push([value]);
      return;
    }
    const ci = this.chunkFor(value);
    const chunk = this.chunks[ci]!;
    chunk.splice(ChunkedSortedList.lowerBound(chunk, value, this.cmp), 0, value);
    if (chunk.length > 2 * LOAD) this.chunks.splice(ci + 1, 0, chunk.splice(LOAD));
  }

  delete(value: T): boolean {
    if (this.chunks.length === 0) return false;
    const ci = this.chunkFor(value);
    const chunk = this.chunks[ci]!;
    const i = ChunkedSortedList.lowerBound(chunk, value, this.cmp);
    if (i >= chunk.length || this.cmp(chunk[i]!, value) !== 0) return false;
    chunk.splice(i, 1);
    this.count--;
    if (chunk.length === 0) this.chunks.splice(ci, 1);
    else if (chunk.length < LOAD / 4 && ci + 1 < this.chunks.length) {
      const next = this.chunks[ci + 1]!;
      if (chunk.length + next.length <= 2 * LOAD) {
        for (const v of next) chunk.push(v);
        this.chunks.splice(ci + 1, 1);
      }
    }
    return true;
  }

  first(): T | undefined {
    return this.chunks[0]?.[0];
  }

  countBefore(probe: T): number {
    let n = 0;
    for (const chunk of this.chunks) {
      if (this.cmp(chunk[chunk.length - 1]!, probe) < 0) {
        n += chunk.length;
        continue;
      }
      return n + ChunkedSortedList.lowerBound(chunk, probe, this.cmp);
    }
    return n;
  }

  *[Symbol.iterator](): Iterator<T> {
    for (const chunk of this.chunks) yield* chunk;
  }
}

export const createSortedList = <T>(cmp: (a: T, b: T) => number): SortedList<T> => new ChunkedSortedList(cmp);

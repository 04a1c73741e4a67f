/** A binary min-heap under a total-order comparator (ties must be broken by the comparator). */
export interface MinHeap<T> {
  readonly size: number;
  push(value: T): void;
  peek(): T | undefined;
  pop(): T | undefined;
  /** All elements, in no particular order. */
  values(): readonly T[];
}

export function createMinHeap<T>(cmp: (a: T, b: T) => number): MinHeap<T> {
  const a: T[] = [];
  const up = (i: number): void => {
    const v = a[i]!;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (cmp(v, a[p]!) >= 0) break;
      a[i] = a[p]!;
      i = p;
    }
    a[i] = v;
  };
  const down = (i: number): void => {
    const n = a.length;
    const v = a[i]!;
    for (;;) {
      const l = 2 * i + 1;
      if (l >= n) break;
      const r = l + 1;
      const c = r < n && cmp(a[r]!, a[l]!) < 0 ? r : l;
      if (cmp(a[c]!, v) >= 0) break;
      a[i] = a[c]!;
      i = c;
    }
    a[i] = v;
  };
  return {
    get size() {
      return a.length;
    },
    push(value) {
      a.push(value);
      up(a.length - 1);
    },
    peek: () => a[0],
    pop() {
      if (a.length === 0) return undefined;
      const top = a[0]!;
      const last = a.pop()!;
      if (a.length > 0) {
        a[0] = last;
        down(0);
      }
      return top;
    },
    values: () => a,
  };
}

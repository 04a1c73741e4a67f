/**
 * Agent sets as bit arrays indexed by agent ordinal. All sets of one router
 * share a word count held by a {@link BitsetPool}; when agents outgrow it the
 * pool widens every set in place (the wrapper object stays, `w` is replaced).
 * Intersecting a task's eligible agents with the agents available for its
 * channel is then one pass over ~N/32 words, whatever the skills or queues.
 */
export interface Bits {
  w: Uint32Array;
}

export interface BitsetPool {
  readonly words: number;
  create(): Bits;
  /** Makes room for agent ordinal `ord`. */
  ensure(ord: number): void;
}

export function createBitsetPool(initialWords = 4): BitsetPool {
  let words = initialWords;
  const all: Bits[] = [];
  return {
    get words() {
      return words;
    },
    create() {
      const b: Bits = { w: new Uint32Array(words) };
      all.push(b);
      return b;
    },
    ensure(ord) {
      if (ord < words * 32) return;
      let next = words;
      while (ord >= next * 32) next *= 2;
      for (const b of all) {
        const w = new Uint32Array(next);
        w.set(b.w);
        b.w = w;
      }
      words = next;
    },
  };
}

export const setBit = (b: Bits, i: number): void => {
  b.w[i >>> 5]! |= 1 << (i & 31);
};

export const clearBit = (b: Bits, i: number): void => {
  b.w[i >>> 5]! &= ~(1 << (i & 31));
};

export const hasBit = (b: Bits, i: number): boolean => (b.w[i >>> 5]! & (1 << (i & 31))) !== 0;

/** Calls `fn` with every ordinal set in both `a` and `b`, in ascending order. */
export function forEachAnd(a: Bits, b: Bits, fn: (ord: number) => void): void {
  const aw = a.w;
  const bw = b.w;
  const n = aw.length;
  for (let i = 0; i < n; i++) {
    let x = aw[i]! & bw[i]!;
    while (x !== 0) {
      const t = x & -x;
      fn((i << 5) + 31 - Math.clz32(t));
      x ^= t;
    }
  }
}

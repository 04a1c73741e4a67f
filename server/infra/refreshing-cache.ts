/**
 * A small read-through cache for configuration read on every call (an entry point, say) that
 * another process may change. A value is trusted for `trustMs` after it was read; from a quarter
 * of that it is read again in the background, so under steady use no caller waits for the
 * database. Past its trust it is still served while a read is on its way (at most
 * `staleWhileLoadingMs` longer): a database under load can take seconds to answer, and every call
 * would wait for it at once. One read per key at a time; `invalidate` (a write through this
 * process) drops a key at once, and a read started before it never puts back the older value.
 */
export interface RefreshingCacheOptions<K, V> {
  load(key: K): Promise<V>;
  now(): number;
  trustMs: number;
  staleWhileLoadingMs: number;
  /** Keys kept at most (the oldest read go first). Default 10,000. */
  maxKeys?: number;
}

export interface RefreshingCache<K, V> {
  get(key: K): Promise<V>;
  invalidate(key: K): void;
  size(): number;
}

interface Slot<V> {
  value?: { v: V; readAt: number };
  loading?: Promise<V>;
  generation: number;
}

export function createRefreshingCache<K, V>(o: RefreshingCacheOptions<K, V>): RefreshingCache<K, V> {
  const slots = new Map<K, Slot<V>>();
  const maxKeys = o.maxKeys ?? 10_000;
  let generation = 0;

  function read(key: K, slot: Slot<V>): Promise<V> {
    if (slot.loading) return slot.loading;
    const startedAt = o.now();
    const gen = slot.generation;
    const loading = o
      .load(key)
      .then((v) => {
        if (slots.get(key) === slot && slot.generation === gen) slot.value = { v, readAt: startedAt };
        return v;
      })
      .finally(() => {
        if (slot.loading === loading) slot.loading = undefined;
      });
    slot.loading = loading;
    return loading;
  }

  return {
    get(key) {
      let slot = slots.get(key);
      if (!slot) {
        if (slots.size >= maxKeys) slots.delete(slots.keys().next().value as K);
        slot = { generation: ++generation };
        slots.set(key, slot);
      }
      const at = o.now();
      const cached = slot.value;
      if (cached) {
        const age = at - cached.readAt;
        if (age < o.trustMs) {
          if (age >= o.trustMs / 4 && !slot.loading) read(key, slot).catch(() => undefined);
          return Promise.resolve(cached.v);
        }
        if (slot.loading && age < o.trustMs + o.staleWhileLoadingMs) return Promise.resolve(cached.v);
      }
      return read(key, slot);
    },
    invalidate(key) {
      const slot = slots.get(key);
      if (!slot) return;
      slot.generation = ++generation;
      slot.value = undefined;
      slot.loading = undefined;
    },
    size: () => slots.size,
  };
}

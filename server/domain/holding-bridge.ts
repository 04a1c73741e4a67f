/**
 * Which of a queue's holding bridges a waiting caller is in. Asterisk moves one channel at a time
 * in or out of a bridge and plays a holding bridge's music to every member from one thread, so a
 * queue's callers are spread over several bridges. The bridge follows from the call's id alone:
 * every process (and this one after a restart) finds a caller's bridge without a record of it.
 */

/** The caller's shard in [0, shards): FNV-1a of the id, the same in every process and release. */
export function holdingShard(callId: string, shards: number): number {
  const n = Math.max(1, Math.floor(shards));
  if (n === 1) return 0;
  let h = 0x811c9dc5;
  for (let i = 0; i < callId.length; i++) {
    h ^= callId.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) % n;
}

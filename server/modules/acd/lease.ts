import type { Redis } from '../../infra/redis.js';

/**
 * A partition lease in Redis with a fencing token. One router holds the lease
 * of a partition; it renews it well before it expires, and every write it makes
 * is checked against the token in the same Lua script, so a paused or cut-off
 * former holder can never emit a decision after a standby took over.
 */
export interface LeaseHandle {
  readonly token: number;
  readonly value: string;
}

const ACQUIRE = `
if redis.call('SET', KEYS[1], 'pending', 'NX', 'PX', ARGV[2]) then
  local token = redis.call('INCR', KEYS[2])
  local value = ARGV[1] .. ':' .. token
  redis.call('SET', KEYS[1], value, 'PX', ARGV[2])
  return value
end
return false`;

const RENEW = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
return 0`;

const RELEASE = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0`;

export interface Lease {
  tryAcquire(): Promise<LeaseHandle | undefined>;
  renew(handle: LeaseHandle): Promise<boolean>;
  release(handle: LeaseHandle): Promise<void>;
  holder(): Promise<string | null>;
}

export function createLease(redis: Redis, opts: { key: string; owner: string; ttlMs: number }): Lease {
  const fenceKey = `${opts.key}:fence`;
  return {
    async tryAcquire() {
      const value = (await redis.eval(ACQUIRE, 2, opts.key, fenceKey, opts.owner, String(opts.ttlMs))) as string | null;
      if (!value) return undefined;
      return { value, token: Number(value.slice(value.lastIndexOf(':') + 1)) };
    },
    async renew(handle) {
      return Number(await redis.eval(RENEW, 1, opts.key, handle.value, String(opts.ttlMs))) === 1;
    },
    async release(handle) {
      await redis.eval(RELEASE, 1, opts.key, handle.value);
    },
    holder: () => redis.get(opts.key),
  };
}

import { Redis } from 'ioredis';

export type { Redis };

export interface RedisConfig {
  url: string;
  prefix: string;
}

/**
 * A Redis client for our own keys. Commands fail fast while Redis is
 * unreachable (no unbounded offline queue) so callers see an error they can
 * map to 503 rather than a request that hangs.
 */
export function createRedis(config: RedisConfig, name: string): Redis {
  return new Redis(config.url, {
    connectionName: `ipcc-${name}`,
    keyPrefix: config.prefix,
    maxRetriesPerRequest: 2,
    connectTimeout: 5000,
    commandTimeout: 5000,
    enableOfflineQueue: true,
    retryStrategy: (times) => Math.min(100 * 2 ** Math.min(times, 6), 5000),
    lazyConnect: false,
  });
}

export async function pingRedis(redis: Redis): Promise<void> {
  const reply = await redis.ping();
  if (reply !== 'PONG') throw new Error(`unexpected PING reply ${reply}`);
}

/**
 * The MariaDB and Redis every machine of ours runs (see docker/local/stack.sh), and clean-up of
 * a test's own Redis keys. Imports nothing of the server, so the voice benchmark (which runs a
 * snapshot of the server, not the work tree) can use it too.
 */
import { Redis } from 'ioredis';

export const MYSQL_BASE = process.env.IPCC_TEST_MYSQL_BASE ?? 'mysql://root@127.0.0.1:3306';
export const REDIS_URL = process.env.IPCC_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379/0';

/** Deletes every Redis key under a test's own prefix (never anything else). */
export async function deleteKeys(prefix: string): Promise<void> {
  const redis = new Redis(REDIS_URL, { maxRetriesPerRequest: 1 });
  try {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 500);
      cursor = next;
      if (keys.length > 0) await redis.del(...keys);
    } while (cursor !== '0');
  } finally {
    redis.disconnect();
  }
}

import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import { Redis } from 'ioredis';
import type { ResultSetHeader } from 'mysql2';
import { loadConfig, type Config } from '../../config/index.js';
import { buildApp, type BuildAppOptions } from '../../server/app.js';
import { telephonyFromConfig } from '../../server/telephony/from-config.js';
import { createLogger, createSilentLogger } from '../../server/infra/logger.js';
import { dropDatabase } from '../../server/infra/mysql.js';
import { hashPassword } from '../../server/infra/passwords.js';
import type { UserRole } from '../../server/domain/principal.js';

/** The MariaDB and Redis every machine of ours runs (see docker/local/stack.sh). */
export const MYSQL_BASE = process.env.IPCC_TEST_MYSQL_BASE ?? 'mysql://root@127.0.0.1:3306';
export const REDIS_URL = process.env.IPCC_TEST_REDIS_URL ?? 'redis://127.0.0.1:6379/0';

export const uniqueId = (prefix = 't'): string => `${prefix}${Date.now().toString(36)}${randomBytes(4).toString('hex')}`;

interface Teardown {
  teardown(fn: () => unknown): void;
}

/** A config for one test: its own database and its own Redis key prefix. */
export function testConfig(env: Record<string, string> = {}): Config {
  const id = uniqueId();
  return loadConfig({
    env: {
      IPCC_MYSQL_URL: `${MYSQL_BASE}/ipcc_${id}`,
      IPCC_REDIS_PREFIX: `ipcc-test:${id}:`,
      IPCC_REDIS_URL: REDIS_URL,
      IPCC_AUTH_TOKEN_SECRET: randomBytes(32).toString('hex'),
      IPCC_MIGRATE_ON_START: 'true',
      IPCC_LOG_LEVEL: 'silent',
      ...env,
    },
  });
}

/**
 * Builds the real app on a fresh database (migrated on start) and a private
 * Redis prefix; closes it, drops the database and deletes the keys afterwards.
 */
export async function buildTestApp(t: Teardown, env: Record<string, string> = {}, opts: Partial<BuildAppOptions> = {}): Promise<FastifyInstance> {
  return readyWithTeardown(t, testConfig(env), (config) => buildApp(config, { logger: createSilentLogger(), ...opts }));
}

/** Builds, registers the clean-up (close, delete the test's keys, drop its database), waits until ready. */
async function readyWithTeardown(t: Teardown, config: Config, build: (config: Config) => Promise<FastifyInstance>): Promise<FastifyInstance> {
  const app = await build(config);
  t.teardown(async () => {
    await app.close();
    await deleteKeys(config.redis.prefix);
    await dropDatabase(config.mysql.url);
  });
  await app.ready();
  return app;
}

/**
 * Like {@link buildTestApp}, with the ARI connections and call control of the configured Asterisk.
 * The endpoint reconciler is not started: every test database has tenant 1, and tests share one
 * Asterisk, so a reconcile would remove the other tests' `agent-1-*` endpoints.
 */
export async function buildTestAppWithTelephony(t: Teardown, env: Record<string, string>): Promise<FastifyInstance> {
  return readyWithTeardown(t, testConfig(env), (config) => {
    // The server's log (info and up) is kept for the test to show when a call fails;
    // IPCC_TEST_LOG=debug also prints it on stderr.
    const logger = createLogger({ level: process.env.IPCC_TEST_LOG ?? 'info' }, {
      write(line: string) {
        serverLog.push(line);
        if (serverLog.length > 500) serverLog.shift();
        if (process.env.IPCC_TEST_LOG) process.stderr.write(line);
      },
    });
    const { port, calls, agentEndpoints } = telephonyFromConfig(config, logger);
    return buildApp(config, { logger, telephony: port, calls, agentEndpoints });
  });
}

/** The last lines the telephony test app logged (see {@link buildTestAppWithTelephony}). */
export const serverLog: string[] = [];

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

/** Inserts a user straight into the database (bypassing the API) and returns its credentials. */
export async function seedUser(app: FastifyInstance, roles: UserRole[], username = uniqueId('u')): Promise<{ id: string; username: string; password: string }> {
  const password = `pw-${randomBytes(9).toString('base64url')}`;
  const [res] = await app.mysql.query<ResultSetHeader>(
    'INSERT INTO users (tenant_id, username, password_hash, roles) VALUES (?, ?, ?, ?)',
    [app.tenantId, username, await hashPassword(password), roles.join(',')],
  );
  return { id: String(res.insertId), username, password };
}

export async function loginAs(app: FastifyInstance, roles: UserRole[]): Promise<{ token: string; user: { id: string; username: string; password: string } }> {
  const user = await seedUser(app, roles);
  const res = await app.inject({ method: 'POST', url: '/v1/auth/login', payload: { username: user.username, password: user.password } });
  if (res.statusCode !== 200) throw new Error(`login failed: ${res.statusCode} ${res.body}`);
  return { token: (res.json() as { token: string }).token, user };
}

export const bearer = (token: string): Record<string, string> => ({ authorization: `Bearer ${token}` });

/** Polls until `fn` returns a truthy value, failing after `timeoutMs`. */
export async function eventually<T>(fn: () => Promise<T | undefined | false | null>, timeoutMs = 5000, intervalMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

import { randomBytes } from 'node:crypto';
import type { FastifyInstance } from 'fastify';
import type { ResultSetHeader } from 'mysql2';
import { loadConfig, type Config } from '../../config/index.js';
import { buildApp, type BuildAppOptions } from '../../server/app.js';
import { telephonyFromConfig } from '../../server/telephony/from-config.js';
import { createLogger, createSilentLogger } from '../../server/infra/logger.js';
import { dropDatabase } from '../../server/infra/mysql.js';
import { hashPassword } from '../../server/infra/passwords.js';
import type { UserRole } from '../../server/domain/principal.js';

import { MYSQL_BASE, REDIS_URL, deleteKeys } from './local-services.js';

export { MYSQL_BASE, REDIS_URL, deleteKeys } from './local-services.js';

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

/**
 * The app on a real Asterisk with a Stasis application of its own (`appName`), a short router
 * lease, and `env` on top; resolves once ARI is up and this app's router leads.
 */
export async function buildVoiceTestApp(
  t: Teardown,
  asterisk: { ariUrl: string; ariUser: string; ariPassword: string },
  appName: string,
  env: Record<string, string> = {},
  serverName = 'main',
): Promise<FastifyInstance> {
  const app = await buildTestAppWithTelephony(t, {
    IPCC_ASTERISK_SERVERS: `${serverName}=${asterisk.ariUrl.replace('://', `://${asterisk.ariUser}:${asterisk.ariPassword}@`)}`,
    IPCC_ARI_APP: appName,
    IPCC_ROUTER_LEASE_MS: '1000',
    ...env,
  });
  await eventually(async () => app.telephony?.health().every((h) => h.up), 10_000);
  await eventually(async () => app.router?.isLeader(), 5000);
  return app;
}

type Method = 'GET' | 'PUT' | 'POST' | 'DELETE';

/** JSON calls into the app with fixed headers: `api` answers as is, `must` throws on a status of 300 or more. */
export function jsonApi(app: FastifyInstance, headers: Record<string, string>) {
  const api = (method: Method, url: string, payload?: object) => app.inject({ method, url, headers, ...(payload ? { payload } : {}) });
  const must = async (method: Method, url: string, payload?: object) => {
    const r = await api(method, url, payload);
    if (r.statusCode >= 300) throw new Error(`${method} ${url} → ${r.statusCode} ${r.body}`);
    return r.json();
  };
  return { api, must };
}

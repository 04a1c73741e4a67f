import type { Pool } from '../../infra/mysql.js';
import { pingMysql } from '../../infra/mysql.js';
import type { Redis } from '../../infra/redis.js';
import { pingRedis } from '../../infra/redis.js';
import type { TelephonyPort } from '../../infra/plugins/resources.js';

export interface CheckResult {
  name: string;
  up: boolean;
  latencyMs?: number;
  detail?: string;
}

export interface Readiness {
  ready: boolean;
  checks: { mysql: CheckResult; redis: CheckResult; asterisk: CheckResult[] };
}

async function timed(name: string, timeoutMs: number, fn: () => Promise<void>): Promise<CheckResult> {
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      fn(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
      }),
    ]);
    return { name, up: true, latencyMs: Math.round((performance.now() - started) * 10) / 10 };
  } catch (e) {
    return { name, up: false, detail: (e as Error).message };
  } finally {
    clearTimeout(timer);
  }
}

/** Readiness: each dependency reported separately, each check bounded by a timeout. */
export function createHealthService(deps: { mysql: Pool; redis: Redis; telephony: TelephonyPort | undefined; timeoutMs: number }) {
  return {
    async readiness(): Promise<Readiness> {
      const [mysql, redis] = await Promise.all([
        timed('mysql', deps.timeoutMs, () => pingMysql(deps.mysql, deps.timeoutMs)),
        timed('redis', deps.timeoutMs, () => pingRedis(deps.redis)),
      ]);
      const asterisk: CheckResult[] = (deps.telephony?.health() ?? []).map((h) => ({
        name: h.name,
        up: h.up,
        detail: h.detail ?? (h.up ? `connected since ${h.since}` : `down since ${h.since}`),
      }));
      return { ready: mysql.up && redis.up && asterisk.every((a) => a.up), checks: { mysql, redis, asterisk } };
    },
  };
}

export type HealthService = ReturnType<typeof createHealthService>;

import fp from 'fastify-plugin';
import type { FastifyInstance } from 'fastify';
import type { Config } from '../../../config/index.js';
import { createEventBus, type EventBus } from '../events.js';
import { createJobRuntime, type JobRuntime } from '../jobs/runtime.js';
import { migrate } from '../migrate.js';
import { createBatchWriter, type BatchWriter } from '../batch-writer.js';
import { createMysqlPool, ensureDatabase, type Pool, type RowDataPacket } from '../mysql.js';
import { createRedis, type Redis } from '../redis.js';
import type { Clock } from '../clock.js';
import type { Principal } from '../../domain/principal.js';

/** What telephony offers the rest of the app: readiness and lifecycle. */
export interface TelephonyPort {
  start(): Promise<void>;
  stop(): Promise<void>;
  health(): Array<{ name: string; up: boolean; since: string; detail?: string }>;
}

/** What the rest of the app may ask of this process's ACD router. */
export interface RouterStatus {
  isLeader(): boolean;
  stats(): { leader: boolean; cursor: string; applied: number; lastTakeoverMs: number | undefined };
}

declare module 'fastify' {
  interface FastifyInstance {
    config: Config;
    clock: Clock;
    mysql: Pool;
    /** Batched writes of live calls' records (see batch-writer.ts). */
    mysqlWrites: BatchWriter;
    /**
     * Connections that take several statements per query, for a transaction sent in one round
     * trip (its statements formatted with escaped parameters, as every query here is).
     */
    mysqlScripts: Pool;
    redis: Redis;
    events: EventBus;
    jobs: JobRuntime;
    tenantId: number;
    telephony: TelephonyPort | undefined;
    /** The ACD router runner of this process, when IPCC_ROUTER is on. */
    router?: RouterStatus;
  }
  interface FastifyRequest {
    principal: Principal | undefined;
  }
}

export const MIGRATIONS_DIR = new URL('../../../migrations/', import.meta.url).pathname;

export const mysqlPlugin = fp(
  async (app: FastifyInstance) => {
    if (app.config.mysql.migrateOnStart) {
      await ensureDatabase(app.config.mysql.url);
      const result = await migrate({ url: app.config.mysql.url, dir: MIGRATIONS_DIR, logger: app.log });
      app.log.info({ applied: result.applied.length, version: result.current }, 'migrations checked');
    }
    const pool = createMysqlPool(app.config.mysql);
    app.decorate('mysql', pool);
    const writes = createBatchWriter({ url: app.config.mysql.url, log: app.log });
    app.decorate('mysqlWrites', writes);
    const scripts = createMysqlPool({ ...app.config.mysql, poolSize: Math.min(4, app.config.mysql.poolSize), multipleStatements: true });
    app.decorate('mysqlScripts', scripts);
    app.addHook('onClose', async () => {
      await writes.close().catch((err: unknown) => app.log.warn({ err }, 'could not flush the batched writes'));
      await Promise.all([pool.end(), scripts.end()]);
    });
    // The tenant named in config must exist; a fresh database has "default".
    const name = app.config.tenant;
    await pool.query('INSERT IGNORE INTO tenants (name) VALUES (?)', [name]).catch((err: unknown) => {
      throw new Error(`database is not migrated (run \`ipcc migrate\` or set IPCC_MIGRATE_ON_START=true): ${(err as Error).message}`);
    });
    const [rows] = await pool.query<RowDataPacket[]>('SELECT id FROM tenants WHERE name = ?', [name]);
    app.decorate('tenantId', Number(rows[0]?.id));
  },
  { name: 'ipcc-mysql' },
);

export const redisPlugin = fp(
  async (app: FastifyInstance) => {
    const redis = createRedis(app.config.redis, 'app');
    redis.on('error', (err) => app.log.warn({ err: err.message }, 'redis connection error'));
    app.decorate('redis', redis);
    app.addHook('onClose', async () => {
      await redis.quit().catch(() => redis.disconnect());
    });
  },
  { name: 'ipcc-redis' },
);

export const eventsPlugin = fp(
  async (app: FastifyInstance) => {
    app.decorate('events', createEventBus((name, err) => app.log.error({ err, event: name }, 'event subscriber failed')));
  },
  { name: 'ipcc-events' },
);

export interface JobsPluginOptions {
  work: boolean;
}

/** Opens the job runtime; modules register handlers during their own registration; start() runs onReady. */
export const jobsPlugin = fp<JobsPluginOptions>(
  async (app: FastifyInstance, opts) => {
    const jobs = createJobRuntime({ redisUrl: app.config.redis.url, prefix: app.config.redis.prefix, logger: app.log.child({ component: 'jobs' }), work: opts.work });
    app.decorate('jobs', jobs);
    app.addHook('onReady', async () => {
      await jobs.start();
    });
    app.addHook('onClose', async () => {
      await jobs.close();
    });
  },
  { name: 'ipcc-jobs', dependencies: ['ipcc-redis'] },
);

export interface TelephonyPluginOptions {
  telephony: TelephonyPort | undefined;
}

export const telephonyPlugin = fp<TelephonyPluginOptions>(
  async (app: FastifyInstance, opts) => {
    app.decorate('telephony', opts.telephony);
    if (!opts.telephony) return;
    const telephony = opts.telephony;
    app.addHook('onReady', async () => {
      await telephony.start();
    });
    app.addHook('onClose', async () => {
      await telephony.stop();
    });
  },
  { name: 'ipcc-telephony' },
);

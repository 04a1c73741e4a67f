import { Queue, Worker, UnrecoverableError, type Job, type JobsOptions } from 'bullmq';
import type { Log } from '../logger.js';
import { JOB_NAMES, JOB_QUEUES, type JobName, type JobPayloads, type JobQueueName } from './definitions.js';

export type JobHandler<K extends JobName> = (payload: JobPayloads[K], job: { id: string; attempt: number }) => Promise<void>;
export type JobHandlers = { [K in JobName]?: JobHandler<K> };

/** A job that must not be retried (bad payload, target gone): the type says so, not the message. */
export class PermanentJobError extends UnrecoverableError {}

export interface JobRuntimeOptions {
  redisUrl: string;
  prefix: string;
  logger: Log;
  /** Start workers in this process (API-only processes may enqueue without working). */
  work: boolean;
  concurrency?: number;
}

export interface JobRuntime {
  register<K extends JobName>(name: K, handler: JobHandler<K>): void;
  /** Checks the registry and starts workers; throws if a job lacks a handler. */
  start(): Promise<void>;
  /** Enqueue; `dedupeKey` becomes the jobId so a repeated enqueue is a no-op. */
  enqueue<K extends JobName>(name: K, payload: JobPayloads[K], opts?: { dedupeKey?: string; delayMs?: number }): Promise<void>;
  /**
   * Runs a job every `everyMs` (a BullMQ job scheduler named `key`, shared by every process of the
   * installation); 0 removes the schedule. The first run comes one interval after the schedule is
   * made, and restarting a process with the same interval leaves the schedule as it is.
   */
  repeat<K extends JobName>(name: K, payload: JobPayloads[K], opts: { key: string; everyMs: number }): Promise<void>;
  close(): Promise<void>;
  counts(): Promise<Record<string, Record<string, number>>>;
}

export function checkHandlers(handlers: Map<string, unknown>): string[] {
  const problems: string[] = [];
  for (const name of JOB_NAMES) if (!handlers.has(name)) problems.push(`job "${name}" has no handler`);
  for (const name of handlers.keys()) if (!(JOB_NAMES as string[]).includes(name)) problems.push(`handler for unknown job "${name}"`);
  return problems;
}

function connectionFromUrl(url: string): Record<string, unknown> {
  const u = new URL(url);
  return {
    host: u.hostname,
    port: u.port ? Number(u.port) : 6379,
    db: u.pathname.length > 1 ? Number(u.pathname.slice(1)) : 0,
    username: u.username ? decodeURIComponent(u.username) : undefined,
    password: u.password ? decodeURIComponent(u.password) : undefined,
    maxRetriesPerRequest: null,
    connectTimeout: 5000,
  };
}

export function createJobRuntime(opts: JobRuntimeOptions): JobRuntime {
  const handlers = new Map<string, JobHandler<JobName>>();
  const queues = new Map<JobQueueName, Queue>();
  const workers: Worker[] = [];
  const connection = connectionFromUrl(opts.redisUrl);
  const prefix = `${opts.prefix}bull`;
  let started = false;

  const queueFor = (name: JobQueueName): Queue => {
    let q = queues.get(name);
    if (!q) {
      q = new Queue(name, { connection, prefix });
      q.on('error', (err) => opts.logger.error({ err, queue: name }, 'job queue error'));
      queues.set(name, q);
    }
    return q;
  };

  return {
    register(name, handler) {
      if (started) throw new Error(`job "${name}" registered after start`);
      if (handlers.has(name)) throw new Error(`job "${name}" has two handlers`);
      handlers.set(name, handler as JobHandler<JobName>);
    },
    async start() {
      const problems = checkHandlers(handlers);
      if (problems.length > 0) throw new Error(`job registry: ${problems.join('; ')}`);
      started = true;
      if (!opts.work) return;
      const queueNames = [...new Set(Object.values(JOB_QUEUES))];
      for (const qname of queueNames) {
        const worker = new Worker(
          qname,
          async (job: Job) => {
            const handler = handlers.get(job.name);
            if (!handler) throw new PermanentJobError(`no handler for job ${job.name}`);
            await handler(job.data as never, { id: String(job.id), attempt: job.attemptsMade + 1 });
          },
          { connection, prefix, concurrency: opts.concurrency ?? 4, autorun: true },
        );
        worker.on('failed', (job, err) =>
          opts.logger.warn({ err, job: job?.name, jobId: job?.id, attempt: job?.attemptsMade }, 'job failed'),
        );
        worker.on('error', (err) => opts.logger.error({ err, queue: qname }, 'job worker error'));
        workers.push(worker);
      }
    },
    async enqueue(name, payload, o = {}) {
      const jobOpts: JobsOptions = {
        attempts: 5,
        backoff: { type: 'exponential', delay: 1000 },
        removeOnComplete: { age: 3600, count: 1000 },
        removeOnFail: { age: 7 * 86400 },
      };
      if (o.dedupeKey) jobOpts.jobId = `${name}.${o.dedupeKey}`.replace(/:/g, '_');
      if (o.delayMs) jobOpts.delay = o.delayMs;
      await queueFor(JOB_QUEUES[name]).add(name, payload, jobOpts);
    },
    async repeat(name, payload, o) {
      const q = queueFor(JOB_QUEUES[name]);
      const id = `${name}.${o.key}`.replace(/:/g, '_');
      if (o.everyMs <= 0) {
        await q.removeJobScheduler(id);
        return;
      }
      const existing = await q.getJobScheduler(id);
      if (existing && Number(existing.every) === o.everyMs) return;
      await q.upsertJobScheduler(id, { every: o.everyMs, startDate: Date.now() + o.everyMs }, {
        name, data: payload, opts: { attempts: 3, backoff: { type: 'exponential', delay: 5000 }, removeOnComplete: { age: 7 * 86400, count: 100 }, removeOnFail: { age: 7 * 86400 } },
      });
    },
    async close() {
      // Workers first: let running jobs finish, then drop connections.
      await Promise.allSettled(workers.map((w) => w.close()));
      await Promise.allSettled([...queues.values()].map((q) => q.close()));
    },
    async counts() {
      const out: Record<string, Record<string, number>> = {};
      for (const qname of new Set(Object.values(JOB_QUEUES))) {
        out[qname] = await queueFor(qname).getJobCounts('waiting', 'active', 'delayed', 'failed', 'completed');
      }
      return out;
    },
  };
}

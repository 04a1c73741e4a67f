import t from 'tap';
import { createJobRuntime } from '../../server/infra/jobs/runtime.js';
import { createSilentLogger } from '../../server/infra/logger.js';
import { REDIS_URL, deleteKeys, eventually, uniqueId } from '../helpers/app.js';

t.test('given the job runtime on real Redis', async (t) => {
  const prefix = `ipcc-test:${uniqueId('j')}:`;
  t.teardown(() => deleteKeys(prefix));

  t.test('when a job lacks a handler then start() refuses, naming it', async (t) => {
    const jobs = createJobRuntime({ redisUrl: REDIS_URL, prefix, logger: createSilentLogger(), work: true });
    t.teardown(() => jobs.close());
    await t.rejects(jobs.start(), /job "api-key.touch" has no handler/);
  });

  t.test('when the same dedupe key is enqueued twice then the handler runs once', async (t) => {
    const jobs = createJobRuntime({ redisUrl: REDIS_URL, prefix, logger: createSilentLogger(), work: true });
    t.teardown(() => jobs.close());
    const seen: string[] = [];
    jobs.register('api-key.touch', async (payload) => {
      seen.push(payload.keyId);
    });
    jobs.register('recording.retention', async () => undefined);
    jobs.register('voice.callback_due', async () => undefined);
    t.throws(() => jobs.register('api-key.touch', async () => undefined), /has two handlers/);
    await jobs.start();
    await jobs.enqueue('api-key.touch', { tenantId: 1, keyId: 'k1', at: new Date().toISOString() }, { dedupeKey: 'k1-minute-1' });
    await jobs.enqueue('api-key.touch', { tenantId: 1, keyId: 'k1', at: new Date().toISOString() }, { dedupeKey: 'k1-minute-1' });
    await jobs.enqueue('api-key.touch', { tenantId: 1, keyId: 'k2', at: new Date().toISOString() }, { dedupeKey: 'k2-minute-1' });
    await eventually(async () => seen.length >= 2, 10000);
    await new Promise((r) => setTimeout(r, 300));
    t.same(seen.sort(), ['k1', 'k2'], 'k1 ran once despite two enqueues');
  });
});

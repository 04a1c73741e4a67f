/**
 * The partition router's configuration entries: configuration is written into the input stream
 * by whichever process saw a change, each after its own read of the configuration, so entries
 * can arrive out of order. An older configuration never replaces a newer one.
 */
import t from 'tap';
import { applyEntry, newPartitionRouter } from '../../../server/modules/acd/partition.js';
import type { InputEntry } from '../../../server/modules/acd/store.js';
import { T0, agent, queue, task } from './helpers/fixtures.js';

const bench = queue('bench', { strategy: 'longest_idle', skills: [{ skillId: 'voice', minLevel: 1 }] });
let seq = 0;
const entry = (input: InputEntry['input'], at = T0): InputEntry => ({ id: `${at}-${seq++}`, at, input });

t.test('given the queue configuration (version 3) when the older skill configuration without the queue (version 2) arrives after it then the queue stays and its calls are routed', async (t) => {
  const p = newPartitionRouter(T0);
  applyEntry(p, entry({ type: 'config', version: '3', queues: [bench] }));
  const rejected = applyEntry(p, entry({ type: 'config', version: '2', queues: [] }));
  t.match(rejected, [{ kind: 'event_rejected', code: 'config.older' }], 'the older configuration is refused, on record');
  t.equal(p.config.version, '3');
  t.same(p.queues.map((q) => q.id), ['bench']);
  applyEntry(p, entry({ type: 'agent_upserted', agent: agent('a1', { skills: [{ skillId: 'voice', level: 5 }] }) }));
  applyEntry(p, entry({ type: 'agent_presence_changed', agentId: 'a1', presence: { kind: 'ready' } }));
  const decisions = applyEntry(p, entry({ type: 'task_enqueued', task: task('call-1', 'bench', T0 + 1000) }, T0 + 1000));
  t.match(decisions, [{ kind: 'route', decision: { taskId: 'call-1', agentIds: ['a1'] } }], 'the call is offered to the agent');
});

t.test('given a configuration when the same version or a newer one arrives then it is applied', async (t) => {
  const p = newPartitionRouter(T0);
  applyEntry(p, entry({ type: 'config', version: '3', queues: [] }));
  t.same(applyEntry(p, entry({ type: 'config', version: '3', queues: [bench] })), []);
  t.same(p.queues.map((q) => q.id), ['bench'], 'the same version again is applied (a repeated write)');
  t.same(applyEntry(p, entry({ type: 'config', version: '10', queues: [bench, queue('other')] })), []);
  t.equal(p.config.version, '10', 'versions compare as numbers, not as text');
  t.match(applyEntry(p, entry({ type: 'config', version: '9', queues: [] })), [{ kind: 'event_rejected', code: 'config.older' }]);
});

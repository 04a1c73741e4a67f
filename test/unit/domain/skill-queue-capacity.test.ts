import t from 'tap';
import { DEFAULT_BLOCK_RULES, DEFAULT_CHANNEL_COSTS, checkCapacity, emptyWorkload } from '../../../server/domain/capacity.js';
import type { Queue } from '../../../server/domain/queue.js';
import { effectiveRequirements, relaxationStepAt, validateQueue } from '../../../server/domain/queue.js';
import { meetsRequirements, mergeRequirements, requirementSignature, weightedProficiency } from '../../../server/domain/skill.js';
import { validateTask } from '../../../server/domain/task.js';

const q: Queue = {
  id: 'billing',
  tenantId: 't1',
  strategy: 'best_skill_match',
  skills: [{ skillId: 'billing', minLevel: 6, weight: 2 }],
  agentGroups: ['tier1'],
  serviceLevel: { percent: 80, withinMs: 20_000 },
  relaxation: [
    { afterMs: 30_000, minLevelDelta: 2 },
    { afterMs: 90_000, minLevelDelta: 4, addAgentGroups: ['tier2'] },
  ],
};

t.test('given requirement lists when merging then one entry per skill keeps the highest level, sorted', async (t) => {
  const merged = mergeRequirements([{ skillId: 'fr', minLevel: 3 }, { skillId: 'billing', minLevel: 6 }], [{ skillId: 'fr', minLevel: 5, weight: 2 }]);
  t.same(merged, [{ skillId: 'billing', minLevel: 6 }, { skillId: 'fr', minLevel: 5, weight: 2 }]);
  t.equal(requirementSignature([{ skillId: 'b', minLevel: 1 }, { skillId: 'a', minLevel: 2 }]), requirementSignature([{ skillId: 'a', minLevel: 2 }, { skillId: 'b', minLevel: 1 }]));
  t.not(requirementSignature([{ skillId: 'a', minLevel: 2 }]), requirementSignature([{ skillId: 'a', minLevel: 3 }]));
});

t.test('given waits when computing the relaxation step then steps apply from their afterMs on', async (t) => {
  const rows: [number, number][] = [[0, 0], [29_999, 0], [30_000, 1], [89_999, 1], [90_000, 2], [10_000_000, 2]];
  for (const [wait, step] of rows) t.equal(relaxationStepAt(q, wait), step, `${wait} ms`);
});

t.test('given relaxation steps when computing requirements then levels drop (floor 1) and groups widen', async (t) => {
  const task = [{ skillId: 'fr', minLevel: 3 }];
  t.same(effectiveRequirements(q, task, 0), { skills: [{ skillId: 'billing', minLevel: 6, weight: 2 }, { skillId: 'fr', minLevel: 3 }], agentGroups: ['tier1'] });
  t.same(effectiveRequirements(q, task, 1), { skills: [{ skillId: 'billing', minLevel: 4, weight: 2 }, { skillId: 'fr', minLevel: 1 }], agentGroups: ['tier1'] });
  t.same(effectiveRequirements(q, task, 2), { skills: [{ skillId: 'billing', minLevel: 2, weight: 2 }, { skillId: 'fr', minLevel: 1 }], agentGroups: ['tier1', 'tier2'] });
  const open = effectiveRequirements({ ...q, agentGroups: [] }, [], 2);
  t.same(open.agentGroups, [], 'a queue open to any group stays open');
});

t.test('given skill levels when matching then every requirement must be met and proficiency is weighted', async (t) => {
  const levels = new Map([['billing', 7], ['fr', 2]]);
  const reqs = [{ skillId: 'billing', minLevel: 6, weight: 2 }, { skillId: 'fr', minLevel: 1 }];
  t.equal(meetsRequirements(levels, reqs), true);
  t.equal(meetsRequirements(levels, [{ skillId: 'fr', minLevel: 3 }]), false);
  t.equal(meetsRequirements(levels, [{ skillId: 'de', minLevel: 1 }]), false);
  t.equal(weightedProficiency(levels, reqs), 2 * 7 + 2);
});

t.test('given workloads when checking capacity then units and the no-chat-during-a-call rule decide', async (t) => {
  const policy = { capacity: 100, costs: { ...DEFAULT_CHANNEL_COSTS, voice: 60 }, rules: DEFAULT_BLOCK_RULES };
  const idle = emptyWorkload();
  const threeChats = { loadUnits: 75, items: { ...idle.items, chat: 3 } };
  const onCall = { loadUnits: 60, items: { ...idle.items, voice: 1 } };
  const rows: [string, typeof idle, 'voice' | 'chat' | 'email' | 'sms', string][] = [
    ['idle agent takes a call', idle, 'voice', 'ok'],
    ['three chats leave room for a fourth', threeChats, 'chat', 'ok'],
    ['three chats leave no room for a call', threeChats, 'voice', 'capacity.full'],
    ['a call blocks chat even with room', onCall, 'chat', 'capacity.blocked_by_rule'],
    ['a call does not block email', onCall, 'email', 'ok'],
    ['exactly full is allowed', { loadUnits: 90, items: { ...idle.items, email: 9 } }, 'email', 'ok'],
    ['one unit over is not', { loadUnits: 91, items: { ...idle.items, email: 9 } }, 'email', 'capacity.full'],
  ];
  for (const [why, work, channel, expected] of rows) {
    const v = checkCapacity(policy, work, channel);
    t.equal(v.ok ? 'ok' : v.code, expected, why);
  }
});

t.test('given malformed queues and tasks when validating then the error names the field', async (t) => {
  t.equal(validateQueue(q), undefined);
  t.equal(validateQueue({ ...q, relaxation: [{ afterMs: 5 }, { afterMs: 5 }] })?.code, 'queue.invalid_relaxation');
  t.equal(validateQueue({ ...q, overflowQueueId: 'x' })?.code, 'queue.overflow_without_max_wait');
  t.equal(validateQueue({ ...q, skills: [{ skillId: 'x', minLevel: 11 }] })?.code, 'skill.invalid_level');
  const task = { id: 'x', tenantId: 't1', channel: 'voice' as const, queueId: 'billing', priority: 0, requiredSkills: [], enqueuedAt: 0, interactionId: 'i' };
  t.equal(validateTask(task, 10), undefined);
  const e = validateTask({ ...task, priority: 11 }, 10);
  t.equal(e?.code, 'task.invalid_priority');
  t.same(e?.details, { field: 'priority' });
  t.equal(validateTask({ ...task, channel: 'fax' as never }, 10)?.code, 'task.invalid_channel');
  t.equal(validateTask({ ...task, preferredAgentId: 'a1' }, 10)?.code, 'task.invalid_preferred_until');
});

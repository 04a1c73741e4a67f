import t from 'tap';
import type { Presence, PresenceKind } from '../../../server/domain/presence.js';
import { PRESENCE_TRANSITIONS, canTransitionPresence, transitionPresence } from '../../../server/domain/presence.js';

const sample: Record<PresenceKind, Presence> = {
  offline: { kind: 'offline' },
  ready: { kind: 'ready' },
  not_ready: { kind: 'not_ready', reason: 'lunch' },
  busy: { kind: 'busy' },
  wrap_up: { kind: 'wrap_up', until: 1_000 },
};

// The full table, written out independently of PRESENCE_TRANSITIONS.
const allowed: [PresenceKind, PresenceKind][] = [
  ['offline', 'ready'],
  ['offline', 'not_ready'],
  ['ready', 'not_ready'],
  ['ready', 'busy'],
  ['ready', 'wrap_up'],
  ['ready', 'offline'],
  ['not_ready', 'ready'],
  ['not_ready', 'not_ready'],
  ['not_ready', 'busy'],
  ['not_ready', 'offline'],
  ['busy', 'ready'],
  ['busy', 'not_ready'],
  ['busy', 'wrap_up'],
  ['busy', 'offline'],
  ['wrap_up', 'ready'],
  ['wrap_up', 'not_ready'],
  ['wrap_up', 'busy'],
  ['wrap_up', 'wrap_up'],
  ['wrap_up', 'offline'],
];

t.test('given every pair of presence kinds when transitioning then exactly the listed moves succeed', async (t) => {
  const kinds = Object.keys(PRESENCE_TRANSITIONS) as PresenceKind[];
  t.equal(kinds.length, 5);
  for (const from of kinds) {
    for (const to of kinds) {
      const ok = allowed.some(([f, x]) => f === from && x === to);
      t.equal(canTransitionPresence(sample[from], sample[to]), ok, `${from} -> ${to}`);
      if (ok) {
        t.same(transitionPresence(sample[from], sample[to]), sample[to]);
      } else {
        t.throws(
          () => transitionPresence(sample[from], sample[to]),
          { name: 'AppError', kind: 'conflict', code: 'presence.invalid_transition' },
          `${from} -> ${to} rejected`,
        );
      }
    }
  }
});

t.test('given a malformed target when transitioning then it is invalid, not a conflict', async (t) => {
  const cases: [string, Presence][] = [
    ['not_ready without reason', { kind: 'not_ready', reason: '' }],
    ['wrap_up without finite until', { kind: 'wrap_up', until: Number.NaN }],
  ];
  for (const [name, to] of cases) {
    t.throws(
      () => transitionPresence({ kind: 'ready' }, to),
      { name: 'AppError', kind: 'invalid', code: 'presence.invalid' },
      name,
    );
  }
});

import t from 'tap';
import type { Offer, OfferStatus } from '../../../server/domain/offer.js';
import { canTransitionOffer, transitionOffer } from '../../../server/domain/offer.js';

const pending: Offer = {
  id: 'x#1@a1',
  decisionId: 'x#1',
  taskId: 'x',
  agentId: 'a1',
  tenantId: 't1',
  channel: 'voice',
  units: 100,
  createdAt: 0,
  expiresAt: 20_000,
  status: 'pending',
};
const statuses: OfferStatus[] = ['pending', 'accepted', 'declined', 'timed_out', 'cancelled'];

t.test('given a pending offer when closing it then each closing status is recorded with the time', async (t) => {
  for (const to of ['accepted', 'declined', 'timed_out'] as const) {
    const closed = transitionOffer(pending, to, 5_000);
    t.equal(closed.status, to);
    t.equal(closed.closedAt, 5_000);
    t.equal(pending.status, 'pending', 'input untouched');
  }
  const cancelled = transitionOffer(pending, 'cancelled', 6_000, 'answered_elsewhere');
  t.equal(cancelled.cancelReason, 'answered_elsewhere');
});

t.test('given a closed offer when moving it anywhere then it is a conflict with a stable code', async (t) => {
  for (const from of statuses.filter((s) => s !== 'pending')) {
    const closed = { ...pending, status: from };
    for (const to of statuses) {
      t.equal(canTransitionOffer(from, to), false, `${from} -> ${to}`);
      t.throws(
        () => transitionOffer(closed, to, 1),
        { name: 'AppError', kind: 'conflict', code: 'offer.invalid_transition' },
      );
    }
  }
  t.equal(canTransitionOffer('pending', 'pending'), false, 'pending -> pending is not a move');
});

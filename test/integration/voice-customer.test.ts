/**
 * One customer, one thread, for calls: the caller's customer record is resolved beside the
 * queueing (not before it) and still reaches the agent's screen-pop and the customer's thread.
 * The real app, router, voice and customer services on MariaDB and Redis; the media server is
 * the in-memory fake of the CallControl port.
 */
import t from 'tap';
import { partitionKeys } from '../../server/modules/acd/store.js';
import { eventually } from '../helpers/app.js';
import { bridgedCall, hangUp, queueWith, readyAgent, voiceAppWithFake } from '../helpers/voice-calls.js';

t.test('given the app with a fake media server', async (t) => {
  const c = await voiceAppWithFake(t);
  const { app, admin } = c;
  const popsOf = async (agentId: string): Promise<Record<string, unknown>[]> => {
    const entries = await app.redis.xrange(partitionKeys(`t${app.tenantId}`).agentStream(agentId), '-', '+');
    return entries.map(([, f]) => JSON.parse(f[f.indexOf('d') + 1] ?? 'null') as Record<string, unknown>).filter((e) => e?.kind === 'screen_pop');
  };

  await t.test('given a first-time caller when an agent takes the call then the screen-pop names the new customer and the call is on its thread', async (t) => {
    const q = await queueWith(c);
    const agentId = await readyAgent(c, q.skill);
    const other = await readyAgent(c, q.skill); // the first may be in wrap-up for the second call
    const number = `+3461${String(Math.floor(Math.random() * 1e7)).padStart(7, '0')}`;
    const callId = await bridgedCall(c, q.entry, number);
    let pop: Record<string, unknown> | undefined;
    const popOf = async (id: string) => [...(await popsOf(agentId)), ...(await popsOf(other))].find((p) => p.interactionId === id);
    await eventually(async () => (pop = await popOf(callId)) !== undefined, 5000);
    const customer = pop?.customer as { id?: string; known?: boolean } | undefined;
    t.ok(customer?.id, 'the screen-pop names the customer');
    t.equal(pop?.threadId, customer?.id, 'and its thread');
    t.equal(customer?.known, false, 'a first contact');
    await eventually(async () => {
      const thread = await app.inject({ method: 'GET', url: `/v1/customers/${customer?.id}/thread`, headers: admin });
      return thread.statusCode === 200 && thread.json().items.some((i: { interactionId: string }) => i.interactionId === callId);
    }, 5000);
    t.pass("the call is on the customer's thread");
    await hangUp(c, callId);

    // The same number again: the same customer, now known, with the first call on its thread.
    const again = await bridgedCall(c, q.entry, number);
    let second: Record<string, unknown> | undefined;
    await eventually(async () => (second = await popOf(again)) !== undefined, 5000);
    t.match(second?.customer, { id: customer?.id, known: true }, 'a second call pops the same customer, known');
    await hangUp(c, again);
  });

  await t.test('given customer records that are slow to answer when a caller arrives then the call is queued and answered without waiting, and the screen-pop follows with the customer', async (t) => {
    const q = await queueWith(c);
    const agentId = await readyAgent(c, q.skill);
    const number = `+3462${String(Math.floor(Math.random() * 1e7)).padStart(7, '0')}`;
    // Another session holds the customer tables: resolving the caller waits until it lets go.
    const locker = await app.mysql.getConnection();
    await locker.query('LOCK TABLES customer_identities WRITE, customers WRITE');
    let callId: string;
    try {
      callId = await bridgedCall(c, q.entry, number);
      t.pass('the caller reached the agent while the customer records were held');
      t.equal((await popsOf(agentId)).find((p) => p.interactionId === callId), undefined, 'the screen-pop waits for the customer');
    } finally {
      await locker.query('UNLOCK TABLES');
      locker.release();
    }
    let pop: Record<string, unknown> | undefined;
    await eventually(async () => (pop = (await popsOf(agentId)).find((p) => p.interactionId === callId)) !== undefined, 5000);
    t.match(pop?.customer, { known: false }, 'and comes with the customer once it is resolved');
    t.equal(pop?.threadId, (pop?.customer as { id?: string } | undefined)?.id);
    await hangUp(c, callId);
  });
});

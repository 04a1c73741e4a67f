/**
 * The ARI client asks Asterisk for only the event types it has handlers for (the application's
 * event filter): real SIP calls (SIPp) into a real Asterisk, our handlers answering, setting
 * channel variables and hanging up, and what reaches the client counted.
 */
import t from 'tap';
import { createSilentLogger } from '../../server/infra/logger.js';
import { createAriClient, type AriClient } from '../../server/telephony/ari-client.js';
import type { AriAnyEvent, Channel } from '../../server/telephony/ari-types.js';
import { ensureAsterisk, uniqueName, type AsteriskInstance } from '../helpers/asterisk.js';
import { runSipp } from '../helpers/sipp.js';
import { sleep, waitFor } from '../helpers/telephony-wait.js';

const logger = createSilentLogger();

function clientFor(asterisk: AsteriskInstance, prefix: string): AriClient {
  return createAriClient({
    name: asterisk.name,
    baseUrl: asterisk.ariUrl,
    username: asterisk.ariUser,
    password: asterisk.ariPassword,
    app: uniqueName(prefix),
    logger,
  });
}

/**
 * Our handling of every call: answer, set three variables (three ChannelVarset events), hang
 * up. Channels that entered and left the app are collected.
 */
function answerSetAndHangUp(client: AriClient): { started: Channel[]; ended: string[] } {
  const seen = { started: [] as Channel[], ended: [] as string[] };
  client.on('StasisStart', async (e, c) => {
    seen.started.push(e.channel);
    await c.channels.answer(e.channel.id);
    for (const n of [1, 2, 3]) await c.channels.setVariable(e.channel.id, `IPCC_FILTER_T${n}`, `v${n}`);
    await c.channels.hangup(e.channel.id, 'normal');
  });
  client.on('StasisEnd', (e) => {
    seen.ended.push(e.channel.id);
  });
  return seen;
}

/** One SIPp call into the client's app; resolves once the call has left the app. */
async function callInto(asterisk: AsteriskInstance, client: AriClient, seen: { ended: string[] }): Promise<{ ok: boolean; detail: string }> {
  const result = await runSipp({
    instance: asterisk,
    scenario: 'caller-far-end-hangs-up.xml',
    service: '4100',
    keys: { app: client.app, caller: `7${Date.now().toString().slice(-9)}` },
    timeoutMs: 30_000,
  });
  await waitFor(() => seen.ended.length === 1, 10_000, 'StasisEnd');
  return { ok: result.successful === 1, detail: `SIPp: ${result.successful} successful, errors: ${result.errors.slice(-300)}` };
}

t.test('given our Stasis app on a running Asterisk', async (t) => {
  const asterisk = await ensureAsterisk('main');

  await t.test('when only StasisStart and StasisEnd have handlers then a call brings those two events and nothing else', async (t) => {
    const client = clientFor(asterisk, 'filter-narrow');
    t.teardown(() => client.stop());
    const seen = answerSetAndHangUp(client);
    client.start();
    t.ok(await client.waitUntilUp(10_000), 'connected');
    t.same(client.state().eventFilter, ['ApplicationReplaced', 'StasisEnd', 'StasisStart'], 'the filter we hold');
    const application = await client.applications.get(client.app);
    t.same(
      (application.events_allowed as Array<{ type: string }>).map((x) => x.type).sort(),
      ['ApplicationReplaced', 'StasisEnd', 'StasisStart'],
      'and the one Asterisk holds for the application',
    );
    const before = client.state().events;
    const call = await callInto(asterisk, client, seen);
    t.ok(call.ok, `the call went through our handlers (${call.detail})`);
    await sleep(500); // a ChannelDestroyed or a late variable would have arrived by now
    t.equal(seen.started.length, 1, 'one call entered the app');
    t.equal(client.state().events - before, 2, 'two events came: the answer, three variables, the hang-up and its end sent nothing else');
  });

  await t.test('when a handler for another type is added while connected then the filter widens and its events arrive', async (t) => {
    const client = clientFor(asterisk, 'filter-widen');
    t.teardown(() => client.stop());
    const seen = answerSetAndHangUp(client);
    client.start();
    t.ok(await client.waitUntilUp(10_000), 'connected');
    t.notOk(client.state().eventFilter?.includes('ChannelVarset'), 'no variable events asked for at first');
    const vars: string[] = [];
    const hangups: string[] = [];
    client.on('ChannelVarset', (e) => {
      const v = (e as unknown as { variable: string }).variable;
      if (v.startsWith('IPCC_FILTER_')) vars.push(v);
    });
    client.on('ChannelHangupRequest', (e) => {
      hangups.push(e.channel.id);
    });
    await waitFor(() => client.state().eventFilter?.includes('ChannelVarset') === true, 5_000, 'the filter to take ChannelVarset');
    t.ok(client.state().eventFilter?.includes('ChannelHangupRequest'), 'and ChannelHangupRequest');
    const call = await callInto(asterisk, client, seen);
    t.ok(call.ok, `the call went through our handlers (${call.detail})`);
    t.same(vars, ['IPCC_FILTER_T1', 'IPCC_FILTER_T2', 'IPCC_FILTER_T3'], 'every variable we set was reported, in order');
    t.same(hangups, seen.started.map((c) => c.id), 'and our hang-up of the channel');
  });

  await t.test('when a catch-all handler is registered then every event type comes again', async (t) => {
    const client = clientFor(asterisk, 'filter-all');
    t.teardown(() => client.stop());
    const seen = answerSetAndHangUp(client);
    client.start();
    t.ok(await client.waitUntilUp(10_000), 'connected');
    t.ok(client.state().eventFilter, 'filtered while only typed handlers exist');
    const types: string[] = [];
    const off = client.onEvent((e: AriAnyEvent) => {
      types.push(e.type);
    });
    await waitFor(() => client.state().eventFilter === undefined, 5_000, 'the filter to be lifted');
    const application = await client.applications.get(client.app);
    t.same(application.events_allowed, [], 'Asterisk holds no allowed list: everything is sent');
    const call = await callInto(asterisk, client, seen);
    t.ok(call.ok, `the call went through our handlers (${call.detail})`);
    t.ok(types.filter((x) => x === 'ChannelVarset').length >= 3, `the variable events came (${types.join(' ')})`);
    t.ok(types.includes('ChannelStateChange'), 'and the state change of the answer');
    off();
    await waitFor(() => client.state().eventFilter !== undefined, 5_000, 'the filter to come back once the catch-all is gone');
  });
});

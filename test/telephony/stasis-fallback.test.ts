/**
 * No stranded calls: when the Stasis application a call is meant for is not connected,
 * the dialplan answers, plays an announcement and hangs up (instead of leaving the caller
 * in silence or ringing forever).
 */
import t from 'tap';
import { createSilentLogger } from '../../server/infra/logger.js';
import { createAriClient } from '../../server/telephony/ari-client.js';
import type { Channel, ChannelDialplan } from '../../server/telephony/ari-types.js';
import { ensureAsterisk, uniqueName } from '../helpers/asterisk.js';
import { runSipp } from '../helpers/sipp.js';
import { sleep } from '../helpers/telephony-wait.js';

t.test('given a call for a Stasis app that is not connected', async (t) => {
  const asterisk = await ensureAsterisk('main');
  const callerNumber = `6${Date.now().toString().slice(-9)}`;
  const absentApp = uniqueName('absent');

  // An observer that sees every channel's dialplan steps (subscribeAll), to check what the
  // caller was given. It is a different app: the call's own app stays unregistered.
  const observer = createAriClient({
    name: asterisk.name,
    baseUrl: asterisk.ariUrl,
    username: asterisk.ariUser,
    password: asterisk.ariPassword,
    app: uniqueName('observer'),
    subscribeAll: true,
    logger: createSilentLogger(),
  });
  t.teardown(() => observer.stop());
  const steps: Array<{ app: string; data: string }> = [];
  let destroyed: { cause: number } | undefined;
  const ours = (c: Channel | undefined) => c?.caller.number === callerNumber;
  observer.on('ChannelDialplan', (e: ChannelDialplan) => {
    if (ours(e.channel)) steps.push({ app: e.dialplan_app, data: e.dialplan_app_data });
  });
  observer.on('ChannelDestroyed', (e) => {
    if (ours(e.channel)) destroyed = { cause: e.cause };
  });
  observer.start();
  t.ok(await observer.waitUntilUp(10_000), 'the observer is connected');

  await t.test('when SIPp calls in then it is answered, hears the no-service announcement and is hung up', async (t) => {
    const result = await runSipp({
      instance: asterisk,
      scenario: 'caller-far-end-hangs-up.xml',
      service: '4001',
      keys: { app: absentApp, caller: callerNumber },
      timeoutMs: 45_000,
    });
    t.equal(result.exitCode, 0, `SIPp exits 0 (errors: ${result.errors.slice(-300)})`);
    t.equal(result.successful, 1, 'the caller was answered and then hung up by Asterisk');
    await sleep(300);
    const apps = steps.map((s) => s.app);
    t.ok(apps.includes('Stasis'), `the call tried Stasis first (${apps.join(' > ')})`);
    const stasis = steps.find((s) => s.app === 'Stasis');
    t.match(stasis?.data, new RegExp(`^${absentApp},inbound,4001`), 'with the app named by the caller');
    const playback = steps.find((s) => s.app === 'Playback');
    t.equal(playback?.data, 'ss-noservice', 'then the announcement');
    t.ok(apps.indexOf('Playback') > apps.indexOf('Stasis'), 'after Stasis failed');
    t.equal(apps[apps.length - 1], 'Hangup', 'and a clean hang-up');
    t.ok(destroyed, 'the channel is gone');
  });
});

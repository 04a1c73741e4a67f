/**
 * A real SIP call (SIPp from the test-caller address) into a real Asterisk: our Stasis
 * application, built on the ARI client, answers, plays hello-world and hangs up.
 */
import t from 'tap';
import { createSilentLogger } from '../../server/infra/logger.js';
import { createAriClient, type AriClient } from '../../server/telephony/ari-client.js';
import type { AriAnyEvent, Channel } from '../../server/telephony/ari-types.js';
import { ensureAsterisk, uniqueName } from '../helpers/asterisk.js';
import { runSipp } from '../helpers/sipp.js';
import { sleep, waitFor } from '../helpers/telephony-wait.js';

t.test('given our Stasis app on a running Asterisk', async (t) => {
  const asterisk = await ensureAsterisk('main');
  const app = uniqueName('smoke');
  const callerNumber = `7${Date.now().toString().slice(-9)}`;
  const client = createAriClient({
    name: asterisk.name,
    baseUrl: asterisk.ariUrl,
    username: asterisk.ariUser,
    password: asterisk.ariPassword,
    app,
    logger: createSilentLogger(),
  });
  t.teardown(() => client.stop());

  // Everything our handlers see, in the order they see it.
  const seen: Array<{ type: string; channelId?: string; at: number; phase: 'start' | 'end' }> = [];
  const events: AriAnyEvent[] = [];
  let handlerFailures = 0;
  const ourChannel = (channel: Channel | undefined) => channel?.caller.number === callerNumber;
  const channelIds = new Set<string>();

  client.onEvent((e) => {
    const ch = (e as { channel?: Channel }).channel;
    const target = (e as { playback?: { target_uri?: string } }).playback?.target_uri;
    if ((ch && channelIds.has(ch.id)) || (target && channelIds.has(target.replace(/^channel:/, '')))) events.push(e);
  });

  const answerAndPlay = async (e: { channel: Channel }, c: AriClient) => {
    seen.push({ type: 'StasisStart', channelId: e.channel.id, at: Date.now(), phase: 'start' });
    try {
      await c.channels.answer(e.channel.id);
      await c.channels.play(e.channel.id, { media: 'sound:hello-world', playbackId: `pb-${e.channel.id}` });
      // Stay busy a little after the prompt started, so that PlaybackStarted certainly
      // arrives while this handler still runs: it must wait for us.
      await sleep(400);
    } catch {
      handlerFailures += 1;
    }
    seen.push({ type: 'StasisStart', channelId: e.channel.id, at: Date.now(), phase: 'end' });
  };
  client.on('StasisStart', async (e, c) => {
    if (!ourChannel(e.channel)) return;
    channelIds.add(e.channel.id);
    await answerAndPlay(e, c);
  });
  client.on('PlaybackStarted', (e) => {
    seen.push({ type: 'PlaybackStarted', channelId: e.playback.target_uri, at: Date.now(), phase: 'start' });
  });
  client.on('PlaybackFinished', async (e, c) => {
    const channelId = e.playback.target_uri.replace(/^channel:/, '');
    if (!channelIds.has(channelId)) return;
    try {
      await c.channels.hangup(channelId, 'normal');
    } catch {
      handlerFailures += 1;
    }
  });

  client.start();
  t.ok(await client.waitUntilUp(10_000), 'the client connects and registers the app');

  await t.test('when SIPp calls in, then the call is answered, hears hello-world and is hung up by us', async (t) => {
    const result = await runSipp({
      instance: asterisk,
      scenario: 'caller-far-end-hangs-up.xml',
      service: '4000',
      keys: { app, caller: callerNumber },
      timeoutMs: 45_000,
    });
    t.equal(result.exitCode, 0, `SIPp exits 0 (stderr: ${result.stderr.slice(-300)} errors: ${result.errors.slice(-300)})`);
    t.equal(result.successful, 1, 'one successful call');
    t.equal(result.failed, 0, 'no failed call');
    t.ok(result.durationMs >= 1_000, `the call lasted as long as the prompt (${result.durationMs} ms)`);

    await waitFor(() => events.some((e) => e.type === 'StasisEnd'), 10_000, 'StasisEnd for our channel');
    await sleep(300); // anything arriving after StasisEnd would show up now
    const types = events.map((e) => e.type);
    t.equal(channelIds.size, 1, 'exactly one channel of ours entered the app');
    t.equal(types[0], 'StasisStart', 'StasisStart comes first');
    t.equal(types[types.length - 1], 'StasisEnd', 'StasisEnd comes last');
    const start = events[0] as { args?: string[] };
    t.same(start.args, ['inbound', '4000'], 'the dialplan passes the direction and the dialed number');
    const iStarted = types.indexOf('PlaybackStarted');
    const iFinished = types.indexOf('PlaybackFinished');
    t.ok(iStarted > 0 && iFinished > iStarted && iFinished < types.length - 1, `order: ${types.join(' > ')}`);
    const finished = events[iFinished] as unknown as { playback: { media_uri: string; state: string } };
    t.equal(finished.playback.media_uri, 'sound:hello-world');
    t.equal(finished.playback.state, 'done', 'the prompt played to its end');
    t.equal(handlerFailures, 0, 'every ARI request of our handlers succeeded');

    // Ordered dispatch: PlaybackStarted arrived while the StasisStart handler was still busy;
    // its handler ran only after that one had finished.
    const startEnd = seen.find((s) => s.type === 'StasisStart' && s.phase === 'end');
    const playbackStarted = seen.find((s) => s.type === 'PlaybackStarted');
    t.ok(startEnd && playbackStarted && playbackStarted.at >= startEnd.at, 'handlers of one channel never overlap');
    const playbackStartedAt = Date.parse((events[iStarted] as AriAnyEvent).timestamp);
    t.ok(startEnd && playbackStartedAt < startEnd.at, 'Asterisk sent PlaybackStarted before the StasisStart handler ended');
  });
});

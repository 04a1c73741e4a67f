/**
 * An Asterisk goes away and comes back. Runs on an Asterisk instance of its own (created
 * and destroyed here), next to the shared "main" one, both in one telephony hub with their
 * own credentials, wired into the real app so that /readyz is checked along the way.
 * Takes about 80 s: the outage lasts 60 s on purpose.
 */
import t from 'tap';
import { AppError } from '../../server/domain/errors.js';
import { createSilentLogger } from '../../server/infra/logger.js';
import type { TelephonyPort } from '../../server/infra/plugins/resources.js';
import { ARI_ERROR } from '../../server/telephony/ari-errors.js';
import type { ConnectionChange } from '../../server/telephony/ari-client.js';
import { createTelephony, type AsteriskServerConfig } from '../../server/telephony/telephony.js';
import {
  asteriskPid,
  destroyAsterisk,
  ensureAsterisk,
  stopAsterisk,
  uniqueName,
  type AsteriskInstance,
} from '../helpers/asterisk.js';
import { buildTestApp } from '../helpers/app.js';
import { runSipp } from '../helpers/sipp.js';
import { installHelloApp } from '../helpers/telephony-hello-app.js';
import { sleep, timed, waitFor } from '../helpers/telephony-wait.js';

const OUTAGE_MS = 60_000;
const REQUEST_TIMEOUT_MS = 2_000;
const PING_INTERVAL_MS = 2_000;

t.setTimeout(300_000);

const serverOf = (a: AsteriskInstance, name: string): AsteriskServerConfig => ({
  name,
  baseUrl: a.ariUrl,
  username: a.ariUser,
  password: a.ariPassword,
});

t.test('given a telephony hub on the shared Asterisk and on one of its own', async (t) => {
  const main = await ensureAsterisk('main');
  const instanceName = uniqueName('rc');
  t.teardown(() => destroyAsterisk(instanceName));
  const own = await ensureAsterisk(instanceName);
  t.not(own.ariPassword, main.ariPassword, 'the two servers have different credentials');

  const telephony = createTelephony({
    servers: [serverOf(main, 'main'), serverOf(own, 'own')],
    app: uniqueName('reconnect'),
    logger: createSilentLogger(),
    requestTimeoutMs: REQUEST_TIMEOUT_MS,
    pingIntervalMs: PING_INTERVAL_MS,
    backoff: { initialMs: 250, maxMs: 5_000, factor: 2, jitter: 0.5 },
  });
  t.teardown(() => telephony.stop());
  const changes: Array<ConnectionChange & { at: number }> = [];
  telephony.onConnectionChange((c) => changes.push({ ...c, at: Date.now() }));
  const app = installHelloApp(telephony);
  t.teardown(() => app.stop());

  // The real app, as server/main.ts wires it: it starts the hub when ready, stops it on close
  // and reports its health on /readyz.
  const port: TelephonyPort = {
    start: async () => telephony.start(),
    stop: () => telephony.stop(),
    health: () => telephony.health(),
  };
  const server = await buildTestApp(t, {}, { telephony: port, work: false });
  const readyz = async () => {
    const res = await server.inject({ method: 'GET', url: '/readyz' });
    const body = res.json() as { checks: { asterisk: Array<{ name: string; up: boolean; detail?: string }> } };
    return { status: res.statusCode, asterisk: body.checks.asterisk.map((a) => [a.name, a.up]), body };
  };

  t.ok(await telephony.waitUntilUp(15_000), 'both servers connect');
  t.same(
    telephony.health().map((h) => [h.name, h.up]),
    [
      ['main', true],
      ['own', true],
    ],
  );
  const ready = await readyz();
  t.equal(ready.status, 200, '/readyz answers 200');
  t.same(ready.asterisk, [
    ['main', true],
    ['own', true],
  ]);

  await t.test('when its Asterisk stops for 60 s then it shows down, REST fails fast and main is untouched', async (t) => {
    const stoppedAt = Date.now();
    await stopAsterisk(instanceName);
    await waitFor(() => telephony.health().find((h) => h.name === 'own')?.up === false, 10_000, 'own to show down');
    t.pass(`own shows down ${Date.now() - stoppedAt} ms after the stop`);
    const notReady = await readyz();
    t.equal(notReady.status, 503, '/readyz answers 503');
    t.same(notReady.asterisk, [
      ['main', true],
      ['own', false],
    ], '/readyz names the server that is down');

    const probes: Array<{ ms: number; error?: unknown }> = [];
    let mainFailures = 0;
    while (Date.now() - stoppedAt < OUTAGE_MS) {
      probes.push(await timed(telephony.server('own').asterisk.info()));
      const m = await timed(telephony.server('main').asterisk.info());
      if (m.error) mainFailures += 1;
      const health = telephony.health();
      if (health.find((h) => h.name === 'main')?.up !== true) mainFailures += 1;
      if (health.find((h) => h.name === 'own')?.up !== false) t.fail('own showed up during the outage');
      await sleep(Math.min(5_000, Math.max(0, OUTAGE_MS - (Date.now() - stoppedAt))));
    }
    t.ok(probes.length >= 10, `${probes.length} REST probes during the outage`);
    const slowest = Math.max(...probes.map((p) => p.ms));
    t.ok(
      probes.every((p) => p.error instanceof AppError && p.error.kind === 'unavailable' && p.error.code === ARI_ERROR.unreachable),
      'every probe failed with unavailable / ari.unreachable',
    );
    t.ok(slowest < 1_000, `every probe failed fast (slowest ${slowest.toFixed(1)} ms)`);
    t.equal(mainFailures, 0, 'main answered and stayed up all along');
    const ownHealth = telephony.health().find((h) => h.name === 'own');
    t.match(ownHealth?.detail, /ari\.(unreachable|ws_closed)/, `health says why: ${ownHealth?.detail}`);
    t.equal(changes.filter((c) => c.server === 'main').length, 1, 'main never flapped');
  });

  await t.test('when it starts again then the client reconnects on its own and handles the next call', async (t) => {
    const restartedAt = Date.now();
    await ensureAsterisk(instanceName);
    await waitFor(() => telephony.health().find((h) => h.name === 'own')?.up === true, 20_000, 'own to reconnect');
    t.pass(`reconnected ${Date.now() - restartedAt} ms after Asterisk answered again`);
    t.equal((await readyz()).status, 200, '/readyz answers 200 again');
    const back = changes.find((c) => c.server === 'own' && c.up && c.reconnect);
    t.ok(back, 'a reconnect was announced (the app reconciles on it)');
    t.ok((back?.downForMs ?? 0) >= OUTAGE_MS, `down for ${back?.downForMs} ms`);

    const callerNumber = `5${Date.now().toString().slice(-9)}`;
    const result = await runSipp({
      instance: own,
      scenario: 'caller-far-end-hangs-up.xml',
      service: '4002',
      keys: { app: telephony.server('own').app, caller: callerNumber },
      timeoutMs: 45_000,
    });
    t.equal(result.exitCode, 0, `SIPp exits 0 (errors: ${result.errors.slice(-300)})`);
    t.equal(result.successful, 1, 'the call succeeded');
    await waitFor(() => app.calls.get(callerNumber)?.events.includes('StasisEnd') === true, 10_000, 'StasisEnd');
    const call = app.calls.get(callerNumber);
    t.equal(call?.server, 'own', 'handled by the reconnected server');
    const events = call?.events ?? [];
    t.ok(
      events[0] === 'StasisStart' &&
        events.indexOf('PlaybackFinished') > events.indexOf('PlaybackStarted') &&
        events[events.length - 1] === 'StasisEnd',
      `events in order: ${events.join(' > ')}`,
    );
    t.same(call?.failures, [], 'no ARI request failed');
  });

  await t.test('when its Asterisk hangs then missed pings drop the socket and REST times out; when it resumes the client comes back', async (t) => {
    const pid = asteriskPid(own);
    if (pid === undefined) throw new Error('own Asterisk is not running');
    t.teardown(() => {
      try {
        process.kill(pid, 'SIGCONT');
      } catch {
        // Gone already.
      }
    });
    const frozenAt = Date.now();
    process.kill(pid, 'SIGSTOP');
    await waitFor(() => telephony.health().find((h) => h.name === 'own')?.up === false, 4 * PING_INTERVAL_MS, 'own to show down');
    const detectedMs = Date.now() - frozenAt;
    t.ok(detectedMs <= 2 * PING_INTERVAL_MS + 1_000, `the dead socket was noticed after ${detectedMs} ms`);
    t.equal(telephony.server('own').state().lastError?.code, 'ari.ws_dead');
    const probe = await timed(telephony.server('own').asterisk.info());
    t.equal((probe.error as AppError | undefined)?.kind, 'timeout', 'a hung Asterisk gives a timeout');
    t.ok(probe.ms >= REQUEST_TIMEOUT_MS - 50 && probe.ms < REQUEST_TIMEOUT_MS + 1_000, `after ${probe.ms.toFixed(0)} ms`);

    process.kill(pid, 'SIGCONT');
    await waitFor(() => telephony.health().find((h) => h.name === 'own')?.up === true, 20_000, 'own to come back');
    t.pass('reconnected after the hang');
    t.equal(telephony.health().find((h) => h.name === 'main')?.up, true, 'main stayed up');
  });
});

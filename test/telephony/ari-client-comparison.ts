/**
 * Measures the `ari-client` package against our client (server/telephony/ari-client.ts) on a
 * real Asterisk that goes away for 60 s, and with two Asterisk servers in one process.
 * A script, not a test: it prints figures.
 *
 *   npx tsx test/telephony/ari-client-comparison.ts [--outage-s 60]
 *
 * Runs on an Asterisk instance of its own (created and destroyed here) plus "main".
 * Takes about two minutes.
 */
import ari, { type LegacyChannel, type LegacyClient } from 'ari-client';
import { createLogger } from '../../server/infra/logger.js';
import { createAriClient, type AriClient } from '../../server/telephony/ari-client.js';
import { destroyAsterisk, ensureAsterisk, stopAsterisk, uniqueName, type AsteriskInstance } from '../helpers/asterisk.js';
import { runSipp } from '../helpers/sipp.js';
import { sleep } from '../helpers/telephony-wait.js';

interface Outcome {
  ms: number;
  result: 'ok' | 'error' | 'still pending';
  detail?: string;
}

const log = createLogger({ level: process.env['LOG_LEVEL'] ?? 'warn' });

/** Settle `p` or give up after `capMs`, saying which happened and how long it took. */
async function measure(p: Promise<unknown>, capMs: number): Promise<Outcome> {
  const started = performance.now();
  const cap = new Promise<Outcome>((resolve) =>
    setTimeout(() => resolve({ ms: performance.now() - started, result: 'still pending' }), capMs).unref(),
  );
  const settled = p.then(
    () => ({ ms: performance.now() - started, result: 'ok' as const }),
    (e: unknown) => ({ ms: performance.now() - started, result: 'error' as const, detail: describe(e) }),
  );
  return Promise.race([settled, cap]);
}

function describe(e: unknown): string {
  if (e && typeof e === 'object') {
    const o = e as { code?: unknown; kind?: unknown; name?: unknown; message?: unknown; details?: { status?: unknown } };
    if (typeof o.kind === 'string') return `${String(o.kind)}/${String(o.code)}${o.details?.status ? ` status ${String(o.details.status)}` : ''}`;
    return `${String(o.name)}: ${String(o.message).slice(0, 120)}`;
  }
  return String(e);
}

function stats(samples: number[]): { median: number; p95: number; max: number } {
  const s = [...samples].sort((a, b) => a - b);
  const at = (q: number) => s[Math.min(s.length - 1, Math.floor(q * s.length))] as number;
  return { median: round(at(0.5)), p95: round(at(0.95)), max: round(s[s.length - 1] as number) };
}

const round = (n: number) => Math.round(n * 100) / 100;

async function restLatency(call: () => Promise<unknown>, n: number): Promise<ReturnType<typeof stats>> {
  const samples: number[] = [];
  for (let i = 0; i < n; i += 1) {
    const started = performance.now();
    await call();
    samples.push(performance.now() - started);
  }
  return stats(samples);
}

/** Place a call to `app` and report whether the app saw its StasisStart within 10 s. */
async function callReaches(instance: AsteriskInstance, app: string, seen: Set<string>): Promise<{ stasisStart: boolean; sippExit: number | null }> {
  const caller = `4${Date.now().toString().slice(-9)}`;
  const result = await runSipp({
    instance,
    scenario: 'caller-far-end-hangs-up.xml',
    service: '4100',
    keys: { app, caller },
    timeoutMs: 45_000,
  });
  const deadline = Date.now() + 10_000;
  while (!seen.has(caller) && Date.now() < deadline) await sleep(100);
  return { stasisStart: seen.has(caller), sippExit: result.exitCode };
}

async function main(): Promise<void> {
  const outageArg = process.argv.indexOf('--outage-s');
  const outageMs = (outageArg > 0 ? Number(process.argv[outageArg + 1]) : 60) * 1000;
  const report: Record<string, unknown> = { node: process.version, outageMs };

  const mainInstance = await ensureAsterisk('main');
  const name = uniqueName('cmp');
  const own = await ensureAsterisk(name);
  let legacy: LegacyClient | undefined;
  let legacyOnMain: LegacyClient | undefined;
  let ours: AriClient | undefined;
  let oursOnMain: AriClient | undefined;
  try {
    // --- both clients on the same Asterisk, each with its own app ---------------------------
    const legacyApp = uniqueName('legacy');
    const oursApp = uniqueName('ours');
    const legacySeen = new Set<string>();
    const oursSeen = new Set<string>();
    const legacyWs: Array<{ event: string; atMs: number }> = [];
    const t0 = Date.now();

    legacy = await ari.connect(own.ariUrl, own.ariUser, own.ariPassword);
    legacy.on('StasisStart', (_e: unknown, channel: LegacyChannel) => {
      legacySeen.add(channel.caller.number);
      channel
        .answer()
        .then(() => channel.hangup())
        .catch(() => undefined);
    });
    for (const event of ['WebSocketConnected', 'WebSocketReconnecting', 'WebSocketMaxRetries']) {
      legacy.on(event, () => legacyWs.push({ event, atMs: Date.now() - t0 }));
    }
    // Without a listener ari-client's 'error'-less emitter would not matter; keep it quiet.
    legacy.on('error', () => undefined);
    await legacy.start(legacyApp);

    ours = createAriClient({
      name: 'own',
      baseUrl: own.ariUrl,
      username: own.ariUser,
      password: own.ariPassword,
      app: oursApp,
      logger: log,
    });
    ours.on('StasisStart', async (e, c) => {
      oursSeen.add(e.channel.caller.number);
      await c.channels.answer(e.channel.id);
      await c.channels.hangup(e.channel.id);
    });
    ours.start();
    if (!(await ours.waitUntilUp(10_000))) throw new Error('our client did not connect');

    const l = legacy;
    const o = ours;
    report['restLatencyUpMs'] = {
      'ari-client': await restLatency(() => l.asterisk.getInfo(), 50),
      ours: await restLatency(() => o.asterisk.info(), 50),
    };
    report['callBeforeOutage'] = {
      'ari-client': await callReaches(own, legacyApp, legacySeen),
      ours: await callReaches(own, oursApp, oursSeen),
    };

    // --- the outage ------------------------------------------------------------------------
    const stoppedAt = Date.now();
    await stopAsterisk(name);
    const [legacyDown, oursDown] = await Promise.all([measure(l.asterisk.getInfo(), 30_000), measure(o.asterisk.info(), 30_000)]);
    report['restWhileDown'] = { 'ari-client': legacyDown, ours: oursDown };
    const remaining = outageMs - (Date.now() - stoppedAt);
    if (remaining > 0) await sleep(remaining);
    report['legacyWebsocketEventsDuringOutage'] = legacyWs.filter((w) => w.atMs >= stoppedAt - t0).map((w) => ({
      ...w,
      afterStopMs: w.atMs - (stoppedAt - t0),
    }));
    report['oursStateAtEndOfOutage'] = o.state();

    // --- back --------------------------------------------------------------------------------
    await ensureAsterisk(name);
    const backAt = Date.now();
    const oursBack = await o.waitUntilUp(30_000);
    report['oursReconnectedAfterMs'] = oursBack ? Date.now() - backAt : 'no';
    await sleep(Math.max(0, 15_000 - (Date.now() - backAt))); // give ari-client as long
    report['restAfterRestart'] = {
      'ari-client': await measure(l.asterisk.getInfo(), 30_000),
      ours: await measure(o.asterisk.info(), 30_000),
    };
    report['callAfterOutage'] = {
      'ari-client': await callReaches(own, legacyApp, legacySeen),
      ours: await callReaches(own, oursApp, oursSeen),
    };

    // --- two servers in one process, different credentials ---------------------------------
    legacyOnMain = await ari.connect(mainInstance.ariUrl, mainInstance.ariUser, mainInstance.ariPassword);
    const lm = legacyOnMain;
    report['twoServersInOneProcess'] = {
      'ari-client': {
        secondServer: await measure(lm.asterisk.getInfo(), 10_000),
        firstServerAfterSecondConnected: await measure(l.asterisk.getInfo(), 10_000),
      },
      ours: await (async () => {
        oursOnMain = createAriClient({
          name: 'main',
          baseUrl: mainInstance.ariUrl,
          username: mainInstance.ariUser,
          password: mainInstance.ariPassword,
          app: uniqueName('ours-main'),
          logger: log,
        });
        return {
          secondServer: await measure(oursOnMain.asterisk.info(), 10_000),
          firstServerAfterSecondConnected: await measure(o.asterisk.info(), 10_000),
        };
      })(),
    };
  } finally {
    try {
      legacy?.stop();
      legacyOnMain?.stop();
    } catch {
      // ari-client may throw when its socket is already gone.
    }
    await ours?.stop();
    await oursOnMain?.stop();
    await destroyAsterisk(name);
  }
  process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
}

if (process.env['TAP'] === '1') {
  // tap runs every file under test/; this one is a measurement script, run it with tsx.
} else {
  main().then(
    () => process.exit(0),
    (error: unknown) => {
      log.error({ err: error }, 'comparison failed');
      process.exit(1);
    },
  );
}

/**
 * The baseline: Asterisk's own app_queue on the benchmark's instance, with the same agents
 * (the same PJSIP endpoints and phones) and recording of the bridged call by the queue's
 * MixMonitor. The queue and the dialplan are written into the instance's own etc directory
 * (pulled in by `#tryinclude` lines of the shared templates) and loaded on that instance only.
 */
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import type { AsteriskInstance } from '../../helpers/asterisk.js';
import { cli } from './probes.js';

export const APP_QUEUE_NAME = 'bench-aq';
/** Recording files of the baseline: `aq-<caller number>.wav` in the spool's monitor folder. */
export const APP_QUEUE_RECORDING_PREFIX = 'aq-';

/**
 * Writes the baseline's queue (every agent endpoint a static member, least recently called
 * first, no wrap-up, an agent on a call is not rung, MixMonitor of the bridged call) and its
 * dialplan (test callers dialling `<number>` are answered and enter the queue), then reloads
 * both on this instance and checks that the queue has every member.
 */
export async function installAppQueue(instance: AsteriskInstance, o: { number: string; endpoints: readonly string[]; ringTimeoutSeconds: number }): Promise<void> {
  if (!/^[0-9]{4,}$/.test(o.number)) throw new Error(`bad app_queue number ${o.number}`);
  const etc = path.join(instance.instanceDir, 'etc');
  const queue = [
    '; Written by test/bench/voice for the app_queue baseline of the voice benchmark.',
    `[${APP_QUEUE_NAME}]`,
    'strategy = leastrecent',
    `timeout = ${o.ringTimeoutSeconds}`,
    'retry = 1',
    'wrapuptime = 0',
    'ringinuse = no',
    'autofill = yes',
    'joinempty = yes',
    'leavewhenempty = no',
    'announce-frequency = 0',
    'periodic-announce-frequency = 0',
    'announce-holdtime = no',
    'reportholdtime = no',
    'musicclass = default',
    'monitor-format = wav',
    ...o.endpoints.map((e) => `member => PJSIP/${e}`),
    '',
  ].join('\n');
  const dialplan = [
    '; Written by test/bench/voice for the app_queue baseline of the voice benchmark: test callers',
    '; dialling this number are answered and wait in app_queue (a more specific pattern than the',
    "; test context's _X., so it wins there).",
    '[ipcc-test]',
    `exten => ${o.number},1,Answer()`,
    ` same => n,Set(MONITOR_FILENAME=${APP_QUEUE_RECORDING_PREFIX}\${CALLERID(num)})`,
    ` same => n,Queue(${APP_QUEUE_NAME})`,
    ' same => n,Hangup()',
    '',
  ].join('\n');
  writeFileSync(path.join(etc, 'queues-bench.conf'), queue);
  writeFileSync(path.join(etc, 'extensions-bench.conf'), dialplan);
  await cli(instance, 'dialplan reload');
  await cli(instance, 'module reload app_queue.so');
  const shown = await cli(instance, `queue show ${APP_QUEUE_NAME}`);
  const members = (shown.match(/PJSIP\/agent-/g) ?? []).length;
  if (members !== o.endpoints.length) throw new Error(`app_queue has ${members} members, expected ${o.endpoints.length}:\n${shown.slice(0, 500)}`);
  const plan = await cli(instance, `dialplan show ${o.number}@ipcc-test`);
  if (!plan.includes(`Queue(${APP_QUEUE_NAME})`)) throw new Error(`the app_queue number is not in the dialplan:\n${plan.slice(0, 500)}`);
}

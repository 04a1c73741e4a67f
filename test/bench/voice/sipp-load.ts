/**
 * SIPp for the voice benchmark, run from the stack's root: one long-running UAS answering for
 * every agent endpoint (static contacts, `-rtp_echo` on one media port), and one UAC per load
 * step (a fixed rate for a fixed time, G.711 from `rtp_stream`). Each writes its per-call log
 * lines (`-trace_logs`) into a scratch folder inside the root that the benchmark reads afterwards.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { runInRoot, type AsteriskInstance } from '../../helpers/asterisk.js';
import { freeUdpPort, parseSippStats, waitUdpListening } from '../../helpers/sipp.js';
import { sleep } from './bench-util.js';

const here = path.dirname(fileURLToPath(import.meta.url));
export const BENCH_SCENARIO_DIR = path.join(here, 'scenarios');

/** A scratch folder inside the root: `inRoot` as SIPp sees it, `onHost` as we do. */
export interface Workdir {
  inRoot: string;
  onHost: string;
}

export function makeWorkdir(root: string, name: string): Workdir {
  const inRoot = `/tmp/${name}`;
  const onHost = path.join(root, inRoot);
  mkdirSync(onHost, { recursive: true });
  return { inRoot, onHost };
}

/** Copies a scenario into the workdir (as `as`, default its own name), replacing `@@NAME@@` placeholders. */
export function placeScenario(work: Workdir, file: string, values: Record<string, string> = {}, as = file): string {
  let text = readFileSync(path.join(BENCH_SCENARIO_DIR, file), 'utf8');
  for (const [k, v] of Object.entries(values)) text = text.split(`@@${k}@@`).join(v);
  if (/@@[A-Z_]+@@/.test(text)) throw new Error(`${file}: a placeholder was left unset`);
  writeFileSync(path.join(work.onHost, as), text);
  return `${work.inRoot}/${as}`;
}

function readOptional(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

export interface AgentPhones {
  ip: string;
  port: number;
  logFile: string;
  pid: number | undefined;
  /** Quits SIPp (control port `q`, then signals) and resolves with its counts. */
  stop(): Promise<{ successful: number; failed: number; errors: string }>;
  /** Kills it at once (the benchmark was interrupted). */
  kill(): void;
}

export interface AgentPhonesOptions {
  instance: AsteriskInstance;
  work: Workdir;
  /** A tag for file names (one UAS per system under test). */
  tag: string;
  ip: string;
  port: number;
  ringMs: number;
  holdMs: number;
  /** SIPp quits by itself after this long, should the benchmark die without stopping it. */
  maxSeconds: number;
}

/** Starts the agents' UAS and waits until it listens. */
export async function startAgentPhones(o: AgentPhonesOptions): Promise<AgentPhones> {
  const scenario = placeScenario(o.work, 'bench-agent.xml', { RING_MS: String(o.ringMs) });
  const mediaPort = await freeUdpPort(o.ip, 4);
  const controlPort = await freeUdpPort('127.0.0.1', 1);
  const log = `${o.work.inRoot}/${o.tag}-agents.log`;
  const err = `${o.work.inRoot}/${o.tag}-agents-errors.log`;
  const stf = `${o.work.inRoot}/${o.tag}-agents-stat.csv`;
  const args = [
    o.instance.root, 'sipp', '-sf', scenario, '-i', o.ip, '-p', String(o.port), '-mi', o.ip, '-mp', String(mediaPort), '-rtp_echo',
    '-d', String(o.holdMs), '-m', '1000000', '-l', '5000', '-aa', '-nostdin', '-cp', String(controlPort), '-timeout', `${Math.ceil(o.maxSeconds)}s`,
    '-trace_logs', '-log_file', log, '-trace_err', '-error_file', err, '-trace_stat', '-stf', stf, '-fd', '3600',
  ];
  const child: ChildProcess = spawn('chroot', args, { stdio: ['ignore', 'ignore', 'pipe'], detached: true });
  let stderr = '';
  child.stderr?.setEncoding('utf8').on('data', (d: string) => (stderr += d));
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
  let stopping: Promise<{ successful: number; failed: number; errors: string }> | undefined;
  await waitUdpListening(o.ip, o.port, 10_000).catch((e: unknown) => {
    killGroup(child, 'SIGKILL');
    throw new Error(`agent phones did not start: ${String(e)} ${stderr.slice(-500)}`);
  });
  return {
    ip: o.ip,
    port: o.port,
    logFile: path.join(o.instance.root, log),
    pid: child.pid,
    kill: () => killGroup(child, 'SIGKILL'),
    stop() {
      stopping ??= (async () => {
        await sendControl(controlPort, 'q');
        const done = await Promise.race([exited.then(() => true), sleep(8_000).then(() => false)]);
        if (!done) {
          killGroup(child, 'SIGTERM');
          await Promise.race([exited, sleep(3_000)]);
          killGroup(child, 'SIGKILL');
        }
        const stats = parseSippStats(readOptional(path.join(o.instance.root, stf)));
        return { successful: stats['SuccessfulCall(C)'] ?? 0, failed: stats['FailedCall(C)'] ?? 0, errors: readOptional(path.join(o.instance.root, err)) };
      })();
      return stopping;
    },
  };
}

export interface CallerStepOptions {
  instance: AsteriskInstance;
  work: Workdir;
  tag: string;
  /** The caller scenario inside the root (see {@link placeScenario}). */
  scenario: string;
  /** The number dialled. */
  service: string;
  /** Stasis application named in X-IPCC-App (ignored by the app_queue number). */
  app: string;
  /** The PJSIP endpoint the callers are (their From user). */
  endpoint: string;
  /** Digits in front of SIPp's call number: the caller number names the system and the step. */
  prefix: string;
  rate: number;
  seconds: number;
  /** Raw u-law file inside the root. */
  audio: string;
  /** First RTP port of this step's callers (SIPp takes 4 ports per call, upwards from here). */
  rtpBase: number;
  timeoutMs: number;
}

export interface CallerStepResult {
  created: number;
  successful: number;
  failed: number;
  exitCode: number | null;
  timedOut: boolean;
  log: string;
  errors: string;
  stderr: string;
}

/** One load step: `rate` calls/s for `seconds`; resolves when every call of the step ended. */
export async function runCallerStep(o: CallerStepOptions): Promise<CallerStepResult> {
  const sipPort = await freeUdpPort(o.instance.testCallerIp, 1);
  const controlPort = await freeUdpPort('127.0.0.1', 1);
  const calls = Math.round(o.rate * o.seconds);
  const log = `${o.work.inRoot}/${o.tag}-callers.log`;
  const err = `${o.work.inRoot}/${o.tag}-callers-errors.log`;
  const stf = `${o.work.inRoot}/${o.tag}-callers-stat.csv`;
  const result = await runInRoot(o.instance.root, [
    'sipp', `${o.instance.sipHost}:${o.instance.sipPort}`, '-sf', o.scenario, '-s', o.service,
    '-i', o.instance.testCallerIp, '-p', String(sipPort), '-mi', o.instance.testCallerIp,
    '-min_rtp_port', String(o.rtpBase), '-max_rtp_port', String(Math.min(65_000, o.rtpBase + 4 * calls + 16)),
    '-r', String(o.rate), '-m', String(calls), '-l', '5000', '-nostdin', '-cp', String(controlPort),
    '-key', 'app', o.app, '-key', 'endpoint', o.endpoint, '-key', 'prefix', o.prefix, '-key', 'audio', o.audio,
    '-timeout', `${Math.ceil(o.timeoutMs / 1000) - 3}s`,
    '-trace_logs', '-log_file', log, '-trace_err', '-error_file', err, '-trace_stat', '-stf', stf, '-fd', '3600',
  ], { timeoutMs: o.timeoutMs });
  const stats = parseSippStats(readOptional(path.join(o.instance.root, stf)));
  return {
    created: stats['TotalCallCreated'] ?? 0,
    successful: stats['SuccessfulCall(C)'] ?? 0,
    failed: stats['FailedCall(C)'] ?? 0,
    exitCode: result.code,
    timedOut: result.timedOut,
    log: readOptional(path.join(o.instance.root, log)),
    errors: readOptional(path.join(o.instance.root, err)),
    stderr: result.stderr,
  };
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // Already gone.
  }
}

function sendControl(port: number, command: string): Promise<void> {
  return new Promise((resolve) => {
    const s = createSocket('udp4');
    s.send(command, port, '127.0.0.1', () => s.close(() => resolve()));
  });
}


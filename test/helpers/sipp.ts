/**
 * Run SIPp from the stack's root against an Asterisk instance and read its verdict: the exit
 * code and the final statistics row (successful / failed calls).
 */
import { randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { copyFileSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { runInRoot, type AsteriskInstance } from './asterisk.js';

const here = path.dirname(fileURLToPath(import.meta.url));
export const SCENARIO_DIR = path.resolve(here, '../telephony/scenarios');

/** SIPp's documented exit codes. */
export const SIPP_EXIT = {
  allSucceeded: 0,
  someFailed: 1,
  internalCommand: 97,
  noCallProcessed: 99,
  fatal: 255,
  bindFailed: 254,
} as const;

export interface SippOptions {
  instance: AsteriskInstance;
  /** A scenario file name in test/telephony/scenarios, or an absolute path. */
  scenario: string;
  /** The dialed number (`[service]`). */
  service: string;
  /** `-key NAME VALUE` pairs, used in the scenario as `[NAME]`. */
  keys?: Record<string, string>;
  /** `-set NAME VALUE` pairs: global variables of the scenario (numbers its actions can use). */
  sets?: Record<string, string>;
  /** SIPp's media port (`-mp`, the SDP's `[media_port]`); a free one by default. */
  mediaPort?: number;
  /** SIPp's default pause (`-d`), for scenarios with a bare `<pause/>`. */
  pauseMs?: number;
  calls?: number;
  /** Calls per second. */
  rate?: number;
  /** Hard limit of the whole run. */
  timeoutMs: number;
}

export interface SippResult {
  exitCode: number | null;
  timedOut: boolean;
  successful: number;
  failed: number;
  created: number;
  durationMs: number;
  stdout: string;
  stderr: string;
  errors: string;
}

/** Run SIPp as a UAC from the test-caller address. */
export async function runSipp(options: SippOptions): Promise<SippResult> {
  const { instance } = options;
  const sipPort = await freeUdpPort(instance.testCallerIp, 1);
  const mediaPort = options.mediaPort ?? (await freeUdpPort(instance.testCallerIp, 4));
  return runSippIn(instance, options.scenario, options.timeoutMs, options.keys, (work, timeoutS) => [
    `${instance.sipHost}:${instance.sipPort}`, '-sf', `${work}/scenario.xml`, '-s', options.service,
    '-i', instance.testCallerIp, '-p', String(sipPort), '-mi', instance.testCallerIp, '-mp', String(mediaPort),
    '-m', String(options.calls ?? 1), '-r', String(options.rate ?? 10), '-timeout', `${timeoutS}s`,
    ...Object.entries(options.sets ?? {}).flatMap(([k, v]) => ['-set', k, v]),
    ...(options.pauseMs !== undefined ? ['-d', String(options.pauseMs)] : []),
  ]);
}

/**
 * Runs SIPp inside the root with a scenario copied into a scratch folder there, the common
 * options (timeout is an error, no stdin, statistics and errors to files) and `-key` pairs, and
 * reads its verdict. IPCC_SIPP_TRACE=DIR keeps each run's SIP messages there for debugging.
 */
async function runSippIn(
  instance: AsteriskInstance,
  scenario: string,
  timeoutMs: number,
  keys: Record<string, string> | undefined,
  specific: (work: string, timeoutS: number) => string[],
): Promise<SippResult> {
  const work = `/tmp/ipcc-sipp-${randomBytes(6).toString('hex')}`;
  const hostWork = path.join(instance.root, work);
  mkdirSync(hostWork, { recursive: true });
  try {
    const scenarioPath = path.isAbsolute(scenario) ? scenario : path.join(SCENARIO_DIR, scenario);
    copyFileSync(scenarioPath, path.join(hostWork, 'scenario.xml'));
    const timeoutS = Math.max(1, Math.floor(timeoutMs / 1000) - 2);
    const args = ['sipp', ...specific(work, timeoutS), '-timeout_error', '-nostdin', '-trace_stat', '-stf', `${work}/stat.csv`, '-trace_err', '-error_file', `${work}/errors.log`];
    for (const [k, v] of Object.entries(keys ?? {})) args.push('-key', k, v);
    const traceDir = process.env.IPCC_SIPP_TRACE;
    if (traceDir) args.push('-trace_msg', '-message_file', `${work}/messages.log`);
    const result = await runInRoot(instance.root, args, { timeoutMs });
    if (traceDir) copyFileSync(path.join(hostWork, 'messages.log'), path.join(traceDir, `${path.basename(work)}.log`));
    const stats = readStats(path.join(hostWork, 'stat.csv'));
    return {
      exitCode: result.code,
      timedOut: result.timedOut,
      successful: stats['SuccessfulCall(C)'] ?? 0,
      failed: stats['FailedCall(C)'] ?? 0,
      created: stats['TotalCallCreated'] ?? 0,
      durationMs: result.durationMs,
      stdout: result.stdout,
      stderr: result.stderr,
      errors: readOptional(path.join(hostWork, 'errors.log')),
    };
  } finally {
    rmSync(hostWork, { recursive: true, force: true });
  }
}

/** The last row of SIPp's statistics file, as numbers by column name. */
export function parseSippStats(csv: string): Record<string, number> {
  const lines = csv.split('\n').filter((l) => l.trim().length > 0);
  const header = lines[0]?.split(';') ?? [];
  const last = lines.length > 1 ? (lines[lines.length - 1] as string).split(';') : [];
  const out: Record<string, number> = {};
  header.forEach((name, i) => {
    const n = Number(last[i]);
    if (name && Number.isFinite(n)) out[name] = n;
  });
  return out;
}

function readStats(file: string): Record<string, number> {
  return parseSippStats(readOptional(file));
}

function readOptional(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

/**
 * An even UDP port on `host` that is free now, with `span` consecutive ports free (RTP, RTCP
 * and SIPp's video ports). Picked above Linux's ephemeral range (32768-60999) and the stack's
 * RTP ranges (10000-59999); a small race with other tests remains, and binding checks it.
 */
export async function freeUdpPort(host: string, span: number): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt += 1) {
    const base = 61_000 + 2 * Math.floor(Math.random() * 2_000);
    const ok = await Promise.all(Array.from({ length: span }, (_, i) => canBind(host, base + i)));
    if (ok.every(Boolean)) return base;
  }
  throw new Error(`no free UDP port span of ${span} on ${host}`);
}

function canBind(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createSocket('udp4');
    socket.once('error', () => {
      socket.close();
      resolve(false);
    });
    socket.bind(port, host, () => {
      socket.close(() => resolve(true));
    });
  });
}

export interface SippUasOptions {
  instance: AsteriskInstance;
  scenario: string;
  /** Address and port the UAS listens on (a loopback address other than the test caller's). */
  ip: string;
  port: number;
  keys?: Record<string, string>;
  calls?: number;
  /** SIPp's default pause (`-d`), for scenarios with a bare `<pause/>` (how long the agent talks). */
  pauseMs?: number;
  /** Answer INFO, NOTIFY, OPTIONS and UPDATE with 200 by itself (`-aa`). */
  autoAnswer?: boolean;
  timeoutMs: number;
}

/** Run SIPp as a UAS (an agent phone with a static contact) until it handled `calls` calls. */
export async function runSippUas(options: SippUasOptions): Promise<SippResult> {
  const mediaPort = await freeUdpPort(options.ip, 4);
  return runSippIn(options.instance, options.scenario, options.timeoutMs, options.keys, (work, timeoutS) => [
    '-sf', `${work}/scenario.xml`, '-i', options.ip, '-p', String(options.port), '-mi', options.ip, '-mp', String(mediaPort),
    '-m', String(options.calls ?? 1), '-timeout', `${timeoutS}s`, ...(options.pauseMs !== undefined ? ['-d', String(options.pauseMs)] : []), ...(options.autoAnswer ? ['-aa'] : []),
  ]);
}

/** Resolves once something listens on UDP ip:port (SIPp started as a UAS), or rejects after `timeoutMs`. */
export async function waitUdpListening(ip: string, port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const taken = await new Promise<boolean>((resolve) => {
      const s = createSocket('udp4');
      s.once('error', () => resolve(true));
      s.bind(port, ip, () => s.close(() => resolve(false)));
    });
    if (taken) return;
    if (Date.now() > deadline) throw new Error(`nothing listens on udp ${ip}:${port} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * Voice benchmark (not a test; it prints figures). Run: `npm run bench:voice` (about 8 minutes).
 *
 * SIPp callers at rising calls/s go through OUR server — entry point → ACD queue (holding bridge
 * with music) → router offer → the agent's phone rings → answer → recorded mixing bridge — and,
 * in the same run, through Asterisk's own app_queue (same instance, same agents and phones, the
 * same steps, MixMonitor recording of the bridged call), measured the same way.
 *
 * - The server under test is a snapshot of HEAD run as its own process (source-snapshot.ts), on
 *   its own database and Redis prefix, configured over its HTTP API only (our-server.ts).
 * - Asterisk is the benchmark's own instance (never main), brought up with an RTP range large
 *   enough for 400 bridged calls, destroyed at the end.
 * - Agents: BENCH_AGENTS PJSIP endpoints named as the server names agents' endpoints, pushed over
 *   ARI with a static contact (bench-endpoints.ts), all answered by one SIPp UAS with -rtp_echo;
 *   each rings for BENCH_RING_MS, talks for BENCH_HOLD_SECONDS and hangs up. Callers send G.711
 *   (rtp_stream of the speech in SIPp's g711a.pcap) and wait for the agent to hang up.
 * - Figures come from SIPp's own per-call log lines (both ends), the server's voice_calls rows
 *   (read-only), ARI's channel and bridge lists, the recording files and /proc (analysis.ts,
 *   probes.ts). A step is clean when every call was connected, talked and fully recorded.
 *
 * Env (all optional):
 *   BENCH_STEPS=5,10,20,30,40         calls/s of each step      BENCH_STEP_SECONDS=20
 *   BENCH_HOLD_SECONDS=8              agent talk time           BENCH_AGENTS=400
 *   BENCH_RING_MS=100                 ring before answering     BENCH_SYSTEMS=ours,app_queue (order)
 *   BENCH_INSTANCE=bench              our own Asterisk instance (never main)
 *   BENCH_RTP_START=6000 BENCH_RTP_END=9999   the instance's RTP ports (2 per channel; a slot's
 *                                     default 1000 ports hold only 250 bridged calls)
 *   BENCH_KEEP=1                      keep the instance, SIPp logs and server log afterwards
 *   BENCH_SERVER_PROFILE=<dir>        write a V8 CPU profile of our server's whole run into <dir>
 *   BENCH_CAPACITY_CALLS=330          the capacity step (after the rate steps): this many callers
 *   BENCH_CAPACITY_RATE=10            arrive at this rate and talk BENCH_CAPACITY_HOLD_SECONDS
 *   BENCH_CAPACITY_HOLD_SECONDS       (default: the arrival time + 15 s, so that every call is up
 *                                     at once for 15 s); BENCH_CAPACITY=0 skips the step
 * Climbing stops early when, at a step's end, more callers wait than about 3 s of arrivals.
 *
 * The capacity step answers the budget's "concurrent recorded calls": at a rate both systems
 * handle cleanly, callers keep arriving until BENCH_CAPACITY_CALLS are connected and recorded at
 * the same time; it is clean when every one was connected, talked and fully recorded.
 */
import { existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import {
  distribution,
  highestCleanRate,
  joinByFrom,
  joinThroughServer,
  parseAgentLog,
  parseCallerLog,
  stepLatencies,
  type Distribution,
  type JoinedCall,
  type ServerCall,
  type StepLatencies,
} from './analysis.js';
import { APP_QUEUE_RECORDING_PREFIX, installAppQueue } from './app-queue.js';
import { writeCallerAudio } from './caller-audio.js';
import { agentIds, CALLER_ENDPOINT, deleteBenchEndpoints, pushAgentEndpoints, pushCallerEndpoint, TENANT_ID } from './bench-endpoints.js';
import { sleep } from './bench-util.js';
import { agentsNotFree, configureOurServer, readOurCalls, serverSettingsFromEnv, startOurServer, type OurServer } from './our-server.js';
import { cli, cpuBetween, hangUpEverything, loadGeneratorCpuSeconds, pidsByName, readCpu, startChannelSampler, type ChannelSample, type CpuReading } from './probes.js';
import { loadEndpointNaming, snapshotHead, type SourceSnapshot } from './source-snapshot.js';
import { makeWorkdir, placeScenario, runCallerStep, startAgentPhones, type CallerStepResult, type Workdir } from './sipp-load.js';
import { asteriskPid, destroyAsterisk, readInstance, run, STACK_SCRIPT, type AsteriskInstance } from '../../helpers/asterisk.js';
import { freeUdpPort } from '../../helpers/sipp.js';

const env = process.env;
const num = (name: string, fallback: number): number => {
  const v = env[name];
  if (v === undefined || v === '') return fallback;
  const n = Number(v);
  if (!Number.isFinite(n) || n <= 0) throw new Error(`${name} must be a positive number, got ${v}`);
  return n;
};
const SETTINGS = {
  steps: (env.BENCH_STEPS ?? '5,10,20,30,40').split(',').map((s) => Number(s.trim())).filter((n) => n > 0),
  stepSeconds: num('BENCH_STEP_SECONDS', 20),
  holdMs: Math.round(num('BENCH_HOLD_SECONDS', 8) * 1000),
  agents: Math.round(num('BENCH_AGENTS', 400)),
  ringMs: Math.round(num('BENCH_RING_MS', 100)),
  systems: (env.BENCH_SYSTEMS ?? 'ours,app_queue').split(',').map((s) => s.trim()) as SystemKind[],
  instance: env.BENCH_INSTANCE ?? 'bench',
  rtpStart: num('BENCH_RTP_START', 6000),
  rtpEnd: num('BENCH_RTP_END', 9999),
  keep: env.BENCH_KEEP === '1',
  serverProfile: env.BENCH_SERVER_PROFILE ? path.resolve(env.BENCH_SERVER_PROFILE) : undefined,
  capacity: env.BENCH_CAPACITY === '0' ? undefined : (() => {
    const calls = Math.round(num('BENCH_CAPACITY_CALLS', 330));
    const rate = num('BENCH_CAPACITY_RATE', 10);
    const holdMs = Math.round(num('BENCH_CAPACITY_HOLD_SECONDS', Math.ceil(calls / rate) + 15) * 1000);
    if (holdMs < (calls / rate) * 1000 + 5000) throw new Error('BENCH_CAPACITY_HOLD_SECONDS must exceed the arrival time (calls / rate) by at least 5 s, or no moment has every call up');
    return { calls, rate, holdMs };
  })(),
};
/** A step is clean when every call it offered was connected, talked and fully recorded. */
const cleanSteps = (steps: readonly StepFigures[]) => steps.map((x) => ({ rate: x.rate, offered: x.offered, failed: x.offered - Math.min(x.completed, x.recorded) }));
/** The budget (docs: ARCHITECTURE.md §7). Never lowered. */
const BUDGET = { ringP99Ms: 100, ringAtRate: 30, concurrentRecorded: 300 };
/** Numbers dialled: our entry point, and the app_queue baseline's extension. */
const OUR_ENTRY = '78000001';
const APP_QUEUE_NUMBER = '77000001';
const OFFER_TIMEOUT_SECONDS = 15;
/** First RTP port of the callers of even / odd steps: overlapping steps never share ports. */
const CALLER_RTP_BANKS = [40_000, 50_000];

type SystemKind = 'ours' | 'app_queue';
const LABEL: Record<SystemKind, string> = { ours: 'our server', app_queue: 'app_queue' };

const out = (line = ''): void => {
  process.stdout.write(`${line}\n`);
};

interface StepFigures {
  rate: number;
  /** The agents' talk time of the step. */
  holdMs: number;
  offered: number;
  completed: number;
  failed: number;
  sippFailed: number;
  peakBridged: number;
  peakWaiting: number;
  peakRinging: number;
  recorded: number;
  /** How much of the talk the recordings of the talked calls hold (8 kHz 16-bit WAV): median and lowest, 0–1. */
  recordedShare: { p50: number; min: number } | undefined;
  /** Per talked call, how much of the talk the recording lacks (ms; 0 when it holds all of it). */
  recordingShort: Distribution;
  latencies: StepLatencies;
  cpu: ReturnType<typeof cpuBetween> | undefined;
  notes: string[];
}

interface SystemFigures {
  kind: SystemKind;
  /** The machine's 1-minute load average when the system's run began and ended (other users included). */
  load: [number, number];
  steps: StepFigures[];
  /** The capacity step (see the header), when it ran. */
  capacity?: StepFigures;
  leftChannels: number;
  stoppedClimbing?: string;
  recordingsTotal: number;
  agentPhones: { successful: number; failed: number };
  seconds: number;
  extra: string[];
}

/** Stops processes the benchmark started, when it is interrupted. */
const interruptHooks = new Set<() => void | Promise<void>>();

/** What both systems' runs share. */
interface Common {
  astPid: number;
  phones: { ip: string; port: number };
  audio: string;
  agents: string[];
  source: SourceSnapshot;
  /** The agent's PJSIP endpoint, named as the server under test names it. */
  endpointOf: (agentId: string) => string;
}

async function ensureBenchInstance(name: string): Promise<AsteriskInstance> {
  if (name === 'main') throw new Error('the benchmark never runs on the shared main instance');
  const e: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!/^IPCC_STACK_/.test(k)) e[k] = v;
  e.IPCC_STACK_RTP_START = String(SETTINGS.rtpStart);
  e.IPCC_STACK_RTP_END = String(SETTINGS.rtpEnd);
  const r = await run(STACK_SCRIPT, ['up', '--instance', name], { timeoutMs: 300_000, env: e });
  if (r.code !== 0) throw new Error(`stack.sh up --instance ${name} failed:\n${r.stderr.slice(-2000)}`);
  return readInstance(r.stdout.trim().split('\n').pop() ?? '');
}

function machineLine(): string {
  const cpus = os.cpus();
  return `machine: ${cpus[0]?.model ?? 'unknown'} · ${cpus.length} cores · ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB · node ${process.version} · ${os.platform()} ${os.release()} · load avg ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`;
}

function fileSize(file: string): number {
  try {
    return statSync(file).size;
  } catch {
    return -1;
  }
}

/** CPU of the load generators (SIPp) and of the benchmark process itself. */
const cpuCounters = {
  sipp: loadGeneratorCpuSeconds,
  bench: () => {
    const u = process.cpuUsage();
    return (u.user + u.system) / 1e6;
  },
};

/** A recording holds the talk when it has at least (talk time − 1 s) of 8 kHz 16-bit audio. */
const minRecordingBytes = (holdMs: number): number => 44 + 16_000 * Math.max(0, holdMs / 1000 - 1);

/** The median and lowest share of the talk time that recordings of `bytes` hold (a missing file holds none). */
function shareOfTalk(bytes: readonly number[], holdMs: number): { p50: number; min: number } | undefined {
  if (bytes.length === 0) return undefined;
  const shares = bytes.map((b) => Math.max(0, b - 44) / (16 * holdMs)).sort((a, b) => a - b);
  return { p50: shares[Math.floor(shares.length / 2)] as number, min: shares[0] as number };
}

/**
 * Waits until Asterisk is quiet before the load starts (under 10 % of a core over 2 s, at most
 * 60 s): configuring 400 agents leaves it busy for a while, which would land on the first step.
 */
async function settle(pid: number | undefined): Promise<string> {
  if (pid === undefined) return 'no pid';
  const started = Date.now();
  for (;;) {
    const a = readCpu({ asterisk: [pid] });
    await sleep(2000);
    const busy = cpuBetween(a, readCpu({ asterisk: [pid] })).processes.asterisk ?? 0;
    const waited = (Date.now() - started) / 1000;
    if (busy < 10 || waited > 60) return `${busy.toFixed(0)}% of a core after ${waited.toFixed(0)} s`;
  }
}

/** One run of load against a system: its steps' SIPp results, time windows and samples. */
interface PhaseRun {
  rates: number[];
  holdMs: number;
  results: CallerStepResult[];
  windows: { start: number; end: number; cpu?: ReturnType<typeof cpuBetween> }[];
  samples: ChannelSample[];
  phones: { successful: number; failed: number };
  agentLog: string;
  leftChannels: number;
  stopped?: string;
}

interface RunOptions {
  service: string;
  app: string;
  pids: Record<string, readonly number[]>;
  phones: { ip: string; port: number };
  audio: string;
  prefixDigit: string;
}

/** The load of one phase: its steps' SIPp results and time windows (what the phase itself measures). */
type PhaseLoad = Pick<PhaseRun, 'rates' | 'results' | 'windows' | 'stopped'>;

/**
 * Runs one phase of load against a system: its own agent phones (talking `holdMs`), Asterisk
 * settled first, channels sampled each second; once the load has ended, whatever is still up in
 * Asterisk is stranded (every caller has hung up or given up by then) and is counted and ended,
 * so that it cannot weigh on what runs next.
 */
async function runPhase(kind: SystemKind, instance: AsteriskInstance, work: Workdir, o: RunOptions,
  p: { tag: string; holdMs: number; maxSeconds: number; what: string },
  load: (sampler: ReturnType<typeof startChannelSampler>) => Promise<PhaseLoad>): Promise<PhaseRun> {
  const phones = await startAgentPhones({ instance, work, tag: p.tag, ip: o.phones.ip, port: o.phones.port, ringMs: SETTINGS.ringMs, holdMs: p.holdMs, maxSeconds: p.maxSeconds });
  const killPhones = (): void => phones.kill();
  interruptHooks.add(killPhones);
  const sampler = startChannelSampler(instance, 1000, CALLER_ENDPOINT);
  try {
    const settled = await settle(o.pids.asterisk?.[0]);
    process.stderr.write(`[bench] ${LABEL[kind]}: ${p.what} (Asterisk settled: ${settled})\n`);
    const done = await load(sampler);
    // Recordings are closed when the bridges end; give the media server a moment.
    await sleep(1500);
    const leftChannels = await hangUpEverything(instance);
    return {
      ...done,
      holdMs: p.holdMs,
      leftChannels,
      samples: sampler.samples,
      phones: await phones.stop().then((r) => ({ successful: r.successful, failed: r.failed })),
      agentLog: existsSync(phones.logFile) ? readFileSync(phones.logFile, 'utf8') : '',
    };
  } finally {
    interruptHooks.delete(killPhones);
    await sampler.stop();
    await phones.stop().catch(() => undefined);
  }
}

/** The rate steps, back to back; climbing stops when too many callers wait at a step's end. */
function runSystem(kind: SystemKind, instance: AsteriskInstance, work: Workdir, o: RunOptions): Promise<PhaseRun> {
  const maxSeconds = 120 + SETTINGS.steps.length * SETTINGS.stepSeconds + 60 + SETTINGS.holdMs / 1000;
  return runPhase(kind, instance, work, o, { tag: kind, holdMs: SETTINGS.holdMs, maxSeconds, what: `rate steps ${SETTINGS.steps.join(', ')} calls/s` }, async (sampler) => {
    const D = SETTINGS.stepSeconds * 1000;
    const t0 = Date.now() + 500;
    const readings: CpuReading[] = [];
    const running: Promise<CallerStepResult>[] = [];
    let stopped: string | undefined;
    for (let k = 0; k < SETTINGS.steps.length; k += 1) {
      await sleep(Math.max(0, t0 + k * D - Date.now()));
      if (k > 0) {
        const last = sampler.samples[sampler.samples.length - 1];
        const previous = SETTINGS.steps[k - 1] as number;
        if (last && last.waiting > 3 * previous + 50) {
          stopped = `stopped climbing before ${SETTINGS.steps[k]} calls/s: ${last.waiting} callers were waiting at the end of the ${previous} calls/s step`;
          break;
        }
      }
      readings.push(readCpu(o.pids, cpuCounters));
      const rate = SETTINGS.steps[k] as number;
      process.stderr.write(`[bench] ${LABEL[kind]}: step ${k + 1}/${SETTINGS.steps.length}, ${rate} calls/s for ${SETTINGS.stepSeconds} s\n`);
      running.push(runCallerStep({
        instance, work, tag: `${kind}-s${k + 1}`, scenario: `${work.inRoot}/bench-caller.xml`, service: o.service, app: o.app, endpoint: CALLER_ENDPOINT,
        prefix: `${o.prefixDigit}${String(k + 1).padStart(2, '0')}`, rate, seconds: SETTINGS.stepSeconds, audio: o.audio,
        rtpBase: CALLER_RTP_BANKS[k % 2] as number, timeoutMs: D + 30_000 + SETTINGS.holdMs + 15_000,
      }));
    }
    await sleep(Math.max(0, t0 + running.length * D - Date.now()));
    readings.push(readCpu(o.pids, cpuCounters));
    const results = await Promise.all(running);
    return {
      rates: SETTINGS.steps.slice(0, running.length),
      results,
      windows: running.map((_, k) => ({ start: t0 + k * D, end: t0 + (k + 1) * D, cpu: readings[k] && readings[k + 1] ? cpuBetween(readings[k] as CpuReading, readings[k + 1] as CpuReading) : undefined })),
      ...(stopped ? { stopped } : {}),
    };
  });
}

/**
 * The capacity step: its own agent phones (they talk for the step's longer time), callers at a
 * rate both systems handle, until `calls` callers are connected at once; ends when every call
 * has ended.
 */
function runCapacity(kind: SystemKind, instance: AsteriskInstance, work: Workdir, o: RunOptions, c: { calls: number; rate: number; holdMs: number }): Promise<PhaseRun> {
  const seconds = c.calls / c.rate;
  const what = `capacity step, ${c.calls} callers at ${c.rate} calls/s talking ${c.holdMs / 1000} s`;
  return runPhase(kind, instance, work, o, { tag: `${kind}-capacity`, holdMs: c.holdMs, maxSeconds: 120 + seconds + c.holdMs / 1000, what }, async () => {
    const start = Date.now();
    const step = runCallerStep({
      instance, work, tag: `${kind}-capacity`, scenario: `${work.inRoot}/bench-caller-capacity.xml`, service: o.service, app: o.app, endpoint: CALLER_ENDPOINT,
      prefix: `${o.prefixDigit}99`, rate: c.rate, seconds, audio: o.audio, rtpBase: CALLER_RTP_BANKS[0] as number,
      timeoutMs: seconds * 1000 + c.holdMs + 60_000,
    });
    // CPU over the time every call is up: from the last arrival to the first agent hanging up.
    const allUp = { start: start + seconds * 1000 + 2000, end: start + c.holdMs - 1000 };
    await sleep(Math.max(0, allUp.start - Date.now()));
    const from = readCpu(o.pids, cpuCounters);
    await sleep(Math.max(0, allUp.end - Date.now()));
    const to = readCpu(o.pids, cpuCounters);
    return { rates: [c.rate], results: [await step], windows: [{ ...allUp, cpu: cpuBetween(from, to) }] };
  });
}

function figures(
  run: PhaseRun,
  join: (callers: ReturnType<typeof parseCallerLog>, rings: ReturnType<typeof parseAgentLog>, holdMs: number) => JoinedCall[],
  recordingBytes: (c: JoinedCall) => number,
  notesOf: (calls: JoinedCall[]) => string[],
): StepFigures[] {
  const rings = parseAgentLog(run.agentLog);
  return run.results.map((r, k) => {
    const callers = parseCallerLog(r.log);
    const calls = join(callers, rings, run.holdMs);
    const w = run.windows[k]!;
    const inWindow = run.samples.filter((s) => s.at >= w.start && s.at < w.end);
    const completed = calls.filter((c) => c.completed).length;
    const offered = Math.max(r.created, callers.size);
    const notes = notesOf(calls.filter((c) => !c.completed));
    if (r.failed > 0 && r.errors) {
      const kinds = new Map<string, number>();
      for (const line of r.errors.split('\n')) {
        // "<date>\t<time>\t<epoch>: <what happened>"
        const m = /\d+\.\d+:\s+(.*)$/.exec(line);
        if (!m || !m[1]) continue;
        const key = m[1].replace(/'[^']*'/g, "'…'").replace(/\d+/g, 'N').slice(0, 90);
        kinds.set(key, (kinds.get(key) ?? 0) + 1);
      }
      for (const [key, n] of [...kinds.entries()].sort((a, b) => b[1] - a[1]).slice(0, 3)) notes.push(`SIPp: ${n}× ${key}`);
    }
    if (r.timedOut) notes.push('the caller SIPp of this step hit its time limit');
    if (r.created === 0 && callers.size === 0) notes.push(`the caller SIPp placed no call (exit code ${r.exitCode ?? 'none'}): ${r.stderr.trim().split('\n').slice(-3).join(' | ').slice(0, 300) || 'no output'}`);
    return {
      rate: run.rates[k] as number,
      holdMs: run.holdMs,
      offered,
      completed,
      failed: offered - completed,
      sippFailed: r.failed,
      peakBridged: Math.max(0, ...inWindow.map((s) => s.bridged)),
      peakWaiting: Math.max(0, ...inWindow.map((s) => s.waiting)),
      peakRinging: Math.max(0, ...inWindow.map((s) => s.ringing)),
      recorded: calls.filter((c) => c.completed && recordingBytes(c) >= minRecordingBytes(run.holdMs)).length,
      recordedShare: shareOfTalk(calls.filter((c) => c.completed).map((c) => recordingBytes(c)), run.holdMs),
      recordingShort: distribution(calls.filter((c) => c.completed).map((c) => Math.max(0, run.holdMs - Math.max(0, recordingBytes(c) - 44) / 16))),
      latencies: stepLatencies(calls),
      cpu: w.cpu,
      notes,
    };
  });
}

async function benchOurs(instance: AsteriskInstance, work: Workdir, common: Common): Promise<SystemFigures> {
  const started = Date.now();
  const loadBefore = os.loadavg()[0] ?? NaN;
  let server: OurServer | undefined;
  const ownHooks: (() => Promise<void>)[] = [];
  try {
    process.stderr.write('[bench] our server: starting the process, pushing endpoints, configuring over HTTP\n');
    server = await startOurServer(instance, { sourceDir: common.source.dir, logLevel: 'info', ...(SETTINGS.serverProfile ? { profileDir: SETTINGS.serverProfile } : {}) });
    const running = server;
    const stop = (): Promise<void> => running.close();
    interruptHooks.add(stop);
    ownHooks.push(stop);
    await pushAgentEndpoints(instance, common.agents.map(common.endpointOf), common.phones);
    await pushCallerEndpoint(instance);
    await configureOurServer(server.api, { agents: common.agents, entry: OUR_ENTRY, offerTimeoutSeconds: OFFER_TIMEOUT_SECONDS });
    const pids = { server: [server.pid], asterisk: [common.astPid], 'redis*': pidsByName('redis-server'), 'mariadb*': pidsByName('mariadbd') };
    const runOptions: RunOptions = { service: OUR_ENTRY, app: server.appName, pids, phones: common.phones, audio: common.audio, prefixDigit: '5' };
    const result = await runSystem('ours', instance, work, runOptions);
    const capacityRun = SETTINGS.capacity ? await runCapacity('ours', instance, work, runOptions, SETTINGS.capacity) : undefined;
    const db = await readOurCalls(server.dbUrl);
    // Every call has ended: each agent should be ready with nothing in hand again.
    await sleep(2000);
    const notFree = await agentsNotFree(server.api, common.agents);
    const byCaller = new Map<string, ServerCall>(db.rows.map((r) => [r.callerNumber, { callerNumber: r.callerNumber, agentId: r.agentId, queuedAt: r.queuedAt, rangAt: r.rangAt, answeredAt: r.answeredAt, outcome: r.outcome, recording: r.recording }]));
    const spool = path.join(instance.instanceDir, 'spool/recording');
    const ourFigures = (run: PhaseRun): StepFigures[] => figures(
      run,
      (callers, rings, holdMs) => joinThroughServer(callers, rings, byCaller, common.endpointOf, holdMs),
      (c) => (c.server?.recording != null ? fileSize(path.join(spool, `${c.server.recording}.wav`)) : -1),
      (failed) => {
        if (failed.length === 0) return [];
        const why = new Map<string, number>();
        for (const c of failed) {
          const k = !c.server ? 'no call record' : c.server.agentId === null ? `not connected (outcome ${c.server.outcome ?? 'none'})` : !c.ring ? `connected, ring not matched (outcome ${c.server.outcome ?? 'none'})` : `outcome ${c.server.outcome ?? 'none'}, caller BYE ${c.caller.byeAt === undefined ? 'missing' : 'early'}`;
          why.set(k, (why.get(k) ?? 0) + 1);
        }
        return [...why.entries()].sort((a, b) => b[1] - a[1]).slice(0, 4).map(([k, n]) => `${n}× ${k}`);
      },
    );
    const steps = ourFigures(result);
    const capacity = capacityRun ? ourFigures(capacityRun)[0] : undefined;
    const log = server.log();
    const reconciles = log.split('agent endpoints reconciled').length - 1;
    const warnings = log.split('\n').filter((l) => /"level":(40|50|60)/.test(l));
    const extra = [
      `server records: ${db.rows.length} calls, ${db.routeDecisions} route decisions; queue entry and first ring times ${db.hasRingTimes ? 'from voice_calls.queued_at / rang_at' : 'NOT in this schema (voice_calls has no queued_at / rang_at)'}`,
      `agents after the run: ${notFree.holding.length} still hold capacity (a lost release keeps them out of routing), ${notFree.notReady.length} not ready`,
      `server log: ${warnings.length} warnings/errors${reconciles > 1 ? `; endpoint reconcile ran ${reconciles}× (an ARI reconnect: it deletes the benchmark's pushed endpoints)` : ''}`,
    ];
    const msgCounts = new Map<string, number>();
    for (const l of warnings) {
      const m = /"msg":"([^"]*)"/.exec(l);
      if (m) msgCounts.set(m[1] as string, (msgCounts.get(m[1] as string) ?? 0) + 1);
    }
    for (const [m, n] of [...msgCounts.entries()].sort((a, b) => b[1] - a[1]).slice(0, 5)) extra.push(`  ${n}× ${m}`);
    if (SETTINGS.keep) {
      const file = path.join(work.onHost, 'server.log');
      writeFileSync(file, log);
      extra.push(`server log kept in ${file}`);
    }
    return {
      kind: 'ours', load: [loadBefore, os.loadavg()[0] ?? NaN], steps, ...(capacity ? { capacity } : {}), leftChannels: result.leftChannels + (capacityRun?.leftChannels ?? 0), ...(result.stopped ? { stoppedClimbing: result.stopped } : {}),
      recordingsTotal: countFiles(spool, ''), agentPhones: addPhones(result.phones, capacityRun?.phones), seconds: (Date.now() - started) / 1000, extra,
    };
  } catch (e) {
    const errors = (server?.log() ?? '').split('\n').filter((l) => /"level":(50|60)/.test(l)).slice(-5);
    if (errors.length > 0) process.stderr.write(`[bench] our server's last errors:\n${errors.join('\n')}\n`);
    throw e;
  } finally {
    for (const h of ownHooks) interruptHooks.delete(h);
    await server?.close();
  }
}

async function benchAppQueue(instance: AsteriskInstance, work: Workdir, common: Common): Promise<SystemFigures> {
  const started = Date.now();
  const loadBefore = os.loadavg()[0] ?? NaN;
  process.stderr.write('[bench] app_queue: pushing endpoints, loading the queue and dialplan\n');
  const endpoints = common.agents.map(common.endpointOf);
  await pushAgentEndpoints(instance, endpoints, common.phones);
  await pushCallerEndpoint(instance);
  await installAppQueue(instance, { number: APP_QUEUE_NUMBER, endpoints, ringTimeoutSeconds: OFFER_TIMEOUT_SECONDS });
  const pids = { asterisk: [common.astPid] };
  const runOptions: RunOptions = { service: APP_QUEUE_NUMBER, app: 'none', pids, phones: common.phones, audio: common.audio, prefixDigit: '6' };
  const result = await runSystem('app_queue', instance, work, runOptions);
  const capacityRun = SETTINGS.capacity ? await runCapacity('app_queue', instance, work, runOptions, SETTINGS.capacity) : undefined;
  const monitor = path.join(instance.instanceDir, 'spool/monitor');
  const aqFigures = (run: PhaseRun): StepFigures[] => figures(
    run,
    (callers, rings, holdMs) => joinByFrom(callers, rings, holdMs),
    (c) => fileSize(path.join(monitor, `${APP_QUEUE_RECORDING_PREFIX}${c.caller.caller}.wav`)),
    (failed) => {
      if (failed.length === 0) return [];
      const noRing = failed.filter((c) => !c.ring).length;
      const unanswered = failed.filter((c) => c.ring && c.ring.connectedAt === undefined).length;
      return [`${noRing}× no agent rang`, `${unanswered}× rang, not answered`, `${failed.length - noRing - unanswered}× answered, ended early`].filter((s) => !s.startsWith('0×'));
    },
  );
  const steps = aqFigures(result);
  const capacity = capacityRun ? aqFigures(capacityRun)[0] : undefined;
  return {
    kind: 'app_queue', load: [loadBefore, os.loadavg()[0] ?? NaN], steps, ...(capacity ? { capacity } : {}), leftChannels: result.leftChannels + (capacityRun?.leftChannels ?? 0), ...(result.stopped ? { stoppedClimbing: result.stopped } : {}),
    recordingsTotal: countFiles(monitor, APP_QUEUE_RECORDING_PREFIX), agentPhones: addPhones(result.phones, capacityRun?.phones), seconds: (Date.now() - started) / 1000, extra: [],
  };
}

function addPhones(a: { successful: number; failed: number }, b: { successful: number; failed: number } | undefined): { successful: number; failed: number } {
  return b ? { successful: a.successful + b.successful, failed: a.failed + b.failed } : a;
}

function countFiles(dir: string, prefix: string): number {
  if (!existsSync(dir)) return 0;
  return readdirSync(dir).filter((f) => f.startsWith(prefix) && f.endsWith('.wav')).length;
}

const ms = (v: number): string => (Number.isFinite(v) ? `${v < 10 ? v.toFixed(1) : Math.round(v)}` : '–');
const dist = (d: Distribution | undefined): string => (d && d.n > 0 ? `${ms(d.p50)}/${ms(d.p99)}` : '–');
const pct = (v: number | undefined): string => (v === undefined || !Number.isFinite(v) ? '–' : `${Math.round(v)}%`);

function printSystem(s: SystemFigures): void {
  out();
  out(`== ${LABEL[s.kind]} (${s.seconds.toFixed(0)} s; machine load average ${s.load[0].toFixed(1)} at its start, ${s.load[1].toFixed(1)} at its end) ==`);
  const cpuNames = [...new Set(s.steps.flatMap((x) => Object.keys(x.cpu?.processes ?? {})))];
  const head = ['calls/s', 'offered', 'done', 'failed', 'held', 'waiting', 'recorded', 'rec. short p50/p99', 'entry→ring p50/p99', 'invite→ring p50/p99'];
  if (s.kind === 'ours') head.push('queued→phone p50/p99', 'queued→rang p50/p99');
  const waitNames = [...new Set(s.steps.flatMap((x) => Object.keys(x.cpu?.waits ?? {})))];
  head.push('hangup→caller p50/p99', ...cpuNames.map((n) => `cpu ${n}`), 'cpu others', 'cpu box', ...waitNames.map((n) => `${n} waits for cpu`), 'cpu pressure');
  const rows = [...s.steps, ...(s.capacity ? [s.capacity] : [])].map((x) => {
    const row = [x === s.capacity ? `${x.rate} (cap.)` : String(x.rate), String(x.offered), String(x.completed), String(x.failed), String(x.peakBridged), String(x.peakWaiting), String(x.recorded), dist(x.recordingShort), dist(x.latencies.entryToRing), dist(x.latencies.inviteToRing)];
    if (s.kind === 'ours') row.push(dist(x.latencies.queuedToPhone), dist(x.latencies.queuedToRang));
    row.push(dist(x.latencies.hangupToCaller), ...cpuNames.map((n) => pct(x.cpu?.processes[n])), pct(x.cpu?.others), pct(x.cpu?.machine), ...waitNames.map((n) => pct(x.cpu?.waits[n])), pct(x.cpu?.pressure));
    return row;
  });
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  out(head.map((h, i) => h.padStart(widths[i] as number)).join('  '));
  for (const r of rows) out(r.map((c, i) => c.padStart(widths[i] as number)).join('  '));
  for (const x of s.steps) if (x.notes.length > 0) out(`  ${x.rate} calls/s not completed: ${x.notes.join('; ')}`);
  if (s.capacity) {
    const c = s.capacity;
    out(`  capacity step (cap.): ${c.offered} callers at ${c.rate} calls/s, each talking ${c.holdMs / 1000} s: ${c.completed} connected and talked, ${c.recorded} fully recorded, ${c.peakBridged} held at once (peak while every call was up; cpu over that time)${c.recordedShare ? `; the recordings hold ${Math.round(100 * c.recordedShare.p50)}% of the talk (median), ${Math.round(100 * c.recordedShare.min)}% at least` : ''}${c.notes.length > 0 ? ` · not completed: ${c.notes.join('; ')}` : ''}`);
  }
  if (s.stoppedClimbing) out(`  ${s.stoppedClimbing}`);
  out(`  highest calls/s with zero failures (every call connected and fully recorded): ${highestCleanRate(cleanSteps(s.steps))} (connected, recordings aside: ${highestCleanRate(s.steps)}) · peak calls held (bridged, sampled 1/s): ${Math.max(0, ...s.steps.map((x) => x.peakBridged))} · recording files: ${s.recordingsTotal} · agent phones: ${s.agentPhones.successful} calls ended cleanly, ${s.agentPhones.failed} failed · channels stranded after the run: ${s.leftChannels}`);
  for (const e of s.extra) out(`  ${e}`);
}

function printBudget(systems: SystemFigures[]): void {
  const ours = systems.find((s) => s.kind === 'ours');
  const aq = systems.find((s) => s.kind === 'app_queue');
  out();
  out('== budget (ARCHITECTURE.md §7) ==');
  const line = (ok: boolean | undefined, text: string): void => out(`${ok === undefined ? 'NOT MEASURED' : ok ? 'MET   ' : 'NOT MET'}  ${text}`);
  if (ours && aq) {
    const a = highestCleanRate(cleanSteps(ours.steps));
    const b = highestCleanRate(cleanSteps(aq.steps));
    line(a >= b && a > 0, `calls/s with zero failures (connected and fully recorded), ours ≥ app_queue's: ours ${a}, app_queue ${b}`);
  } else line(undefined, 'clean calls/s, ours ≥ app_queue: both systems must run');
  if (ours) {
    const step = ours.steps.find((x) => x.rate === BUDGET.ringAtRate);
    const server = step?.latencies.queuedToPhone && step.latencies.queuedToPhone.n > 0;
    const d = server ? step?.latencies.queuedToPhone : step?.latencies.entryToRing;
    const which = server ? "server's queue entry (queued_at) → the agent phone's INVITE" : "caller answered (200 OK) → the agent phone's INVITE";
    const peer = aq?.steps.find((x) => x.rate === BUDGET.ringAtRate)?.latencies.entryToRing;
    const peerText = peer && peer.n > 0 ? `; app_queue at ${BUDGET.ringAtRate} calls/s, caller answered → agent INVITE: p99 ${ms(peer.p99)} ms` : '';
    if (!SETTINGS.steps.includes(BUDGET.ringAtRate)) line(undefined, `ringing p99 < ${BUDGET.ringP99Ms} ms at ${BUDGET.ringAtRate} calls/s: BENCH_STEPS has no ${BUDGET.ringAtRate} calls/s step`);
    else if (!step || !d || d.n === 0) line(false, `ringing p99 < ${BUDGET.ringP99Ms} ms at ${BUDGET.ringAtRate} calls/s: the ${BUDGET.ringAtRate} calls/s step ${step ? 'rang no agent' : 'was not reached (climbing stopped below it)'}${peerText}`);
    else line(d.p99 < BUDGET.ringP99Ms, `ringing p99 < ${BUDGET.ringP99Ms} ms at ${BUDGET.ringAtRate} calls/s (${which}): p99 ${ms(d.p99)} ms, p50 ${ms(d.p50)} ms over ${d.n} calls, ${step.failed} failed${peerText}`);
    const all = [...ours.steps, ...(ours.capacity ? [ours.capacity] : [])];
    const clean = all.filter((x) => x.failed === 0 && x.recorded === x.offered);
    const best = Math.max(0, ...clean.map((x) => x.peakBridged));
    const any = Math.max(0, ...all.map((x) => x.peakBridged));
    const peerCap = aq?.capacity ? `; app_queue's capacity step: ${aq.capacity.peakBridged} held, ${aq.capacity.recorded} of ${aq.capacity.offered} fully recorded` : '';
    line(best >= BUDGET.concurrentRecorded, `≥ ${BUDGET.concurrentRecorded} concurrent recorded calls (peak held in a step where every call was connected and fully recorded): ${best} (peak held in any step: ${any}${ours.capacity ? `; capacity step: ${ours.capacity.recorded} of ${ours.capacity.offered} fully recorded` : ', no capacity step'})${peerCap}`);
  } else {
    line(undefined, `ringing p99 < ${BUDGET.ringP99Ms} ms at ${BUDGET.ringAtRate} calls/s`);
    line(undefined, `≥ ${BUDGET.concurrentRecorded} concurrent recorded calls`);
  }
}

async function main(): Promise<void> {
  const startedAt = Date.now();
  if (SETTINGS.steps.length === 0) throw new Error('BENCH_STEPS names no step');
  for (const s of SETTINGS.systems) if (s !== 'ours' && s !== 'app_queue') throw new Error(`BENCH_SYSTEMS: unknown system ${s}`);
  out('voice benchmark: SIPp callers → queue → agent phones ring → answer → recorded bridge');
  out(machineLine());
  process.stderr.write(`[bench] bringing up Asterisk instance ${SETTINGS.instance}\n`);
  const instance = await ensureBenchInstance(SETTINGS.instance);
  const astPid = asteriskPid(instance);
  if (astPid === undefined) throw new Error(`instance ${instance.name} has no running Asterisk`);
  const version = (await cli(instance, 'core show version')).trim().split('\n')[0] ?? '';
  out(`asterisk: ${version} · instance ${instance.name} (SIP udp ${instance.sipHost}:${instance.sipPort}, RTP ${SETTINGS.rtpStart}-${SETTINGS.rtpEnd}) · SIPp in the same root, on the same cores`);
  out(`load: steps ${SETTINGS.steps.join(', ')} calls/s × ${SETTINGS.stepSeconds} s each, back to back (a step's calls overlap the next step's start)${SETTINGS.capacity ? `, then a capacity step of ${SETTINGS.capacity.calls} callers at ${SETTINGS.capacity.rate} calls/s talking ${SETTINGS.capacity.holdMs / 1000} s` : ''} · ${SETTINGS.agents} agents, ring ${SETTINGS.ringMs} ms, talk ${SETTINGS.holdMs / 1000} s, agent hangs up · caller audio G.711 u-law (rtp_stream), agents echo it (-rtp_echo)`);
  out('figures per step: held = peak bridges joining a caller and an agent (talking, recorded), waiting = peak callers outside them (ARI channel and bridge lists, sampled each second); recorded = calls whose file holds at least the talk less 1 s; rec. short = per talked call, the talk time its recording lacks (from the agent phone answering to its hang-up, against the length of the file); entry→ring = caller got 200 OK (put in the queue) → agent phone got the INVITE; invite→ring = caller INVITE sent → agent INVITE; queued→phone = server queued_at → agent INVITE; queued→rang = server queued_at → rang_at (its own clock); hangup→caller = agent BYE → caller BYE; latencies in ms; cpu = % of one core over the step (200% = both cores): the server process, Asterisk, the shared* Redis and MariaDB, SIPp (callers and agents), this benchmark, everything else on the machine (other users), and the whole machine; server waits for cpu = share of the step its threads were ready to run but waited for a core (run-queue time from schedstat, summed over threads); cpu pressure = share of the step during which some task on the machine waited for a core (PSI, /proc/pressure/cpu)');

  const work = makeWorkdir(instance.root, `ipcc-voice-bench-${process.pid}`);
  const systems: SystemFigures[] = [];
  const agents = agentIds(SETTINGS.agents);
  let endpointsToDelete: string[] = [];
  let source: SourceSnapshot | undefined;
  const cleanUp = async (): Promise<void> => {
    source?.remove();
    await deleteBenchEndpoints(instance, endpointsToDelete).catch(() => undefined);
    if (SETTINGS.keep) {
      out(`\nkept: instance ${instance.name} and SIPp logs in ${work.onHost}`);
    } else {
      rmSync(work.onHost, { recursive: true, force: true });
      await destroyAsterisk(instance.name).catch((e: unknown) => process.stderr.write(`[bench] could not destroy instance ${instance.name}: ${String(e)}\n`));
    }
  };
  // Interrupted: stop the server and SIPp (their own clean-up cannot run) and the instance.
  const interrupted = (signal: NodeJS.Signals): void => {
    process.stderr.write(`[bench] ${signal}: cleaning up\n`);
    void Promise.allSettled([...interruptHooks].map(async (stop) => stop()))
      .then(() => cleanUp())
      .finally(() => process.exit(130));
  };
  process.once('SIGINT', interrupted);
  process.once('SIGTERM', interrupted);
  try {
    source = await snapshotHead();
    out(`server under test: commit ${source.commit.slice(0, 12)} "${source.subject.slice(0, 100)}" (a snapshot of HEAD; uncommitted work is not in it), run as its own process`);
    const settings = Object.entries(serverSettingsFromEnv());
    if (settings.length) out(`server settings from the environment: ${settings.map(([k, v]) => `${k}=${v}`).join(' ')}`);
    const seconds = writeCallerAudio(path.join(instance.root, 'usr/share/sip-tester/g711a.pcap'), path.join(work.onHost, 'caller.ulaw'));
    const audio = `${work.inRoot}/caller.ulaw`;
    // A caller gives up when no BYE came this long after the answer (waiting plus talk).
    placeScenario(work, 'bench-caller.xml', { BYE_TIMEOUT_MS: String(SETTINGS.holdMs + 22_000) });
    if (SETTINGS.capacity) placeScenario(work, 'bench-caller.xml', { BYE_TIMEOUT_MS: String(SETTINGS.capacity.holdMs + 22_000) }, 'bench-caller-capacity.xml');
    process.stderr.write(`[bench] caller audio: ${seconds.toFixed(1)} s of speech, looped\n`);
    const phones = { ip: '127.0.0.1', port: await freeUdpPort('127.0.0.1', 1) };
    const naming = await loadEndpointNaming(source.dir);
    const endpointOf = (agentId: string): string => naming(TENANT_ID, agentId);
    endpointsToDelete = agents.map(endpointOf);
    const common: Common = { astPid, phones, audio, agents, source, endpointOf };
    for (const kind of SETTINGS.systems) {
      const figures_ = kind === 'ours' ? await benchOurs(instance, work, common) : await benchAppQueue(instance, work, common);
      systems.push(figures_);
      printSystem(figures_);
    }
  } finally {
    await cleanUp();
  }
  printBudget(systems);
  out(`\nrun took ${((Date.now() - startedAt) / 1000).toFixed(0)} s`);
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    process.stderr.write(`voice benchmark failed: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
    process.exit(1);
  },
);

/**
 * What the benchmark samples while load runs: CPU time of given processes and of the whole
 * machine (from /proc), and the calls Asterisk holds (`core show channels concise`).
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { run, type AsteriskInstance } from '../../helpers/asterisk.js';

let clockTicks: number | undefined;
/** Clock ticks per second of /proc's CPU times. */
export function ticksPerSecond(): number {
  if (clockTicks === undefined) {
    try {
      clockTicks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}

/** User + system CPU seconds a process (all its threads) has used, or undefined when it is gone. */
export function processCpuSeconds(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name may hold spaces: fields are counted after its closing parenthesis.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / ticksPerSecond();
  } catch {
    return undefined;
  }
}

/**
 * Seconds a process's threads have spent runnable but not running — waiting for a CPU (the
 * second field of each thread's schedstat, summed) — or undefined when it is gone. Only
 * meaningful for processes whose threads live long (a thread that ends takes its count along).
 */
export function processRunQueueSeconds(pid: number): number | undefined {
  let tasks: string[];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return undefined;
  }
  let ns = 0;
  for (const t of tasks) {
    try {
      ns += Number(readFileSync(`/proc/${pid}/task/${t}/schedstat`, 'utf8').split(' ')[1]) || 0;
    } catch {
      // The thread ended meanwhile.
    }
  }
  return ns / 1e9;
}

/** Seconds since boot during which at least one runnable task waited for a CPU (the kernel's CPU pressure, `some`), or undefined without it. */
export function cpuPressureSeconds(): number | undefined {
  try {
    const m = /^some .*total=(\d+)/m.exec(readFileSync('/proc/pressure/cpu', 'utf8'));
    return m ? Number(m[1]) / 1e6 : undefined;
  } catch {
    return undefined;
  }
}

/** Busy and total CPU seconds of the whole machine (all cores) since boot. */
export function machineCpuSeconds(): { busy: number; total: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  const idle = (v[3] ?? 0) + (v[4] ?? 0);
  const total = v.slice(0, 8).reduce((a, b) => a + b, 0);
  return { busy: (total - idle) / ticksPerSecond(), total: total / ticksPerSecond() };
}

/** Pids of processes whose command name is `comm` (e.g. the shared mariadbd and redis-server). */
export function pidsByName(comm: string): number[] {
  const out: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/comm`, 'utf8').trim() === comm) out.push(Number(entry));
    } catch {
      // Gone meanwhile.
    }
  }
  return out;
}

/**
 * CPU seconds of this process's SIPp children (the load generators and the agents' phones):
 * those still running (read from /proc) plus those already reaped (this process's cutime and
 * cstime, which only grow).
 */
export function loadGeneratorCpuSeconds(): number {
  const self = readFileSync('/proc/self/stat', 'utf8');
  const own = self.slice(self.lastIndexOf(')') + 2).split(' ');
  let total = (Number(own[13]) + Number(own[14])) / ticksPerSecond();
  for (const pid of pidsByName('sipp')) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(f[1]) === process.pid) total += (Number(f[11]) + Number(f[12])) / ticksPerSecond();
    } catch {
      // Gone meanwhile (then counted as reaped next time).
    }
  }
  return total;
}

/** A CPU reading of named processes plus the machine, at one moment. */
export interface CpuReading {
  at: number;
  processes: Record<string, number | undefined>;
  /** Run-queue seconds of the processes named in `waitOf` (see processRunQueueSeconds). */
  waits: Record<string, number | undefined>;
  /** cpuPressureSeconds at this moment. */
  pressure: number | undefined;
  machine: { busy: number; total: number };
}

/** Reads the named processes (by pid) and the named counters, plus the machine; run-queue time of those named in `waitOf`. */
export function readCpu(pids: Record<string, readonly number[]>, counters: Record<string, () => number> = {}, waitOf: readonly string[] = ['server']): CpuReading {
  const sum = (values: (number | undefined)[]): number | undefined => {
    const known = values.filter((x): x is number => x !== undefined);
    return known.length > 0 ? known.reduce((a, b) => a + b, 0) : undefined;
  };
  const processes: Record<string, number | undefined> = {};
  const waits: Record<string, number | undefined> = {};
  for (const [name, list] of Object.entries(pids)) {
    processes[name] = sum(list.map(processCpuSeconds));
    if (waitOf.includes(name)) waits[name] = sum(list.map(processRunQueueSeconds));
  }
  for (const [name, read] of Object.entries(counters)) processes[name] = read();
  return { at: Date.now(), processes, waits, pressure: cpuPressureSeconds(), machine: machineCpuSeconds() };
}

/**
 * CPU between two readings, in percent of one core (200 % is both cores of a 2-core box);
 * `waits`: the share of the time (%) the named processes' threads waited for a CPU, summed over
 * threads (a process whose one busy thread waits half the time shows 50 %); `pressure`: the
 * share of the time at least one task on the machine waited for a CPU.
 */
export function cpuBetween(a: CpuReading, b: CpuReading): { processes: Record<string, number | undefined>; waits: Record<string, number | undefined>; pressure: number | undefined; machine: number; others: number } {
  const seconds = (b.at - a.at) / 1000;
  const share = (x: number | undefined, y: number | undefined): number | undefined => (x === undefined || y === undefined || seconds <= 0 ? undefined : (100 * (y - x)) / seconds);
  const processes: Record<string, number | undefined> = {};
  for (const name of Object.keys(b.processes)) processes[name] = share(a.processes[name], b.processes[name]);
  const waits: Record<string, number | undefined> = {};
  for (const name of Object.keys(b.waits)) waits[name] = share(a.waits[name], b.waits[name]);
  const pressure = share(a.pressure, b.pressure);
  const busy = b.machine.busy - a.machine.busy;
  const machine = seconds > 0 ? (100 * busy) / seconds : NaN;
  const known = Object.values(processes).reduce<number>((sum, v) => sum + (v ?? 0), 0);
  return { processes, waits, pressure, machine, others: Math.max(0, machine - known) };
}

/** What Asterisk holds at one moment. */
export interface ChannelSample {
  at: number;
  /** Bridges (other than holding bridges) joining a caller and an agent: calls being talked and recorded. */
  bridged: number;
  /** Callers' channels not in such a bridge: waiting in the queue. */
  waiting: number;
  /** Agents' channels not up yet: ringing. */
  ringing: number;
  channels: number;
}

export interface AriChannel {
  id: string;
  name?: string;
  state?: string;
}

export interface AriBridge {
  id: string;
  bridge_type?: string;
  channels?: string[];
}

/**
 * Counts from ARI `GET /channels` and `GET /bridges` (every channel and bridge of the instance,
 * Stasis or not): agents' channels are `PJSIP/agent-…`, callers' those of the callers' endpoint.
 */
export function countChannels(channels: readonly AriChannel[], bridges: readonly AriBridge[], at: number, callerEndpoint: string): ChannelSample {
  const isAgent = (c: AriChannel | undefined): boolean => (c?.name ?? '').startsWith('PJSIP/agent-');
  const isCaller = (c: AriChannel | undefined): boolean => (c?.name ?? '').startsWith(`PJSIP/${callerEndpoint}-`);
  const byId = new Map(channels.map((c) => [c.id, c]));
  let bridged = 0;
  for (const b of bridges) {
    if (b.bridge_type === 'holding') continue;
    const members = (b.channels ?? []).map((id) => byId.get(id));
    if (members.some(isAgent) && members.some(isCaller)) bridged += 1;
  }
  const callers = channels.filter(isCaller).length;
  const ringing = channels.filter((c) => isAgent(c) && c.state !== 'Up').length;
  return { at, bridged, ringing, waiting: Math.max(0, callers - bridged), channels: channels.length };
}

/** ARI on the instance (basic auth), for reads and clean-up. */
export function ariRequest(instance: AsteriskInstance) {
  const auth = `Basic ${Buffer.from(`${instance.ariUser}:${instance.ariPassword}`).toString('base64')}`;
  return async <T>(method: string, path: string): Promise<T> => {
    const res = await fetch(`${instance.ariUrl}/ari${path}`, { method, headers: { authorization: auth }, signal: AbortSignal.timeout(10_000) });
    if (!res.ok && res.status !== 404) throw new Error(`ARI ${method} ${path}: ${res.status}`);
    const text = await res.text();
    return (text ? JSON.parse(text) : undefined) as T;
  };
}

/** `asterisk -rx` on the instance, straight through the root (no stack.sh lock per call). */
export async function cli(instance: AsteriskInstance, command: string, timeoutMs = 30_000): Promise<string> {
  const conf = `${instance.instanceDir.slice(instance.root.length)}/etc/asterisk.conf`;
  const r = await run('chroot', [instance.root, '/usr/sbin/asterisk', '-C', conf, '-rx', command], { timeoutMs });
  if (r.code !== 0) throw new Error(`asterisk -rx '${command}' failed (${r.code}): ${r.stderr.slice(-300)}`);
  return r.stdout;
}

/** Samples the instance's channels and bridges over ARI about every `intervalMs` until stopped. */
export function startChannelSampler(instance: AsteriskInstance, intervalMs: number, callerEndpoint: string): { samples: ChannelSample[]; stop: () => Promise<void> } {
  const samples: ChannelSample[] = [];
  const ari = ariRequest(instance);
  let running = true;
  const loop = (async () => {
    while (running) {
      const started = Date.now();
      try {
        const [channels, bridges] = await Promise.all([ari<AriChannel[]>('GET', '/channels'), ari<AriBridge[]>('GET', '/bridges')]);
        samples.push(countChannels(channels, bridges, started, callerEndpoint));
      } catch {
        // A missed sample is fine.
      }
      const wait = intervalMs - (Date.now() - started);
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    }
  })();
  return {
    samples,
    async stop() {
      running = false;
      await loop;
    },
  };
}

/** Hangs up every channel still on the instance; returns how many there were. */
export async function hangUpEverything(instance: AsteriskInstance): Promise<number> {
  const ari = ariRequest(instance);
  const left = await ari<{ id: string }[]>('GET', '/channels');
  await Promise.all(left.map((c) => ari('DELETE', `/channels/${encodeURIComponent(c.id)}`).catch(() => undefined)));
  return left.length;
}

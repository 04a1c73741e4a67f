/**
 * Test access to the local real stack (docker/local/stack.sh): bring an Asterisk instance
 * up, read its settings, stop and start it, talk to its CLI, run programs from its root.
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
export const STACK_SCRIPT = path.resolve(here, '../../docker/local/stack.sh');

/** Settings of one running Asterisk instance, read from its env file. */
export interface AsteriskInstance {
  name: string;
  envFile: string;
  /** The sid root (host path) Asterisk, SIPp and baresip run from. */
  root: string;
  /** The instance's directory on the host (inside the root). */
  instanceDir: string;
  ariUrl: string;
  ariUser: string;
  ariPassword: string;
  /** The production Stasis application name in the dialplan. */
  ariApp: string;
  sipHost: string;
  sipPort: number;
  /** Source address whose calls land in the test context (X-IPCC-App picks the app). */
  testCallerIp: string;
}

export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  durationMs: number;
}

export interface RunOptions {
  timeoutMs: number;
  env?: NodeJS.ProcessEnv;
}

/**
 * Run a program with a hard time limit. On timeout the whole process group gets SIGTERM,
 * then SIGKILL after 2 s.
 */
export function run(command: string, args: readonly string[], options: RunOptions): Promise<RunResult> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      env: options.env ?? process.env,
      stdio: ['ignore', 'pipe', 'pipe'],
      detached: true,
    });
    let stdout = '';
    let stderr = '';
    let timedOut = false;
    let killTimer: NodeJS.Timeout | undefined;
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => {
      timedOut = true;
      signalGroup(child.pid, 'SIGTERM');
      killTimer = setTimeout(() => signalGroup(child.pid, 'SIGKILL'), 2_000);
    }, options.timeoutMs);
    child.on('error', (error) => {
      clearTimeout(timer);
      if (killTimer) clearTimeout(killTimer);
      reject(error);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (killTimer) clearTimeout(killTimer);
      resolve({ code, signal, stdout, stderr, timedOut, durationMs: Date.now() - started });
    });
  });
}

function signalGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, signal);
  } catch {
    // Already gone.
  }
}

/** The environment for stack.sh: per-instance overrides of the caller never leak in. */
function stackEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (/^IPCC_STACK_(ARI_|SIP_|RTP_|TEST_CALLER)/.test(k)) continue;
    env[k] = v;
  }
  return env;
}

async function stack(args: readonly string[], timeoutMs: number): Promise<RunResult> {
  const result = await run(STACK_SCRIPT, args, { timeoutMs, env: stackEnv() });
  if (result.code !== 0) {
    throw new Error(
      `stack.sh ${args.join(' ')} failed (${result.timedOut ? `timed out after ${timeoutMs} ms` : `exit ${result.code}`}):\n${result.stderr.slice(-2000)}`,
    );
  }
  return result;
}

export function parseEnvFile(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const m = /^([A-Z0-9_]+)=(.*)$/.exec(line.trim());
    if (m) out[m[1] as string] = m[2] as string;
  }
  return out;
}

export function readInstance(envFile: string): AsteriskInstance {
  const env = parseEnvFile(readFileSync(envFile, 'utf8'));
  const need = (k: string) => {
    const v = env[k];
    if (v === undefined || v === '') throw new Error(`${envFile} has no ${k}`);
    return v;
  };
  return {
    name: need('IPCC_INSTANCE'),
    envFile,
    root: need('IPCC_STACK_ROOT'),
    instanceDir: need('IPCC_INSTANCE_DIR'),
    ariUrl: need('IPCC_ARI_URL'),
    ariUser: need('IPCC_ARI_USER'),
    ariPassword: need('IPCC_ARI_PASSWORD'),
    ariApp: need('IPCC_ARI_APP'),
    sipHost: need('IPCC_SIP_HOST'),
    sipPort: Number(need('IPCC_SIP_PORT')),
    testCallerIp: need('IPCC_TEST_CALLER_IP'),
  };
}

/**
 * Bring an instance up (building the root on first use, which takes about a minute) and
 * return its settings. Idempotent and fast when it already runs.
 */
export async function ensureAsterisk(name = 'main', options: { timeoutMs?: number } = {}): Promise<AsteriskInstance> {
  const result = await stack(['up', '--instance', name], options.timeoutMs ?? 300_000);
  const envFile = result.stdout.trim().split('\n').pop() ?? '';
  return readInstance(envFile);
}

/** Stop an instance's Asterisk (its settings and state stay). */
export async function stopAsterisk(name: string, options: { timeoutMs?: number } = {}): Promise<void> {
  await stack(['down', '--instance', name], options.timeoutMs ?? 60_000);
}

/** Stop an instance and delete its state and port slot. Never use it on "main". */
export async function destroyAsterisk(name: string, options: { timeoutMs?: number } = {}): Promise<void> {
  if (name === 'main') throw new Error('refusing to destroy the shared main instance');
  await stack(['destroy', '--instance', name], options.timeoutMs ?? 60_000);
}

/** `asterisk -rx COMMAND` on an instance. */
export async function asteriskCli(name: string, command: string, options: { timeoutMs?: number } = {}): Promise<string> {
  const result = await stack(['cli', '--instance', name, command], options.timeoutMs ?? 30_000);
  return result.stdout;
}

/** Run a program inside the sid root (SIPp, baresip, sox...). */
export function runInRoot(root: string, argv: readonly string[], options: RunOptions): Promise<RunResult> {
  return run('chroot', [root, ...argv], options);
}

/** A name unique to this test run, safe as a Stasis app name, instance name or id. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${process.pid.toString(36)}-${randomBytes(4).toString('hex')}`;
}

/** The pid of an instance's running Asterisk (host view), or undefined when it is down. */
export function asteriskPid(instance: AsteriskInstance): number | undefined {
  try {
    const pid = Number(readFileSync(path.join(path.dirname(instance.envFile), 'pid'), 'utf8').trim());
    if (!Number.isInteger(pid) || pid <= 0) return undefined;
    process.kill(pid, 0);
    return pid;
  } catch {
    return undefined;
  }
}

/**
 * baresip as an agent's SIP phone, run from the stack's root: one account with digest
 * credentials, registering over UDP on loopback. The test reads the registrar's answers from
 * baresip's output (200 OK, 401, 403) and stops the phone at the end.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { AsteriskInstance } from './asterisk.js';
import { freeUdpPort } from './sipp.js';

export interface PhoneOptions {
  instance: AsteriskInstance;
  username: string;
  password: string;
  /** Re-registration interval in seconds (baresip's regint). Default 600. */
  registerIntervalS?: number;
}

export interface RegistrationAnswer {
  status: number;
  reason: string;
  line: string;
}

export interface Phone {
  /** Everything baresip printed so far. */
  output(): string;
  /** The registrar's answers to our REGISTERs, in order. */
  answers(): RegistrationAnswer[];
  /** Resolves with the first answer matching `statuses`; rejects after `timeoutMs` or if baresip exits. */
  waitForAnswer(statuses: readonly number[], timeoutMs: number): Promise<RegistrationAnswer>;
  /** Stops baresip (unregistering when it can) and deletes its files. */
  stop(): Promise<void>;
}

/** Start a baresip phone with one account; it registers at once. */
export async function startPhone(options: PhoneOptions): Promise<Phone> {
  const { instance } = options;
  const work = `/tmp/ipcc-baresip-${randomBytes(6).toString('hex')}`;
  const hostWork = path.join(instance.root, work);
  mkdirSync(hostWork, { recursive: true });
  const sipPort = await freeUdpPort('127.0.0.1', 1);
  writeFileSync(
    path.join(hostWork, 'config'),
    [
      'poll_method epoll',
      `sip_listen 127.0.0.1:${sipPort}`,
      // By address: the name `lo` fails inside the root, and without it media leaves loopback.
      'net_interface 127.0.0.1',
      `audio_player aufile,${work}/heard.wav`,
      `audio_source aufile,${work}/silence.wav`,
      `audio_alert aufile,${work}/alert.wav`,
      'module_path /usr/lib/baresip/modules',
      'module g711.so',
      'module aufile.so',
      'module_app account.so',
      'module_app menu.so',
      '',
    ].join('\n'),
  );
  writeFileSync(
    path.join(hostWork, 'accounts'),
    `<sip:${options.username}@${instance.sipHost}:${instance.sipPort};transport=udp>;auth_pass=${options.password};answermode=auto;regint=${options.registerIntervalS ?? 600}\n`,
  );
  writeFileSync(path.join(hostWork, 'contacts'), '');

  const child: ChildProcess = spawn('chroot', [instance.root, 'baresip', '-f', work], { stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let out = '';
  let exited = false;
  const exitWaiters = new Set<() => void>();
  const onData = (d: Buffer) => {
    out += d.toString('utf8');
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
  child.on('exit', () => {
    exited = true;
    for (const w of exitWaiters) w();
  });
  child.on('error', () => {
    exited = true;
  });

  const answers = (): RegistrationAnswer[] => {
    const found: RegistrationAnswer[] = [];
    // "user@host: (prio 0) {0/UDP/v4} 200 OK (IPCC-Asterisk) [1 binding]" on success,
    // "reg: sip:user@host:port (prio 0): 401 Unauthorized (IPCC-Asterisk)" on failure.
    for (const raw of out.replace(/\x1b\[[0-9;]*m/g, '').split('\n')) {
      if (!raw.includes(options.username)) continue;
      const m = /(?:\}|\):)\s+([1-6][0-9]{2})\s+([^([\n]+)/.exec(raw);
      if (m) found.push({ status: Number(m[1]), reason: (m[2] as string).trim(), line: raw.trim() });
    }
    return found;
  };

  return {
    output: () => out,
    answers,
    async waitForAnswer(statuses, timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const hit = answers().find((a) => statuses.includes(a.status));
        if (hit) return hit;
        if (exited) throw new Error(`baresip exited before a ${statuses.join('/')} answer:\n${out.slice(-1500)}`);
        if (Date.now() >= deadline) throw new Error(`no ${statuses.join('/')} answer within ${timeoutMs} ms; baresip said:\n${out.slice(-1500)}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    async stop() {
      if (!exited && child.pid !== undefined) {
        const gone = new Promise<void>((resolve) => exitWaiters.add(resolve));
        signal(child.pid, 'SIGTERM');
        const timer = setTimeout(() => child.pid !== undefined && signal(child.pid, 'SIGKILL'), 3_000);
        await gone;
        clearTimeout(timer);
      }
      rmSync(hostWork, { recursive: true, force: true });
    },
  };
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(-pid, sig);
  } catch {
    // Already gone.
  }
}

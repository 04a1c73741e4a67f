/**
 * Our server as the benchmark runs it: a real process (server/main.ts of a snapshot of the last
 * commit, see source-snapshot.ts) on its own database and Redis prefix, driving the benchmark's Asterisk instance, configured only through its HTTP API
 * (a skill, a queue, the agents ready, an entry point). The agents' phones are pushed into
 * Asterisk by the benchmark (bench-endpoints.ts), not through SIP logins.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import mysql from 'mysql2/promise';
import type { AsteriskInstance } from '../../helpers/asterisk.js';
import { TENANT_ID } from './bench-endpoints.js';
import { createDatabase, deleteKeys, dropDatabase, eventually, freeTcpPort, httpClient, mapLimit, MYSQL_BASE, REDIS_URL, runWithInput, uniqueId, type Api } from './bench-util.js';

export const QUEUE_ID = 'bench';

export interface OurServer {
  child: ChildProcess;
  pid: number;
  api: Api;
  appName: string;
  dbUrl: string;
  log: () => string;
  /** Stops the process and deletes its database and keys. */
  close(): Promise<void>;
}

/**
 * Starts server/main.ts of the source tree `sourceDir` against the instance, on a fresh database
 * it migrates itself and its own Redis prefix; creates an admin with the `ipcc admin create`
 * command of the same tree; waits until the server is ready and has reconciled agent endpoints
 * once: that reconcile removes agent endpoints without a SIP login, so the benchmark pushes its
 * endpoints only after it.
 */
/** IPCC_* settings in the benchmark's environment, passed on to the server under test. */
export function serverSettingsFromEnv(): Record<string, string> {
  return Object.fromEntries(Object.entries(process.env).filter((e): e is [string, string] => e[0].startsWith('IPCC_') && e[1] !== undefined).sort((a, b) => (a[0] < b[0] ? -1 : 1)));
}

export async function startOurServer(instance: AsteriskInstance, o: { sourceDir: string; logLevel: string; profileDir?: string }): Promise<OurServer> {
  const id = uniqueId('vb');
  const dbUrl = `${MYSQL_BASE}/ipcc_${id}`;
  const prefix = `ipcc-bench:${id}:`;
  const appName = `bench-${id}`;
  const port = await freeTcpPort();
  const servers = `${instance.name}=${instance.ariUrl.replace('://', `://${encodeURIComponent(instance.ariUser)}:${encodeURIComponent(instance.ariPassword)}@`)}`;
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '', IPCC_MYSQL_URL: dbUrl, IPCC_REDIS_URL: REDIS_URL, IPCC_REDIS_PREFIX: prefix, IPCC_MIGRATE_ON_START: 'true',
    IPCC_AUTH_TOKEN_SECRET: randomBytes(32).toString('hex'), IPCC_LOG_LEVEL: o.logLevel, IPCC_HTTP_PORT: String(port),
    IPCC_ASTERISK_SERVERS: servers, IPCC_ARI_APP: appName, IPCC_AUTH_TOKEN_TTL: '3600',
  };
  // Settings of the server under test given to the benchmark (an A/B of one setting), the bench's own aside.
  for (const [k, v] of Object.entries(serverSettingsFromEnv())) if (!(k in env)) env[k] = v;
  await createDatabase(dbUrl);
  // A CPU profile of the whole run (written when the process exits), for finding where a call's CPU goes.
  const profile = o.profileDir ? ['--cpu-prof', '--cpu-prof-dir', o.profileDir] : [];
  const child = spawn(process.execPath, [...profile, '--import', 'tsx', 'server/main.ts'], { cwd: o.sourceDir, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const chunks: string[] = [];
  child.stdout?.setEncoding('utf8').on('data', (d: string) => chunks.push(d));
  child.stderr?.setEncoding('utf8').on('data', (d: string) => chunks.push(d));
  const log = (): string => chunks.join('');
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  const close = async (): Promise<void> => {
    child.kill('SIGTERM');
    const done = await Promise.race([exited.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 15_000))]);
    if (!done) child.kill('SIGKILL');
    await deleteKeys(prefix).catch(() => undefined);
    await dropDatabase(dbUrl).catch(() => undefined);
  };
  const url = `http://127.0.0.1:${port}`;
  try {
    await eventually(async () => (await fetch(`${url}/healthz`)).ok, 60_000).catch((e: unknown) => {
      throw new Error(`the server did not start: ${String(e)}\n${log().slice(-3000)}`);
    });
    const password = randomBytes(12).toString('base64url');
    const created = await runWithInput(process.execPath, ['bin/ipcc.js', 'admin', 'create', '--username', 'bench'], { cwd: o.sourceDir, env, input: `${password}\n`, timeoutMs: 60_000 });
    if (created.code !== 0) throw new Error(`ipcc admin create failed (${created.code}): ${created.output.slice(-500)}`);
    const login = await httpClient(url)<{ token: string }>('POST', '/v1/auth/login', { username: 'bench', password });
    if (login.status !== 200) throw new Error(`login failed: ${login.status}`);
    const api = httpClient(url, login.body.token);
    await eventually(async () => (await api('GET', '/readyz')).status === 200, 20_000, 200);
    await eventually(async () => log().includes('agent endpoints reconciled'), 20_000);
    return { child, pid: child.pid as number, api, appName, dbUrl, log, close };
  } catch (e) {
    await close();
    throw e;
  }
}

/**
 * The routing configuration the calls go through, all over HTTP: a voice skill, a queue
 * (longest idle first, no wrap-up), every agent with the skill and ready, and an entry point.
 */
export async function configureOurServer(api: Api, o: { agents: readonly string[]; entry: string; offerTimeoutSeconds: number }): Promise<void> {
  const expect = async (what: string, p: Promise<{ status: number; body: unknown }>, ok: number[]): Promise<void> => {
    const r = await p;
    if (!ok.includes(r.status)) throw new Error(`${what}: ${r.status} ${JSON.stringify(r.body)}`);
  };
  await expect('skill', api('PUT', '/v1/skills/voice', { name: 'Voice' }), [200, 201]);
  await expect('queue', api('PUT', `/v1/queues/${QUEUE_ID}`, {
    name: 'Benchmark', strategy: 'longest_idle', skills: [{ skillId: 'voice', minLevel: 1 }],
    serviceLevel: { percent: 80, withinSeconds: 20 }, offerTimeoutSeconds: o.offerTimeoutSeconds, wrapUpSeconds: 0,
  }), [200, 201]);
  // One at a time: concurrent configuration writes deadlock in MariaDB (the version bump's
  // SELECT … FOR UPDATE in server/modules/routing/store.ts) and come back as 500s.
  await mapLimit(o.agents, 1, (a) => expect(`agent ${a}`, api('PUT', `/v1/agents/${a}`, { name: a, skills: [{ skillId: 'voice', level: 5 }] }), [200, 201]));
  await expect('entry point', api('PUT', `/v1/entry-points/${o.entry}`, { queueId: QUEUE_ID }), [200]);
  await mapLimit(o.agents, 8, async (a) => {
    await eventually(async () => (await api('PUT', `/v1/agents/${a}/presence`, { kind: 'ready' })).status === 202, 10_000, 100);
  });
  await mapLimit(o.agents, 8, async (a) => {
    await eventually(async () => (await api<{ presence?: { kind?: string } }>('GET', `/v1/agents/${a}/state`)).body.presence?.kind === 'ready', 10_000, 100);
  });
}

/**
 * Agents that still hold capacity or are not ready once every call has ended (each should be
 * ready with nothing in hand): a release the server lost keeps an agent out of routing for good.
 */
export async function agentsNotFree(api: Api, agents: readonly string[]): Promise<{ holding: string[]; notReady: string[] }> {
  const holding: string[] = [];
  const notReady: string[] = [];
  await mapLimit(agents, 8, async (a) => {
    const r = await api<{ loadUnits?: number; presence?: { kind?: string } }>('GET', `/v1/agents/${a}/state`);
    if ((r.body.loadUnits ?? 0) > 0) holding.push(a);
    if (r.body.presence?.kind !== 'ready') notReady.push(a);
  });
  return { holding: holding.sort(), notReady: notReady.sort() };
}

/** One call as our server recorded it (voice_calls), times in epoch ms. */
export interface OurCallRow {
  id: string;
  callerNumber: string;
  agentId: string | null;
  arrivedAt: number;
  queuedAt: number | null;
  rangAt: number | null;
  answeredAt: number | null;
  endedAt: number | null;
  outcome: string | null;
  recording: string | null;
}

/** The server's call records (read-only); `queued_at`/`rang_at` only where the schema has them. */
export async function readOurCalls(dbUrl: string): Promise<{ rows: OurCallRow[]; hasRingTimes: boolean; routeDecisions: number }> {
  const conn = await mysql.createConnection({ uri: dbUrl, timezone: 'Z' });
  try {
    const [cols] = (await conn.query("SELECT COLUMN_NAME AS c FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'voice_calls'")) as unknown as [{ c: string }[]];
    const names = new Set(cols.map((x) => x.c));
    const hasRingTimes = names.has('queued_at') && names.has('rang_at');
    const [rows] = (await conn.query(
      `SELECT id, caller_number, agent_id, arrived_at, ${hasRingTimes ? 'queued_at, rang_at' : 'NULL AS queued_at, NULL AS rang_at'}, answered_at, ended_at, outcome, recording FROM voice_calls WHERE tenant_id = ?`,
      [TENANT_ID],
    )) as unknown as [Record<string, unknown>[]];
    const ms = (v: unknown): number | null => (v instanceof Date ? v.getTime() : null);
    const [decisions] = (await conn.query("SELECT COUNT(*) AS n FROM route_decisions WHERE tenant_id = ? AND kind = 'route'", [TENANT_ID])) as unknown as [{ n: number }[]];
    return {
      hasRingTimes,
      routeDecisions: Number(decisions[0]?.n ?? 0),
      rows: rows.map((r) => ({
        id: String(r.id), callerNumber: String(r.caller_number), agentId: r.agent_id == null ? null : String(r.agent_id),
        arrivedAt: ms(r.arrived_at) ?? 0, queuedAt: ms(r.queued_at), rangAt: ms(r.rang_at), answeredAt: ms(r.answered_at), endedAt: ms(r.ended_at),
        outcome: r.outcome == null ? null : String(r.outcome), recording: r.recording == null ? null : String(r.recording),
      })),
    };
  } finally {
    await conn.end();
  }
}

import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import t from 'tap';
import { stringify as stringifyYaml } from 'yaml';
import { dropDatabase } from '../../server/infra/mysql.js';
import { MYSQL_BASE, REDIS_URL, deleteKeys, eventually, uniqueId } from '../helpers/app.js';
import { freePort } from '../helpers/server-process.js';

const ROOT = new URL('../../', import.meta.url).pathname;

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

function run(args: string[], env: Record<string, string>, input?: string, timeoutMs = 30000): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd: ROOT, env: { PATH: process.env.PATH ?? '', ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`timed out: ${args.join(' ')}\n${stderr}`));
    }, timeoutMs);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, stdout, stderr });
    });
    child.stdin.end(input ?? '');
  });
}

function envFor(id: string): Record<string, string> {
  return {
    IPCC_MYSQL_URL: `${MYSQL_BASE}/ipcc_${id}`,
    IPCC_REDIS_URL: REDIS_URL,
    IPCC_REDIS_PREFIX: `ipcc-test:${id}:`,
    IPCC_AUTH_TOKEN_SECRET: randomBytes(32).toString('hex'),
  };
}

t.test('given a fresh database when `ipcc migrate` then `ipcc admin create` run then the admin can log in', async (t) => {
  const id = uniqueId('c');
  const env = envFor(id);
  t.teardown(() => dropDatabase(env.IPCC_MYSQL_URL as string));
  const m = await run(['bin/ipcc.js', 'migrate'], env);
  t.equal(m.code, 0, m.stderr);
  t.match(m.stdout, /applied 0001_foundation/);
  const again = await run(['bin/ipcc.js', 'migrate'], env);
  t.match(again.stdout, /database is up to date/);

  const weak = await run(['bin/ipcc.js', 'admin', 'create', '--username', 'root-admin'], env, 'short\n');
  t.equal(weak.code, 1);
  t.match(weak.stderr, /password_too_weak/);

  const ok = await run(['bin/ipcc.js', 'admin', 'create', '--username', 'root-admin'], env, 'a-long-admin-passphrase\n');
  t.equal(ok.code, 0, ok.stderr);
  t.match(ok.stdout, /created user root-admin \(id \d+, roles admin\)/);

  const dup = await run(['bin/ipcc.js', 'admin', 'create', '--username', 'root-admin'], env, 'a-long-admin-passphrase\n');
  t.equal(dup.code, 1);
  t.match(dup.stderr, /user_exists/);

  const usage = await run(['bin/ipcc.js', 'admin', 'create'], env);
  t.equal(usage.code, 64);
  t.match(usage.stderr, /needs --username/);

  // The created admin logs in against a real server process.
  const port = await freePort();
  const server = spawn(process.execPath, ['--import', 'tsx', 'server/main.ts'], {
    cwd: ROOT,
    env: { PATH: process.env.PATH ?? '', ...env, IPCC_HTTP_PORT: String(port), IPCC_LOG_LEVEL: 'info' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  server.stdout.on('data', (d) => (log += d));
  server.stderr.on('data', (d) => (log += d));
  const exited = new Promise<number | null>((resolve) => server.on('close', (code) => resolve(code)));
  t.teardown(() => {
    server.kill('SIGKILL');
    return deleteKeys(env.IPCC_REDIS_PREFIX as string);
  });
  await eventually(async () => (await fetch(`http://127.0.0.1:${port}/healthz`)).ok, 20000, 200);
  const login = await fetch(`http://127.0.0.1:${port}/v1/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: 'root-admin', password: 'a-long-admin-passphrase' }),
  });
  t.equal(login.status, 200);
  const { token } = (await login.json()) as { token: string };
  const me = await fetch(`http://127.0.0.1:${port}/v1/auth/me`, { headers: { authorization: `Bearer ${token}` } });
  t.same(((await me.json()) as { roles: string[] }).roles, ['admin']);

  // Graceful shutdown on SIGTERM: exits 0 and says so in the JSON log.
  server.kill('SIGTERM');
  t.equal(await exited, 0);
  t.match(log, /"msg":"shutting down"/);
  t.match(log, /"msg":"shut down cleanly"/);
  t.notMatch(log, /a-long-admin-passphrase/, 'the password never reaches the log');
  const lines = log.trim().split('\n').filter((l) => l.startsWith('{'));
  t.ok(lines.length > 0 && lines.every((l) => JSON.parse(l).level !== undefined), 'logs are JSON lines');
});

t.test('given a bad setting when the server starts then it exits 78 naming the setting', async (t) => {
  const env = { ...envFor(uniqueId('c')), IPCC_HTTP_PORT: 'eighty', IPCC_REDIS_URL: 'not a url' };
  const r = await run(['--import', 'tsx', 'server/main.ts'], env);
  t.equal(r.code, 78);
  t.match(r.stderr, /IPCC_HTTP_PORT: must be a whole number, got "eighty"/);
  t.match(r.stderr, /IPCC_REDIS_URL: must be a URL/);
  t.match(r.stderr, /config\/env\.example/);
});

t.test('given an unmigrated database when the server starts then it fails with a message saying to migrate', async (t) => {
  const env = envFor(uniqueId('c'));
  const { ensureDatabase } = await import('../../server/infra/mysql.js');
  await ensureDatabase(env.IPCC_MYSQL_URL as string);
  t.teardown(() => dropDatabase(env.IPCC_MYSQL_URL as string));
  const r = await run(['--import', 'tsx', 'server/main.ts'], { ...env, IPCC_HTTP_PORT: '0' });
  t.equal(r.code, 1);
  t.match(r.stderr, /run `ipcc migrate` or set IPCC_MIGRATE_ON_START=true/);
});

t.test('given the route commands when run then simulate prints per-queue figures and replay checks the record', async (t) => {
  const env = envFor(uniqueId('c'));
  t.teardown(() => dropDatabase(env.IPCC_MYSQL_URL as string));
  const sim = await run(['bin/ipcc.js', 'route', 'simulate', '--scenario', 'config/examples/simulation.json', '--seed', '7'], env);
  t.equal(sim.code, 0, sim.stderr);
  t.match(sim.stdout, /^sales\s+\d+\s+\d+\s+[\d.]+ % \(80 %\)/m);
  t.match(sim.stdout, /^support-chat\s+\d+/m);
  const again = await run(['bin/ipcc.js', 'route', 'simulate', '--scenario', 'config/examples/simulation.json', '--seed', '7'], env);
  t.equal(again.stdout.replace(/simulated in \d+ ms/, ''), sim.stdout.replace(/simulated in \d+ ms/, ''), 'same seed, same day');
  const noFile = await run(['bin/ipcc.js', 'route', 'simulate'], env);
  t.equal(noFile.code, 64);
  t.match(noFile.stderr, /needs --scenario/);

  t.equal((await run(['bin/ipcc.js', 'migrate'], env)).code, 0);
  const replay = await run(['bin/ipcc.js', 'route', 'replay', '--from', '2026-01-01T00:00:00Z', '--to', String(Date.now())], env);
  t.equal(replay.code, 0, replay.stderr);
  t.match(replay.stdout, /identical/);
  const badTime = await run(['bin/ipcc.js', 'route', 'replay', '--from', 'yesterday-ish', '--to', '1'], env);
  t.equal(badTime.code, 64);
  t.match(badTime.stderr, /--from must be an ISO time or epoch milliseconds/);
});

t.test('given `ipcc ivr simulate` when run on the sample flow then it prints the path; an invalid flow is refused naming the node', async (t) => {
  const env = envFor(uniqueId('c'));
  const ok = await run(['bin/ipcc.js', 'ivr', 'simulate', 'ivr/flows/main-line.json', '--digits', '1,2,1'], env);
  t.equal(ok.code, 0, ok.stderr);
  t.match(ok.stdout, /^path: choose_language -> opening_hours -> welcome -> main_menu -> /m);
  t.match(ok.stdout, /"type":"route_to_queue"/);
  const closed = await run(['bin/ipcc.js', 'ivr', 'simulate', 'ivr/flows/main-line.json', '--closed'], env);
  t.match(closed.stdout, /"type":"voicemail"/, 'outside business hours the flow takes voicemail');
  const dir = mkdtempSync(join(tmpdir(), 'ipcc-ivr-'));
  const bad = join(dir, 'bad.json');
  writeFileSync(bad, JSON.stringify({ id: 'x', name: 'x', start: 'a', nodes: { a: { type: 'play', prompts: [{ tts: 'hi' }], next: 'zz' } } }));
  const refused = await run(['bin/ipcc.js', 'ivr', 'simulate', bad], env);
  t.equal(refused.code, 65);
  t.match(refused.stderr, /node a: ivr\.missing_target/);
  const keys = await run(['bin/ipcc.js', 'ivr', 'simulate', 'ivr/flows/main-line.json', '--digits', '12'], env);
  t.equal(keys.code, 64);
  // The same sample written in YAML takes the same path.
  const yamlFile = join(dir, 'main-line.yaml');
  writeFileSync(yamlFile, stringifyYaml(JSON.parse(readFileSync('ivr/flows/main-line.json', 'utf8'))));
  const fromYaml = await run(['bin/ipcc.js', 'ivr', 'simulate', yamlFile, '--digits', '1,2,1'], env);
  t.equal(fromYaml.code, 0, fromYaml.stderr);
  t.equal(fromYaml.stdout, ok.stdout, 'a YAML flow simulates exactly like its JSON');
});

/**
 * The whole suite in one command (`npm test`): static checks, then each test
 * tier in order — unit → integration (MariaDB, Redis) → telephony (Asterisk,
 * SIPp, baresip) → channels → browser. It brings up the local stack first
 * (docker/local/stack.sh up: idempotent, builds the Asterisk root when absent)
 * and ends with one line `tests: N passed, N failed`.
 *
 *   IPCC_TEST_TIERS=unit,integration npm test   # run only some tiers
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';

const ROOT = new URL('../', import.meta.url).pathname;
const BIN = join(ROOT, 'node_modules/.bin');
const REPORTS = join(ROOT, '.tap/reports');

interface TierSpec {
  name: string;
  dir: string;
  timeoutSeconds: number;
  jobs: number;
  needsStack: boolean;
}

const TIERS: TierSpec[] = [
  { name: 'unit', dir: 'test/unit', timeoutSeconds: 300, jobs: 2, needsStack: false },
  { name: 'integration', dir: 'test/integration', timeoutSeconds: 180, jobs: 2, needsStack: false },
  { name: 'telephony', dir: 'test/telephony', timeoutSeconds: 900, jobs: 2, needsStack: true },
  { name: 'channels', dir: 'test/channels', timeoutSeconds: 300, jobs: 2, needsStack: false },
  { name: 'browser', dir: 'test/browser', timeoutSeconds: 300, jobs: 1, needsStack: true },
];

const wanted = (process.env.IPCC_TEST_TIERS ?? '').split(',').map((s) => s.trim()).filter(Boolean);
const selected = (name: string): boolean => wanted.length === 0 || wanted.includes(name);

interface Outcome {
  name: string;
  passed: number;
  failed: number;
  seconds: number;
  note?: string;
}

function sh(cmd: string, args: string[], opts: { capture?: boolean; env?: Record<string, string> } = {}): Promise<{ code: number; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd: ROOT, env: { ...process.env, ...opts.env }, stdio: ['ignore', opts.capture ? 'pipe' : 'inherit', opts.capture ? 'pipe' : 'inherit'] });
    let out = '';
    child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
    child.on('close', (code) => resolve({ code: code ?? 1, out }));
  });
}

function testFiles(dir: string): string[] {
  const abs = join(ROOT, dir);
  if (!existsSync(abs)) return [];
  const out: string[] = [];
  const walk = (d: string): void => {
    for (const f of readdirSync(d).sort()) {
      const p = join(d, f);
      if (statSync(p).isDirectory()) walk(p);
      else if (f.endsWith('.test.ts')) out.push(relative(ROOT, p));
    }
  };
  walk(abs);
  return out;
}

async function staticCheck(name: string, cmd: string, args: string[]): Promise<Outcome> {
  const started = Date.now();
  const r = await sh(cmd, args, { capture: true });
  const seconds = (Date.now() - started) / 1000;
  const ok = r.code === 0;
  console.log(`${ok ? 'ok' : 'FAILED'}  ${name} (${seconds.toFixed(1)} s)`);
  if (!ok) console.log(r.out.trim());
  return { name, passed: ok ? 1 : 0, failed: ok ? 0 : 1, seconds };
}

/** Runs one tier with tap, keeps the full TAP stream in .tap/reports, prints file results and failures. */
async function tier(spec: TierSpec): Promise<Outcome> {
  const files = testFiles(spec.dir);
  if (files.length === 0) return { name: spec.name, passed: 0, failed: 0, seconds: 0, note: 'no tests' };
  const started = Date.now();
  console.log(`\n== ${spec.name}: ${files.length} files`);
  const r = await sh(
    join(BIN, 'tap'),
    ['--reporter=tap', '--disable-coverage', `--timeout=${spec.timeoutSeconds}`, `--jobs=${spec.jobs}`, ...files],
    { capture: true },
  );
  mkdirSync(REPORTS, { recursive: true });
  writeFileSync(join(REPORTS, `${spec.name}.tap`), r.out);
  let passed = 0;
  let failed = 0;
  const lines = r.out.split('\n');
  lines.forEach((line, i) => {
    // A named test: an indented test point that carries its duration (assertions carry none).
    const m = /^( +)(not ok|ok) \d+ - (.*?) # time=/.exec(line);
    if (m) {
      if (m[2] === 'ok') passed++;
      else if (!lines.slice(i + 1, i + 3).some((l) => /^ +# Subtest/.test(l))) failed++;
    }
    if (/^(not ok|ok) \d+ - /.test(line)) console.log(line.replace(/ # time=.*/, ''));
    if (/^ +not ok \d+ - /.test(line)) {
      console.log(line);
      // The YAML block after a failed assertion says what and where.
      for (const l of lines.slice(i + 1, i + 40)) {
        if (/^ +(\.\.\.|ok \d|not ok \d|# Subtest)/.test(l)) break;
        console.log(l);
      }
    }
  });
  if (r.code !== 0 && failed === 0) {
    failed = 1;
    console.log(r.out.split('\n').slice(-40).join('\n'));
  }
  const seconds = (Date.now() - started) / 1000;
  console.log(`== ${spec.name}: ${passed} passed, ${failed} failed (${seconds.toFixed(1)} s)`);
  return { name: spec.name, passed, failed, seconds };
}

async function main(): Promise<void> {
  const started = Date.now();
  const outcomes: Outcome[] = [];
  if (selected('static')) {
    outcomes.push(await staticCheck('typecheck', join(BIN, 'tsc'), ['-p', '.']));
    outcomes.push(await staticCheck('lint', join(BIN, 'eslint'), ['.']));
    const roots = ['server', 'config', 'ivr', 'adapters', 'bin'].filter((d) => existsSync(join(ROOT, d)));
    outcomes.push(await staticCheck('no circular imports', join(BIN, 'madge'), ['--circular', '--extensions', 'ts', '--ts-config', 'tsconfig.json', ...roots]));
  }
  let stackUp = false;
  for (const spec of TIERS) {
    if (!selected(spec.name)) continue;
    if (spec.needsStack && !stackUp && testFiles(spec.dir).length > 0) {
      console.log('\n== local stack: docker/local/stack.sh up');
      const r = await sh('bash', ['docker/local/stack.sh', 'up']);
      if (r.code !== 0) {
        outcomes.push({ name: 'local stack', passed: 0, failed: 1, seconds: 0 });
        console.log('FAILED  local stack did not come up; telephony tiers not run');
        break;
      }
      stackUp = true;
    }
    outcomes.push(await tier(spec));
  }
  const passed = outcomes.reduce((n, o) => n + o.passed, 0);
  const failed = outcomes.reduce((n, o) => n + o.failed, 0);
  console.log('\nsummary:');
  for (const o of outcomes) console.log(`  ${o.name.padEnd(20)} ${o.note ?? `${o.passed} passed, ${o.failed} failed`}  ${o.seconds.toFixed(1)} s`);
  console.log(`  total time ${((Date.now() - started) / 1000).toFixed(1)} s`);
  console.log(`tests: ${passed} passed, ${failed} failed`);
  process.exit(failed === 0 && passed > 0 ? 0 : 1);
}

void main();

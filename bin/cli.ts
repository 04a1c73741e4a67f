/* The command line is the one place that talks to a terminal; console is allowed here. */
import { parse as parseYaml } from 'yaml';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { Ajv } from 'ajv';
import { FLOW_ERROR, flowSchema, parseFlow, simulate as simulateIvr, validateFlow } from '../ivr/index.js';
import { simulate, type SimScenario } from '../server/acd/simulate.js';
import type { PartitionRouter } from '../server/modules/acd/partition.js';
import { replayWindow } from '../server/modules/acd/service.js';
import { createAcdSqlStore } from '../server/modules/acd/store.js';
import { ConfigError, loadConfig, renderEnvExample, type Config } from '../config/index.js';
import { SETTINGS } from '../config/schema.js';
import { createEventBus } from '../server/infra/events.js';
import { createLogger } from '../server/infra/logger.js';
import { migrate } from '../server/infra/migrate.js';
import { createMysqlPool, ensureDatabase, type RowDataPacket } from '../server/infra/mysql.js';
import { MIGRATIONS_DIR } from '../server/infra/plugins/resources.js';
import { isAppError } from '../server/domain/errors.js';
import { USER_ROLES, type UserRole } from '../server/domain/principal.js';
import { createAuditLog } from '../server/infra/audit.js';
import { createUserService } from '../server/modules/users/service.js';
import { createUserStore } from '../server/modules/users/store.js';

const USAGE = `Usage: ipcc <command>

  migrate                              apply pending database migrations (creates the database if missing)
  admin create --username NAME         create an admin user; the password is read from standard input
         [--display-name TEXT] [--roles admin,supervisor]
  route replay --from T1 --to T2       re-run the recorded routing input and report where the decisions
         [--config what-if.json]       in [T1, T2] differ from those on record (T: ISO time or epoch ms);
         [--partition t1] [--json]     with --config, what another configuration would have decided.
                                       Exit 0 when identical, 3 when they differ.
  route simulate --scenario FILE       run a synthetic day through the router and print service level,
         [--seed N] [--json]           speed of answer, abandonment and occupancy per queue
                                       (example: config/examples/simulation.json)
  ivr simulate FLOW --digits 1,2,#     run an IVR flow (JSON or YAML) without a phone and print the path taken
         [--caller NUMBER] [--open | --closed] [--json]
                                       (calendars: --open treats every business-hours branch as open)
  config check                         validate the configuration and print it (secrets hidden)
  config example                       print config/env.example generated from the schema
`;

class UsageError extends Error {}

function flag(args: string[], name: string): string | undefined {
  const i = args.indexOf(`--${name}`);
  if (i < 0) return undefined;
  const v = args[i + 1];
  if (v === undefined || v.startsWith('--')) throw new UsageError(`--${name} needs a value`);
  return v;
}

async function readPassword(): Promise<string> {
  if (process.stdin.isTTY) {
    // Interactive: ask twice, without echo.
    const ask = (q: string): Promise<string> =>
      new Promise((resolve) => {
        const rl = createInterface({ input: process.stdin, output: process.stdout, terminal: true });
        const out = rl as unknown as { _writeToOutput: (s: string) => void };
        out._writeToOutput = (s: string) => {
          if (s.includes(q)) process.stdout.write(q);
        };
        rl.question(q, (answer) => {
          rl.close();
          process.stdout.write('\n');
          resolve(answer);
        });
      });
    const a = await ask('Password: ');
    const b = await ask('Again: ');
    if (a !== b) throw new UsageError('the two passwords differ');
    return a;
  }
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8').replace(/\r?\n$/, '');
}

async function cmdMigrate(config: Config): Promise<void> {
  const logger = createLogger({ level: 'warn' });
  await ensureDatabase(config.mysql.url);
  const r = await migrate({ url: config.mysql.url, dir: MIGRATIONS_DIR, logger });
  for (const a of r.applied) console.log(`applied ${String(a.version).padStart(4, '0')}_${a.name} (${a.ms} ms)`);
  console.log(r.applied.length === 0 ? `database is up to date (version ${r.current})` : `database now at version ${r.current}`);
}

async function cmdAdminCreate(config: Config, args: string[]): Promise<void> {
  const username = flag(args, 'username');
  if (!username) throw new UsageError('admin create needs --username NAME');
  const roles = (flag(args, 'roles') ?? 'admin').split(',').map((r) => r.trim());
  const bad = roles.filter((r) => !(USER_ROLES as readonly string[]).includes(r));
  if (bad.length > 0) throw new UsageError(`unknown roles: ${bad.join(', ')} (known: ${USER_ROLES.join(', ')})`);
  const password = await readPassword();
  const pool = createMysqlPool({ url: config.mysql.url, poolSize: 2 });
  try {
    const [rows] = await pool.query<RowDataPacket[]>('SELECT id FROM tenants WHERE name = ?', [config.tenant]);
    const tenantId = rows[0]?.id;
    if (tenantId === undefined) throw new UsageError(`tenant "${config.tenant}" does not exist: run \`ipcc migrate\` first`);
    const service = createUserService({
      store: createUserStore(pool),
      audit: createAuditLog(pool),
      events: createEventBus(() => undefined),
      revokeTokens: async () => undefined,
    });
    const displayName = flag(args, 'display-name');
    const user = await service.create(Number(tenantId), { username, password, roles: roles as UserRole[], ...(displayName ? { displayName } : {}) }, { name: 'cli' });
    console.log(`created user ${user.username} (id ${user.id}, roles ${user.roles.join(',')})`);
  } finally {
    await pool.end();
  }
}

function parseTime(flagName: string, v: string | undefined): number {
  if (v === undefined) throw new UsageError(`route replay needs --${flagName}`);
  const n = /^\d+$/.test(v) ? Number(v) : Date.parse(v);
  if (!Number.isFinite(n)) throw new UsageError(`--${flagName} must be an ISO time or epoch milliseconds, got "${v}"`);
  return n;
}

function readJson(path: string, what: string): unknown {
  try {
    const text = readFileSync(path, 'utf8');
    // Flows may be written in YAML too (.yaml / .yml).
    return /\.ya?ml$/i.test(path) ? parseYaml(text, { maxAliasCount: 50 }) : JSON.parse(text);
  } catch (e) {
    throw new UsageError(`cannot read ${what} ${path}: ${(e as Error).message}`);
  }
}

async function cmdRouteReplay(config: Config, args: string[]): Promise<number> {
  const fromMs = parseTime('from', flag(args, 'from'));
  const toMs = parseTime('to', flag(args, 'to'));
  if (toMs < fromMs) throw new UsageError('--to is before --from');
  const overridePath = flag(args, 'config');
  const override = overridePath ? (readJson(overridePath, 'configuration') as PartitionRouter['override']) : undefined;
  const pool = createMysqlPool({ url: config.mysql.url, poolSize: 2 });
  try {
    const [rows] = await pool.query<RowDataPacket[]>('SELECT id FROM tenants WHERE name = ?', [config.tenant]);
    const tenantId = Number(rows[0]?.id ?? 1);
    const partition = flag(args, 'partition') ?? `t${tenantId}`;
    const report = await replayWindow(createAcdSqlStore(pool), { tenantId, partition, fromMs, toMs, ...(override ? { override } : {}) });
    if (args.includes('--json')) {
      console.log(JSON.stringify(report, null, 2));
    } else {
      const d = report.diff;
      console.log(`partition ${report.partition}, ${report.from} .. ${report.to}`);
      console.log(`events replayed ${report.eventsReplayed} (in window ${report.eventsInWindow}); configuration versions seen: ${report.configVersions.join(', ') || 'none'}${override ? ' (overridden)' : ''}`);
      console.log(`decisions on record ${d.summary.decisionsA}, replayed ${d.summary.decisionsB}; tasks compared ${d.summary.tasksCompared}, assigned ${d.summary.assignedA} -> ${d.summary.assignedB}`);
      if (d.identical) console.log('identical: the replay reproduces every recorded decision');
      else {
        console.log(`DIFFERENT: ${d.summary.tasksDiffering} tasks differ; first divergence at decision #${d.firstDivergence?.position}`);
        for (const x of d.tasks.slice(0, 20)) {
          console.log(`  task ${x.taskId}: on record ${x.a?.assignedAgentId ?? x.a?.removedReason ?? 'waiting'} (offers ${x.a?.offers ?? 0}) -> replay ${x.b?.assignedAgentId ?? x.b?.removedReason ?? 'waiting'} (offers ${x.b?.offers ?? 0})`);
        }
        if (d.tasks.length > 20) console.log(`  … ${d.tasks.length - 20} more (use --json)`);
      }
    }
    return report.diff.identical ? 0 : 3;
  } finally {
    await pool.end();
  }
}

function cmdRouteSimulate(args: string[]): number {
  const path = flag(args, 'scenario');
  if (!path) throw new UsageError('route simulate needs --scenario FILE (see config/examples/simulation.json)');
  const seedText = flag(args, 'seed') ?? '1';
  if (!/^\d{1,9}$/.test(seedText)) throw new UsageError('--seed must be a whole number');
  const scenario = readJson(path, 'scenario') as SimScenario;
  const started = performance.now();
  const report = simulate(scenario, Number(seedText));
  const ms = performance.now() - started;
  if (args.includes('--json')) {
    console.log(JSON.stringify(report, null, 2));
    return 0;
  }
  const pct = (n: number): string => `${n.toFixed(1)} %`.padStart(8);
  console.log(`queue                 offered answered  SL (target)        ASA  abandoned  occupancy`);
  for (const q of report.queues) {
    console.log(
      `${q.queueId.padEnd(20)} ${String(q.offered).padStart(8)} ${String(q.answered).padStart(8)} ${pct(q.serviceLevelPercent)} (${q.serviceLevelTargetPercent} %) ${(q.averageSpeedOfAnswerMs / 1000).toFixed(1).padStart(7)} s ${pct(q.abandonmentPercent)} ${pct(q.occupancyPercent)}`,
    );
  }
  console.log(`agents' occupancy ${report.occupancyPercent.toFixed(1)} %; ${report.routingSteps} routing steps, ${report.routeDecisions} route decisions, simulated in ${Math.round(ms)} ms`);
  return 0;
}

function cmdIvrSimulate(args: string[]): number {
  const file = args.find((a, i) => !a.startsWith('--') && !(args[i - 1] ?? '').startsWith('--'));
  if (!file) throw new UsageError('ivr simulate needs a flow file, e.g. ivr/flows/main-line.json');
  const doc = readJson(file, 'flow');
  // The published JSON Schema first (shape), then the flow rules (targets, reachability, loops).
  const ajv = new Ajv({ allErrors: true, strict: false });
  const schemaOk = ajv.validate(flowSchema, doc);
  if (!schemaOk) {
    for (const e of ajv.errors ?? []) console.error(`  ${e.instancePath || '/'}: ${e.message ?? e.keyword}`);
    console.error(`ipcc: ${file} does not match the flow schema`);
    return 65;
  }
  // Calendars live in the server; here every calendar the flow names is stood in for (see --open/--closed).
  const calendarIds = [...new Set(validateFlow(doc, { calendarIds: [] }).filter((e) => e.code === FLOW_ERROR.unknownCalendar).map((e) => String(e.details?.calendar)))];
  const parsed = parseFlow(doc, { calendarIds });
  if (!parsed.ok) {
    for (const e of parsed.errors) console.error(`  node ${String(e.details?.node ?? '-')}: ${e.code}: ${e.message}`);
    console.error(`ipcc: ${file} is not a valid flow (${parsed.errors.length} problems)`);
    return 65;
  }
  const digits = (flag(args, 'digits') ?? '').split(',').map((d) => d.trim()).filter(Boolean);
  const bad = digits.filter((d) => !/^[0-9*#A-D]$/.test(d));
  if (bad.length > 0) throw new UsageError(`--digits takes single keys 0-9 * # A-D separated by commas; not: ${bad.join(' ')}`);
  // Without a real calendar store here, a flag decides how business-hours branches go.
  const always = args.includes('--closed') ? {} : { mon: [{ from: '00:00', to: '24:00' }], tue: [{ from: '00:00', to: '24:00' }], wed: [{ from: '00:00', to: '24:00' }], thu: [{ from: '00:00', to: '24:00' }], fri: [{ from: '00:00', to: '24:00' }], sat: [{ from: '00:00', to: '24:00' }], sun: [{ from: '00:00', to: '24:00' }] };
  const calendars = Object.fromEntries(calendarIds.map((id) => [id, { id, zone: { kind: 'fixed' as const, offsetMinutes: 0 }, weekly: always }]));
  const result = simulateIvr(parsed.flow, { digits, callerNumber: flag(args, 'caller') ?? '+15550100', now: Date.now(), calendars });
  if (args.includes('--json')) {
    console.log(JSON.stringify(result, null, 2));
    return 0;
  }
  console.log(`path: ${result.path.join(' -> ')}`);
  console.log(`end: ${result.end ? JSON.stringify({ ...result.end, context: undefined }) : 'none'} (${result.endedBy})`);
  console.log(`collected: ${JSON.stringify(result.context.vars)}`);
  if (result.unusedDigits.length > 0) console.log(`digits not used: ${result.unusedDigits.join(',')}`);
  console.log(`simulated call time: ${(result.elapsedMs / 1000).toFixed(1)} s`);
  return 0;
}

function cmdConfigCheck(config: Config): void {
  const hidden = new Set<string>(SETTINGS.filter((s) => 'secret' in s && s.secret).map((s) => s.key));
  const show = (obj: Record<string, unknown>, prefix: string): void => {
    for (const [k, v] of Object.entries(obj)) {
      const key = prefix ? `${prefix}.${k}` : k;
      if (v && typeof v === 'object' && !Array.isArray(v)) show(v as Record<string, unknown>, key);
      else console.log(`${key} = ${hidden.has(key) ? '[hidden]' : JSON.stringify(v)}`);
    }
  };
  show(config as unknown as Record<string, unknown>, '');
  console.log('configuration is valid');
}

async function run(argv: string[]): Promise<number> {
  const [cmd, sub, ...rest] = argv;
  if (!cmd || cmd === 'help' || cmd === '--help') {
    console.log(USAGE);
    return 0;
  }
  if (cmd === 'config' && sub === 'example') {
    process.stdout.write(renderEnvExample());
    return 0;
  }
  if (cmd === 'route' && sub === 'simulate') return cmdRouteSimulate(rest);
  if (cmd === 'ivr' && sub === 'simulate') return cmdIvrSimulate(rest);
  const config = loadConfig();
  if (cmd === 'migrate') await cmdMigrate(config);
  else if (cmd === 'admin' && sub === 'create') await cmdAdminCreate(config, rest);
  else if (cmd === 'config' && sub === 'check') cmdConfigCheck(config);
  else if (cmd === 'route' && sub === 'replay') return cmdRouteReplay(config, rest);
  else throw new UsageError(`unknown command: ${argv.join(' ')}`);
  return 0;
}

run(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (e: unknown) => {
    if (e instanceof UsageError) console.error(`ipcc: ${e.message}\n\n${USAGE}`);
    else if (e instanceof ConfigError) console.error(`${e.message}\nSee config/env.example for every setting.`);
    else if (isAppError(e)) console.error(`ipcc: ${e.code}: ${e.message}`);
    else console.error(`ipcc: ${e instanceof Error ? e.message : String(e)}`);
    process.exit(e instanceof UsageError ? 64 : e instanceof ConfigError ? 78 : 1);
  },
);

import { readFileSync } from 'node:fs';
import { SETTINGS, type SettingSpec } from './schema.js';

export interface AsteriskServerConfig {
  name: string;
  /** Base URL without credentials, e.g. http://127.0.0.1:8088 */
  baseUrl: string;
  username: string;
  password: string;
}

export interface Config {
  tenant: string;
  http: { host: string; port: number; bodyLimit: number; trustProxy: boolean };
  log: { level: string };
  mysql: { url: string; poolSize: number; migrateOnStart: boolean };
  redis: { url: string; prefix: string };
  auth: { tokenSecret: string; tokenTtlSeconds: number; maxFailures: number; throttleWindowSeconds: number };
  asterisk: { servers: AsteriskServerConfig[]; app: string; requestTimeoutMs: number; connections: number };
  router: { enabled: boolean; leaseMs: number };
  voice: { outboundDial: string; outboundRingSeconds: number; agentTransferWaitSeconds: number; callbackAttempts: number; callbackRetrySeconds: number; holdBridgeShards: number; sweepSeconds: number };
  recording: { retentionDays: number; retentionEveryMinutes: number };
  ivr: { mediaBaseUrl: string; ttsCommand: string; soxCommand: string; ttsCacheDir: string; ttsDefaultVoice: string; ttsTimeoutMs: number; ttsFallbackSound: string };
  customers: { defaultCountryCode: string };
  shutdownTimeoutMs: number;
}

/** One problem with one setting; start-up prints all of them at once. */
export interface ConfigIssue {
  setting: string;
  problem: string;
}

export class ConfigError extends Error {
  readonly issues: ConfigIssue[];
  constructor(issues: ConfigIssue[]) {
    super(
      'Invalid configuration:\n' + issues.map((i) => `  - ${i.setting}: ${i.problem}`).join('\n'),
    );
    this.name = 'ConfigError';
    this.issues = issues;
  }
}

export interface LoadConfigOptions {
  /** Defaults to process.env — the only place in the code base that reads it. */
  env?: Record<string, string | undefined>;
  /** Path of an optional JSON file; IPCC_CONFIG_FILE in env otherwise. Env wins over file. */
  file?: string;
}

type Raw = { value: string; from: string };

function fileValues(path: string, issues: ConfigIssue[]): Map<string, Raw> {
  const out = new Map<string, Raw>();
  let doc: unknown;
  try {
    doc = JSON.parse(readFileSync(path, 'utf8'));
  } catch (e) {
    issues.push({ setting: 'IPCC_CONFIG_FILE', problem: `cannot read ${path} as JSON (${(e as Error).message})` });
    return out;
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
    issues.push({ setting: 'IPCC_CONFIG_FILE', problem: `${path} must hold a JSON object` });
    return out;
  }
  const known = new Set<string>(SETTINGS.map((s) => s.key));
  const walk = (obj: Record<string, unknown>, prefix: string): void => {
    for (const [k, v] of Object.entries(obj)) {
      const key = prefix ? `${prefix}.${k}` : k;
      if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
        walk(v as Record<string, unknown>, key);
      } else if (!known.has(key)) {
        issues.push({ setting: `${path}:${key}`, problem: 'unknown setting (see config/env.example for the list)' });
      } else {
        out.set(key, { value: Array.isArray(v) ? v.join(',') : String(v), from: `${path}:${key}` });
      }
    }
  };
  walk(doc as Record<string, unknown>, '');
  return out;
}

function parseServers(raw: string, issues: ConfigIssue[], setting: string): AsteriskServerConfig[] {
  const servers: AsteriskServerConfig[] = [];
  if (raw.trim() === '') return servers;
  for (const part of raw.split(',').map((p) => p.trim()).filter(Boolean)) {
    const eq = part.indexOf('=');
    const name = eq > 0 ? part.slice(0, eq) : '';
    if (!/^[a-z0-9][a-z0-9_-]{0,31}$/i.test(name)) {
      issues.push({ setting, problem: `entry "${part.replace(/\/\/[^@]*@/, '//***@')}" must be NAME=URL with a name of letters, digits, - or _` });
      continue;
    }
    let url: URL;
    try {
      url = new URL(part.slice(eq + 1));
    } catch {
      issues.push({ setting, problem: `server "${name}" has an invalid URL` });
      continue;
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      issues.push({ setting, problem: `server "${name}" must use http or https` });
      continue;
    }
    if (!url.username || !url.password) {
      issues.push({ setting, problem: `server "${name}" URL must carry the ARI user and password (http://user:password@host:port)` });
      continue;
    }
    if (servers.some((s) => s.name === name)) {
      issues.push({ setting, problem: `server name "${name}" appears twice` });
      continue;
    }
    servers.push({
      name,
      baseUrl: `${url.protocol}//${url.host}${url.pathname.replace(/\/$/, '')}`,
      username: decodeURIComponent(url.username),
      password: decodeURIComponent(url.password),
    });
  }
  return servers;
}

function parseOne(spec: SettingSpec, raw: Raw, issues: ConfigIssue[]): unknown {
  const v = raw.value.trim();
  const bad = (problem: string): undefined => {
    issues.push({ setting: raw.from, problem });
    return undefined;
  };
  switch (spec.type) {
    case 'int': {
      if (!/^-?\d+$/.test(v)) return bad(`must be a whole number, got "${spec.secret ? '***' : v}"`);
      const n = Number(v);
      if (spec.min !== undefined && n < spec.min) return bad(`must be at least ${spec.min}, got ${n}`);
      if (spec.max !== undefined && n > spec.max) return bad(`must be at most ${spec.max}, got ${n}`);
      return n;
    }
    case 'bool':
      if (['true', '1', 'yes', 'on'].includes(v.toLowerCase())) return true;
      if (['false', '0', 'no', 'off', ''].includes(v.toLowerCase())) return false;
      return bad(`must be true or false, got "${v}"`);
    case 'enum':
      if (!spec.values?.includes(v)) return bad(`must be one of ${spec.values?.join(', ')}, got "${v}"`);
      return v;
    case 'url':
      try {
        new URL(v);
        return v;
      } catch {
        return bad('must be a URL');
      }
    case 'list':
      return v.split(',').map((s) => s.trim()).filter(Boolean);
    case 'servers':
      return parseServers(v, issues, raw.from);
    case 'string':
      if (spec.pattern !== undefined && raw.value !== '' && !spec.pattern.test(raw.value)) {
        return bad(`must be ${spec.patternHint ?? `like ${String(spec.pattern)}`}, got "${raw.value}"`);
      }
      if (spec.minLength !== undefined && raw.value.length < spec.minLength) {
        return bad(spec.secret ? `must be at least ${spec.minLength} characters long` : `must be at least ${spec.minLength} characters, got "${raw.value}"`);
      }
      return raw.value;
  }
}

function setPath(target: Record<string, unknown>, key: string, value: unknown): void {
  const parts = key.split('.');
  let node = target;
  for (const p of parts.slice(0, -1)) {
    node[p] ??= {};
    node = node[p] as Record<string, unknown>;
  }
  node[parts[parts.length - 1] as string] = value;
}

function deepFreeze<T>(o: T): T {
  if (o && typeof o === 'object') {
    for (const v of Object.values(o)) deepFreeze(v);
    Object.freeze(o);
  }
  return o;
}

/**
 * Reads the configuration once: defaults, then the optional JSON file, then
 * the environment. Returns a frozen object, or throws a {@link ConfigError}
 * that names every bad setting and what is wrong with it.
 */
export function loadConfig(options: LoadConfigOptions = {}): Config {
  const env = options.env ?? process.env;
  const issues: ConfigIssue[] = [];
  const filePath = options.file ?? env.IPCC_CONFIG_FILE;
  const fromFile = filePath ? fileValues(filePath, issues) : new Map<string, Raw>();
  const out: Record<string, unknown> = {};
  for (const spec of SETTINGS as readonly SettingSpec[]) {
    const envValue = env[spec.env];
    const raw: Raw | undefined =
      envValue !== undefined
        ? { value: envValue, from: spec.env }
        : fromFile.get(spec.key) ?? (spec.default !== undefined ? { value: spec.default, from: spec.env } : undefined);
    if (!raw) {
      issues.push({ setting: spec.env, problem: `is required: ${spec.description}` });
      continue;
    }
    setPath(out, spec.key, parseOne(spec, raw, issues));
  }
  if (issues.length > 0) throw new ConfigError(issues);
  return deepFreeze(out as unknown as Config);
}

/** The text of config/env.example, generated from the schema. */
export function renderEnvExample(): string {
  const lines = [
    '# IPCC server settings. Every setting can be given as an environment variable',
    '# or in a JSON file named by IPCC_CONFIG_FILE (under its file key); the environment wins.',
    '# Generated by `ipcc config example` from config/schema.ts: do not edit by hand.',
    '',
    '# Path of an optional JSON configuration file.',
    '# IPCC_CONFIG_FILE=',
    '',
  ];
  for (const s of SETTINGS as readonly SettingSpec[]) {
    lines.push(`# ${s.description}`);
    const extra: string[] = [`file key: ${s.key}`, `type: ${s.type}`];
    if (s.values) extra.push(`one of: ${s.values.join(', ')}`);
    if (s.min !== undefined || s.max !== undefined) extra.push(`range: ${s.min ?? ''}..${s.max ?? ''}`);
    if (s.default === undefined) extra.push('REQUIRED');
    lines.push(`# (${extra.join('; ')})`);
    lines.push(s.default === undefined ? `# ${s.env}=` : `${s.env}=${s.default}`);
    lines.push('');
  }
  return lines.join('\n');
}

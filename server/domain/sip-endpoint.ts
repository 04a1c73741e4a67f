/**
 * Agent SIP endpoints as data: the naming scheme, the PJSIP objects (auth, aor, endpoint) an
 * agent's phone login needs, and the reconciler that turns "what should exist" and "what
 * Asterisk has" into a plan. Pure: the telephony shell reads Asterisk and performs the plan.
 */

/** The PJSIP object types one agent login consists of, in the order they must be created. */
export const SIP_OBJECT_TYPES = ['auth', 'aor', 'endpoint'] as const;
export type SipObjectType = (typeof SIP_OBJECT_TYPES)[number];

/** One attribute of a PJSIP object, as ARI push configuration takes it. Order matters (disallow before allow). */
export interface SipField {
  attribute: string;
  value: string;
}

/** The three objects of one agent login, each an ordered field list. */
export type SipObjects = Readonly<Record<SipObjectType, readonly SipField[]>>;

/** How agent endpoints are set up; the same for every agent of a server. */
export interface SipEndpointSettings {
  /** Dialplan context of calls the agent's phone places. */
  context: string;
  /** Codecs, in order of preference. */
  codecs: readonly string[];
  /** Seconds between OPTIONS pings, so a phone that went away is noticed (0 turns it off). */
  qualifyFrequencySeconds: number;
  /** Registration lifetimes (seconds) Asterisk accepts. */
  minExpirationSeconds: number;
  maxExpirationSeconds: number;
  defaultExpirationSeconds: number;
}

export const DEFAULT_SIP_ENDPOINT_SETTINGS: SipEndpointSettings = Object.freeze({
  context: 'ipcc-agents',
  codecs: Object.freeze(['ulaw', 'alaw']),
  qualifyFrequencySeconds: 30,
  minExpirationSeconds: 60,
  maxExpirationSeconds: 3600,
  defaultExpirationSeconds: 600,
});

/** What an agent's phone login is: the agent and the digest password. */
export interface AgentSipLogin {
  tenantId: number;
  agentId: string;
  password: string;
  /**
   * A fixed SIP URI of the phone (a desk phone or gateway that does not register). Asterisk
   * dials it directly and does not take registrations for the login.
   */
  contact?: string;
}

/** A static contact as a login may name it: `sip:` or `sips:` URI without spaces or angle brackets. */
export const STATIC_CONTACT_PATTERN = /^sips?:[^\s<>;,]+(;[^\s<>,]+)?$/;

/** An agent id as the routing configuration allows it. */
export const AGENT_ID_PATTERN = /^[a-z0-9][a-z0-9_.-]{0,63}$/;

const ENDPOINT_ID = /^agent-([1-9][0-9]{0,9})-([a-z0-9][a-z0-9_.-]{0,63})$/;

/**
 * The PJSIP id (endpoint, auth and aor alike) of an agent's login, which is also the SIP user
 * name the phone registers with: `agent-<tenantId>-<agentId>`. The tenant is part of it because
 * tenants may share an Asterisk server and agent ids are unique only within a tenant.
 */
export function agentEndpointId(tenantId: number, agentId: string): string {
  if (!Number.isInteger(tenantId) || tenantId < 1) throw new RangeError(`bad tenant id ${tenantId}`);
  if (!AGENT_ID_PATTERN.test(agentId)) throw new RangeError(`bad agent id ${JSON.stringify(agentId)}`);
  return `agent-${tenantId}-${agentId}`;
}

/** The tenant and agent an endpoint id names, or undefined when the id is not ours. */
export function parseAgentEndpointId(id: string): { tenantId: number; agentId: string } | undefined {
  const m = ENDPOINT_ID.exec(id);
  if (!m) return undefined;
  return { tenantId: Number(m[1]), agentId: m[2] as string };
}

/** Whether an endpoint id is an agent endpoint of this tenant (the only ones we may touch). */
export function isAgentEndpointId(id: string, tenantId: number): boolean {
  return parseAgentEndpointId(id)?.tenantId === tenantId;
}

/** The PJSIP objects of one agent login. */
export function agentSipObjects(login: AgentSipLogin, settings: SipEndpointSettings = DEFAULT_SIP_ENDPOINT_SETTINGS): SipObjects {
  const id = agentEndpointId(login.tenantId, login.agentId);
  const f = (attribute: string, value: string | number): SipField => ({ attribute, value: String(value) });
  return {
    auth: [f('auth_type', 'digest'), f('username', id), f('password', login.password)],
    aor: [
      // A phone at a fixed address: no registrations, and no OPTIONS pings it may not answer.
      ...(login.contact ? [f('contact', login.contact)] : []),
      // One phone per agent: a new registration replaces the old one instead of being refused.
      f('max_contacts', 1),
      f('remove_existing', 'yes'),
      f('qualify_frequency', login.contact ? 0 : settings.qualifyFrequencySeconds),
      f('minimum_expiration', settings.minExpirationSeconds),
      f('maximum_expiration', settings.maxExpirationSeconds),
      f('default_expiration', settings.defaultExpirationSeconds),
    ],
    endpoint: [
      f('auth', id),
      f('aors', id),
      f('context', settings.context),
      f('disallow', 'all'),
      f('allow', settings.codecs.join(',')),
      f('dtmf_mode', 'rfc4733'),
      // Media always through Asterisk (recording, snooping, bridging) and phones behind NAT work.
      f('direct_media', 'no'),
      f('rtp_symmetric', 'yes'),
      f('force_rport', 'yes'),
      f('rewrite_contact', 'yes'),
    ],
  };
}

/** An agent login as it should exist in Asterisk. */
export interface DesiredSipEndpoint {
  id: string;
  objects: SipObjects;
}

/** What Asterisk has under one id: the objects found, as attribute → value. */
export interface ObservedSipEndpoint {
  id: string;
  objects: Partial<Record<SipObjectType, Readonly<Record<string, string>>>>;
}

export type SipConfigAction =
  | { op: 'put'; type: SipObjectType; id: string; fields: readonly SipField[]; reason: 'missing' | 'changed'; changed: string[] }
  | { op: 'delete'; type: SipObjectType; id: string; reason: 'unknown' };

export interface SipEndpointPlan {
  /** In the order to perform them: for each id, auth and aor before the endpoint that names them. */
  actions: SipConfigAction[];
  /** Ids that need nothing. */
  unchanged: string[];
  /** Observed ids outside our scheme or tenant: never touched. */
  ignored: string[];
}

/** Attributes Asterisk accepts but does not read back (so they cannot be compared). */
const WRITE_ONLY = new Set(['disallow']);
const TRUE_WORDS = new Set(['yes', 'true', 'on', 'y', 't']);
const FALSE_WORDS = new Set(['no', 'false', 'off', 'n', 'f']);
const CODEC_LISTS = new Set(['allow']);

/**
 * Whether Asterisk's rendering of an attribute means what we asked for: it reads back `yes` as
 * `true`, `3` as `3.000000` and `ulaw,alaw` as `(ulaw|alaw)`.
 */
export function sameSipValue(attribute: string, wanted: string, actual: string | undefined): boolean {
  if (actual === undefined) return false;
  if (wanted === actual) return true;
  // Case matters for names and secrets; only words and codec names are compared without it.
  const w = wanted.trim().toLowerCase();
  const a = actual.trim().toLowerCase();
  if (CODEC_LISTS.has(attribute)) {
    const list = (s: string) => s.replace(/[()]/g, '').split(/[|,]/).map((x) => x.trim()).filter(Boolean);
    const wl = list(w);
    const al = list(a);
    return wl.length === al.length && wl.every((c, i) => c === al[i]);
  }
  if ((TRUE_WORDS.has(w) && TRUE_WORDS.has(a)) || (FALSE_WORDS.has(w) && FALSE_WORDS.has(a))) return true;
  if (w !== '' && a !== '' && Number.isFinite(Number(w)) && Number.isFinite(Number(a))) return Number(w) === Number(a);
  return false;
}

/** The attributes of `wanted` whose observed value differs (write-only ones are skipped). */
export function changedAttributes(wanted: readonly SipField[], actual: Readonly<Record<string, string>>): string[] {
  const changed: string[] = [];
  for (const { attribute, value } of wanted) {
    if (WRITE_ONLY.has(attribute)) continue;
    if (!sameSipValue(attribute, value, actual[attribute])) changed.push(attribute);
  }
  return changed;
}

const byId = <T extends { id: string }>(a: T, b: T): number => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

/**
 * The plan that makes Asterisk hold exactly the desired agent endpoints of one tenant: create
 * what is missing, re-put objects whose fields differ, delete agent objects of this tenant that
 * nobody wants. Objects outside the scheme (static endpoints, other tenants' agents) are never
 * touched. Deterministic: the plan depends only on the inputs, in id order.
 */
export function reconcileEndpoints(
  desired: readonly DesiredSipEndpoint[],
  actual: readonly ObservedSipEndpoint[],
  scope: { tenantId: number },
): SipEndpointPlan {
  const wanted = new Map<string, DesiredSipEndpoint>();
  for (const d of desired) {
    if (!isAgentEndpointId(d.id, scope.tenantId)) throw new RangeError(`${d.id} is not an agent endpoint of tenant ${scope.tenantId}`);
    if (wanted.has(d.id)) throw new RangeError(`${d.id} is desired twice`);
    wanted.set(d.id, d);
  }
  const seen = new Map<string, ObservedSipEndpoint>();
  const ignored: string[] = [];
  for (const o of [...actual].sort(byId)) {
    if (!isAgentEndpointId(o.id, scope.tenantId)) {
      if (!ignored.includes(o.id)) ignored.push(o.id);
      continue;
    }
    const prev = seen.get(o.id);
    seen.set(o.id, prev ? { id: o.id, objects: { ...prev.objects, ...o.objects } } : o);
  }

  const actions: SipConfigAction[] = [];
  const unchanged: string[] = [];
  for (const d of [...wanted.values()].sort(byId)) {
    const have = seen.get(d.id)?.objects ?? {};
    let touched = false;
    for (const type of SIP_OBJECT_TYPES) {
      const fields = d.objects[type];
      const current = have[type];
      if (current === undefined) {
        actions.push({ op: 'put', type, id: d.id, fields, reason: 'missing', changed: [] });
        touched = true;
        continue;
      }
      const changed = changedAttributes(fields, current);
      if (changed.length > 0) {
        actions.push({ op: 'put', type, id: d.id, fields, reason: 'changed', changed });
        touched = true;
      }
    }
    if (!touched) unchanged.push(d.id);
  }
  for (const o of [...seen.values()].sort(byId)) {
    if (wanted.has(o.id)) continue;
    // The endpoint first: it names the aor and auth.
    for (const type of [...SIP_OBJECT_TYPES].reverse()) {
      if (o.objects[type] !== undefined) actions.push({ op: 'delete', type, id: o.id, reason: 'unknown' });
    }
  }
  return { actions, unchanged, ignored: ignored.sort() };
}

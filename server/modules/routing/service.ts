import type { Agent } from '../../domain/agent.js';
import { validateAgent } from '../../domain/agent.js';
import type { BusinessCalendar, Holiday, TimeRange, Weekday } from '../../domain/calendar.js';
import { validateCalendar } from '../../domain/calendar.js';
import type { Channel } from '../../domain/channel.js';
import type { AppError } from '../../domain/errors.js';
import type { Queue, RoutingStrategy } from '../../domain/queue.js';
import { validateQueue } from '../../domain/queue.js';
import { validateRecordingPolicy, type RecordingPolicy } from '../../domain/recording.js';
import type { EventBus } from '../../infra/events.js';
import type { AuditLog } from '../../infra/audit.js';
import { isKnownTimeZone, zoneRule, ZONE_RULE_SPAN } from '../../infra/time-zones.js';
import { createRefreshingCache } from '../../infra/refreshing-cache.js';
import { routingErrors } from './errors.js';
import type { DocKind, RoutingStore, StoredDoc } from './store.js';
import './events.js';

export interface SkillDoc { name: string; description?: string }
export interface CalendarDoc { name: string; timeZone: string; weekly: Partial<Record<Weekday, TimeRange[]>>; holidays?: Holiday[] }
export interface QueueDoc {
  name: string;
  strategy: RoutingStrategy;
  skills?: { skillId: string; minLevel: number; weight?: number }[];
  agentGroups?: string[];
  serviceLevel: { percent: number; withinSeconds: number };
  maxWaitSeconds?: number;
  overflowQueueId?: string;
  calendarId?: string;
  relaxation?: { afterSeconds: number; minLevelDelta?: number; addAgentGroups?: string[] }[];
  offerTimeoutSeconds?: number;
  wrapUpSeconds?: number;
  dispositions?: string[];
  recording?: RecordingPolicy;
  voice?: QueueVoiceRules;
}

/** What callers of a queue hear and may do while they wait. */
export interface QueueVoiceRules {
  announceEverySeconds?: number;
  callbackKey?: string;
  onMaxWait?: 'message' | 'voicemail';
  maxWaitSound?: string;
  closedSound?: string;
}
export interface AgentDoc {
  name: string;
  userId?: string;
  skills?: { skillId: string; level: number }[];
  agentGroups?: string[];
  capacity?: number;
  channelCosts?: Partial<Record<Channel, number>>;
  channels?: Channel[];
}

/** Everything the router needs for one tenant, at one configuration version. */
export interface RoutingConfig {
  version: number;
  queues: Queue[];
  agents: Agent[];
}

export interface RoutingDeps {
  store: RoutingStore;
  events: EventBus;
  audit: AuditLog;
  clock: { now(): number };
  userExists(tenantId: number, userId: string): Promise<boolean>;
  /**
   * How long the configuration read for routing and calls is trusted before its version is
   * checked again (default 1000 ms; checked ahead of time from a quarter of it). Writes through
   * this service are seen at once; writes by another process within this time, or as soon as a
   * slow database answers the check (at most 4 s later).
   */
  configCacheMs?: number;
}

/** The configuration as routing and calls read it: documents by id and the router's domain view. */
interface ConfigView {
  version: number;
  queues: Map<string, QueueDoc>;
  calendars: Map<string, CalendarDoc>;
  config: RoutingConfig;
  builtAt: number;
}

/** A view is rebuilt at least this often even when nothing changed (calendars' zone rules follow the clock). */
const VIEW_REBUILD_MS = 10 * 60_000;
/**
 * How much longer than its trust a view is still used while its check is on the way (a database
 * under load can take seconds to answer; the calls would wait for it, all at once).
 */
const STALE_WHILE_CHECKING_MS = 4000;

const sec = (s: number | undefined): number | undefined => (s === undefined ? undefined : Math.round(s * 1000));

function toCalendar(id: string, doc: CalendarDoc, now: number): BusinessCalendar {
  return {
    id,
    zone: zoneRule(doc.timeZone, now - ZONE_RULE_SPAN.backMs, now + ZONE_RULE_SPAN.aheadMs),
    weekly: doc.weekly,
    ...(doc.holidays ? { holidays: doc.holidays } : {}),
  };
}

function toQueue(tenantId: number, id: string, doc: QueueDoc, calendar: BusinessCalendar | undefined): Queue {
  const q: Queue = {
    id,
    tenantId: String(tenantId),
    name: doc.name,
    strategy: doc.strategy,
    skills: doc.skills ?? [],
    agentGroups: doc.agentGroups ?? [],
    serviceLevel: { percent: doc.serviceLevel.percent, withinMs: sec(doc.serviceLevel.withinSeconds) as number },
    ...(doc.maxWaitSeconds !== undefined ? { maxWaitMs: sec(doc.maxWaitSeconds) as number } : {}),
    ...(doc.overflowQueueId !== undefined ? { overflowQueueId: doc.overflowQueueId } : {}),
    ...(calendar ? { calendar } : {}),
    ...(doc.relaxation
      ? { relaxation: doc.relaxation.map((r) => ({ afterMs: sec(r.afterSeconds) as number, ...(r.minLevelDelta !== undefined ? { minLevelDelta: r.minLevelDelta } : {}), ...(r.addAgentGroups ? { addAgentGroups: r.addAgentGroups } : {}) })) }
      : {}),
    ...(doc.offerTimeoutSeconds !== undefined ? { offerTimeoutMs: sec(doc.offerTimeoutSeconds) as number } : {}),
  };
  return q;
}

function toAgent(tenantId: number, id: string, doc: AgentDoc): Agent {
  return {
    id,
    tenantId: String(tenantId),
    name: doc.name,
    skills: doc.skills ?? [],
    agentGroups: doc.agentGroups ?? [],
    ...(doc.capacity !== undefined ? { capacity: doc.capacity } : {}),
    ...(doc.channelCosts ? { channelCosts: doc.channelCosts } : {}),
    ...(doc.channels ? { channels: doc.channels } : {}),
  };
}

const check = (e: AppError | undefined): void => {
  if (e) throw routingErrors.fromDomain(e);
};

/**
 * Routing configuration: skills, calendars, queues and agents. Documents are
 * validated by the pure domain rules before they are stored, references are
 * checked, and every change bumps the configuration version the router uses.
 */
export function createRoutingService(deps: RoutingDeps) {
  const { store } = deps;
  const cacheMs = deps.configCacheMs ?? 1000;

  /**
   * Every call and every task used to read the whole configuration (all agents, queues and
   * calendars) from MariaDB; under load those reads queued behind the call records and held up
   * routing. Now one view per tenant is kept: trusted for `cacheMs` (checked again from a quarter
   * of it, in the background, and served while a slow check is on its way, at most
   * STALE_WHILE_CHECKING_MS longer), then kept as long as the configuration version is
   * unchanged. A write through this service drops it at once, and a load that started before
   * the write never replaces a newer view.
   */
  const built = new Map<number, ConfigView>();
  const views = createRefreshingCache<number, ConfigView>({
    // Checks the version, and rebuilds the view only when it changed (or is old).
    async load(tenantId) {
      const at = deps.clock.now();
      const version = await store.currentVersion(tenantId);
      const current = built.get(tenantId);
      if (current && current.version === version && at - current.builtAt < VIEW_REBUILD_MS) return current;
      const view = await buildView(tenantId, version, at);
      built.set(tenantId, view);
      return view;
    },
    now: () => deps.clock.now(),
    trustMs: cacheMs,
    staleWhileLoadingMs: STALE_WHILE_CHECKING_MS,
  });
  function invalidate(tenantId: number): void {
    built.delete(tenantId);
    views.invalidate(tenantId);
  }
  async function buildView(tenantId: number, version: number, at: number): Promise<ConfigView> {
    const [calendarDocs, queueDocs, agentDocs] = await Promise.all([store.list('calendar', tenantId), store.list('queue', tenantId), store.list('agent', tenantId)]);
    const calendars = new Map(calendarDocs.map((c) => [c.id, c.doc as unknown as CalendarDoc]));
    const domainCalendars = new Map([...calendars].map(([id, doc]) => [id, toCalendar(id, doc, at)]));
    const queues = new Map(queueDocs.map((q) => [q.id, q.doc as unknown as QueueDoc]));
    const config: RoutingConfig = {
      version,
      queues: [...queues].map(([id, doc]) => toQueue(tenantId, id, doc, doc.calendarId ? domainCalendars.get(doc.calendarId) : undefined)),
      agents: agentDocs.map((a) => toAgent(tenantId, a.id, a.doc as unknown as AgentDoc)),
    };
    return { version, queues, calendars, config, builtAt: at };
  }
  /** The tenant's view: trusted `cacheMs`, checked again ahead of time (see refreshing-cache.ts). */
  const view = (tenantId: number): Promise<ConfigView> => views.get(tenantId);

  async function requireExists(kind: DocKind, tenantId: number, id: string, field: string): Promise<StoredDoc<Record<string, unknown>>> {
    const found = await store.get(kind, tenantId, id);
    if (!found) throw routingErrors.unknownReference(field, kind, id);
    return found;
  }

  async function saved(kind: DocKind, tenantId: number, id: string, doc: object, actor: string, requestId: string) {
    const { configVersion, created } = await store.put(kind, tenantId, id, doc as Record<string, unknown>, actor);
    invalidate(tenantId);
    await deps.audit({ tenantId, actor, action: `${kind}.put`, target: id, requestId, details: { configVersion } });
    deps.events.publish('routing.config_changed', { tenantId, version: configVersion, what: `${kind} ${id}` });
    const stored = await store.get(kind, tenantId, id);
    return { created, item: { id, version: stored?.version ?? 1, configVersion, ...doc } };
  }

  return {
    async putSkill(tenantId: number, id: string, doc: SkillDoc, actor: string, requestId: string) {
      return saved('skill', tenantId, id, doc, actor, requestId);
    },

    async putCalendar(tenantId: number, id: string, doc: CalendarDoc, actor: string, requestId: string) {
      if (!isKnownTimeZone(doc.timeZone)) throw routingErrors.badTimeZone(doc.timeZone);
      check(validateCalendar(toCalendar(id, doc, deps.clock.now())));
      return saved('calendar', tenantId, id, doc, actor, requestId);
    },

    async putQueue(tenantId: number, id: string, doc: QueueDoc, actor: string, requestId: string) {
      for (const [i, s] of (doc.skills ?? []).entries()) await requireExists('skill', tenantId, s.skillId, `body.skills[${i}].skillId`);
      let calendar: BusinessCalendar | undefined;
      if (doc.calendarId) {
        const c = await requireExists('calendar', tenantId, doc.calendarId, 'body.calendarId');
        calendar = toCalendar(doc.calendarId, c.doc as unknown as CalendarDoc, deps.clock.now());
      }
      if (doc.overflowQueueId && doc.overflowQueueId !== id) await requireExists('queue', tenantId, doc.overflowQueueId, 'body.overflowQueueId');
      check(validateQueue(toQueue(tenantId, id, doc, calendar)));
      if (doc.recording) check(validateRecordingPolicy(doc.recording));
      return saved('queue', tenantId, id, doc, actor, requestId);
    },

    async putAgent(tenantId: number, id: string, doc: AgentDoc, actor: string, requestId: string) {
      for (const [i, s] of (doc.skills ?? []).entries()) await requireExists('skill', tenantId, s.skillId, `body.skills[${i}].skillId`);
      if (doc.userId !== undefined) {
        if (!(await deps.userExists(tenantId, doc.userId))) throw routingErrors.unknownReference('body.userId', 'agent', doc.userId);
        const other = await store.agentForUser(tenantId, doc.userId);
        if (other !== undefined && other !== id) throw routingErrors.userTaken(doc.userId, other);
      }
      check(validateAgent(toAgent(tenantId, id, doc)));
      return saved('agent', tenantId, id, doc, actor, requestId);
    },

    async get(kind: DocKind, tenantId: number, id: string) {
      const found = await store.get(kind, tenantId, id);
      if (!found) throw routingErrors.notFound(kind, id);
      return { id: found.id, version: found.version, updatedAt: found.updatedAt, ...found.doc };
    },

    async list(kind: DocKind, tenantId: number) {
      return { items: (await store.list(kind, tenantId)).map((d) => ({ id: d.id, version: d.version, updatedAt: d.updatedAt, ...d.doc })) };
    },

    async remove(kind: DocKind, tenantId: number, id: string, actor: string, requestId: string): Promise<void> {
      if (kind !== 'agent') {
        const users = (await store.usersOf(kind, tenantId, id)).filter((u) => u !== `queue ${id} (overflow)`);
        if (users.length > 0) throw routingErrors.inUse(kind, id, users);
      }
      if (!(await store.remove(kind, tenantId, id, actor))) throw routingErrors.notFound(kind, id);
      invalidate(tenantId);
      await deps.audit({ tenantId, actor, action: `${kind}.delete`, target: id, requestId });
      deps.events.publish('routing.config_changed', { tenantId, version: await store.currentVersion(tenantId), what: `${kind} ${id} deleted` });
    },

    /** A queue's after-call rules: wrap-up time and the disposition codes agents choose from. */
    async afterCall(tenantId: number, queueId: string): Promise<{ wrapUpMs: number; dispositions: string[] } | undefined> {
      const doc = (await view(tenantId)).queues.get(queueId);
      if (!doc) return undefined;
      return { wrapUpMs: (doc.wrapUpSeconds ?? 0) * 1000, dispositions: doc.dispositions ?? [] };
    },

    /** A queue's rules for waiting callers (announcements, callback key, max wait, closed); undefined: no such queue. */
    async voiceRules(tenantId: number, queueId: string): Promise<QueueVoiceRules | undefined> {
      const doc = (await view(tenantId)).queues.get(queueId);
      return doc ? (doc.voice ?? {}) : undefined;
    },

    /** A queue's recording policy as configured (undefined: no such queue, or none set). */
    async recordingPolicy(tenantId: number, queueId: string): Promise<RecordingPolicy | undefined> {
      return (await view(tenantId)).queues.get(queueId)?.recording;
    },

    /** Queues whose recordings have their own retention (days; 0 keeps forever). */
    async recordingRetention(tenantId: number): Promise<{ queueId: string; days: number }[]> {
      return (await store.list('queue', tenantId)).flatMap((q) => {
        const days = (q.doc as unknown as QueueDoc).recording?.retentionDays;
        return days === undefined ? [] : [{ queueId: q.id, days }];
      });
    },

    /** The agent record linked to a user login, if any. */
    agentIdForUser: (tenantId: number, userId: string) => store.agentForUser(tenantId, userId),

    /** Business calendars in domain form, by id (for IVR branches on opening hours and holidays). */
    async calendars(tenantId: number): Promise<Record<string, BusinessCalendar>> {
      return Object.fromEntries([...(await view(tenantId)).calendars].map(([id, doc]) => [id, toCalendar(id, doc, deps.clock.now())]));
    },

    /** The whole configuration in domain types, for the router and the ACD (see `view`). */
    async load(tenantId: number): Promise<RoutingConfig> {
      return (await view(tenantId)).config;
    },
  };
}

export type RoutingService = ReturnType<typeof createRoutingService>;

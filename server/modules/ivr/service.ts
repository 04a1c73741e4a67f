import { createSession, step } from '../../../ivr/index.js';
import type { Flow, HttpRequestAction, IvrAction, IvrContext, IvrInput, IvrSession, JourneyEntry, ResolvedPrompt, TerminalAction } from '../../../ivr/index.js';
import type { BusinessCalendar } from '../../domain/calendar.js';
import type { Clock } from '../../infra/clock.js';
import type { EventBus } from '../../infra/events.js';
import type { Log } from '../../infra/logger.js';
import type { CallControl, CallEvent } from '../../telephony/index.js';
import type { IvrCall, IvrPort } from '../voice/service.js';
import { performDataDip, type FetchLike } from './data-dip.js';
import { ivrErrors } from './errors.js';
import type { IvrStore, VisitRow } from './store.js';
import type { TtsCache } from './tts.js';
import './events.js';

export interface IvrDeps {
  store: IvrStore;
  /** Absent when no media server is configured (the journey API still works). */
  calls: CallControl | undefined;
  /** The published version of a flow (the version a new call starts on), if any. */
  publishedFlow(flowId: string): Promise<Flow | undefined>;
  /** The tenant's business calendars by id, for branches on opening hours. */
  calendars(): Promise<Record<string, BusinessCalendar>>;
  /** Hands the call back to the voice service with the flow's terminal action. */
  ivrEnded(callId: string, action: TerminalAction | undefined): Promise<void>;
  tts: TtsCache;
  /** How media servers reach this server (no trailing slash), for TTS prompts. */
  mediaBaseUrl: string;
  /** Played in place of a TTS prompt that could not be rendered. */
  fallbackSound: string;
  events: EventBus;
  clock: Clock;
  log: Log;
  tenantId: number;
  /** For data dips; the platform's fetch by default. */
  fetch?: FetchLike;
}

/** One call in the IVR. Inputs are applied one at a time, in arrival order, through `chain`. */
interface LiveSession {
  call: IvrCall;
  session: IvrSession;
  flowVersion: number;
  startedAt: number;
  chain: Promise<void>;
  /** Journey and session rows, written in order without holding up the call. */
  writes: Promise<void>;
  timers: Map<string, NodeJS.Timeout>;
  requests: Map<string, AbortController>;
  visits: number;
  done: boolean;
  log: Log;
}

/** Variables a flow collects with `mask: true` (PINs, card numbers): never stored in clear. */
function maskedVars(flow: Flow): Set<string> {
  const out = new Set<string>();
  for (const node of Object.values(flow.nodes)) if (node.type === 'collect' && node.mask === true) out.add(node.variable);
  return out;
}

/** The context as stored with the journey: masked variables replaced by asterisks. */
export function storableContext(flow: Flow, ctx: IvrContext): IvrContext {
  const masked = maskedVars(flow);
  if (masked.size === 0) return ctx;
  const vars = Object.fromEntries(Object.entries(ctx.vars).map(([k, v]) => [k, masked.has(k) && v !== null ? '*'.repeat(String(v).length) : v]));
  return { ...ctx, vars };
}

/** The media a prompt list plays as, given how TTS text became a file. */
export function mediaUris(prompts: readonly ResolvedPrompt[], tts: readonly (string | undefined)[], mediaBaseUrl: string, fallbackSound: string): string[] {
  return prompts.map((p, i) => {
    if (p.kind === 'sound') return `sound:${p.name}`;
    const name = tts[i];
    return name === undefined ? `sound:${fallbackSound}` : `sound:${mediaBaseUrl}/v1/ivr/media/${name}`;
  });
}

const DAY_MS = 86_400_000;
const MAX_SUMMARY_SPAN_MS = 366 * DAY_MS;

/**
 * The IVR executor: runs a flow's published version on a call with the pure engine and
 * performs what it asks over the CallControl port — prompts (sounds, and TTS rendered once and
 * fetched by the media server over HTTP), barge-in, timers, data dips — feeding back what
 * happened in order, one serial queue per call, so fast digits are neither lost nor reordered.
 * The terminal action goes to the voice service; every node visit is stored as the journey.
 */
export function createIvrService(deps: IvrDeps) {
  const live = new Map<string, LiveSession>();
  /** Calls whose session is being set up: their inputs wait here, in order. */
  const starting = new Map<string, IvrInput[]>();
  const log = deps.log.child({ module: 'ivr' });
  const now = (): number => deps.clock.now();
  const fetchFn: FetchLike = deps.fetch ?? ((url, init) => fetch(url, init));
  const cc = (): CallControl => {
    if (!deps.calls) throw new Error('no media server is configured');
    return deps.calls;
  };

  function write(s: LiveSession, what: string, fn: () => Promise<void>): void {
    s.writes = s.writes.then(fn).catch((err: unknown) => s.log.error({ err, what }, 'could not store the IVR journey'));
  }

  function enqueue(s: LiveSession, input: IvrInput): void {
    s.chain = s.chain.then(() => apply(s, input)).catch((err: unknown) => failed(s, err));
  }

  function record(s: LiveSession, closed: readonly JourneyEntry[]): void {
    if (closed.length === 0) return;
    const rows: VisitRow[] = closed.map((v) => ({
      seq: ++s.visits, flowId: v.flowId, flowVersion: v.flowVersion ?? s.flowVersion, nodeId: v.nodeId, nodeType: v.nodeType,
      enteredAt: v.enteredAt, leftAt: v.leftAt, input: v.input, outcome: v.outcome, next: v.next,
    }));
    write(s, 'visits', () => deps.store.addVisits(deps.tenantId, s.call.callId, rows));
  }

  async function apply(s: LiveSession, input: IvrInput): Promise<void> {
    if (s.done) return;
    const r = step(s.session, input, now());
    s.session = r.session;
    record(s, r.closedVisits);
    for (const a of r.actions) {
      if (s.done) return;
      await perform(s, a);
    }
    if (s.session.status === 'ended' && !s.done) await finish(s, undefined);
  }

  async function perform(s: LiveSession, a: IvrAction): Promise<void> {
    const { server, callId } = s.call;
    switch (a.type) {
      case 'play': {
        const media = await mediaFor(s, a.prompts);
        const language = a.prompts.find((p) => p.kind === 'sound')?.language ?? a.prompts[0]?.language;
        try {
          await cc().play(server, callId, media, { playbackId: a.playbackId, ...(language ? { language } : {}) });
        } catch (err) {
          if ((err as { kind?: string }).kind === 'not_found') {
            // The channel is gone (its hang-up may have been lost in a reconnect): end as a hang-up.
            s.log.info({ playbackId: a.playbackId }, 'the call is gone; ending its IVR session');
            enqueue(s, { type: 'hangup' });
            return;
          }
          // The flow must not wait for a prompt that never started: carry on as if it had played.
          s.log.warn({ err, playbackId: a.playbackId }, 'could not play a prompt; going on without it');
          enqueue(s, { type: 'prompt_finished', playbackId: a.playbackId });
        }
        return;
      }
      case 'stop_playback':
        await cc().stopPlayback(server, a.playbackId).catch((err: unknown) => s.log.warn({ err, playbackId: a.playbackId }, 'could not stop a prompt'));
        return;
      case 'start_timer': {
        clearTimeout(s.timers.get(a.timerId));
        const timerId = a.timerId;
        s.timers.set(timerId, setTimeout(() => {
          s.timers.delete(timerId);
          enqueue(s, { type: 'timer_fired', timerId });
        }, a.ms));
        return;
      }
      case 'cancel_timer':
        clearTimeout(s.timers.get(a.timerId));
        s.timers.delete(a.timerId);
        return;
      case 'http_request':
        dip(s, a);
        return;
      default:
        await finish(s, a);
        return;
    }
  }

  /** Renders TTS prompts (once each; cached) and names every prompt as media for the server. */
  async function mediaFor(s: LiveSession, prompts: readonly ResolvedPrompt[]): Promise<string[]> {
    const names = await Promise.all(prompts.map(async (p) => {
      if (p.kind !== 'tts') return undefined;
      try {
        const r = await deps.tts.render(p.text, p.language);
        s.log.debug({ name: r.name, cached: r.cached, ms: Math.round(r.ms) }, 'TTS prompt ready');
        return r.name;
      } catch (err) {
        s.log.error({ err: (err as Error).message, language: p.language }, 'TTS render failed; playing the fallback sound');
        return undefined;
      }
    }));
    return mediaUris(prompts, names, deps.mediaBaseUrl, deps.fallbackSound);
  }

  /** A data dip runs beside the call's queue; its result comes back as an input like any other. */
  function dip(s: LiveSession, a: HttpRequestAction): void {
    const ac = new AbortController();
    s.requests.set(a.requestId, ac);
    const started = now();
    void performDataDip(a, fetchFn, ac.signal).then((result) => {
      s.requests.delete(a.requestId);
      if (s.done) return;
      s.log.info({ requestId: a.requestId, outcome: result.outcome, status: 'status' in result ? result.status : undefined, ms: now() - started }, 'data dip answered');
      enqueue(s, { type: 'http_result', requestId: a.requestId, result });
    });
  }

  function release(s: LiveSession): void {
    s.done = true;
    live.delete(s.call.callId);
    for (const t of s.timers.values()) clearTimeout(t);
    s.timers.clear();
    for (const ac of s.requests.values()) ac.abort();
    s.requests.clear();
  }

  async function finish(s: LiveSession, action: TerminalAction | undefined, by?: 'error'): Promise<void> {
    if (s.done) return;
    release(s);
    const end = s.session.end;
    const how = by ?? end?.by ?? 'flow';
    const at = now();
    const context = action?.context ?? s.session.context;
    write(s, 'session end', () =>
      deps.store.sessionEnded(deps.tenantId, { callId: s.call.callId, at, by: how, nodeId: end?.nodeId ?? s.session.nodeId, action: action?.type, context: storableContext(s.session.flow, context) }),
    );
    deps.events.publish('ivr.session_ended', {
      tenantId: deps.tenantId, callId: s.call.callId, flowId: s.call.flowId, flowVersion: s.flowVersion, by: how,
      nodeId: end?.nodeId ?? s.session.nodeId ?? null, action: action?.type ?? null, durationMs: at - s.startedAt,
    });
    s.log.info({ by: how, nodeId: end?.nodeId, action: action?.type }, 'IVR session ended');
    // A caller who hung up is the voice service's to clean up (it saw the same hang-up).
    if (how === 'caller') return;
    try {
      await deps.ivrEnded(s.call.callId, action);
    } catch (err) {
      // No stranded calls: an end the voice service could not carry out ends the call.
      s.log.error({ err, action: action?.type }, 'the voice service could not carry out the end of the IVR; hanging up');
      await cc().hangup(s.call.server, s.call.callId).catch(() => undefined);
    }
  }

  async function failed(s: LiveSession, err: unknown): Promise<void> {
    s.log.error({ err }, 'the IVR failed on this call; ending it');
    await finish(s, undefined, 'error').catch((e: unknown) => s.log.error({ err: e }, 'could not end the failed IVR session'));
  }

  function inputOf(e: CallEvent): { callId: string; input: IvrInput } | undefined {
    switch (e.type) {
      case 'dtmf':
        return { callId: e.channelId, input: { type: 'dtmf', digit: e.digit } };
      case 'playback_finished':
        return { callId: e.channelId, input: { type: 'prompt_finished', playbackId: e.playbackId } };
      case 'call_ended':
        return { callId: e.callId, input: { type: 'hangup' } };
      default:
        return undefined;
    }
  }

  const port: IvrPort = {
    async start(call: IvrCall): Promise<void> {
      if (live.has(call.callId) || starting.has(call.callId)) return;
      const buffered: IvrInput[] = [];
      starting.set(call.callId, buffered);
      const clog = log.child({ callId: call.callId, flowId: call.flowId });
      let flow: Flow | undefined;
      let calendars: Record<string, BusinessCalendar> = {};
      try {
        flow = await deps.publishedFlow(call.flowId);
        calendars = await deps.calendars();
      } catch (err) {
        clog.error({ err }, 'could not load the flow for a call');
      } finally {
        starting.delete(call.callId);
      }
      if (!flow) {
        clog.warn('the flow has no published version; ending the call');
        if (buffered.some((i) => i.type === 'hangup')) return;
        await deps.ivrEnded(call.callId, undefined).catch(async (err: unknown) => {
          clog.error({ err }, 'the voice service could not end the call; hanging up');
          await cc().hangup(call.server, call.callId).catch(() => undefined);
        });
        return;
      }
      const flowVersion = flow.version ?? 0;
      const s: LiveSession = {
        call, flowVersion, startedAt: now(), chain: Promise.resolve(), writes: Promise.resolve(), timers: new Map(), requests: new Map(), visits: 0, done: false,
        log: clog.child({ flowVersion }),
        // The session holds this version of the flow: publishing another one does not change this call.
        session: createSession({ id: call.callId, flow, env: { callerNumber: call.callerNumber, dialedNumber: call.entry, calendars } }),
      };
      live.set(call.callId, s);
      write(s, 'session start', () => deps.store.sessionStarted(deps.tenantId, { callId: call.callId, flowId: call.flowId, flowVersion, at: s.startedAt }));
      deps.events.publish('ivr.session_started', { tenantId: deps.tenantId, callId: call.callId, flowId: call.flowId, flowVersion });
      s.log.info('IVR session started');
      enqueue(s, { type: 'start' });
      for (const input of buffered) enqueue(s, input);
    },
  };

  return {
    ...port,

    /** CallControl events: keys, prompt ends and hang-ups of calls in the IVR. Never blocks the event path. */
    onCallEvent(e: CallEvent): void {
      const x = inputOf(e);
      if (!x) return;
      const s = live.get(x.callId);
      if (s) enqueue(s, x.input);
      else starting.get(x.callId)?.push(x.input);
    },

    /** Calls in the IVR right now, and the timers and data dips they hold. */
    pending: () => {
      let timers = 0;
      let requests = 0;
      for (const s of live.values()) {
        timers += s.timers.size;
        requests += s.requests.size;
      }
      return { sessions: live.size, timers, requests };
    },

    /** Waits until a call's queued inputs and journey writes are done (tests, shutdown). */
    async settled(callId: string): Promise<void> {
      const s = live.get(callId);
      if (s) {
        await s.chain;
        await s.writes;
      }
    },

    /** Stops every timer and data dip (shutdown); the calls themselves are Asterisk's. */
    close(): void {
      for (const s of [...live.values()]) release(s);
    },

    /** A TTS cache file for the media route; undefined (→ 404) for anything else. */
    media: (name: string): Promise<Buffer | undefined> => deps.tts.read(name),

    async journey(callId: string) {
      const [session, visits] = await Promise.all([deps.store.getSession(deps.tenantId, callId), deps.store.getVisits(deps.tenantId, callId)]);
      if (!session && visits.length === 0) throw ivrErrors.journeyNotFound(callId);
      return { callId, session: session ?? null, live: live.has(callId), visits };
    },

    async summary(flowId: string, q: { from?: string | undefined; to?: string | undefined; version?: number | undefined }) {
      const to = q.to === undefined ? now() : Date.parse(q.to);
      const from = q.from === undefined ? to - DAY_MS : Date.parse(q.from);
      if (!Number.isFinite(from) || !Number.isFinite(to) || from >= to || to - from > MAX_SUMMARY_SPAN_MS) throw ivrErrors.badRange(q.from ?? '', q.to ?? '');
      const range = { flowId, from, to, version: q.version };
      const [nodes, sessions] = await Promise.all([deps.store.nodeSummary(deps.tenantId, range), deps.store.sessionSummary(deps.tenantId, range)]);
      const total = sessions.reduce((n, r) => n + r.count, 0);
      const byEnd: Record<string, number> = {};
      for (const r of sessions) {
        const key = r.endedBy === 'flow' ? r.endAction || 'flow' : r.endedBy;
        byEnd[key] = (byEnd[key] ?? 0) + r.count;
      }
      return {
        flowId, from: new Date(from).toISOString(), to: new Date(to).toISOString(), version: q.version ?? null,
        sessions: { total, ended: byEnd },
        nodes,
      };
    },
  };
}

export type IvrService = ReturnType<typeof createIvrService>;

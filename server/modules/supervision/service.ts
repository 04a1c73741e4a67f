import { createLanes } from '../../infra/lanes.js';
import { randomBytes } from 'node:crypto';
import type { AuditLog } from '../../infra/audit.js';
import type { Clock } from '../../infra/clock.js';
import type { EventBus } from '../../infra/events.js';
import type { Log } from '../../infra/logger.js';
import type { CallControl, CallEvent } from '../../telephony/index.js';
import { legEndReason, mediaOf, stepsBetween, type SupervisionEndReason, type SupervisionMode } from '../../domain/supervision.js';
import { supervisionErrors } from './errors.js';
import type { SupervisionSession, SupervisionStore, SupervisorPhone } from './store.js';
import './events.js';

/** A live call as the voice service shows it (read only). */
export interface LiveCallView {
  server: string;
  callId: string;
  state: string;
  agentId?: string | undefined;
  agentLeg?: string | undefined;
  bridgeId?: string | undefined;
}

export interface SupervisionDeps {
  store: SupervisionStore;
  /** Absent when no media server is configured: every start is refused. */
  calls: CallControl | undefined;
  liveCall(callId: string): LiveCallView | undefined;
  liveCallOfAgent(agentId: string): LiveCallView | undefined;
  /** The dial string of an agent's phone (their SIP login), or undefined when they have none. */
  agentPhone(agentId: string): Promise<string | undefined>;
  /** The dial string of a SIP endpoint named in the request. */
  endpointPhone(endpoint: string): string;
  events: EventBus;
  audit: AuditLog;
  clock: Clock;
  log: Log;
  tenantId: number;
  timing?: Partial<SupervisionTiming>;
  /** Session ids (default: 12 random hex digits); they name the session's channels and bridge. */
  newId?: () => string;
}

export interface SupervisionTiming {
  /** How long the supervisor's phone rings when the request does not say (seconds). */
  ringSeconds: number;
  /** Our own guard after the ring time, in case the media server never reports the leg's end. */
  ringGraceMs: number;
  /** How long a snoop may take to be ready. */
  snoopTimeoutMs: number;
  /** A snoop or agent leg that ends by itself: how long to let the voice service catch up before judging why. */
  lossGraceMs: number;
  /** How long ending a session waits for its channels to be destroyed. */
  hangupWaitMs: number;
  /** How long ended sessions stay visible in GET. */
  keepEndedMs: number;
}

const DEFAULT_TIMING: SupervisionTiming = { ringSeconds: 20, ringGraceMs: 5000, snoopTimeoutMs: 3000, lossGraceMs: 500, hangupWaitMs: 2000, keepEndedMs: 15 * 60_000 };

/** Every session's channels and bridge are named `sup-<session id>…`, so leftovers can be recognised. */
const MEDIA_PREFIX = 'sup-';

export interface StartRequest {
  mode: SupervisionMode;
  phone: SupervisorPhone;
  ringSeconds?: number;
}

export interface Actor {
  name: string;
  requestId?: string;
}

const iso = (ms: number | undefined): string | null => (ms === undefined ? null : new Date(ms).toISOString());

/**
 * Supervisors listening to, whispering to, or barging into live calls. A session rings the
 * supervisor's phone (a side leg), and once it answers sets up the mode's media: a snoop on the
 * agent's leg bridged with the supervisor (listen, whisper), or the supervisor in the call's own
 * bridge (barge). Modes change without ringing again. A session ends when asked, when the
 * supervisor hangs up or does not answer, and when the call ends, leaving no leg, snoop or bridge.
 *
 * Sessions are in memory (see the store): they end with this process, and what a previous
 * process left on the media server is removed when it connects.
 */
export function createSupervisionService(deps: SupervisionDeps) {
  const { store } = deps;
  const timing: SupervisionTiming = { ...DEFAULT_TIMING, ...deps.timing };
  const log = deps.log.child({ module: 'supervision' });
  const now = (): number => deps.clock.now();
  const newId = deps.newId ?? ((): string => randomBytes(6).toString('hex'));
  const timers = new Map<string, NodeJS.Timeout>();
  /**
   * Our legs and snoops that exist (or are being made) on the media server, and who waits for one
   * to be gone: ending a session returns once its channels are destroyed, not just asked to hang up.
   */
  const alive = new Set<string>();
  const goneWaiters = new Map<string, () => void>();
  const channelEnded = (id: string): void => {
    alive.delete(id);
    goneWaiters.get(id)?.();
    goneWaiters.delete(id);
  };
  const gone = (id: string, timeoutMs: number): Promise<void> =>
    alive.has(id)
      ? new Promise((resolve) => {
          const timer = setTimeout(() => {
            goneWaiters.delete(id);
            log.warn({ channel: id, timeoutMs }, 'the media server did not report a supervision channel gone in time');
            resolve();
          }, timeoutMs);
          goneWaiters.set(id, () => {
            clearTimeout(timer);
            resolve();
          });
        })
      : Promise.resolve();

  const media = (): CallControl => {
    if (!deps.calls) throw supervisionErrors.noTelephony();
    return deps.calls;
  };

  /** Work on one session runs one step at a time, whatever asks for it (API, media events, the call's end). */
  const lane = createLanes();
  const background = (what: string, p: Promise<unknown>): void => {
    p.catch((err: unknown) => log.error({ err, what }, 'supervision step failed'));
  };
  const audit = async (actor: Actor, action: string, s: SupervisionSession, outcome: 'ok' | 'failed', details: Record<string, unknown>): Promise<void> => {
    await deps
      .audit({ tenantId: deps.tenantId, actor: actor.name, action, target: s.callId, outcome, ...(actor.requestId ? { requestId: actor.requestId } : {}), details: { sessionId: s.id, ...details } })
      .catch((err: unknown) => log.error({ err, action, sessionId: s.id }, 'could not write the audit trail'));
  };
  const phoneName = (p: SupervisorPhone): string => (p.kind === 'agent' ? `agent ${p.agentId}` : `endpoint ${p.endpoint}`);
  const setTimer = (id: string, ms: number, fn: () => void): void => {
    clearTimeout(timers.get(id));
    const timer = setTimeout(() => {
      timers.delete(id);
      fn();
    }, ms);
    timer.unref();
    timers.set(id, timer);
  };
  const clearTimer = (id: string): void => {
    clearTimeout(timers.get(id));
    timers.delete(id);
  };

  function view(s: SupervisionSession) {
    return {
      id: s.id,
      callId: s.callId,
      agentId: s.agentId,
      mode: s.mode,
      state: s.state,
      phone: s.phone.kind === 'agent' ? { agentId: s.phone.agentId } : { endpoint: s.phone.endpoint },
      by: s.by,
      startedAt: iso(s.startedAt) as string,
      answeredAt: iso(s.answeredAt),
      endedAt: iso(s.endedAt),
      endReason: s.endReason ?? null,
    };
  }

  function connectedCall(callId: string): LiveCallView & { agentLeg: string; bridgeId: string } {
    const call = deps.liveCall(callId);
    if (!call || call.state === 'ended') throw supervisionErrors.callNotLive(callId);
    if (call.state !== 'connected' || !call.agentLeg || !call.bridgeId) throw supervisionErrors.callNotConnected(callId, call.state);
    return call as LiveCallView & { agentLeg: string; bridgeId: string };
  }

  function sessionOf(callId: string, sessionId: string): SupervisionSession {
    const s = store.get(sessionId);
    if (!s || s.callId !== callId) throw supervisionErrors.sessionNotFound(callId, sessionId);
    return s;
  }

  /** Ends a session and removes its media (leg, snoop, own bridge); safe to call again. */
  async function finish(s: SupervisionSession, reason: SupervisionEndReason, actor: Actor = { name: 'system' }): Promise<void> {
    if (s.state === 'ended') return;
    s.state = 'ended';
    s.endedAt = now();
    s.endReason = reason;
    clearTimer(s.id);
    const cc = deps.calls;
    if (cc) {
      const channels = [s.legId, ...(s.snoopId ? [s.snoopId] : [])];
      const ended = channels.map((id) => gone(id, timing.hangupWaitMs));
      const results = await Promise.allSettled([
        ...channels.map((id) => cc.hangup(s.server, id)),
        ...(s.bridgeCreated ? [cc.destroyBridge(s.server, s.bridgeId)] : []),
      ]);
      for (const r of results) if (r.status === 'rejected') log.warn({ err: r.reason, sessionId: s.id }, 'could not remove a piece of a supervision session');
      await Promise.all(ended);
    }
    log.info({ sessionId: s.id, callId: s.callId, reason }, 'supervision ended');
    await audit(actor, 'supervision.stop', s, 'ok', { reason, mode: s.mode });
    deps.events.publish('supervision.ended', { tenantId: deps.tenantId, sessionId: s.id, callId: s.callId, reason });
  }

  /**
   * Takes the session's media from its applied mode to `to`. A failure on the first step (the new
   * snoop) leaves the previous mode in place; a failure later ends the session (its media is in
   * an unknown shape). Either way the error is thrown.
   */
  async function apply(s: SupervisionSession, to: SupervisionMode): Promise<void> {
    const cc = media();
    const steps = stepsBetween(s.appliedMode, to);
    const old = s.snoopId;
    let fresh: string | undefined;
    const ensureBridge = async (): Promise<void> => {
      if (s.bridgeCreated) return;
      await cc.createMixingBridge(s.server, s.bridgeId);
      s.bridgeCreated = true;
    };
    for (const [i, step] of steps.entries()) {
      try {
        switch (step) {
          case 'create_snoop': {
            const dirs = mediaOf(to).snoop ?? { listen: 'both', speak: 'none' };
            const id = `${s.legId}-snoop-${++s.snoopSeq}`;
            fresh = id;
            alive.add(id);
            await cc.snoop(s.server, s.agentLeg, { snoopId: id, listen: dirs.listen, speak: dirs.speak, timeoutMs: timing.snoopTimeoutMs }).catch((err: unknown) => {
              alive.delete(id); // nothing is left of a snoop that failed (the port's promise)
              throw err;
            });
            s.snoopId = id;
            break;
          }
          case 'add_snoop':
            await ensureBridge();
            await cc.addToBridge(s.server, s.bridgeId, [fresh as string]);
            break;
          case 'drop_old_snoop':
            if (s.snoopId === old) s.snoopId = undefined;
            if (old) await cc.hangup(s.server, old);
            break;
          case 'join_own_bridge':
            await ensureBridge();
            await cc.addToBridge(s.server, s.bridgeId, [s.legId]);
            break;
          case 'leave_own_bridge':
            await cc.removeFromBridge(s.server, s.bridgeId, [s.legId]);
            break;
          case 'join_call_bridge':
            await cc.addToBridge(s.server, s.callBridgeId, [s.legId]);
            break;
          case 'leave_call_bridge':
            await cc.removeFromBridge(s.server, s.callBridgeId, [s.legId]);
            break;
        }
      } catch (err) {
        log.warn({ err, sessionId: s.id, step, to }, 'a supervision media step failed');
        if (i === 0 && s.appliedMode !== undefined) {
          s.snoopId = old;
          throw supervisionErrors.mediaFailed(s.id, err);
        }
        await finish(s, 'media_failed');
        throw supervisionErrors.mediaFailed(s.id, err);
      }
    }
    s.appliedMode = to;
  }

  async function answered(s: SupervisionSession): Promise<void> {
    if (s.state !== 'ringing') return;
    clearTimer(s.id);
    const call = deps.liveCall(s.callId);
    if (!call || call.state !== 'connected' || call.agentLeg !== s.agentLeg) {
      await finish(s, 'call_ended');
      return;
    }
    try {
      await apply(s, s.mode);
    } catch {
      return; // ended by apply, with its reason
    }
    s.state = 'active';
    s.answeredAt = now();
    log.info({ sessionId: s.id, callId: s.callId, mode: s.mode }, 'supervisor connected');
    deps.events.publish('supervision.connected', { tenantId: deps.tenantId, sessionId: s.id, callId: s.callId, mode: s.mode });
  }

  /**
   * The snoop or the agent's leg ended without us. Once the voice service has caught up (a short
   * grace): the call is gone → `call_ended`; the call goes on without this agent (a transfer) →
   * `agent_left`; the call and its agent are still there → a lost snoop is `media_failed` (someone
   * removed it), a lost agent leg is the call ending (`call_ended`).
   */
  const losses = new Map<string, 'snoop' | 'agent_leg'>();
  function lost(s: SupervisionSession, seen: 'snoop' | 'agent_leg'): void {
    // The agent's leg going takes its snoop with it: the leg explains both.
    const what = losses.get(s.id) === 'agent_leg' ? 'agent_leg' : seen;
    losses.set(s.id, what);
    setTimer(s.id, timing.lossGraceMs, () => {
      losses.delete(s.id);
      background(`${what} lost`, lane(s.id, async () => {
        const call = deps.liveCall(s.callId);
        if (!call || call.state === 'ended') return finish(s, 'call_ended');
        if (call.state !== 'connected' || call.agentLeg !== s.agentLeg) return finish(s, 'agent_left');
        return finish(s, what === 'snoop' ? 'media_failed' : 'call_ended');
      }));
    });
  }

  function endAllOfCall(callId: string, reason: SupervisionEndReason): void {
    for (const s of store.open()) if (s.callId === callId) background('end with the call', lane(s.id, () => finish(s, reason)));
  }

  /**
   * After connecting to a media server: sessions whose leg vanished while we were away end, and
   * channels and bridges named like ours that no open session owns (left by an earlier process)
   * are removed.
   */
  async function reconcile(server: string): Promise<void> {
    const cc = media();
    const asked = now();
    const snap = await cc.snapshot(server);
    const present = new Set(snap.channels.map((c) => c.id));
    const owned = new Set<string>();
    for (const s of store.open()) {
      // A session started while the snapshot was being read may not be in it yet.
      if (s.server !== server || s.startedAt >= asked) continue;
      if (!present.has(s.legId) || (s.snoopId && !present.has(s.snoopId))) {
        await lane(s.id, () => finish(s, s.state === 'ringing' ? 'no_answer' : 'lost'));
        continue;
      }
      owned.add(s.legId).add(s.bridgeId);
      if (s.snoopId) owned.add(s.snoopId);
    }
    let removed = 0;
    for (const ch of snap.channels) {
      if (ch.id.startsWith(MEDIA_PREFIX) && !owned.has(ch.id)) {
        removed++;
        await cc.hangup(server, ch.id).catch((err: unknown) => log.warn({ err, channel: ch.id }, 'could not hang up a leftover supervision channel'));
      }
    }
    for (const b of snap.bridges) {
      if (b.id.startsWith(MEDIA_PREFIX) && !owned.has(b.id)) {
        removed++;
        await cc.destroyBridge(server, b.id).catch((err: unknown) => log.warn({ err, bridge: b.id }, 'could not destroy a leftover supervision bridge'));
      }
    }
    if (removed) log.info({ server, removed }, 'removed supervision leftovers from the media server');
  }

  return {
    /** Rings the supervisor's phone; the mode's media is set up when it answers. */
    async start(callId: string, req: StartRequest, actor: Actor) {
      const cc = media();
      store.prune(now() - timing.keepEndedMs);
      const call = connectedCall(callId);
      let dial: string;
      if (req.phone.kind === 'agent') {
        const found = await deps.agentPhone(req.phone.agentId);
        if (!found) throw supervisionErrors.phoneNotProvisioned(req.phone.agentId);
        if (deps.liveCallOfAgent(req.phone.agentId)) throw supervisionErrors.phoneBusy(phoneName(req.phone), 'on_a_call');
        dial = found;
      } else {
        dial = deps.endpointPhone(req.phone.endpoint);
      }
      if (store.open().some((s) => s.dial === dial)) throw supervisionErrors.phoneBusy(phoneName(req.phone), 'supervising');
      const id = newId();
      const s: SupervisionSession = {
        id, callId, server: call.server, agentId: call.agentId ?? null, agentLeg: call.agentLeg, callBridgeId: call.bridgeId,
        phone: req.phone, dial, by: actor.name, mode: req.mode, appliedMode: undefined, state: 'ringing',
        legId: `${MEDIA_PREFIX}${id}`, bridgeId: `${MEDIA_PREFIX}${id}`, bridgeCreated: false, snoopId: undefined, snoopSeq: 0,
        startedAt: now(), answeredAt: undefined, endedAt: undefined, endReason: undefined,
      };
      store.put(s);
      const ringSeconds = req.ringSeconds ?? timing.ringSeconds;
      return lane(id, async () => {
        alive.add(s.legId);
        try {
          await cc.ringSideLeg(s.server, { legId: s.legId, endpoint: dial, callerId: 'Supervision', timeoutSeconds: ringSeconds });
        } catch (err) {
          alive.delete(s.legId);
          log.warn({ err, sessionId: id, phone: phoneName(req.phone) }, 'could not ring the supervisor');
          await audit(actor, 'supervision.start', s, 'failed', { mode: req.mode, phone: view(s).phone });
          await finish(s, 'ring_failed');
          throw supervisionErrors.ringFailed(phoneName(req.phone), err);
        }
        // The media server ends an unanswered ring by itself; this guards against never hearing of it.
        setTimer(id, ringSeconds * 1000 + timing.ringGraceMs, () => {
          background('ring guard', lane(id, async () => (s.state === 'ringing' ? finish(s, 'no_answer') : undefined)));
        });
        log.info({ sessionId: id, callId, mode: req.mode, phone: phoneName(req.phone) }, 'ringing the supervisor');
        await audit(actor, 'supervision.start', s, 'ok', { mode: req.mode, phone: view(s).phone, agentId: s.agentId });
        deps.events.publish('supervision.started', { tenantId: deps.tenantId, sessionId: id, callId, agentId: s.agentId, mode: req.mode, by: actor.name });
        return view(s);
      });
    },

    /** Changes the mode of a session without ringing again (while ringing: the mode applied on answer). */
    async switchMode(callId: string, sessionId: string, mode: SupervisionMode, actor: Actor) {
      const s = sessionOf(callId, sessionId);
      return lane(s.id, async () => {
        if (s.state === 'ended') throw supervisionErrors.sessionEnded(s.id, s.endReason);
        const from = s.mode;
        if (from === mode) return view(s);
        if (s.state === 'active') {
          try {
            await apply(s, mode);
          } catch (err) {
            await audit(actor, 'supervision.switch', s, 'failed', { from, to: mode });
            throw err;
          }
        }
        s.mode = mode;
        log.info({ sessionId: s.id, from, to: mode }, 'supervision mode changed');
        await audit(actor, 'supervision.switch', s, 'ok', { from, to: mode });
        deps.events.publish('supervision.mode_changed', { tenantId: deps.tenantId, sessionId: s.id, callId, from, to: mode, by: actor.name });
        return view(s);
      });
    },

    /** Ends a session (an ended one stays ended: not an error). */
    async stop(callId: string, sessionId: string, actor: Actor): Promise<void> {
      const s = sessionOf(callId, sessionId);
      await lane(s.id, () => finish(s, 'stopped', actor));
    },

    /** Sessions of a call, ended ones included for a while (with why they ended). */
    list(callId: string) {
      store.prune(now() - timing.keepEndedMs);
      const items = store.ofCall(callId);
      if (items.length === 0) {
        const call = deps.liveCall(callId);
        if (!call || call.state === 'ended') throw supervisionErrors.callNotLive(callId);
      }
      return { items: items.map(view) };
    },

    /** The media server's events: the supervisor answering or hanging up, snoops and calls ending. */
    onCallEvent(e: CallEvent): void {
      switch (e.type) {
        case 'side_leg_answered': {
          const s = store.byMedia(e.legId);
          if (s && s.legId === e.legId) background('answered', lane(s.id, () => answered(s)));
          return;
        }
        case 'side_leg_ended': {
          const s = store.byMedia(e.legId);
          channelEnded(e.legId);
          if (!s) return;
          if (s.legId === e.legId) background('leg ended', lane(s.id, () => finish(s, legEndReason(s.state === 'active' || e.answered))));
          else lost(s, 'snoop');
          return;
        }
        case 'leg_ended':
          for (const s of store.open()) if (s.agentLeg === e.legId) lost(s, 'agent_leg');
          return;
        case 'call_ended':
          endAllOfCall(e.callId, 'call_ended');
          return;
        case 'server_up':
          background('reconcile', reconcile(e.server));
          return;
        default:
          return;
      }
    },

    /** The voice service ended a call (`voice.call_ended`). */
    callEnded(callId: string): void {
      endAllOfCall(callId, 'call_ended');
    },

    /** Open sessions right now. */
    openSessions: () => store.open().length,

    /** Shutdown: ends every open session (nothing else could drive their media), within `timeoutMs`. */
    async close(timeoutMs = 2000): Promise<void> {
      const open = store.open();
      const done = Promise.allSettled(open.map((s) => lane(s.id, () => finish(s, 'shutdown'))));
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([done, new Promise((r) => (timer = setTimeout(r, timeoutMs)))]);
      clearTimeout(timer);
      for (const id of [...timers.keys()]) clearTimer(id);
    },
  };
}

export type SupervisionService = ReturnType<typeof createSupervisionService>;

import type { RouterDecision } from '../../acd/decisions.js';
import type { Clock } from '../../infra/clock.js';
import type { AuditLog } from '../../infra/audit.js';
import type { EventBus } from '../../infra/events.js';
import type { Log } from '../../infra/logger.js';
import type { CallControl, CallEvent } from '../../telephony/index.js';
import type { IvrContext, TerminalAction } from '../../../ivr/index.js';
import type { AcdService } from '../acd/service.js';
import { voiceErrors } from './errors.js';
import type { EntryPoint, LiveCallRecord, LiveCallStore, VoiceStore } from './store.js';
import './events.js';

type LiveCall = Omit<LiveCallRecord, 'ivr'> & { ivr?: IvrContext };

/** A call handed to the IVR: answered, in our application, not yet in any queue. */
export interface IvrCall {
  server: string;
  callId: string;
  entry: string;
  flowId: string;
  callerNumber: string;
  callerName: string;
}

/**
 * The IVR executor as the voice service sees it. `start` runs the flow's published version on
 * the call; when the flow ends, the executor calls {@link VoiceService.ivrEnded} with the
 * terminal action (queue, callback, voicemail, transfer, hang-up). A caller hanging up during
 * the IVR arrives at both as `call_ended`.
 */
export interface IvrPort {
  start(call: IvrCall): Promise<void>;
}

/** What a recorder is told about a call that has just been bridged with an agent. */
export interface BridgedCall {
  server: string;
  callId: string;
  bridgeId: string;
  queueId: string;
  agentId: string;
  callerNumber: string;
  at: number;
}

/**
 * Recording policy and records. `begin` decides by the queue's policy whether the bridged call
 * is recorded and returns the recording's name (the voice service starts it), or undefined.
 * `end` is told when the call ended. Without a recorder every bridged call is recorded.
 */
export interface CallRecorder {
  begin(call: BridgedCall): Promise<string | undefined>;
  end(call: { server: string; callId: string; recording: string; at: number }): Promise<void>;
}

/** How a call goes into a queue (from an entry point, or from the IVR with what it collected). */
export interface QueueEntry {
  queueId: string;
  priority?: number;
  requiredSkills?: readonly { skillId: string; minLevel: number }[];
  context?: IvrContext;
}

export interface VoiceDeps {
  store: VoiceStore;
  /** Live calls in Redis, so another process (or this one restarted) can take them over. */
  liveStore: LiveCallStore;
  /** Absent when no media server is configured (entry points can still be managed). */
  calls: CallControl | undefined;
  acd: Pick<AcdService, 'enqueueTask' | 'answerOffer' | 'abandonTask' | 'releaseTask' | 'notifyAgent'>;
  queueExists(queueId: string): Promise<boolean>;
  /** Whether an IVR flow has a published version. */
  flowExists?(flowId: string): Promise<boolean>;
  /** The IVR executor; without it, entry points to flows are refused. */
  ivr?: IvrPort;
  recorder?: CallRecorder;
  events: EventBus;
  audit: AuditLog;
  clock: Clock;
  log: Log;
  tenantId: number;
  /** The dial string of an agent's phone. */
  agentEndpoint(agentId: string): string;
}

const agentOfOffer = (offerId: string): string => offerId.slice(offerId.lastIndexOf('@') + 1);

/**
 * Inbound voice through the ACD. A call to an entry point waits in its queue's
 * holding bridge with music; the router's offers ring the agents' phones while
 * the caller keeps the music; the first answer is accepted and the two are
 * joined in a recorded mixing bridge; a missed ring is a declined offer and
 * the next agent rings; hang-ups on either side end the other and free the
 * agent's capacity.
 */
export function createVoiceService(deps: VoiceDeps) {
  const live = new Map<string, LiveCall>();
  /** offer id → call id, for the legs ringing agents. */
  const byOffer = new Map<string, string>();
  /** channel id of an agent's (or other placed) leg → call id. */
  const byLeg = new Map<string, string>();
  const log = deps.log.child({ module: 'voice' });
  const now = (): number => deps.clock.now();
  const cc = (): CallControl => {
    if (!deps.calls) throw new Error('no media server is configured');
    return deps.calls;
  };
  const safe = (what: string, p: Promise<unknown>): void => {
    p.catch((err: unknown) => log.warn({ err, what }, 'voice action failed'));
  };
  /** Work on one call runs one step at a time, whatever it comes from (media events, decisions, API). */
  const lanes = new Map<string, Promise<void>>();
  function serial<T>(callId: string, fn: () => Promise<T>): Promise<T> {
    const prev = lanes.get(callId) ?? Promise.resolve();
    const run = prev.then(fn, fn);
    const tail = run.then(() => undefined, () => undefined);
    lanes.set(callId, tail);
    void tail.then(() => {
      if (lanes.get(callId) === tail) lanes.delete(callId);
    });
    return run;
  }
  // Nothing about calls is handled before the live calls are read back (see `restore`).
  let markRestored: () => void = () => undefined;
  const restored = new Promise<void>((resolve) => {
    markRestored = resolve;
  });

  function track(call: LiveCall): void {
    live.set(call.callId, call);
    for (const [offerId, legId] of Object.entries(call.legs)) {
      byOffer.set(offerId, call.callId);
      byLeg.set(legId, call.callId);
    }
    if (call.agentLeg) byLeg.set(call.agentLeg, call.callId);
  }
  function untrack(call: LiveCall): void {
    live.delete(call.callId);
    for (const [offerId, legId] of Object.entries(call.legs)) {
      byOffer.delete(offerId);
      byLeg.delete(legId);
    }
    if (call.agentLeg) byLeg.delete(call.agentLeg);
  }
  /** Write-through: every change of a live call reaches Redis before the next step of that call. */
  const persist = (call: LiveCall): Promise<void> => deps.liveStore.save(call as LiveCallRecord);

  async function end(call: LiveCall, outcome: string): Promise<void> {
    if (call.state === 'ended') return;
    const was = call.state;
    const wasConnected = was === 'connected';
    call.state = 'ended';
    untrack(call);
    for (const legId of Object.values(call.legs)) safe('hang up leg', cc().hangup(call.server, legId));
    if (call.agentLeg) safe('hang up agent', cc().hangup(call.server, call.agentLeg));
    safe('hang up caller', cc().hangup(call.server, call.callId));
    if (call.bridgeId) safe('destroy bridge', cc().destroyBridge(call.server, call.bridgeId));
    if (wasConnected && call.agentId) safe('release agent', deps.acd.releaseTask(call.agentId, call.callId));
    else if (was === 'queued' && outcome !== 'max_wait' && outcome !== 'queue_closed' && outcome !== 'cancelled' && call.queueId) {
      safe('abandon task', deps.acd.abandonTask(call.callId));
    }
    await deps.store.callEnded(deps.tenantId, call.callId, outcome, now());
    if (call.recording && deps.recorder) await deps.recorder.end({ server: call.server, callId: call.callId, recording: call.recording, at: now() });
    await deps.liveStore.remove(call.callId);
    deps.events.publish('voice.call_ended', { tenantId: deps.tenantId, callId: call.callId, outcome });
  }

  async function arrived(e: Extract<CallEvent, { type: 'call_arrived' }>): Promise<void> {
    if (live.has(e.callId)) return;
    const entry = await deps.store.getEntry(deps.tenantId, e.entry);
    const queueId = entry?.targetKind === 'queue' ? entry.targetId : null;
    await deps.store.callArrived({ tenantId: deps.tenantId, id: e.callId, server: e.server, entry: e.entry, callerNumber: e.callerNumber, queueId, at: now() });
    if (!entry || (entry.targetKind === 'ivr' && !deps.ivr)) {
      log.info({ callId: e.callId, entry: e.entry }, 'no entry point; announcing and hanging up');
      await cc().answer(e.server, e.callId);
      await cc().play(e.server, e.callId, ['sound:ss-noservice']);
      setTimeout(() => safe('hang up', cc().hangup(e.server, e.callId)), 4000).unref();
      await deps.store.callEnded(deps.tenantId, e.callId, 'no_entry_point', now());
      return;
    }
    const call: LiveCall = { server: e.server, callId: e.callId, entry: e.entry, callerNumber: e.callerNumber, callerName: e.callerName, queueId: '', arrivedAt: now(), state: 'ivr', legs: {} };
    track(call);
    await persist(call);
    await cc().answer(e.server, e.callId);
    if (entry.targetKind === 'ivr' && deps.ivr) {
      deps.events.publish('voice.call_arrived', { tenantId: deps.tenantId, callId: e.callId, queueId: null });
      await deps.ivr.start({ server: e.server, callId: e.callId, entry: e.entry, flowId: entry.targetId, callerNumber: e.callerNumber, callerName: e.callerName });
      return;
    }
    deps.events.publish('voice.call_arrived', { tenantId: deps.tenantId, callId: e.callId, queueId: entry.targetId });
    await enterQueue(call, { queueId: entry.targetId });
  }

  /** The caller waits in the queue's holding bridge with music; the call becomes an ACD task. */
  async function enterQueue(call: LiveCall, q: QueueEntry): Promise<void> {
    call.state = 'queued';
    call.queueId = q.queueId;
    call.queuedAt = now();
    if (q.context) call.ivr = q.context;
    await persist(call);
    const hold = `hold-${q.queueId}`;
    await cc().ensureHoldingBridge(call.server, hold);
    await cc().addToBridge(call.server, hold, [call.callId]);
    await deps.store.callQueued(deps.tenantId, call.callId, q.queueId, q.context ?? null, now());
    await deps.acd.enqueueTask({
      id: call.callId, queueId: q.queueId, channel: 'voice', interactionId: call.callId,
      ...(q.priority !== undefined ? { priority: q.priority } : {}),
      ...(q.requiredSkills?.length ? { requiredSkills: q.requiredSkills.map((r) => ({ skillId: r.skillId, minLevel: r.minLevel })) } : {}),
    });
  }

  /** The IVR ended on a call: carry out its terminal action. */
  async function ivrEnded(callId: string, action: TerminalAction | undefined): Promise<void> {
    const call = live.get(callId);
    if (!call || call.state !== 'ivr') return;
    switch (action?.type) {
      case 'route_to_queue':
        return enterQueue(call, { queueId: action.queueId, priority: action.priority, requiredSkills: action.requiredSkills, context: action.context });
      default:
        // Hang-up by the flow, or an end the flow could not carry out.
        await end(call, action?.type === 'hangup' ? 'ivr_hangup' : 'ivr_ended');
        return;
    }
  }

  async function ringOffer(call: LiveCall, o: { id: string; agentId: string; expiresAt: number }): Promise<void> {
    byOffer.set(o.id, call.callId);
    // Screen-pop: who is calling and what we know, on the desktop as the phone starts ringing.
    safe('screen-pop', deps.acd.notifyAgent(o.agentId, {
      kind: 'screen_pop', offerId: o.id, taskId: call.callId, interactionId: call.callId, channel: 'voice',
      queueId: call.queueId, entry: call.entry, caller: { number: call.callerNumber, name: call.callerName }, waitedMs: now() - call.arrivedAt,
      ...(call.ivr ? { ivr: { inputs: call.ivr.vars, path: call.ivr.path, dips: call.ivr.dips, language: call.ivr.language } } : {}),
    }));
    const ring = () =>
      cc().ringLeg(call.server, {
        endpoint: deps.agentEndpoint(o.agentId), tag: o.id, originatorCallId: call.callId, callerId: 'ACD', timeoutSeconds: Math.max(1, (o.expiresAt - now()) / 1000),
      });
    try {
      // One quick second try: a transient media-server hiccup should not cost the agent a miss.
      const legId = await ring().catch(async (err: unknown) => {
        log.warn({ err, offerId: o.id }, 'ringing the agent failed; trying once more');
        return ring();
      });
      if (byOffer.get(o.id) === call.callId && call.state === 'queued') {
        call.legs[o.id] = legId;
        byLeg.set(legId, call.callId);
        await persist(call);
        safe('record ringing', deps.store.callRang(deps.tenantId, call.callId, now()));
      } else safe('hang up late leg', cc().hangup(call.server, legId));
    } catch (err) {
      log.warn({ err, offerId: o.id }, 'could not ring the agent; declining the offer');
      byOffer.delete(o.id);
      safe('decline', deps.acd.answerOffer(o.agentId, o.id, 'decline'));
    }
  }

  /**
   * Follows the router's decisions. Work on each call is queued on that call's lane and not
   * awaited here, so a slow media server on one call never holds up the decisions of others.
   */
  async function onDecision(d: RouterDecision): Promise<void> {
    await restored;
    handleDecision(d).catch((err: unknown) => log.error({ err, decision: d.kind }, 'decision handling failed'));
  }

  async function handleDecision(d: RouterDecision): Promise<void> {
    switch (d.kind) {
      case 'route': {
        const call = live.get(d.decision.taskId);
        if (!call) return;
        // Offers already expired (a backlog read after a restart) are left to the router's timers.
        const fresh = d.offers.filter((o) => o.expiresAt > now() + 500);
        if (fresh.length === 0) return;
        // Ring-all: every offered phone rings at once.
        await Promise.all(fresh.map((o) => serial(call.callId, async () => (call.state === 'queued' ? ringOffer(call, o) : undefined))));
        return;
      }
      case 'offer_cancelled': {
        const callId = byOffer.get(d.offerId);
        const call = callId ? live.get(callId) : undefined;
        byOffer.delete(d.offerId);
        if (!call) return;
        return serial(call.callId, async () => {
          const legId = call.legs[d.offerId];
          if (legId && legId !== call.agentLeg) {
            delete call.legs[d.offerId];
            byLeg.delete(legId);
            await persist(call);
            safe('stop ringing', cc().hangup(call.server, legId));
          }
        });
      }
      case 'task_assigned': {
        const call = live.get(d.taskId);
        if (!call) return;
        return serial(call.callId, async () => {
          const legId = call.legs[d.offerId];
          if (call.state !== 'queued' || !legId) return;
          call.state = 'connected';
          call.agentId = d.agentId;
          call.agentOfferId = d.offerId;
          call.agentLeg = legId;
          call.bridgeId = `call-${call.callId}`;
          call.connectedAt = now();
          delete call.legs[d.offerId];
          byOffer.delete(d.offerId);
          await persist(call);
          await cc().removeFromBridge(call.server, `hold-${call.queueId}`, [call.callId]);
          await cc().createMixingBridge(call.server, call.bridgeId);
          await cc().addToBridge(call.server, call.bridgeId, [call.callId, legId]);
          const recording = deps.recorder
            ? await deps.recorder.begin({ server: call.server, callId: call.callId, bridgeId: call.bridgeId, queueId: call.queueId, agentId: d.agentId, callerNumber: call.callerNumber, at: now() })
            : `call-${call.callId}`;
          if (recording) {
            call.recording = recording;
            await persist(call);
            await cc().recordBridge(call.server, call.bridgeId, recording);
          }
          await deps.store.callConnected(deps.tenantId, call.callId, d.agentId, recording ?? null, now());
          deps.events.publish('voice.call_connected', { tenantId: deps.tenantId, callId: call.callId, agentId: d.agentId, waitedMs: d.waitedMs });
        });
      }
      case 'task_removed': {
        const call = live.get(d.taskId);
        if (!call) return;
        return serial(call.callId, async () => {
          if (call.state === 'queued') await end(call, d.reason);
        });
      }
      default:
        return;
    }
  }

  async function onLegAnswered(e: Extract<CallEvent, { type: 'leg_answered' }>): Promise<void> {
    const callId = byOffer.get(e.tag);
    const call = callId ? live.get(callId) : undefined;
    if (!call || call.state !== 'queued') {
      // Answered after the offer was withdrawn (another agent was faster): nothing to join.
      safe('hang up stale leg', cc().hangup(e.server, e.legId));
      return;
    }
    await deps.acd.answerOffer(agentOfOffer(e.tag), e.tag, 'accept');
  }

  async function onLegEnded(call: LiveCall, e: Extract<CallEvent, { type: 'leg_ended' }>): Promise<void> {
    if (call.state === 'connected' && call.agentLeg === e.legId) {
      await end(call, 'completed');
      return;
    }
    if (call.legs[e.tag] === e.legId) {
      log.info({ offerId: e.tag, cause: e.cause }, 'agent leg ended unanswered');
      delete call.legs[e.tag];
      byLeg.delete(e.legId);
      await persist(call);
      if (byOffer.delete(e.tag)) {
        // Not answered (no answer, busy, rejected): a missed offer; the router rings the next agent.
        await deps.acd.answerOffer(agentOfOffer(e.tag), e.tag, 'decline');
      }
    }
  }

  async function onCallEvent(e: CallEvent): Promise<void> {
    if (e.type !== 'server_up') await restored;
    switch (e.type) {
      case 'call_arrived':
        return serial(e.callId, () => arrived(e));
      case 'leg_answered': {
        const callId = byOffer.get(e.tag) ?? byLeg.get(e.legId);
        return callId ? serial(callId, () => onLegAnswered(e)) : onLegAnswered(e);
      }
      case 'leg_ended': {
        const callId = byLeg.get(e.legId) ?? byOffer.get(e.tag);
        const call = callId ? live.get(callId) : undefined;
        if (!call) return;
        return serial(call.callId, () => onLegEnded(call, e));
      }
      case 'call_ended': {
        const call = live.get(e.callId);
        if (!call) return;
        log.info({ callId: e.callId, cause: e.cause, causeText: e.causeText, endedBy: e.endedBy }, 'caller channel ended');
        // Hung up by the media server itself (a shutdown or restart, an admin): lost, not abandoned or completed.
        if (e.endedBy === 'media_server') return serial(call.callId, () => end(call, 'lost'));
        return serial(call.callId, () => end(call, call.state === 'connected' ? 'completed' : call.state === 'ivr' ? 'ivr_abandoned' : 'abandoned'));
      }
      case 'server_up':
        await restored;
        return reconcile(e.server, e.startedAt);
      default:
        return;
    }
  }

  /** Reads back the calls this tenant had in flight (after a restart or a kill of the process). */
  async function restore(): Promise<number> {
    const records = await deps.liveStore.loadAll();
    for (const r of records) if (!live.has(r.callId) && r.state !== 'ended') track(r as LiveCall);
    if (records.length) log.info({ calls: records.length }, 'live calls read back from Redis');
    return records.length;
  }

  /**
   * After (re)connecting to a media server: events of the time we were away are lost, so compare
   * what we believe with what it holds. Calls whose customer is gone end (as lost when the media
   * server restarted under them); legs that vanished count as unanswered; customers who are there
   * but unknown to us (we died between their arrival and our first write) are taken in as new
   * arrivals; our own orphaned legs and call bridges are removed.
   */
  async function reconcile(server: string, startedAt: number | undefined): Promise<void> {
    const snap = await cc().snapshot(server);
    const channels = new Map(snap.channels.map((c) => [c.id, c]));
    const adopt: { id: string; kind: 'call' | 'leg'; tag?: string; answered?: boolean }[] = [];
    const report = { kept: 0, ended: 0, adopted: 0, orphans: 0 };
    for (const call of [...live.values()]) {
      if (call.server !== server) continue;
      await serial(call.callId, async () => {
        if (call.state === 'ended') return;
        if (!channels.has(call.callId)) {
          const lost = startedAt !== undefined && startedAt > call.arrivedAt;
          report.ended++;
          await end(call, lost ? 'lost' : call.state === 'connected' ? 'completed' : call.state === 'ivr' ? 'ivr_abandoned' : 'abandoned');
          return;
        }
        adopt.push({ id: call.callId, kind: 'call' });
        for (const [offerId, legId] of Object.entries(call.legs)) {
          const leg = channels.get(legId);
          if (leg) adopt.push({ id: legId, kind: 'leg', tag: offerId, answered: leg.answered });
          else await onLegEnded(call, { type: 'leg_ended', server, legId, tag: offerId, answered: false, cause: 0 });
        }
        if (call.state === 'connected' && call.agentLeg) {
          if (!channels.has(call.agentLeg)) {
            report.ended++;
            await end(call, 'completed');
            return;
          }
          adopt.push({ id: call.agentLeg, kind: 'leg', tag: call.agentOfferId ?? '', answered: true });
        }
        report.kept++;
      });
    }
    cc().adopt(server, adopt);
    const known = new Set(adopt.map((a) => a.id));
    for (const ch of snap.channels) {
      if (known.has(ch.id) || live.has(ch.id)) continue;
      if (ch.kind === 'call') {
        report.adopted++;
        cc().adopt(server, [{ id: ch.id, kind: 'call' }]);
        await onCallEvent({ type: 'call_arrived', server, callId: ch.id, entry: ch.arg ?? '', callerNumber: '', callerName: '' });
      } else if (ch.kind === 'leg') {
        report.orphans++;
        safe('hang up orphaned leg', cc().hangup(server, ch.id));
      }
    }
    for (const b of snap.bridges) {
      if (b.id.startsWith('call-') && !live.has(b.id.slice('call-'.length))) {
        report.orphans++;
        safe('destroy orphaned bridge', cc().destroyBridge(server, b.id));
      }
    }
    log.info({ server, ...report }, 'reconciled calls with the media server');
  }

  return {
    onCallEvent,
    onDecision,
    ivrEnded: (callId: string, action: TerminalAction | undefined) => serial(callId, () => ivrEnded(callId, action)),
    /** Reads back live calls from Redis; call once at start-up, before following decisions. */
    async restore(): Promise<number> {
      try {
        return await restore();
      } finally {
        markRestored();
      }
    },
    liveCalls: () => live.size,
    /** One live call as the voice service holds it (for call control and supervision). */
    liveCall: (callId: string): Readonly<LiveCall> | undefined => live.get(callId),
    /** The live call an agent is connected to, if any. */
    liveCallOfAgent: (agentId: string): Readonly<LiveCall> | undefined => [...live.values()].find((c) => c.state === 'connected' && c.agentId === agentId),

    async putEntryPoint(entry: EntryPoint): Promise<EntryPoint> {
      if (entry.targetKind === 'queue' && !(await deps.queueExists(entry.targetId))) throw voiceErrors.unknownQueue(entry.targetId);
      if (entry.targetKind === 'ivr' && !(await deps.flowExists?.(entry.targetId))) throw voiceErrors.unknownFlow(entry.targetId);
      await deps.store.putEntry(deps.tenantId, entry);
      return entry;
    },
    async listEntryPoints() {
      return { items: await deps.store.listEntries(deps.tenantId) };
    },
    async deleteEntryPoint(entry: string): Promise<void> {
      if (!(await deps.store.deleteEntry(deps.tenantId, entry))) throw voiceErrors.entryNotFound(entry);
    },
    async getCall(id: string) {
      const r = await deps.store.getCall(deps.tenantId, id);
      if (!r) throw voiceErrors.callNotFound(id);
      const iso = (v: unknown): string | null => (v instanceof Date ? v.toISOString() : v == null ? null : String(v));
      return {
        id: String(r.id), entry: String(r.entry), queueId: r.queue_id == null ? null : String(r.queue_id), agentId: r.agent_id == null ? null : String(r.agent_id),
        arrivedAt: iso(r.arrived_at), answeredAt: iso(r.answered_at), endedAt: iso(r.ended_at), outcome: r.outcome == null ? null : String(r.outcome),
        recording: r.recording == null ? null : String(r.recording), live: live.has(String(r.id)),
      };
    },
  };
}

export type VoiceService = ReturnType<typeof createVoiceService>;

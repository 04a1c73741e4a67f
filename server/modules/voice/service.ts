import type { RouterDecision } from '../../acd/decisions.js';
import type { Clock } from '../../infra/clock.js';
import type { AuditLog } from '../../infra/audit.js';
import type { EventBus } from '../../infra/events.js';
import type { Log } from '../../infra/logger.js';
import type { CallControl, CallEvent } from '../../telephony/index.js';
import type { AcdService } from '../acd/service.js';
import { voiceErrors } from './errors.js';
import type { EntryPoint, VoiceStore } from './store.js';
import './events.js';

interface LiveCall {
  server: string;
  callId: string;
  entry: string;
  callerNumber: string;
  callerName: string;
  queueId: string;
  arrivedAt: number;
  state: 'queued' | 'connected' | 'ended';
  /** Ringing (or answered) agent legs by offer id. */
  legs: Map<string, string>;
  agentId?: string;
  agentLeg?: string;
  bridgeId?: string;
}

export interface VoiceDeps {
  store: VoiceStore;
  /** Absent when no media server is configured (entry points can still be managed). */
  calls: CallControl | undefined;
  acd: Pick<AcdService, 'enqueueTask' | 'answerOffer' | 'abandonTask' | 'releaseTask' | 'notifyAgent'>;
  queueExists(queueId: string): Promise<boolean>;
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
  const byOffer = new Map<string, LiveCall>();
  const log = deps.log.child({ module: 'voice' });
  const now = (): number => deps.clock.now();
  const cc = (): CallControl => {
    if (!deps.calls) throw new Error('no media server is configured');
    return deps.calls;
  };
  const safe = (what: string, p: Promise<unknown>): void => {
    p.catch((err: unknown) => log.warn({ err, what }, 'voice action failed'));
  };

  async function end(call: LiveCall, outcome: string): Promise<void> {
    if (call.state === 'ended') return;
    const wasConnected = call.state === 'connected';
    call.state = 'ended';
    live.delete(call.callId);
    for (const [offerId, legId] of call.legs) {
      byOffer.delete(offerId);
      safe('hang up leg', cc().hangup(call.server, legId));
    }
    safe('hang up caller', cc().hangup(call.server, call.callId));
    if (call.bridgeId) safe('destroy bridge', cc().destroyBridge(call.server, call.bridgeId));
    if (wasConnected && call.agentId) safe('release agent', deps.acd.releaseTask(call.agentId, call.callId));
    else if (!wasConnected && outcome === 'abandoned') safe('abandon task', deps.acd.abandonTask(call.callId));
    await deps.store.callEnded(deps.tenantId, call.callId, outcome, now());
    deps.events.publish('voice.call_ended', { tenantId: deps.tenantId, callId: call.callId, outcome });
  }

  async function arrived(e: Extract<CallEvent, { type: 'call_arrived' }>): Promise<void> {
    const entry = await deps.store.getEntry(deps.tenantId, e.entry);
    await deps.store.callArrived({ tenantId: deps.tenantId, id: e.callId, server: e.server, entry: e.entry, callerNumber: e.callerNumber, queueId: entry?.targetId ?? null, at: now() });
    if (!entry) {
      log.info({ callId: e.callId, entry: e.entry }, 'no entry point; announcing and hanging up');
      await cc().answer(e.server, e.callId);
      await cc().play(e.server, e.callId, ['sound:ss-noservice']);
      setTimeout(() => safe('hang up', cc().hangup(e.server, e.callId)), 4000).unref();
      await deps.store.callEnded(deps.tenantId, e.callId, 'no_entry_point', now());
      return;
    }
    const call: LiveCall = { server: e.server, callId: e.callId, entry: e.entry, callerNumber: e.callerNumber, callerName: e.callerName, queueId: entry.targetId, arrivedAt: now(), state: 'queued', legs: new Map() };
    live.set(e.callId, call);
    await cc().answer(e.server, e.callId);
    const hold = `hold-${entry.targetId}`;
    await cc().ensureHoldingBridge(e.server, hold);
    await cc().addToBridge(e.server, hold, [e.callId]);
    deps.events.publish('voice.call_arrived', { tenantId: deps.tenantId, callId: e.callId, queueId: entry.targetId });
    await deps.acd.enqueueTask({ id: e.callId, queueId: entry.targetId, channel: 'voice', interactionId: e.callId });
  }

  async function onDecision(d: RouterDecision): Promise<void> {
    switch (d.kind) {
      case 'route': {
        const call = live.get(d.decision.taskId);
        if (!call || call.state !== 'queued') return;
        for (const o of d.offers) {
          byOffer.set(o.id, call);
          // Screen-pop: who is calling and what we know, on the desktop as the phone starts ringing.
          safe('screen-pop', deps.acd.notifyAgent(o.agentId, {
            kind: 'screen_pop', offerId: o.id, taskId: call.callId, interactionId: call.callId, channel: 'voice',
            queueId: call.queueId, entry: call.entry, caller: { number: call.callerNumber, name: call.callerName }, waitedMs: now() - call.arrivedAt,
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
            if (byOffer.has(o.id)) call.legs.set(o.id, legId);
            else safe('hang up late leg', cc().hangup(call.server, legId));
          } catch (err) {
            log.warn({ err, offerId: o.id }, 'could not ring the agent; declining the offer');
            byOffer.delete(o.id);
            safe('decline', deps.acd.answerOffer(o.agentId, o.id, 'decline'));
          }
        }
        return;
      }
      case 'offer_cancelled': {
        const call = byOffer.get(d.offerId);
        byOffer.delete(d.offerId);
        const legId = call?.legs.get(d.offerId);
        if (call && legId && legId !== call.agentLeg) {
          call.legs.delete(d.offerId);
          safe('stop ringing', cc().hangup(call.server, legId));
        }
        return;
      }
      case 'task_assigned': {
        const call = live.get(d.taskId);
        const legId = call?.legs.get(d.offerId);
        if (!call || call.state !== 'queued' || !legId) return;
        call.state = 'connected';
        call.agentId = d.agentId;
        call.agentLeg = legId;
        call.bridgeId = `call-${call.callId}`;
        await cc().removeFromBridge(call.server, `hold-${call.queueId}`, [call.callId]);
        await cc().createMixingBridge(call.server, call.bridgeId);
        await cc().addToBridge(call.server, call.bridgeId, [call.callId, legId]);
        const recording = `call-${call.callId}`;
        await cc().recordBridge(call.server, call.bridgeId, recording);
        await deps.store.callConnected(deps.tenantId, call.callId, d.agentId, recording, now());
        deps.events.publish('voice.call_connected', { tenantId: deps.tenantId, callId: call.callId, agentId: d.agentId, waitedMs: d.waitedMs });
        return;
      }
      case 'task_removed': {
        const call = live.get(d.taskId);
        if (call && call.state === 'queued') await end(call, d.reason);
        return;
      }
      default:
        return;
    }
  }

  async function onCallEvent(e: CallEvent): Promise<void> {
    switch (e.type) {
      case 'call_arrived':
        return arrived(e);
      case 'leg_answered': {
        const call = byOffer.get(e.tag);
        if (!call || call.state !== 'queued') {
          // Answered after the offer was withdrawn (another agent was faster): nothing to join.
          safe('hang up stale leg', cc().hangup(e.server, e.legId));
          return;
        }
        await deps.acd.answerOffer(agentOfOffer(e.tag), e.tag, 'accept');
        return;
      }
      case 'leg_ended': {
        const call = byOffer.get(e.tag) ?? [...live.values()].find((c) => c.agentLeg === e.legId);
        if (!call) return;
        if (call.state === 'connected' && call.agentLeg === e.legId) {
          await end(call, 'completed');
          return;
        }
        if (call.legs.get(e.tag) === e.legId) {
          log.info({ offerId: e.tag, cause: e.cause }, 'agent leg ended unanswered');
          call.legs.delete(e.tag);
          if (byOffer.delete(e.tag)) {
            // Not answered (no answer, busy, rejected): a missed offer; the router rings the next agent.
            await deps.acd.answerOffer(agentOfOffer(e.tag), e.tag, 'decline');
          }
        }
        return;
      }
      case 'call_ended': {
        const call = live.get(e.callId);
        if (call) await end(call, call.state === 'connected' ? 'completed' : 'abandoned');
        return;
      }
    }
  }

  return {
    onCallEvent,
    onDecision,
    liveCalls: () => live.size,

    async putEntryPoint(entry: EntryPoint): Promise<EntryPoint> {
      if (!(await deps.queueExists(entry.targetId))) throw voiceErrors.unknownQueue(entry.targetId);
      await deps.store.putEntry(deps.tenantId, entry);
      return entry;
    },
    async listEntryPoints() {
      return { items: await deps.store.listEntries(deps.tenantId) };
    },
    async deleteEntryPoint(entry: string): Promise<void> {
      if (!(await deps.store.deleteEntry(deps.tenantId, entry))) throw voiceErrors.entryNotFound(entry);
    },
    /**
     * A call's recording, whole or one byte range (`Range: bytes=a-b`), fetched from the media
     * server that made it. Every access is audited: recordings hold personal data.
     */
    async recording(id: string, range: string | undefined, by: { name: string; requestId: string }) {
      const r = await deps.store.getCall(deps.tenantId, id);
      if (!r || r.recording == null || !deps.calls) throw voiceErrors.recordingNotFound(id);
      let file: { contentType: string; body: Buffer };
      try {
        file = await cc().fetchRecording(String(r.server), String(r.recording));
      } catch (err) {
        if ((err as { kind?: string }).kind === 'not_found') throw voiceErrors.recordingNotFound(id);
        throw err;
      }
      await deps.audit({ tenantId: deps.tenantId, actor: by.name, action: 'recording.fetch', target: id, requestId: by.requestId, ...(range ? { details: { range } } : {}) });
      const size = file.body.length;
      if (!range) return { status: 200 as const, contentType: file.contentType, size, body: file.body };
      const m = /^bytes=(\d*)-(\d*)$/.exec(range.trim());
      if (!m || (m[1] === '' && m[2] === '')) throw voiceErrors.badRange(size);
      // "bytes=a-b", "bytes=a-" (to the end) or "bytes=-n" (the last n bytes).
      const start = m[1] === '' ? Math.max(0, size - Number(m[2])) : Number(m[1]);
      const end = m[1] === '' || m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
      if (start > end || start >= size) throw voiceErrors.badRange(size);
      return { status: 206 as const, contentType: file.contentType, size, start, end, body: file.body.subarray(start, end + 1) };
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

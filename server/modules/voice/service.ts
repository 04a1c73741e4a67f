import { createLanes } from '../../infra/lanes.js';
import type { RouterDecision } from '../../acd/decisions.js';
import type { Clock } from '../../infra/clock.js';
import { createRefreshingCache } from '../../infra/refreshing-cache.js';
import type { AuditLog } from '../../infra/audit.js';
import type { EventBus } from '../../infra/events.js';
import type { Log } from '../../infra/logger.js';
import type { CallControl, CallEvent } from '../../telephony/index.js';
import type { IvrContext, TerminalAction } from '../../../ivr/index.js';
import type { AcdService } from '../acd/service.js';
import type { QueueVoiceRules } from '../routing/service.js';
import { holdingShard } from '../../domain/holding-bridge.js';
import { voiceErrors } from './errors.js';
import type { EntryPoint, LiveCallRecord, LiveCallStore, PartyLeg, TransferTarget, VoiceStore } from './store.js';
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
  /** Whether `begin` would record this call (its queue's policy), storing nothing. */
  willRecord?(call: { callId: string; queueId: string }): Promise<boolean>;
  /** The media server could not start a recording `begin` named: it is on record as failed. */
  failed?(call: { server: string; name: string }): Promise<void>;
  end(call: { server: string; callId: string; recording: string; at: number }): Promise<void>;
}

/** How a call goes into a queue (from an entry point, or from the IVR with what it collected). */
export interface QueueEntry {
  queueId: string;
  priority?: number;
  requiredSkills?: readonly { skillId: string; minLevel: number }[];
  context?: IvrContext;
  /** An agent who should take it (a transfer to an agent), for `preferForSeconds`. */
  preferredAgentId?: string;
  preferForSeconds?: number;
  /** Keep the customer's place: the time they started waiting. */
  waitingSince?: number;
}

export interface VoiceDeps {
  store: VoiceStore;
  /** Live calls in Redis, so another process (or this one restarted) can take them over. */
  liveStore: LiveCallStore;
  /** Absent when no media server is configured (entry points can still be managed). */
  calls: CallControl | undefined;
  acd: Pick<AcdService, 'enqueueTask' | 'answerOffer' | 'abandonTask' | 'cancelTask' | 'releaseTask' | 'notifyAgent' | 'setPresence'>;
  queueExists(queueId: string): Promise<boolean>;
  /** Whether an agent exists in the routing configuration. */
  agentExists?(agentId: string): Promise<boolean>;
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
  /** The dial string of an outside number (through the configured trunk), or undefined when none is configured. */
  externalEndpoint?(number: string): string | undefined;
  /** How long an outside number may ring, seconds. */
  externalRingSeconds?: number;
  /** How long a transfer to an agent waits for that agent before any agent of the queue may take it. */
  agentTransferWaitSeconds?: number;
  /** A queue's rules for waiting callers (announcements, callback key, max wait, closed). */
  voiceRules?(queueId: string): Promise<QueueVoiceRules | undefined>;
  /** The queue's estimated wait for a new voice task, ms (p50), or undefined when unknown. */
  estimateWaitMs?(queueId: string, priority: number): Promise<number | undefined>;
  /** Runs `callbackDue(id)` after `delayMs`, surviving restarts (a delayed job). */
  scheduleCallback?(callbackId: string, attempt: number, delayMs: number): Promise<void>;
  /** Dial attempts of a callback (default 3) and the pause between them (default 120 s). */
  callbackAttempts?: number;
  callbackRetrySeconds?: number;
  /** How often what calls left behind on a media server is looked for (see `sweep`); 0 or absent: never. */
  sweepEveryMs?: number;
  /** Upper bound of a playback we wait for before going on (a lost event must not strand a call). */
  playbackWaitMs?: number;
  /** The media server that places callbacks asked for over the API. */
  defaultServer?(): string | undefined;
  /**
   * The id of one of a queue's holding bridges on the media server (shared servers: tenants and
   * applications apart). Shard 0 is the queue's first bridge.
   */
  holdBridgeId?(queueId: string, shard: number): string;
  /**
   * Holding bridges per queue (default 1). The media server moves one channel at a time in or out
   * of a bridge and plays a bridge's music to every member from one thread: with hundreds waiting
   * in one bridge, joins and leaves wait seconds. Each caller has a fixed bridge (from its call
   * id), so any process finds it without a record.
   */
  holdBridgeShards?: number;
  /** Finds (or creates) the customer behind a caller and links the interaction: one customer, one thread. */
  customers?: {
    resolve(input: { channel: 'phone'; address: string; verified: boolean; at: number; displayName?: string }): Promise<{ customerId: string; created: boolean; displayName: string | null; interactionsCount: number; lastInteractionAt: string | null } | null>;
    linkInteraction(customerId: string, interactionId: string, channel: 'voice', at: number): Promise<unknown>;
  };
}

const agentOfOffer = (offerId: string): string => offerId.slice(offerId.lastIndexOf('@') + 1);
/** Our own legs to outside numbers are tagged `x:<call id>:<n>`. */
const EXTERNAL_TAG = /^x:(.+):(\d+)$/;
/** How long an offer's screen-pop waits for the caller's customer record still being resolved. */
const SCREEN_POP_WAIT_MS = 3000;
/** How long an arriving call waits for its customer record before it is queued without it. */
const CUSTOMER_WAIT_MS = 5000;
/** Answers that could not be joined to the caller before the call is given up (a loop guard). */
const MAX_CONNECT_FAILURES = 3;
/**
 * An agent's phone that hangs up within this long of answering (by the media server's clock,
 * when its events say) has dropped the call — a phone or line fault, nothing said: the caller
 * goes back to the queue at its place, as when the hang-up is heard before the joining. Whether
 * the router's assignment is taken before the phone's hang-up is heard is a race of two paths;
 * this makes the outcome the same either way. Short enough that any real answer is a call.
 */
const AGENT_DROP_MS = 700;

/** Waits for `p` to settle, at most `ms` (never rejects). */
function atMost(p: Promise<unknown>, ms: number): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    timer.unref();
    const done = (): void => {
      clearTimeout(timer);
      resolve();
    };
    p.then(done, done);
  });
}

/** Who a call-control request acts for: an agent on its own call, or a supervisor/admin naming the agent. */
export interface Actor {
  name: string;
  requestId?: string;
}

/**
 * Inbound voice through the ACD. A call to an entry point (or out of the IVR) waits in its
 * queue's holding bridge with music; the router's offers ring the agents' phones while the
 * caller keeps the music; the first answer is accepted and the two are joined in a recorded
 * mixing bridge; a missed ring is a declined offer and the next agent rings; hang-ups on either
 * side end the other and free the agent's capacity.
 *
 * The agent's call can be held, muted, transferred (blind, or after a consultation) to an
 * agent, a queue or an outside number, turned into a three-way conference, and hung up; a
 * phone's own transfer (SIP REFER) is a blind transfer. Every call keeps one mixing bridge
 * (`call-<id>`) from its first answer to its end, so its recording keeps one timeline across
 * holds and transfers.
 *
 * Live calls are written through to Redis on every change; a restarted process reads them back
 * and reconciles them with what the media server holds (`reconcile`).
 */
export function createVoiceService(deps: VoiceDeps) {
  const live = new Map<string, LiveCall>();
  /** offer id → call id, for the legs ringing agents. */
  const byOffer = new Map<string, string>();
  /** channel id of a leg we placed (agent, consult, outside) → call id. */
  const byLeg = new Map<string, string>();
  /** ACD task id → call id (a call's own task, or the task of a consultation). */
  const byTask = new Map<string, string>();
  const log = deps.log.child({ module: 'voice' });
  const now = (): number => deps.clock.now();
  /** Joins made on an agent's answer, before the router's assignment (see `joinOnAnswer`), by call id. */
  const joining = new Map<string, { offerId: string; hadBridge: boolean; done: Promise<unknown> }>();
  /** When each agent leg of a waiting caller answered (by leg id), for AGENT_DROP_MS; in memory only. */
  const legAnsweredAt = new Map<string, { media?: number; ours: number }>();
  /** Arriving calls whose customer is still being resolved, by call id. */
  const resolvingCustomers = new Map<string, Promise<unknown>>();
  /**
   * Entry points are read for every arriving call: cached (trusted 1 s, read again ahead of time;
   * see refreshing-cache.ts). A change through this process is seen at once, by another process
   * within a second (or as soon as a database under load answers).
   */
  const entries = createRefreshingCache({ load: (entry: string) => deps.store.getEntry(deps.tenantId, entry), now, trustMs: 1000, staleWhileLoadingMs: 4000 });
  const cc = (): CallControl => {
    if (!deps.calls) throw voiceErrors.noMediaServer();
    return deps.calls;
  };
  const safe = (what: string, p: Promise<unknown>): void => {
    p.catch((err: unknown) => log.warn({ err, what }, 'voice action failed'));
  };
  /** Work on one call runs one step at a time, whatever it comes from (media events, decisions, API). */
  const serial = createLanes();
  const ivrToRestart = new Set<string>();
  // Nothing about calls is handled before the live calls are read back (see `restore`).
  let markRestored: () => void = () => undefined;
  const restored = new Promise<void>((resolve) => {
    markRestored = resolve;
  });
  // Without a media server there are no calls to read back: nothing may wait for them.
  if (!deps.calls) markRestored();

  function track(call: LiveCall): void {
    live.set(call.callId, call);
    byTask.set(call.taskId, call.callId);
    for (const [offerId, legId] of Object.entries(call.legs)) {
      byOffer.set(offerId, call.callId);
      byLeg.set(legId, call.callId);
    }
    if (call.agentLeg) byLeg.set(call.agentLeg, call.callId);
    for (const p of call.others) byLeg.set(p.legId, call.callId);
    if (call.consult?.taskId) byTask.set(call.consult.taskId, call.callId);
    if (call.consult?.legId) byLeg.set(call.consult.legId, call.callId);
  }
  function untrack(call: LiveCall): void {
    live.delete(call.callId);
    for (const [k, v] of byTask) if (v === call.callId) byTask.delete(k);
    for (const [k, v] of byOffer) if (v === call.callId) byOffer.delete(k);
    for (const [k, v] of byLeg) if (v === call.callId) byLeg.delete(k);
    for (const id of channelsOf(call)) legAnsweredAt.delete(id);
  }
  /** Write-through: every change of a live call reaches Redis before the next step of that call. */
  const persist = (call: LiveCall): Promise<void> => deps.liveStore.save(call as LiveCallRecord);
  const holdShards = deps.holdBridgeShards ?? 1;
  /** The holding bridge of a call in a queue (its own queue's unless told). */
  const hold = (call: LiveCall, queueId: string = call.queueId): string => {
    const shard = holdingShard(call.callId, holdShards);
    return deps.holdBridgeId?.(queueId, shard) ?? `hold-${queueId}${shard ? `-${shard}` : ''}`;
  };
  /** The customer's channel: the arriving channel, or the one dialled for a callback. */
  const chan = (call: LiveCall): string => call.customerLeg ?? call.callId;
  const rulesOf = async (queueId: string): Promise<QueueVoiceRules> => (queueId && deps.voiceRules ? ((await deps.voiceRules(queueId).catch(() => undefined)) ?? {}) : {});

  // Waits for media events (a playback's end, a recording's end), each with a time limit.
  const playbackWaiters = new Map<string, () => void>();
  const recordingWaiters = new Map<string, (r: { ok: boolean; durationSeconds: number | undefined }) => void>();
  async function playAndWait(call: LiveCall, media: readonly string[], limitMs = deps.playbackWaitMs ?? 20_000): Promise<void> {
    call.legSeq += 1;
    const playbackId = `pb-${call.callId}-${call.legSeq}`.replace(/[^A-Za-z0-9_.-]/g, '_');
    const done = new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        playbackWaiters.delete(playbackId);
        resolve();
      }, limitMs);
      timer.unref();
      playbackWaiters.set(playbackId, () => {
        clearTimeout(timer);
        playbackWaiters.delete(playbackId);
        resolve();
      });
    });
    try {
      await cc().play(call.server, chan(call), media, { playbackId });
    } catch (err) {
      playbackWaiters.get(playbackId)?.();
      log.warn({ err, callId: call.callId }, 'could not play to the caller');
    }
    await done;
  }

  // Position and estimated-wait announcements for waiting callers, one timer per call.
  const announceTimers = new Map<string, NodeJS.Timeout>();
  /** The announcement playing to a waiting caller, by call id (stopped before the caller leaves the bridge). */
  const announcing = new Map<string, { server: string; playbackId: string }>();
  function stopAnnouncing(callId: string): Promise<void> {
    const t = announceTimers.get(callId);
    if (t) clearInterval(t);
    announceTimers.delete(callId);
    const p = announcing.get(callId);
    announcing.delete(callId);
    // A playback to a bridged channel holds the channel in the bridge until it ends: stop it first.
    return p ? cc().stopPlayback(p.server, p.playbackId).catch(() => undefined) : Promise.resolve();
  }
  async function armAnnouncements(call: LiveCall): Promise<void> {
    await stopAnnouncing(call.callId);
    const rules = await rulesOf(call.queueId);
    if (!rules.announceEverySeconds || call.callback) return;
    const timer = setInterval(() => {
      void serial(call.callId, () => announce(call)).catch((err: unknown) => log.warn({ err, callId: call.callId }, 'announcement failed'));
    }, rules.announceEverySeconds * 1000);
    timer.unref();
    announceTimers.set(call.callId, timer);
  }
  /** The caller's place among this queue's waiting calls (higher priority first, then who waited longer). */
  function positionOf(call: LiveCall): number {
    const key = (c: LiveCall) => [-(c.priority ?? 0), c.waitingSince ?? c.arrivedAt] as const;
    const mine = key(call);
    let ahead = 0;
    for (const c of live.values()) {
      if (c === call || c.queueId !== call.queueId || c.state !== 'queued') continue;
      const k = key(c);
      if (k[0] < mine[0] || (k[0] === mine[0] && k[1] < mine[1])) ahead++;
    }
    return ahead + 1;
  }
  /** What a waiting caller hears: the place, the estimated wait, and the callback offer. */
  async function announcementMedia(call: LiveCall): Promise<string[]> {
    const rules = await rulesOf(call.queueId);
    const position = positionOf(call);
    const media = position === 1 ? ['sound:queue-youarenext'] : ['sound:queue-thereare', `number:${position - 1}`, 'sound:queue-callswaiting'];
    const waitMs = await deps.estimateWaitMs?.(call.queueId, call.priority ?? 0).catch(() => undefined);
    if (waitMs !== undefined && waitMs > 0) {
      const minutes = Math.max(1, Math.round(waitMs / 60_000));
      media.push('sound:queue-holdtime', `number:${minutes}`, minutes === 1 ? 'sound:queue-minute' : 'sound:queue-minutes');
    }
    if (rules.callbackKey && deps.externalEndpoint?.(call.callerNumber || '0')) media.push('sound:vm-press', `digits:${rules.callbackKey}`, 'sound:vm-tocallback');
    return media;
  }
  async function announce(call: LiveCall): Promise<void> {
    if (call.state !== 'queued' || call.callback || call.joinedOffer) return;
    const media = await announcementMedia(call);
    deps.events.publish('voice.announced', { tenantId: deps.tenantId, callId: call.callId, queueId: call.queueId, position: positionOf(call) });
    call.legSeq += 1;
    const playbackId = `ann-${call.callId}-${call.legSeq}`.replace(/[^A-Za-z0-9_.-]/g, '_');
    announcing.set(call.callId, { server: call.server, playbackId });
    await cc().play(call.server, chan(call), media, { playbackId }).catch((err: unknown) => log.warn({ err, callId: call.callId }, 'could not announce'));
  }

  const callOf = (taskOrCall: string): LiveCall | undefined => {
    const id = byTask.get(taskOrCall) ?? taskOrCall;
    return live.get(id);
  };

  /** Ends time spans that are running (in a queue, connected, on hold) into the call's totals. */
  function closeSpans(call: LiveCall, at: number): void {
    if (call.queuedAt !== undefined && call.state === 'queued') call.queueMs += at - call.queuedAt;
    if (call.connectedAt !== undefined && call.state === 'connected') call.talkGrossMs += at - call.connectedAt;
    if (call.holdSince !== undefined) call.holdMs += at - call.holdSince;
    call.queuedAt = undefined;
    call.connectedAt = undefined;
    call.holdSince = undefined;
  }

  async function end(call: LiveCall, outcome: string): Promise<void> {
    if (call.state === 'ended') return;
    const was = call.state;
    const at = now();
    closeSpans(call, at);
    call.state = 'ended';
    untrack(call);
    await stopAnnouncing(call.callId);
    for (const legId of Object.values(call.legs)) safe('hang up leg', cc().hangup(call.server, legId));
    if (call.callback?.dialLeg) safe('hang up callback dial', cc().hangup(call.server, call.callback.dialLeg));
    if (call.pendingExternal) safe('hang up outside leg', cc().hangup(call.server, call.pendingExternal.legId));
    if (call.agentLeg) safe('hang up agent', cc().hangup(call.server, call.agentLeg));
    for (const p of call.others) safe('hang up party', cc().hangup(call.server, p.legId));
    if (call.consult?.legId) safe('hang up consultation', cc().hangup(call.server, call.consult.legId));
    // A callback between attempts (or before its first) has no customer channel to hang up.
    if (!call.callback || call.customerLeg) safe('hang up caller', cc().hangup(call.server, chan(call)));
    if (call.bridgeId) safe('destroy bridge', cc().destroyBridge(call.server, call.bridgeId));
    if (call.agentId && call.agentTaskId) safe('release agent', deps.acd.releaseTask(call.agentId, call.agentTaskId, { queueId: call.queueId }));
    for (const p of call.others) if (p.agentId && p.taskId) safe('release agent', deps.acd.releaseTask(p.agentId, p.taskId, { queueId: call.queueId }));
    if (call.consult) await dropConsult(call, false);
    if (was === 'queued' && (outcome === 'cancelled' || outcome === 'merged')) safe('cancel task', deps.acd.cancelTask(call.taskId));
    else if (was === 'queued' && outcome !== 'max_wait' && outcome !== 'queue_closed' && outcome !== 'callback_requested') {
      safe('abandon task', deps.acd.abandonTask(call.taskId));
    }
    if (call.callback) {
      const cbState = outcome === 'completed' ? 'completed' : outcome === 'merged' ? 'merged' : outcome === 'cancelled' ? 'cancelled' : 'failed';
      safe('callback record', deps.store.callbackState(deps.tenantId, call.callback.id, { state: cbState, ended: at, lastResult: outcome }));
    }
    const talkMs = Math.max(0, call.talkGrossMs - call.holdMs);
    // Issued together, so they share one round trip of the batched writer.
    await Promise.all([
      deps.store.callEnded(deps.tenantId, call.callId, outcome, at, { queueMs: call.queueMs, talkMs, holdMs: call.holdMs, transfers: call.transfers }),
      deps.store.legEnded(deps.tenantId, call.callId, call.callId, at, outcome),
      deps.store.interactionEnded(deps.tenantId, call.interactionId, { at, outcome, queueMs: call.queueMs, talkMs, holdMs: call.holdMs, transfers: call.transfers, lastQueueId: call.queueId || null, lastAgentId: call.agentId ?? null }),
    ]);
    if (call.recording && deps.recorder) await deps.recorder.end({ server: call.server, callId: call.callId, recording: call.recording, at });
    await deps.liveStore.remove(call.callId);
    deps.events.publish('voice.call_ended', { tenantId: deps.tenantId, callId: call.callId, outcome });
    deps.events.publish('interaction.call_ended', {
      tenantId: deps.tenantId, interactionId: call.interactionId, callId: call.callId, outcome, queueId: call.queueId || null, agentId: call.agentId ?? null,
      queueMs: call.queueMs, talkMs, holdMs: call.holdMs, transfers: call.transfers,
    });
  }

  async function arrived(e: Extract<CallEvent, { type: 'call_arrived' }>): Promise<void> {
    if (live.has(e.callId)) return;
    // Answered at once, beside the look-ups and the records: under load those take a while, and
    // the caller would be left ringing (every call is answered: an unknown number hears why).
    const answering = cc().answer(e.server, e.callId).then(
      () => undefined,
      (err: unknown) => err,
    );
    const answered = async (): Promise<void> => {
      const err = await answering;
      if (err) throw err;
    };
    const entry = await entries.get(e.entry);
    const queueId = entry?.targetKind === 'queue' ? entry.targetId : null;
    const at = now();
    const recorded = Promise.all([
      deps.store.callArrived({ tenantId: deps.tenantId, id: e.callId, server: e.server, entry: e.entry, callerNumber: e.callerNumber, queueId, at, interactionId: e.callId }),
      deps.store.interactionStarted(deps.tenantId, { id: e.callId, channel: 'voice', customerNumber: e.callerNumber, entry: e.entry, at }),
      deps.store.legStarted(deps.tenantId, { callId: e.callId, legId: e.callId, kind: 'customer', party: e.callerNumber, at, answered: true }),
    ]);
    if (!entry || (entry.targetKind === 'ivr' && !deps.ivr)) {
      await recorded;
      log.info({ callId: e.callId, entry: e.entry }, 'no entry point; announcing and hanging up');
      await answered();
      await cc().play(e.server, e.callId, ['sound:ss-noservice']);
      setTimeout(() => safe('hang up', cc().hangup(e.server, e.callId)), 4000).unref();
      await deps.store.callEnded(deps.tenantId, e.callId, 'no_entry_point', now(), undefined);
      await deps.store.interactionEnded(deps.tenantId, e.callId, { at: now(), outcome: 'no_entry_point', queueMs: 0, talkMs: 0, holdMs: 0, transfers: 0, lastQueueId: null, lastAgentId: null });
      return;
    }
    const call: LiveCall = {
      server: e.server, callId: e.callId, interactionId: e.callId, direction: 'inbound', entry: e.entry, callerNumber: e.callerNumber, callerName: e.callerName,
      queueId: '', arrivedAt: at, state: 'ivr', taskId: e.callId, taskSeq: 0, legs: {}, others: [], legSeq: 0,
      queueMs: 0, talkGrossMs: 0, holdMs: 0, transfers: 0,
    };
    // One customer, one thread: who is calling, and what came before (a lookup failure never
    // fails the call). The call waits for it at most CUSTOMER_WAIT_MS before it is queued: it is
    // MariaDB work (a first contact inserts the customer) that a loaded or locked database may
    // take long over; past that the call goes on and the screen-pop waits for it (see ringOffer).
    const customers = deps.customers;
    let resolved: Promise<unknown> | undefined;
    if (customers) {
      resolved = customers
        .resolve({ channel: 'phone', address: e.callerNumber, verified: false, at, ...(e.callerName ? { displayName: e.callerName } : {}) })
        .then((customer) => {
          if (!customer) return;
          call.customer = { id: customer.customerId, name: customer.displayName, known: !customer.created, interactions: customer.interactionsCount, lastInteractionAt: customer.lastInteractionAt };
          safe('link the interaction', customers.linkInteraction(customer.customerId, call.interactionId, 'voice', at));
          // Resolved after the call was queued: saved on the call's lane (never after the call has
          // ended and been let go); before that, the call's first save carries it.
          if (live.get(call.callId) === call) {
            safe('save the customer', serial(call.callId, async () => {
              if (live.get(call.callId) === call) await persist(call);
            }));
          }
        })
        .catch((err: unknown) => log.warn({ err, callId: e.callId }, 'customer not resolved'))
        .finally(() => resolvingCustomers.delete(call.callId));
      resolvingCustomers.set(call.callId, resolved);
    }
    await Promise.all([recorded, resolved ? atMost(resolved, CUSTOMER_WAIT_MS) : undefined]);
    track(call);
    await persist(call);
    await answered();
    // The same customer calling again while a callback waits: one place in the queue, not two.
    const pending = e.callerNumber ? [...live.values()].find((c) => c.callback && c.callback.number === e.callerNumber && (c.state === 'queued' || c.state === 'scheduled')) : undefined;
    if (pending) {
      await serial(pending.callId, async () => mergeCallback(pending, call));
      return;
    }
    if (entry.targetKind === 'ivr' && deps.ivr) {
      deps.events.publish('voice.call_arrived', { tenantId: deps.tenantId, callId: e.callId, queueId: null });
      await deps.ivr.start({ server: e.server, callId: e.callId, entry: e.entry, flowId: entry.targetId, callerNumber: e.callerNumber, callerName: e.callerName });
      return;
    }
    deps.events.publish('voice.call_arrived', { tenantId: deps.tenantId, callId: e.callId, queueId: entry.targetId });
    await enterQueue(call, { queueId: entry.targetId });
  }

  /**
   * The caller waits in the queue's holding bridge with music; the call becomes an ACD task. A
   * call coming back (a transfer to a queue) gets a new task of its own.
   */
  async function enterQueue(call: LiveCall, q: QueueEntry): Promise<void> {
    if (call.state === 'queued' || call.state === 'connected' || call.state === 'scheduled') {
      call.taskSeq += 1;
      call.taskId = `${call.callId}~${call.taskSeq}`;
      byTask.set(call.taskId, call.callId);
    }
    call.state = 'queued';
    call.queueId = q.queueId;
    call.queuedAt = now();
    call.waitingSince = q.waitingSince ?? call.waitingSince ?? call.arrivedAt;
    if (q.priority !== undefined) call.priority = q.priority;
    if (q.context) call.ivr = q.context;
    // The live record, the task and the music go together: the router's offer is taken on this
    // call's lane, after all of them, so nothing acts on the call half queued, and the caller
    // reaches an agent after the slowest of them instead of after their sum. The record is not
    // awaited before the task: its write goes out first on the Redis connection the task's router
    // entry goes out on, so a task in the router always has its call saved as queued. The rows
    // in MariaDB (the call queued, the interaction's queue) do not hold the lane: the ringing
    // needs neither, and every later write of the call follows them (one writer, in order).
    const saved = persist(call);
    const held = call.callback
      ? undefined
      : (async () => {
          const holding = hold(call, q.queueId);
          await cc().ensureHoldingBridge(call.server, holding);
          await cc().addToBridge(call.server, holding, [chan(call)]);
          await armAnnouncements(call);
        })();
    const recorded = Promise.all([
      deps.store.callQueued(deps.tenantId, call.callId, q.queueId, call.ivr ?? null, now()),
      deps.store.interactionQueued(deps.tenantId, call.interactionId, q.queueId, call.ivr ?? null),
    ]);
    const enqueued = deps.acd.enqueueTask({
      id: call.taskId, fresh: true, queueId: q.queueId, channel: 'voice', interactionId: call.interactionId,
      ...(q.priority !== undefined ? { priority: q.priority } : {}),
      ...(q.requiredSkills?.length ? { requiredSkills: q.requiredSkills.map((r) => ({ skillId: r.skillId, minLevel: r.minLevel })) } : {}),
      ...(q.preferredAgentId ? { preferredAgentId: q.preferredAgentId, preferredForSeconds: q.preferForSeconds ?? 30 } : {}),
      ...(call.waitingSince < now() ? { enqueuedAt: call.waitingSince } : {}),
    }).then((r) => {
      if (r.stored) safe('store the task', r.stored);
    });
    safe('record the queueing', recorded);
    await Promise.all([saved, held, enqueued]);
  }

  /** Leaving the queue without an agent: at max wait a message or a voicemail, when closed a message. */
  async function leaveQueue(call: LiveCall, reason: string): Promise<void> {
    await stopAnnouncing(call.callId);
    if (call.callback || (reason !== 'max_wait' && reason !== 'queue_closed')) return end(call, reason);
    const rules = await rulesOf(call.queueId);
    safe('drop the prepared recording', cc().dropPreparedRecording(call.server, chan(call)));
    // The task is gone from the ACD: the call is no longer waiting there.
    call.state = 'ivr';
    if (call.queuedAt !== undefined) call.queueMs += now() - call.queuedAt;
    call.queuedAt = undefined;
    await persist(call);
    await cc().removeFromBridge(call.server, hold(call), [chan(call)]);
    if (reason === 'max_wait' && rules.onMaxWait === 'voicemail') return recordVoicemail(call, call.queueId, 120, true, 'max_wait');
    await playAndWait(call, [`sound:${reason === 'max_wait' ? (rules.maxWaitSound ?? 'please-try-call-later') : (rules.closedSound ?? 'please-try-call-later')}`]);
    await end(call, reason);
  }

  /**
   * The customer asked to be called back (a key while waiting, the IVR, or the API). The call's
   * task stays in the ACD with the time the customer started waiting, so the place is kept; the
   * customer's channel is let go. When the turn comes the agent is rung first, then the customer.
   */
  async function requestCallback(call: LiveCall, o: { number: string; via: 'queue_key' | 'ivr'; requiredSkills?: readonly { skillId: string; minLevel: number }[] }): Promise<void> {
    const at = now();
    const id = `cb-${call.callId}`;
    const inQueue = call.state === 'queued';
    const cb: LiveCall = {
      ...call, callId: id, direction: 'callback', state: 'queued', legs: {}, others: [], legSeq: 0, queueMs: 0, talkGrossMs: 0, holdMs: 0, transfers: 0,
      taskId: inQueue ? call.taskId : id, taskSeq: 0, waitingSince: call.waitingSince ?? at, queuedAt: at,
      callback: { id, number: o.number, attempts: 0, maxAttempts: deps.callbackAttempts ?? 3, requestedAt: at },
      agentId: undefined, agentLeg: undefined, agentTaskId: undefined, agentOfferId: undefined, bridgeId: undefined, recording: undefined, customerLeg: undefined, holdSince: undefined,
    };
    await deps.store.callbackCreated(deps.tenantId, { id, interactionId: call.interactionId, originCallId: call.callId, queueId: call.queueId, number: o.number, requestedAt: at, waitingSince: cb.waitingSince ?? at, maxAttempts: cb.callback!.maxAttempts });
    await deps.store.callArrived({ tenantId: deps.tenantId, id, server: call.server, entry: call.entry, callerNumber: o.number, queueId: call.queueId, at, interactionId: call.interactionId, direction: 'callback' });
    deps.events.publish('voice.callback_requested', { tenantId: deps.tenantId, callbackId: id, interactionId: call.interactionId, queueId: call.queueId, via: o.via });
    log.info({ callId: call.callId, callbackId: id, queueId: call.queueId, via: o.via }, 'callback requested; the place in the queue is kept');
    // The caller hears that they will be called back, then is let go; the task moves to the callback.
    await stopAnnouncing(call.callId);
    if (inQueue) {
      safe('drop the prepared recording', cc().dropPreparedRecording(call.server, chan(call)));
      await cc().removeFromBridge(call.server, hold(call), [chan(call)]);
    }
    await playAndWait(call, ['sound:queue-thankyou'], 8000);
    await end(call, 'callback_requested');
    track(cb);
    await persist(cb);
    if (!inQueue) await enterQueue(cb, { queueId: cb.queueId, ...(cb.priority !== undefined ? { priority: cb.priority } : {}), ...(o.requiredSkills ? { requiredSkills: o.requiredSkills } : {}), waitingSince: at });
  }

  /** The callback's turn: the reserved agent is on the line, the customer is dialled. */
  async function dialCallback(call: LiveCall, agentId: string, agentLeg: string): Promise<void> {
    const cb = call.callback!;
    cb.attempts += 1;
    await persist(call);
    await deps.store.callbackState(deps.tenantId, cb.id, { state: 'dialing', attempts: cb.attempts, agentId, nextAttemptAt: null });
    await deps.store.callbackAttempt(deps.tenantId, { callbackId: cb.id, attempt: cb.attempts, agentId, at: now() });
    safe('tell the agent', cc().play(call.server, agentLeg, ['sound:pls-hold-while-try']));
    try {
      cb.dialLeg = await ringExternal(call, cb.number, agentLeg);
      byLeg.set(cb.dialLeg, call.callId);
      await persist(call);
    } catch (err) {
      log.warn({ err, callbackId: cb.id }, 'could not dial the callback');
      await callbackNotAnswered(call, 0);
    }
  }

  /** The customer did not answer the callback: the agent is let go; another attempt later, or the callback fails. */
  async function callbackNotAnswered(call: LiveCall, cause: number): Promise<void> {
    const cb = call.callback!;
    const result = cause === 17 ? 'busy' : cause === 0 ? 'failed' : 'no_answer';
    cb.dialLeg = undefined;
    await deps.store.callbackAttempt(deps.tenantId, { callbackId: cb.id, attempt: cb.attempts, agentId: call.agentId ?? null, at: now(), result });
    deps.events.publish('voice.callback_attempted', { tenantId: deps.tenantId, callbackId: cb.id, attempt: cb.attempts, result });
    await agentLeaves(call);
    if (call.bridgeId) {
      safe('destroy bridge', cc().destroyBridge(call.server, call.bridgeId));
      call.bridgeId = undefined;
    }
    if (cb.attempts >= cb.maxAttempts || !deps.scheduleCallback) {
      await end(call, `callback_${result}`);
      return;
    }
    const delayMs = (deps.callbackRetrySeconds ?? 120) * 1000;
    call.state = 'scheduled';
    await persist(call);
    await deps.store.callbackState(deps.tenantId, cb.id, { state: 'scheduled', lastResult: result, nextAttemptAt: now() + delayMs });
    await deps.scheduleCallback(cb.id, cb.attempts + 1, delayMs);
  }

  /** A callback's next attempt is due: it queues again with the time the customer first waited. */
  async function callbackDue(callbackId: string): Promise<void> {
    const call = live.get(callbackId);
    if (!call || call.state !== 'scheduled' || !call.callback) return;
    await enterQueue(call, { queueId: call.queueId, waitingSince: call.waitingSince ?? call.callback.requestedAt });
    await deps.store.callbackState(deps.tenantId, callbackId, { state: 'waiting', nextAttemptAt: null });
  }

  /** The customer called in while the callback waited: the call takes the callback's place. */
  async function mergeCallback(cb: LiveCall, call: LiveCall): Promise<void> {
    const since = cb.waitingSince ?? cb.callback!.requestedAt;
    log.info({ callbackId: cb.callId, callId: call.callId }, 'caller with a pending callback called again; keeping one place');
    await deps.store.callbackState(deps.tenantId, cb.callId, { state: 'merged', mergedCallId: call.callId });
    deps.events.publish('voice.callback_merged', { tenantId: deps.tenantId, callbackId: cb.callId, callId: call.callId });
    await end(cb, 'merged');
    // The call joins the callback's interaction; the one opened at its arrival is closed as merged.
    await deps.store.interactionOutcome(deps.tenantId, call.interactionId, 'merged', now());
    call.interactionId = cb.interactionId;
    if (cb.ivr) call.ivr = cb.ivr;
    await deps.store.setCallInteraction(deps.tenantId, call.callId, cb.interactionId);
    await enterQueue(call, { queueId: cb.queueId, waitingSince: since, ...(cb.priority !== undefined ? { priority: cb.priority } : {}) });
  }

  /** The caller leaves a message: it is recorded and kept as a voicemail of the interaction. */
  async function recordVoicemail(call: LiveCall, mailbox: string, maxSeconds: number, beep: boolean, outcome = 'voicemail'): Promise<void> {
    const name = `vm-${call.callId}`.replace(/[^A-Za-z0-9_.-]/g, '_');
    await playAndWait(call, ['sound:vm-intro'], 15_000);
    const ended = new Promise<{ ok: boolean; durationSeconds: number | undefined }>((resolve) => {
      const timer = setTimeout(() => {
        recordingWaiters.delete(name);
        resolve({ ok: false, durationSeconds: undefined });
      }, (maxSeconds + 15) * 1000);
      timer.unref();
      recordingWaiters.set(name, (r) => {
        clearTimeout(timer);
        recordingWaiters.delete(name);
        resolve(r);
      });
    });
    const startedAt = now();
    try {
      await cc().recordChannel(call.server, chan(call), { name, maxSeconds, beep, terminateOn: '#' });
    } catch (err) {
      log.warn({ err, callId: call.callId }, 'could not record the voicemail');
      recordingWaiters.get(name)?.({ ok: false, durationSeconds: undefined });
    }
    // The serial lane waits here; a hang-up ends the recording (and its event arrives).
    const r = await ended;
    const durationMs = r.durationSeconds !== undefined ? Math.round(r.durationSeconds * 1000) : r.ok ? now() - startedAt : null;
    if (r.ok || (durationMs ?? 0) > 0) {
      await deps.store.voicemailSaved(deps.tenantId, { id: name, interactionId: call.interactionId, callId: call.callId, mailbox, callerNumber: call.callerNumber, server: call.server, recording: name, durationMs, at: now(), context: call.ivr ?? null });
      deps.events.publish('voice.voicemail_saved', { tenantId: deps.tenantId, voicemailId: name, interactionId: call.interactionId, mailbox, durationMs });
    }
    if (live.get(call.callId) === call) {
      await playAndWait(call, ['sound:vm-goodbye'], 5000);
      await end(call, outcome);
    } else {
      // The caller hung up while recording: the call already ended; keep its outcome as a voicemail.
      await deps.store.interactionOutcome(deps.tenantId, call.interactionId, outcome, now());
    }
  }

  /** From the IVR to an outside number: the caller hears music until it answers. */
  async function transferOut(call: LiveCall, number: string, timeoutMs: number): Promise<void> {
    if (!deps.externalEndpoint?.(number)) {
      log.warn({ callId: call.callId }, 'IVR transfer without an outside line; ending the call');
      await playAndWait(call, ['sound:please-try-call-later']);
      return end(call, 'transfer_failed');
    }
    call.transfers += 1;
    await cc().holdMusic(call.server, chan(call), true);
    const legId = await ringExternal(call, number, chan(call), Math.max(5, Math.round(timeoutMs / 1000)));
    call.pendingExternal = { number, legId };
    await persist(call);
  }


  /** The IVR ended on a call: carry out its terminal action. */
  async function ivrEnded(callId: string, action: TerminalAction | undefined): Promise<void> {
    const call = live.get(callId);
    if (!call || call.state !== 'ivr') return;
    switch (action?.type) {
      case 'route_to_queue':
        return enterQueue(call, { queueId: action.queueId, priority: action.priority, requiredSkills: action.requiredSkills, context: action.context });
      case 'offer_callback': {
        if (!deps.externalEndpoint?.(action.number) || !/^\+?[0-9]{2,32}$/.test(action.number)) {
          // No outside line (or no usable number): the caller waits in the queue instead.
          log.warn({ callId, queueId: action.queueId }, 'callback not possible; the caller waits in the queue');
          return enterQueue(call, { queueId: action.queueId, priority: action.priority, requiredSkills: action.requiredSkills, context: action.context });
        }
        call.ivr = action.context;
        call.queueId = action.queueId;
        call.priority = action.priority;
        await requestCallback(call, { number: action.number, via: 'ivr', requiredSkills: action.requiredSkills });
        return;
      }
      case 'voicemail':
        call.ivr = action.context;
        return recordVoicemail(call, action.mailbox, Math.round(action.maxLengthMs / 1000), action.beep);
      case 'transfer':
        call.ivr = action.context;
        return transferOut(call, action.number, action.timeoutMs);
      default:
        // Hang-up by the flow, or an end the flow could not carry out.
        await end(call, action?.type === 'hangup' ? 'ivr_hangup' : 'ivr_ended');
        return;
    }
  }

  async function ringOffer(call: LiveCall, o: { id: string; agentId: string; expiresAt: number }, consult: boolean): Promise<void> {
    byOffer.set(o.id, call.callId);
    // Screen-pop: who is calling and what we know, on the desktop as the phone starts ringing (or
    // as soon as the customer is resolved, within SCREEN_POP_WAIT_MS).
    const resolving = resolvingCustomers.get(call.callId);
    const popWhenKnown = async (): Promise<void> => {
      if (resolving) await atMost(resolving, SCREEN_POP_WAIT_MS);
      await deps.acd.notifyAgent(o.agentId, {
        kind: 'screen_pop', offerId: o.id, taskId: consult ? call.consult?.taskId : call.taskId, interactionId: call.interactionId, channel: 'voice',
        queueId: call.queueId, entry: call.entry, caller: { number: call.callerNumber, name: call.callerName }, waitedMs: now() - call.arrivedAt,
        ...(consult ? { consultation: { fromAgentId: call.agentId } } : {}),
        ...(call.customer ? { customer: call.customer, threadId: call.customer.id } : {}),
        ...(call.callback ? { callback: { id: call.callback.id, number: call.callback.number, attempt: call.callback.attempts + 1 } } : {}),
        ...(call.ivr ? { ivr: { inputs: call.ivr.vars, path: call.ivr.path, dips: call.ivr.dips, language: call.ivr.language } } : {}),
      });
    };
    safe('screen-pop', popWhenKnown());
    // The recording's snoop is made while the phone rings, so the answer only has to start it.
    if (!consult && !call.callback && !call.recording && !call.bridgeId && deps.recorder?.willRecord) {
      const recorder = deps.recorder;
      safe('prepare the recording', (async () => {
        if (await recorder.willRecord!({ callId: call.callId, queueId: call.queueId })) await cc().prepareRecording(call.server, chan(call));
      })());
    }
    const ring = () =>
      cc().ringLeg(call.server, {
        endpoint: deps.agentEndpoint(o.agentId), tag: o.id, originatorCallId: consult && call.agentLeg ? call.agentLeg : call.callback && !call.customerLeg ? undefined : chan(call), callerId: 'ACD', timeoutSeconds: Math.max(1, (o.expiresAt - now()) / 1000),
      });
    try {
      // One quick second try: a transient media-server hiccup should not cost the agent a miss.
      const legId = await ring().catch(async (err: unknown) => {
        log.warn({ err, offerId: o.id }, 'ringing the agent failed; trying once more');
        return ring();
      });
      const stillWanted = byOffer.get(o.id) === call.callId && (consult ? call.consult !== undefined : call.state === 'queued');
      if (stillWanted) {
        call.legs[o.id] = legId;
        byLeg.set(legId, call.callId);
        await persist(call);
        if (!consult) safe('record ringing', deps.store.callRang(deps.tenantId, call.callId, now()));
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
        const call = callOf(d.decision.taskId);
        if (!call) return;
        const consult = call.consult?.taskId === d.decision.taskId;
        // Offers already expired (a backlog read after a restart) are left to the router's timers.
        const fresh = d.offers.filter((o) => o.expiresAt > now() + 500);
        // Ring-all: every offered phone rings.
        await Promise.all(fresh.map((o) => serial(call.callId, async () => {
          if (consult ? call.consult?.taskId === d.decision.taskId : call.state === 'queued' && call.taskId === d.decision.taskId) await ringOffer(call, o, consult);
        })));
        return;
      }
      case 'offer_cancelled': {
        const call = callOf(byOffer.get(d.offerId) ?? '');
        byOffer.delete(d.offerId);
        if (!call) return;
        return serial(call.callId, async () => {
          const legId = call.legs[d.offerId];
          if (legId) {
            delete call.legs[d.offerId];
            byLeg.delete(legId);
            await persist(call);
            safe('stop ringing', cc().hangup(call.server, legId));
          }
          await unjoin(call, d.offerId);
        });
      }
      case 'task_assigned': {
        const call = callOf(d.taskId);
        if (!call) return;
        return serial(call.callId, async () => {
          if (call.consult?.taskId === d.taskId) return consultAnswered(call, d.agentId, d.offerId);
          if (call.taskId === d.taskId && call.state === 'queued') {
            const hadBridge = hadBridgeBeforeAnswer(call);
            await connectAgent(call, d.agentId, d.offerId, d.waitedMs).catch(async (err: unknown) => {
              // The media server refused the joining (under overload, a request that timed out):
              // the caller goes back to the queue at its place; the agent is let go.
              log.warn({ err, callId: call.callId, agentId: d.agentId }, 'could not connect the agent; the caller goes back to the queue');
              await connectFailed(call, d.agentId, d.offerId, 'media_error', hadBridge);
            });
          }
        });
      }
      case 'task_removed': {
        const call = callOf(d.taskId);
        if (!call) return;
        return serial(call.callId, async () => {
          if (call.consult?.taskId === d.taskId) {
            // Nobody in the consulted queue took it: the agent has the customer back.
            await dropConsult(call, true);
            return;
          }
          if (call.state === 'queued' && call.taskId === d.taskId) await leaveQueue(call, d.reason);
        });
      }
      case 'task_overflowed': {
        const call = callOf(d.taskId);
        if (!call) return;
        return serial(call.callId, async () => {
          if (call.state !== 'queued' || call.taskId !== d.taskId) return;
          // Waited too long: the caller moves to the overflow queue's music, keeping the place it had.
          call.queueId = d.toQueueId;
          await persist(call);
          if (!call.callback) {
            await stopAnnouncing(call.callId);
            await cc().removeFromBridge(call.server, hold(call, d.fromQueueId), [chan(call)]);
            await cc().ensureHoldingBridge(call.server, hold(call, d.toQueueId));
            await cc().addToBridge(call.server, hold(call, d.toQueueId), [chan(call)]);
            await armAnnouncements(call);
          }
          await deps.store.callQueued(deps.tenantId, call.callId, d.toQueueId, call.ivr ?? null, now());
          await deps.store.interactionQueued(deps.tenantId, call.interactionId, d.toQueueId, null);
          deps.events.publish('voice.call_overflowed', { tenantId: deps.tenantId, callId: call.callId, fromQueueId: d.fromQueueId, toQueueId: d.toQueueId });
        });
      }
      default:
        return;
    }
  }

  /**
   * The call's mixing bridge, created at its first answer and kept until it ends (one recording
   * timeline), with `join` added. The recording starts beside the joining, so the parties hear
   * each other as soon as possible and the recording misses as little as possible.
   */
  async function ensureCallBridge(call: LiveCall, agentId: string, join: readonly string[] = []): Promise<string> {
    if (call.bridgeId) {
      if (join.length > 0) await cc().addToBridge(call.server, call.bridgeId, join);
      return call.bridgeId;
    }
    const bridgeId = `call-${call.callId}`;
    call.bridgeId = bridgeId;
    const saved = persist(call);
    // Joining adds the customer from the holding bridge too (the media server moves a channel
    // out of the bridge it is in).
    const bridged = (async () => {
      await cc().createMixingBridge(call.server, bridgeId);
      if (join.length > 0) await cc().addToBridge(call.server, bridgeId, join);
    })();
    // The recording is of the customer's channel when there is one (it stays for the whole
    // call), so it starts beside the bridge instead of after it; a callback's bridge is
    // recorded before the customer is dialled.
    const customer = call.callback ? call.customerLeg : chan(call);
    const recorded = (async () => {
      // Recording already (an earlier answer that could not be joined): it goes on.
      if (call.recording) return;
      const recording = deps.recorder
        ? await deps.recorder.begin({ server: call.server, callId: call.callId, bridgeId, queueId: call.queueId, agentId, callerNumber: call.callerNumber, at: now() })
        : `call-${call.callId}`;
      if (!recording) {
        if (customer) await cc().dropPreparedRecording(call.server, customer);
        return;
      }
      call.recording = recording;
      try {
        if (customer) await cc().recordCall(call.server, customer, recording);
        else {
          await bridged;
          await cc().recordBridge(call.server, bridgeId, recording);
        }
      } catch (err) {
        // The customer and the agent are talking: a recording that cannot start never ends the
        // call. It is on record as failed (QA sees it), and the call goes on unrecorded.
        log.warn({ err, callId: call.callId, name: recording }, 'the call could not be recorded; it goes on unrecorded');
        if (deps.recorder?.failed) safe('record the failed recording', deps.recorder.failed({ server: call.server, name: recording }));
      }
    })();
    await Promise.all([saved, bridged, recorded]);
    if (call.recording) await persist(call);
    return bridgeId;
  }

  /**
   * An agent's answer that never became a call: the phone hung up between its answer and the
   * joining (`agent_left`), or the media server refused the joining (`media_error`). The caller
   * goes back to the queue keeping the place it had (its waiting time counts from its first
   * entry), the agent's task is released and its leg hung up; an agent whose phone dropped the
   * call is made not ready (`call_dropped`), so a broken phone is not offered the caller again.
   * After MAX_CONNECT_FAILURES the call ends (`connect_failed`) instead of going round forever.
   */
  async function connectFailed(call: LiveCall, agentId: string, offerId: string, cause: 'agent_left' | 'media_error', hadBridge: boolean): Promise<void> {
    byOffer.delete(offerId);
    const legId = call.agentOfferId === offerId ? call.agentLeg : call.legs[offerId];
    // A joining refused because the phone had just hung up (its end not seen on this lane yet)
    // is the phone's doing, not the media server's.
    const why = cause === 'media_error' && legId && (await cc().channelGone(call.server, legId).catch(() => false)) ? 'agent_left' : cause;
    delete call.legs[offerId];
    if (live.get(call.callId) !== call || call.state === 'ended') return;
    const taskId = call.taskId;
    // Nothing was said: no talk time; the queue visit goes on from where it stopped.
    call.connectedAt = undefined;
    call.agentId = undefined;
    call.agentLeg = undefined;
    call.agentTaskId = undefined;
    call.agentOfferId = undefined;
    call.connectFailures = (call.connectFailures ?? 0) + 1;
    call.joinedOffer = undefined;
    joining.delete(call.callId);
    if (legId) {
      byLeg.delete(legId);
      safe('hang up agent', cc().hangup(call.server, legId));
      unjoinedLeg(call, legId, agentId, why === 'agent_left' ? 'dropped' : 'connect_failed');
    }
    // A bridge made for this attempt may be half made: the next answer makes its own.
    const madeBridge = !hadBridge ? call.bridgeId : undefined;
    if (madeBridge) {
      call.bridgeId = undefined;
      // A callback records its bridge (the customer is not dialled yet): that recording goes
      // with the bridge, and the next attempt starts its own.
      if (call.callback && !call.customerLeg && call.recording) {
        if (deps.recorder) safe('end the recording', deps.recorder.end({ server: call.server, callId: call.callId, recording: call.recording, at: now() }));
        call.recording = undefined;
      }
    }
    await persist(call);
    // Not ready before the release, so the router never offers that phone the next call; no
    // wrap-up either way (nothing was said).
    safe('release agent', (async () => {
      if (why === 'agent_left') await deps.acd.setPresence(agentId, { kind: 'not_ready', reason: 'call_dropped' });
    })().finally(() => deps.acd.releaseTask(agentId, taskId, { queueId: call.queueId, wrapUp: false })));
    deps.events.publish('voice.connect_failed', { tenantId: deps.tenantId, callId: call.callId, agentId, reason: why, attempt: call.connectFailures });
    if (call.connectFailures >= MAX_CONNECT_FAILURES) {
      log.warn({ callId: call.callId, failures: call.connectFailures }, 'the call could not be connected to an agent; ending it');
      await end(call, 'connect_failed');
    } else {
      try {
        await enterQueue(call, { queueId: call.queueId, waitingSince: call.waitingSince ?? call.arrivedAt, ...(call.priority !== undefined ? { priority: call.priority } : {}), ...(call.ivr ? { context: call.ivr } : {}) });
      } catch (err) {
        // The caller is gone too (its own hang-up follows) or the media server is: nothing to wait for.
        log.warn({ err, callId: call.callId }, 'the caller could not go back to the queue; ending the call');
        await end(call, 'connect_failed');
      }
    }
    // After the caller has left it (back to the music, or hung up with the call's end).
    if (madeBridge) safe('destroy bridge', cc().destroyBridge(call.server, madeBridge));
  }

  /** Whether the call had its bridge before this answer (a transfer back into a queue keeps it). */
  function hadBridgeBeforeAnswer(call: LiveCall): boolean {
    return joining.get(call.callId)?.hadBridge ?? call.bridgeId !== undefined;
  }

  /**
   * The first answer to a waiting caller is joined with it at once, beside the acceptance of the
   * offer instead of after the router's assignment comes back: the parties hear each other (and
   * the recording starts) one round trip through the router sooner, as when the media server's own
   * queue bridges on the answer. Only a plain inbound call in a queue, only its first answer;
   * a callback, a consultation or a second ring-all answer waits for the assignment.
   */
  function joinOnAnswer(call: LiveCall, offerId: string, legId: string): Promise<unknown> | undefined {
    if (call.state !== 'queued' || call.callback || call.joinedOffer || call.consult) return undefined;
    call.joinedOffer = offerId;
    const hadBridge = call.bridgeId !== undefined;
    const done = (async () => {
      // A new bridge is saved with the call by ensureCallBridge; an existing one is not.
      await Promise.all([stopAnnouncing(call.callId), hadBridge ? persist(call) : undefined]);
      await ensureCallBridge(call, agentOfOffer(offerId), [chan(call), legId]);
    })().then(
      () => undefined,
      (err: unknown) => err,
    );
    joining.set(call.callId, { offerId, hadBridge, done });
    return done;
  }

  /** The router did not give the call to the joined answer (the offer ran out as it was answered): the caller waits again with music. */
  async function unjoin(call: LiveCall, offerId: string): Promise<void> {
    if (call.joinedOffer !== offerId) return;
    call.joinedOffer = undefined;
    const early = joining.get(call.callId);
    joining.delete(call.callId);
    if (early) await early.done;
    await persist(call);
    if (call.state !== 'queued' || call.callback) return;
    log.info({ callId: call.callId, offerId }, 'the joined answer was not assigned; the caller waits again');
    await cc().addToBridge(call.server, hold(call), [chan(call)]);
    await armAnnouncements(call);
  }

  /** An agent's leg that answered but was never joined, on record with why it ended. */
  function unjoinedLeg(call: LiveCall, legId: string, agentId: string, reason: 'dropped' | 'connect_failed'): void {
    const at = now();
    safe('leg record', (async () => {
      await deps.store.legStarted(deps.tenantId, { callId: call.callId, legId, kind: 'agent', party: agentId, at, answered: true });
      await deps.store.legEnded(deps.tenantId, call.callId, legId, at, reason);
    })());
  }

  async function connectAgent(call: LiveCall, agentId: string, offerId: string, waitedMs: number): Promise<void> {
    const legId = call.legs[offerId];
    // The answered phone hung up before the joining (its leg ended on this lane first).
    if (!legId) return connectFailed(call, agentId, offerId, 'agent_left', hadBridgeBeforeAnswer(call));
    // Joined on the answer already (joinOnAnswer), or another answer was joined first.
    const joinedOffer = call.joinedOffer;
    const early = joining.get(call.callId);
    joining.delete(call.callId);
    call.joinedOffer = undefined;
    const otherLeg = joinedOffer !== undefined && joinedOffer !== offerId ? call.legs[joinedOffer] : undefined;
    if (joinedOffer && otherLeg) {
      // The router gave the call to this answer, not to the one joined first: that leg goes.
      delete call.legs[joinedOffer];
      byLeg.delete(otherLeg);
      safe('hang up the other leg', cc().hangup(call.server, otherLeg));
    }
    const at = now();
    closeSpans(call, at);
    call.state = 'connected';
    call.agentId = agentId;
    call.agentOfferId = offerId;
    call.agentLeg = legId;
    call.agentTaskId = call.taskId;
    call.connectedAt = at;
    call.muted = false;
    delete call.legs[offerId];
    byOffer.delete(offerId);
    await Promise.all([persist(call), stopAnnouncing(call.callId)]);
    if (call.callback) {
      // The agent is reserved and on the line: now the customer is dialled.
      await ensureCallBridge(call, agentId, [legId]);
      await dialCallback(call, agentId, legId);
      await deps.store.legStarted(deps.tenantId, { callId: call.callId, legId, kind: 'agent', party: agentId, at, answered: true });
      deps.events.publish('voice.call_connected', { tenantId: deps.tenantId, callId: call.callId, agentId, waitedMs });
      return;
    }
    if (joinedOffer === offerId) {
      // Its outcome is this connection's (a join that failed is a failed connection).
      const err = early?.offerId === offerId ? await early.done : undefined;
      if (err) throw err;
    } else await ensureCallBridge(call, agentId, [chan(call), legId]);
    await Promise.all([
      deps.store.callConnected(deps.tenantId, call.callId, agentId, call.recording ?? null, at),
      deps.store.interactionAnswered(deps.tenantId, call.interactionId, agentId, at),
      deps.store.legStarted(deps.tenantId, { callId: call.callId, legId, kind: 'agent', party: agentId, at, answered: true }),
    ]);
    deps.events.publish('voice.call_connected', { tenantId: deps.tenantId, callId: call.callId, agentId, waitedMs });
  }

  // --- call control -------------------------------------------------------------------------

  function callOfAgentOrThrow(agentId: string): LiveCall {
    const call = [...live.values()].find((c) => c.state === 'connected' && c.agentId === agentId);
    if (!call) throw voiceErrors.noActiveCall(agentId);
    return call;
  }

  /** Customer out of the bridge, music on; the agent hears nothing. */
  async function putOnHold(call: LiveCall): Promise<void> {
    if (call.holdSince !== undefined) return;
    call.holdSince = now();
    await persist(call);
    if (call.bridgeId) await cc().removeFromBridge(call.server, call.bridgeId, [chan(call)]);
    await cc().holdMusic(call.server, chan(call), true);
    deps.events.publish('voice.call_held', { tenantId: deps.tenantId, callId: call.callId, agentId: call.agentId ?? null, held: true });
  }

  async function takeOffHold(call: LiveCall): Promise<void> {
    if (call.holdSince === undefined) return;
    call.holdMs += now() - call.holdSince;
    call.holdSince = undefined;
    await persist(call);
    await cc().holdMusic(call.server, chan(call), false);
    if (call.bridgeId) await cc().addToBridge(call.server, call.bridgeId, [chan(call)]);
    deps.events.publish('voice.call_held', { tenantId: deps.tenantId, callId: call.callId, agentId: call.agentId ?? null, held: false });
  }

  /** The agent leaves the call (a transfer): its leg is hung up without ending the call, its task released. */
  async function agentLeaves(call: LiveCall): Promise<void> {
    const { agentId, agentLeg, agentTaskId } = call;
    if (call.connectedAt !== undefined) {
      call.talkGrossMs += now() - call.connectedAt;
      call.connectedAt = undefined;
    }
    call.agentId = undefined;
    call.agentLeg = undefined;
    call.agentTaskId = undefined;
    call.agentOfferId = undefined;
    call.muted = false;
    if (agentLeg) byLeg.delete(agentLeg);
    await persist(call);
    if (agentLeg) {
      safe('agent leaves', cc().hangup(call.server, agentLeg));
      safe('leg record', deps.store.legEnded(deps.tenantId, call.callId, agentLeg, now(), 'transferred'));
    }
    if (agentId && agentTaskId) await deps.acd.releaseTask(agentId, agentTaskId, { queueId: call.queueId });
  }

  function checkTarget(target: TransferTarget): void {
    if (target.kind === 'number' && !deps.externalEndpoint?.(target.number)) throw voiceErrors.noTrunk();
  }

  async function validTarget(target: TransferTarget): Promise<void> {
    checkTarget(target);
    if (target.kind === 'queue' && !(await deps.queueExists(target.queueId))) throw voiceErrors.unknownTarget('queue', target.queueId);
    if (target.kind === 'agent' && deps.agentExists && !(await deps.agentExists(target.agentId))) throw voiceErrors.unknownTarget('agent', target.agentId);
  }

  /** Rings an outside number for a call; its events come back tagged `x:<call>:<n>`. */
  async function ringExternal(call: LiveCall, number: string, originator: string, ringSeconds = deps.externalRingSeconds ?? 30): Promise<string> {
    const endpoint = deps.externalEndpoint?.(number);
    if (!endpoint) throw voiceErrors.noTrunk();
    call.legSeq += 1;
    const tag = `x:${call.callId}:${call.legSeq}`;
    await persist(call);
    const legId = await cc().ringLeg(call.server, { endpoint, tag, originatorCallId: originator, callerId: call.callerNumber || 'ACD', timeoutSeconds: ringSeconds });
    byLeg.set(legId, call.callId);
    await deps.store.legStarted(deps.tenantId, { callId: call.callId, legId, kind: 'external', party: number, at: now(), answered: false });
    return legId;
  }

  /** A blind transfer: the agent leaves at once and the customer goes to the target. */
  async function blindTransfer(call: LiveCall, target: TransferTarget, by: string): Promise<void> {
    const from = call.agentId;
    call.transfers += 1;
    deps.events.publish('voice.call_transferred', { tenantId: deps.tenantId, callId: call.callId, fromAgentId: from ?? null, target, mode: 'blind', by });
    await putOnHold(call);
    await agentLeaves(call);
    await takeOffHoldWithoutBridge(call);
    switch (target.kind) {
      case 'queue':
        call.state = 'queued';
        return enterQueue(call, { queueId: target.queueId, ...(call.ivr ? { context: call.ivr } : {}) });
      case 'agent':
        call.state = 'queued';
        return enterQueue(call, { queueId: call.queueId, preferredAgentId: target.agentId, preferForSeconds: deps.agentTransferWaitSeconds ?? 30, ...(call.ivr ? { context: call.ivr } : {}) });
      case 'number': {
        // The customer hears music until the outside party answers (or the call returns to the queue).
        await cc().holdMusic(call.server, chan(call), true);
        call.pendingExternal = { number: target.number, legId: await ringExternal(call, target.number, call.callId) };
        await persist(call);
        return;
      }
    }
  }

  /** After a blind transfer the customer is outside the bridge and its music stops before requeueing. */
  async function takeOffHoldWithoutBridge(call: LiveCall): Promise<void> {
    if (call.holdSince === undefined) return;
    call.holdMs += now() - call.holdSince;
    call.holdSince = undefined;
    await persist(call);
    await cc().holdMusic(call.server, chan(call), false);
  }

  /** Consultation: the customer waits on hold while the agent talks to the target. */
  async function startConsult(call: LiveCall, target: TransferTarget): Promise<void> {
    await putOnHold(call);
    call.consultSeq = (call.consultSeq ?? 0) + 1;
    if (target.kind === 'number') {
      call.consult = { target, answered: false };
      await persist(call);
      const legId = await ringExternal(call, target.number, call.agentLeg ?? call.callId);
      call.consult.legId = legId;
      await persist(call);
      return;
    }
    const taskId = `${call.callId}~c${call.consultSeq}`;
    call.consult = { target, taskId, answered: false };
    byTask.set(taskId, call.callId);
    await persist(call);
    await deps.acd.enqueueTask({
      id: taskId, channel: 'voice', interactionId: call.interactionId,
      ...(target.kind === 'queue' ? { queueId: target.queueId } : { queueId: call.queueId, preferredAgentId: target.agentId, preferredForSeconds: deps.agentTransferWaitSeconds ?? 30 }),
    });
  }

  /** The consulted agent answered: it joins the agent in the call's bridge (the customer is on hold, outside). */
  async function consultAnswered(call: LiveCall, agentId: string, offerId: string): Promise<void> {
    const legId = call.legs[offerId];
    if (!call.consult) return;
    if (!legId) {
      // The consulted phone hung up between its answer and the joining: the consulted agent is
      // released, and the agent has the customer back.
      byOffer.delete(offerId);
      call.consult.agentId = agentId;
      call.consult.answered = true;
      return dropConsult(call, true);
    }
    delete call.legs[offerId];
    byOffer.delete(offerId);
    call.consult.legId = legId;
    call.consult.agentId = agentId;
    // Answered (as the call's view says) once the two agents can talk: after the join.
    if (call.bridgeId) await cc().addToBridge(call.server, call.bridgeId, [legId]);
    if (call.consult?.legId === legId) call.consult.answered = true;
    await persist(call);
    await deps.store.legStarted(deps.tenantId, { callId: call.callId, legId, kind: 'consult', party: agentId, at: now(), answered: true });
    deps.events.publish('voice.consult_connected', { tenantId: deps.tenantId, callId: call.callId, agentId: call.agentId ?? null, consultedAgentId: agentId });
  }

  /** Ends a consultation: its leg hung up, its agent released or its waiting task cancelled; the customer back (`unhold`). */
  async function dropConsult(call: LiveCall, unhold: boolean): Promise<void> {
    const c = call.consult;
    if (!c) return;
    call.consult = undefined;
    if (c.taskId) byTask.delete(c.taskId);
    for (const [offerId, legId] of Object.entries(call.legs)) {
      if (call.state !== 'connected') continue;
      delete call.legs[offerId];
      byOffer.delete(offerId);
      safe('stop ringing', cc().hangup(call.server, legId));
    }
    await persist(call);
    if (c.legId) {
      byLeg.delete(c.legId);
      safe('hang up consultation', cc().hangup(call.server, c.legId));
      safe('leg record', deps.store.legEnded(deps.tenantId, call.callId, c.legId, now(), 'consult_ended'));
    }
    if (c.taskId) {
      if (c.answered && c.agentId) safe('release consulted agent', deps.acd.releaseTask(c.agentId, c.taskId, { queueId: call.queueId }));
      else safe('cancel consultation', deps.acd.cancelTask(c.taskId));
    }
    if (unhold && call.state === 'connected') await takeOffHold(call);
  }

  /** Completes an attended transfer: the consulted party stays with the customer, the agent leaves. */
  async function completeTransfer(call: LiveCall, by: string): Promise<void> {
    const c = call.consult;
    if (!c || !c.answered || !c.legId) throw voiceErrors.noConsultation(call.agentId ?? '');
    const from = call.agentId;
    call.consult = undefined;
    call.transfers += 1;
    await agentLeaves(call);
    if (c.agentId && c.taskId) {
      call.agentId = c.agentId;
      call.agentLeg = c.legId;
      call.agentTaskId = c.taskId;
      byTask.set(c.taskId, call.callId);
    } else {
      call.others.push({ legId: c.legId, ...(c.target.kind === 'number' ? { number: c.target.number } : {}) });
    }
    call.connectedAt = now();
    await persist(call);
    await takeOffHold(call);
    if (call.agentId) await deps.store.callConnected(deps.tenantId, call.callId, call.agentId, call.recording ?? null, now());
    deps.events.publish('voice.call_transferred', { tenantId: deps.tenantId, callId: call.callId, fromAgentId: from ?? null, target: c.target, mode: 'attended', by });
  }

  /** Three-way: the customer joins the agent and the consulted party. */
  async function conference(call: LiveCall): Promise<void> {
    const c = call.consult;
    if (!c || !c.answered || !c.legId) throw voiceErrors.noConsultation(call.agentId ?? '');
    call.consult = undefined;
    call.others.push({ legId: c.legId, ...(c.agentId ? { agentId: c.agentId } : {}), ...(c.taskId ? { taskId: c.taskId } : {}), ...(c.target.kind === 'number' ? { number: c.target.number } : {}) });
    await persist(call);
    await takeOffHold(call);
    deps.events.publish('voice.conference_started', { tenantId: deps.tenantId, callId: call.callId, agentId: call.agentId ?? null, parties: call.others.length + 2 });
  }

  // --- media events ------------------------------------------------------------------------

  async function onLegAnswered(e: Extract<CallEvent, { type: 'leg_answered' }>): Promise<void> {
    const ext = EXTERNAL_TAG.exec(e.tag);
    if (ext) {
      const call = live.get(ext[1] as string);
      if (!call) {
        safe('hang up stale leg', cc().hangup(e.server, e.legId));
        return;
      }
      safe('leg record', deps.store.legAnswered(deps.tenantId, call.callId, e.legId, now()));
      if (call.consult?.legId === e.legId) {
        if (call.bridgeId) await cc().addToBridge(call.server, call.bridgeId, [e.legId]);
        if (call.consult?.legId === e.legId) call.consult.answered = true;
        await persist(call);
        return;
      }
      if (call.callback?.dialLeg === e.legId) {
        // The customer answered the callback: joined with the waiting agent.
        call.customerLeg = e.legId;
        call.callback.dialLeg = undefined;
        call.connectedAt = now();
        byLeg.set(e.legId, call.callId);
        await persist(call);
        if (call.bridgeId) await cc().addToBridge(call.server, call.bridgeId, [e.legId]);
        await deps.store.callbackState(deps.tenantId, call.callback.id, { state: 'connected', lastResult: 'answered', callId: call.callId });
        await deps.store.callbackAttempt(deps.tenantId, { callbackId: call.callback.id, attempt: call.callback.attempts, agentId: call.agentId ?? null, at: now(), result: 'answered' });
        await deps.store.callConnected(deps.tenantId, call.callId, call.agentId ?? '', call.recording ?? null, now());
        deps.events.publish('voice.callback_attempted', { tenantId: deps.tenantId, callbackId: call.callback.id, attempt: call.callback.attempts, result: 'answered' });
        return;
      }
      if (call.pendingExternal?.legId === e.legId) {
        // A blind transfer to an outside number was answered: it joins the customer.
        call.others.push({ legId: e.legId, number: call.pendingExternal.number });
        call.pendingExternal = undefined;
        call.state = 'connected';
        call.connectedAt = now();
        if (!call.bridgeId) {
          // Straight from the IVR: the call gets its bridge now.
          call.bridgeId = `call-${call.callId}`;
          await cc().createMixingBridge(call.server, call.bridgeId);
        }
        await persist(call);
        await cc().holdMusic(call.server, chan(call), false);
        await cc().addToBridge(call.server, call.bridgeId, [chan(call), e.legId]);
        return;
      }
      return;
    }
    const callId = byOffer.get(e.tag);
    const call = callId ? live.get(callId) : undefined;
    const wanted = call && (call.state === 'queued' || (call.consult !== undefined && call.legs[e.tag] === e.legId));
    if (!wanted) {
      // Answered after the offer was withdrawn (another agent was faster): nothing to join.
      safe('hang up stale leg', cc().hangup(e.server, e.legId));
      return;
    }
    if (call.state === 'queued') legAnsweredAt.set(e.legId, { ours: now(), ...(e.at !== undefined ? { media: e.at } : {}) });
    const joined = call.state === 'queued' ? joinOnAnswer(call, e.tag, e.legId) : undefined;
    await Promise.all([deps.acd.answerOffer(agentOfOffer(e.tag), e.tag, 'accept'), joined]);
  }

  /** The connected agent's phone hung up by itself within AGENT_DROP_MS of answering a plain inbound call. */
  function droppedAtOnce(call: LiveCall, e: Extract<CallEvent, { type: 'leg_ended' }>, answered: { media?: number; ours: number } | undefined): boolean {
    if (call.state !== 'connected' || call.agentLeg !== e.legId || e.endedBy !== 'remote' || !answered) return false;
    if (call.callback || call.consult || call.pendingExternal || call.others.length > 0) return false;
    // Both times by one clock: the media server's (what the phone did), else ours (when we heard it).
    const took = answered.media !== undefined && e.at !== undefined ? e.at - answered.media : now() - answered.ours;
    return took < AGENT_DROP_MS;
  }

  async function onLegEnded(call: LiveCall, e: Extract<CallEvent, { type: 'leg_ended' }>): Promise<void> {
    if (call.legs[e.tag] === e.legId) {
      legAnsweredAt.delete(e.legId);
      log.info({ offerId: e.tag, cause: e.cause }, 'agent leg ended unanswered');
      delete call.legs[e.tag];
      byLeg.delete(e.legId);
      await persist(call);
      if (call.state === 'queued' && !call.recording && Object.keys(call.legs).length === 0) safe('drop the prepared recording', cc().dropPreparedRecording(call.server, chan(call)));
      // Answered, then hung up before the joining: the answer was accepted, and the assignment
      // that follows finds the leg gone (connectAgent, consultAnswered) and puts things right.
      if (e.answered && byOffer.has(e.tag)) {
        if (call.consult === undefined || call.state !== 'connected') unjoinedLeg(call, e.legId, agentOfOffer(e.tag), 'dropped');
        return;
      }
      if (byOffer.delete(e.tag)) {
        // Not answered (no answer, busy, rejected): a missed offer; the router rings the next agent.
        await deps.acd.answerOffer(agentOfOffer(e.tag), e.tag, 'decline');
      }
      // A joined leg found gone at a restart: the caller waits with music again.
      await unjoin(call, e.tag);
      return;
    }
    byLeg.delete(e.legId);
    const answeredAt = legAnsweredAt.get(e.legId);
    legAnsweredAt.delete(e.legId);
    if (droppedAtOnce(call, e, answeredAt) && call.agentId && call.agentOfferId) {
      // Heard after the assignment, but the same drop as one heard before it (connectFailed
      // keeps the call's bridge: it was made whole, and the next answer joins it).
      log.info({ callId: call.callId, agentId: call.agentId, legId: e.legId }, 'the agent phone hung up at once; the caller goes back to its place');
      return connectFailed(call, call.agentId, call.agentOfferId, 'agent_left', true);
    }
    safe('leg record', deps.store.legEnded(deps.tenantId, call.callId, e.legId, now(), e.answered ? 'hangup' : 'no_answer'));
    if (call.callback?.dialLeg === e.legId) return callbackNotAnswered(call, e.cause);
    if (call.customerLeg === e.legId) {
      // The called-back customer hung up.
      return end(call, e.endedBy === 'media_server' ? 'lost' : 'completed');
    }
    if (call.pendingExternal?.legId === e.legId) {
      // The outside number did not answer: the customer goes back to the queue, keeping the place it had.
      call.pendingExternal = undefined;
      await persist(call);
      await cc().holdMusic(call.server, chan(call), false);
      if (!call.queueId) {
        await playAndWait(call, ['sound:please-try-call-later']);
        return end(call, 'transfer_failed');
      }
      return enterQueue(call, { queueId: call.queueId, waitingSince: call.arrivedAt, ...(call.ivr ? { context: call.ivr } : {}) });
    }
    if (call.consult?.legId === e.legId) {
      // The consulted party hung up (or never answered): the agent has the customer back.
      call.consult.legId = undefined;
      await dropConsult(call, true);
      return;
    }
    const other = call.others.findIndex((p) => p.legId === e.legId);
    if (other >= 0) {
      const [p] = call.others.splice(other, 1);
      if (p?.agentId && p.taskId) safe('release agent', deps.acd.releaseTask(p.agentId, p.taskId, { queueId: call.queueId }));
      await persist(call);
      if (!call.agentLeg && call.others.length === 0) await end(call, 'completed');
      return;
    }
    if (call.state === 'connected' && call.agentLeg === e.legId) {
      // The media server hung up the agent by itself (a shutdown): the customer goes with it.
      if (e.endedBy === 'media_server') return end(call, 'lost');
      if (call.consult?.answered) {
        // The agent hung up during an answered consultation: that completes the transfer.
        await completeTransfer(call, 'agent_hangup');
        return;
      }
      const next = call.others.findIndex((p) => p.agentId);
      if (next >= 0 || call.others.length > 0) {
        // In a conference the call goes on with the others.
        const { agentId, agentTaskId } = call;
        call.agentId = undefined;
        call.agentLeg = undefined;
        call.agentTaskId = undefined;
        if (next >= 0) {
          const [p] = call.others.splice(next, 1);
          call.agentId = p?.agentId;
          call.agentLeg = p?.legId;
          call.agentTaskId = p?.taskId;
        }
        await persist(call);
        if (agentId && agentTaskId) safe('release agent', deps.acd.releaseTask(agentId, agentTaskId, { queueId: call.queueId }));
        return;
      }
      await end(call, 'completed');
    }
  }

  /** A phone's own transfer (SIP REFER): an entry point's number goes to its queue, anything else outside. */
  async function onTransferRequested(e: Extract<CallEvent, { type: 'transfer_requested' }>): Promise<void> {
    const callId = byLeg.get(e.channelId);
    const call = callId ? live.get(callId) : undefined;
    if (!call || call.state !== 'connected' || call.agentLeg !== e.channelId) return;
    const entry = await entries.get(e.destination);
    const target: TransferTarget | undefined = entry?.targetKind === 'queue' ? { kind: 'queue', queueId: entry.targetId } : /^\+?[0-9]{2,32}$/.test(e.destination) ? { kind: 'number', number: e.destination } : undefined;
    if (!target || (target.kind === 'number' && !deps.externalEndpoint?.(target.number))) {
      log.warn({ callId: call.callId, destination: e.destination }, 'phone transfer to an unknown destination refused');
      return;
    }
    log.info({ callId: call.callId, target }, 'phone asked for a transfer');
    await blindTransfer(call, target, `phone:${call.agentId ?? ''}`);
  }

  async function onCallEvent(e: CallEvent): Promise<void> {
    if (e.type !== 'server_up') await restored;
    switch (e.type) {
      case 'call_arrived':
        return serial(e.callId, () => arrived(e));
      case 'leg_answered': {
        const ext = EXTERNAL_TAG.exec(e.tag);
        const callId = ext?.[1] ?? byOffer.get(e.tag) ?? byLeg.get(e.legId);
        return callId ? serial(callId, () => onLegAnswered(e)) : onLegAnswered(e);
      }
      case 'leg_ended': {
        const ext = EXTERNAL_TAG.exec(e.tag);
        const callId = byLeg.get(e.legId) ?? byOffer.get(e.tag) ?? ext?.[1];
        const call = callId ? live.get(callId) : undefined;
        if (!call) return;
        return serial(call.callId, () => onLegEnded(call, e));
      }
      case 'transfer_requested': {
        const callId = byLeg.get(e.channelId);
        if (!callId) return;
        return serial(callId, () => onTransferRequested(e));
      }
      case 'call_ended': {
        const call = live.get(e.callId);
        if (!call) return;
        log.info({ callId: e.callId, cause: e.cause, causeText: e.causeText, endedBy: e.endedBy }, 'caller channel ended');
        // Hung up by the media server itself (a shutdown or restart, an admin): lost, not abandoned or completed.
        if (e.endedBy === 'media_server') return serial(call.callId, () => end(call, 'lost'));
        return serial(call.callId, () => end(call, call.state === 'connected' ? 'completed' : call.state === 'ivr' ? 'ivr_abandoned' : 'abandoned'));
      }
      case 'dtmf': {
        const call = live.get(e.channelId);
        if (!call || call.state !== 'queued' || call.callback) return;
        return serial(call.callId, async () => {
          const rules = await rulesOf(call.queueId);
          if (call.state === 'queued' && rules.callbackKey === e.digit && deps.externalEndpoint?.(call.callerNumber) && /^\+?[0-9]{2,32}$/.test(call.callerNumber)) {
            await requestCallback(call, { number: call.callerNumber, via: 'queue_key' });
          }
        });
      }
      case 'playback_finished':
        playbackWaiters.get(e.playbackId)?.();
        for (const [callId, p] of announcing) if (p.playbackId === e.playbackId) announcing.delete(callId);
        return;
      case 'recording_ended':
        recordingWaiters.get(e.name)?.({ ok: e.ok, durationSeconds: e.durationSeconds });
        return;
      case 'server_up':
        await restored;
        // Suspects from before the reconnection are stale: the reconcile has just looked at everything.
        suspects.delete(e.server);
        await reconcile(e.server, e.startedAt);
        sweepEvery(e.server);
        return;
      default:
        return;
    }
  }

  /** Reads back the calls this tenant had in flight (after a restart or a kill of the process). */
  async function restore(): Promise<number> {
    const records = await deps.liveStore.loadAll();
    for (const r of records) {
      if (live.has(r.callId) || r.state === 'ended') continue;
      track(r as LiveCall);
      // IVR sessions live in the process that ran them: these callers start the flow again.
      if (r.state === 'ivr') ivrToRestart.add(r.callId);
    }
    for (const c of live.values()) if (c.state === 'queued') void armAnnouncements(c).catch(() => undefined);
    if (records.length) log.info({ calls: records.length }, 'live calls read back from Redis');
    return records.length;
  }

  /**
   * After (re)connecting to a media server: events of the time we were away are lost, so compare
   * what we believe with what it holds. Calls whose customer is gone end (as lost when the media
   * server restarted under them); legs that vanished count as unanswered or hung up; customers
   * who are there but unknown to us (we died between their arrival and our first write) are taken
   * in as new arrivals; our own orphaned legs and call bridges are removed.
   */
  async function reconcile(server: string, startedAt: number | undefined): Promise<void> {
    const snap = await cc().snapshot(server);
    const channels = new Map(snap.channels.map((c) => [c.id, c]));
    const adopt: { id: string; kind: 'call' | 'leg'; tag?: string; answered?: boolean }[] = [];
    const report = { kept: 0, ended: 0, adopted: 0, orphans: 0 };
    const gone = (legId: string, tag: string, answered: boolean): Extract<CallEvent, { type: 'leg_ended' }> => ({ type: 'leg_ended', server, legId, tag, answered, cause: 0 });
    for (const call of [...live.values()]) {
      if (call.server !== server) continue;
      await serial(call.callId, async () => {
        if (call.state === 'ended') return;
        // A callback waiting for its turn has no channel yet.
        if (call.callback && !call.customerLeg && !call.agentLeg && !call.callback.dialLeg) {
          report.kept++;
          return;
        }
        if (!channels.has(chan(call)) && !(call.callback && call.agentLeg && channels.has(call.agentLeg))) {
          const lost = startedAt !== undefined && startedAt > call.arrivedAt;
          report.ended++;
          await end(call, lost ? 'lost' : call.state === 'connected' ? 'completed' : call.state === 'ivr' ? 'ivr_abandoned' : 'abandoned');
          return;
        }
        adopt.push({ id: call.callId, kind: 'call' });
        if (call.state === 'ivr' && ivrToRestart.delete(call.callId) && deps.ivr && !call.pendingExternal) {
          const flowId = (await deps.store.getEntry(deps.tenantId, call.entry))?.targetId;
          if (flowId) {
            log.info({ callId: call.callId, flowId }, 'caller was in the IVR when the process stopped; starting the flow again');
            cc().adopt(server, [{ id: call.callId, kind: 'call' }]);
            safe('restart the IVR', deps.ivr.start({ server, callId: call.callId, entry: call.entry, flowId, callerNumber: call.callerNumber, callerName: call.callerName }));
          }
        }
        for (const [offerId, legId] of Object.entries(call.legs)) {
          const leg = channels.get(legId);
          if (leg) adopt.push({ id: legId, kind: 'leg', tag: offerId, answered: leg.answered });
          else await onLegEnded(call, gone(legId, offerId, false));
        }
        const placed = [
          ...(call.consult?.legId ? [call.consult.legId] : []),
          ...(call.pendingExternal ? [call.pendingExternal.legId] : []),
          ...call.others.map((p) => p.legId),
        ];
        for (const legId of placed) {
          const leg = channels.get(legId);
          if (leg) adopt.push({ id: legId, kind: 'leg', tag: leg.arg ?? '', answered: leg.answered });
          else await onLegEnded(call, gone(legId, '', true));
        }
        if (call.state === 'connected' && call.agentLeg) {
          if (!channels.has(call.agentLeg)) await onLegEnded(call, gone(call.agentLeg, call.agentOfferId ?? '', true));
          else adopt.push({ id: call.agentLeg, kind: 'leg', tag: call.agentOfferId ?? '', answered: true });
        }
        if ((call.state as LiveCall['state']) === 'ended') report.ended++;
        else report.kept++;
      });
    }
    cc().adopt(server, adopt);
    const known = new Set(adopt.map((a) => a.id));
    for (const ch of snap.channels) {
      if (known.has(ch.id) || live.has(ch.id) || byLeg.has(ch.id)) continue;
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

  /** Every channel a live call owns (the customer, the legs it rang or placed). */
  function channelsOf(call: LiveCall): string[] {
    return [
      call.callId, chan(call), ...Object.values(call.legs), ...(call.agentLeg ? [call.agentLeg] : []), ...call.others.map((p) => p.legId),
      ...(call.consult?.legId ? [call.consult.legId] : []), ...(call.pendingExternal ? [call.pendingExternal.legId] : []), ...(call.callback?.dialLeg ? [call.callback.dialLeg] : []),
    ];
  }
  /** Whether a call's customer is no longer on the media server (a callback between attempts has no channel yet). */
  function customerGone(call: LiveCall, channels: ReadonlySet<string>): boolean {
    if (call.callback && !call.customerLeg && !call.agentLeg && !call.callback.dialLeg) return false;
    return !channels.has(chan(call)) && !(call.callback && call.agentLeg && channels.has(call.agentLeg));
  }

  /**
   * What the last sweep of each media server found wrong. A sweep acts only on what the sweep
   * before it found too: a call just arriving, a leg being placed or a call ending is briefly out
   * of step with the media server, and must not be mistaken for a leftover.
   */
  const suspects = new Map<string, Set<string>>();
  const sweeping = new Set<string>();
  /**
   * The running check between reconnections (the reconcile's, against events that were not
   * lost): a request the media server did not answer under load, or an event that never came,
   * leaves a channel up that no call owns (a caller who hears music forever, an agent's phone
   * held), a call bridge after its call, or a call whose customer is gone holding its agent. Each
   * is put right after two sweeps in a row find it: leftovers hung up or destroyed, calls ended,
   * lost legs ended as the reconcile ends them.
   */
  async function sweep(server: string): Promise<{ ended: number; legs: number; channels: number; bridges: number }> {
    const report = { ended: 0, legs: 0, channels: 0, bridges: 0 };
    if (sweeping.has(server)) return report;
    sweeping.add(server);
    try {
      await restored;
      const snap = await cc().snapshot(server);
      // Whether a channel is still there: any channel of the server, ours or not.
      const channels = new Set([...snap.channels.map((c) => c.id), ...(snap.allChannelIds ?? [])]);
      const before = suspects.get(server) ?? new Set<string>();
      const found = new Set<string>();
      suspects.set(server, found);
      const confirmed = (key: string): boolean => {
        found.add(key);
        return before.has(key);
      };
      const owned = new Set<string>();
      for (const call of [...live.values()]) {
        if (call.server !== server) continue;
        for (const id of channelsOf(call)) owned.add(id);
        const customer = chan(call);
        if (customerGone(call, channels)) {
          if (!confirmed(`call:${call.callId}`)) continue;
          await serial(call.callId, async () => {
            if (live.get(call.callId) !== call || chan(call) !== customer || !customerGone(call, channels)) return;
            log.warn({ callId: call.callId, state: call.state }, 'the caller left without our hearing it; ending the call');
            report.ended++;
            await end(call, call.state === 'connected' ? 'completed' : call.state === 'ivr' ? 'ivr_abandoned' : 'abandoned');
          });
          continue;
        }
        const lost: { legId: string; tag: string; answered: boolean }[] = [
          ...Object.entries(call.legs).map(([offerId, legId]) => ({ legId, tag: offerId, answered: false })),
          ...(call.state === 'connected' && call.agentLeg ? [{ legId: call.agentLeg, tag: call.agentOfferId ?? '', answered: true }] : []),
          ...[...(call.consult?.legId ? [call.consult.legId] : []), ...call.others.map((p) => p.legId)].map((legId) => ({ legId, tag: '', answered: true })),
        ].filter((l) => !channels.has(l.legId) && confirmed(`leg:${l.legId}`));
        if (lost.length === 0) continue;
        await serial(call.callId, async () => {
          for (const l of lost) {
            if (live.get(call.callId) !== call || !channelsOf(call).includes(l.legId)) continue;
            log.warn({ callId: call.callId, legId: l.legId }, 'a leg ended without our hearing it');
            report.legs++;
            await onLegEnded(call, { type: 'leg_ended', server, legId: l.legId, tag: l.tag, answered: l.answered, cause: 0 });
          }
        });
      }
      for (const ch of snap.channels) {
        if (ch.kind === 'other' || owned.has(ch.id) || live.has(ch.id) || byLeg.has(ch.id) || !confirmed(`channel:${ch.id}`)) continue;
        log.warn({ channelId: ch.id, kind: ch.kind }, 'no call owns this channel; hanging it up');
        report.channels++;
        safe('hang up a leftover channel', cc().hangup(server, ch.id));
      }
      for (const b of snap.bridges) {
        if (!b.id.startsWith('call-') || live.has(b.id.slice('call-'.length)) || !confirmed(`bridge:${b.id}`)) continue;
        log.warn({ bridgeId: b.id }, 'no call owns this bridge; destroying it');
        report.bridges++;
        safe('destroy a leftover bridge', cc().destroyBridge(server, b.id));
      }
      if (report.ended + report.legs + report.channels + report.bridges > 0) log.warn({ server, ...report }, 'swept what calls left behind on the media server');
      return report;
    } finally {
      sweeping.delete(server);
    }
  }
  const sweepTimers = new Map<string, NodeJS.Timeout>();
  function sweepEvery(server: string): void {
    if (!deps.sweepEveryMs || sweepTimers.has(server)) return;
    const timer = setInterval(() => {
      sweep(server).catch((err: unknown) => log.warn({ err, server }, 'could not sweep the media server'));
    }, deps.sweepEveryMs);
    timer.unref();
    sweepTimers.set(server, timer);
  }

  async function getCallback(id: string) {
    const r = await deps.store.getCallback(deps.tenantId, id);
    if (!r) throw voiceErrors.callbackNotFound(id);
    const iso = (v: unknown): string | null => (v instanceof Date ? v.toISOString() : v == null ? null : String(v));
    const row = r.row;
    return {
      id: String(row.id), interactionId: String(row.interaction_id), originCallId: row.origin_call_id == null ? null : String(row.origin_call_id), queueId: String(row.queue_id), number: String(row.number),
      requestedAt: iso(row.requested_at), waitingSince: iso(row.waiting_since), state: String(row.state), attempts: Number(row.attempts), maxAttempts: Number(row.max_attempts),
      nextAttemptAt: iso(row.next_attempt_at), lastResult: row.last_result == null ? null : String(row.last_result), agentId: row.agent_id == null ? null : String(row.agent_id),
      mergedCallId: row.merged_call_id == null ? null : String(row.merged_call_id), endedAt: iso(row.ended_at),
      history: r.attempts.map((a) => ({ attempt: Number(a.attempt), agentId: a.agent_id == null ? null : String(a.agent_id), startedAt: iso(a.started_at), endedAt: iso(a.ended_at), result: a.result == null ? null : String(a.result) })),
    };
  }

  /** Runs a call-control step on the agent's current call, on the call's lane, and audits it. */
  async function onAgentCall<T>(agentId: string, action: string, by: Actor, fn: (call: LiveCall) => Promise<T>, details?: Record<string, unknown>): Promise<T> {
    await restored;
    const first = callOfAgentOrThrow(agentId);
    const result = await serial(first.callId, async () => {
      const call = live.get(first.callId);
      if (!call || call.state !== 'connected' || call.agentId !== agentId) throw voiceErrors.noActiveCall(agentId);
      return fn(call);
    });
    await deps.audit({ tenantId: deps.tenantId, actor: by.name, action: `call.${action}`, target: first.callId, ...(by.requestId ? { requestId: by.requestId } : {}), details: { agentId, ...details } });
    return result;
  }

  /** The agent's current call, as the desktop shows it. */
  function view(call: LiveCall) {
    return {
      callId: call.callId, interactionId: call.interactionId, state: call.state, queueId: call.queueId || null, agentId: call.agentId ?? null,
      caller: { number: call.callerNumber, name: call.callerName }, onHold: call.holdSince !== undefined, muted: call.muted === true, transfers: call.transfers,
      consultation: call.consult ? { target: call.consult.target, answered: call.consult.answered, agentId: call.consult.agentId ?? null } : null,
      parties: call.others.map((p) => ({ agentId: p.agentId ?? null, number: p.number ?? null })),
      recording: call.recording ?? null,
    };
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
    /** Looks for what calls left behind on a media server now (also run every `sweepEveryMs`). */
    sweep,
    /** Stops the periodic sweeps. */
    close(): void {
      for (const t of sweepTimers.values()) clearInterval(t);
      sweepTimers.clear();
    },
    /** One live call as the voice service holds it (for call control and supervision). */
    liveCall: (callId: string): Readonly<LiveCall> | undefined => live.get(callId),
    /** The live call an agent is connected to, if any. */
    liveCallOfAgent: (agentId: string): Readonly<LiveCall> | undefined => [...live.values()].find((c) => c.state === 'connected' && c.agentId === agentId),

    // Call control of the agent's current call.
    currentCall: async (agentId: string) => {
      await restored;
      return view(callOfAgentOrThrow(agentId));
    },
    hold: (agentId: string, on: boolean, by: Actor) =>
      onAgentCall(agentId, on ? 'hold' : 'unhold', by, async (call) => {
        if (call.consult) throw voiceErrors.consultationInProgress(agentId);
        if (on && call.holdSince !== undefined) throw voiceErrors.alreadyInState(agentId, 'on hold');
        if (!on && call.holdSince === undefined) throw voiceErrors.alreadyInState(agentId, 'not on hold');
        await (on ? putOnHold(call) : takeOffHold(call));
        return view(call);
      }),
    mute: (agentId: string, on: boolean, by: Actor) =>
      onAgentCall(agentId, on ? 'mute' : 'unmute', by, async (call) => {
        if (!call.agentLeg) throw voiceErrors.noActiveCall(agentId);
        if ((call.muted === true) === on) throw voiceErrors.alreadyInState(agentId, on ? 'muted' : 'not muted');
        await cc().muteChannel(call.server, call.agentLeg, on);
        call.muted = on;
        await persist(call);
        return view(call);
      }),
    hangup: (agentId: string, by: Actor) =>
      onAgentCall(agentId, 'hangup', by, async (call) => {
        await end(call, 'completed');
        return { callId: call.callId, ended: true };
      }),
    transfer: async (agentId: string, target: TransferTarget, by: Actor) => {
      await validTarget(target);
      return onAgentCall(agentId, 'transfer', by, async (call) => {
        if (call.consult) throw voiceErrors.consultationInProgress(agentId);
        if (target.kind === 'agent' && target.agentId === agentId) throw voiceErrors.transferToSelf(agentId);
        await blindTransfer(call, target, by.name);
        return { callId: call.callId, transferred: true, target };
      }, { target });
    },
    consult: async (agentId: string, target: TransferTarget, by: Actor) => {
      await validTarget(target);
      return onAgentCall(agentId, 'consult', by, async (call) => {
        if (call.consult) throw voiceErrors.consultationInProgress(agentId);
        if (target.kind === 'agent' && target.agentId === agentId) throw voiceErrors.transferToSelf(agentId);
        await startConsult(call, target);
        return view(call);
      }, { target });
    },
    completeTransfer: (agentId: string, by: Actor) =>
      onAgentCall(agentId, 'transfer_complete', by, async (call) => {
        await completeTransfer(call, by.name);
        return { callId: call.callId, transferred: true };
      }),
    cancelConsult: (agentId: string, by: Actor) =>
      onAgentCall(agentId, 'consult_cancel', by, async (call) => {
        if (!call.consult) throw voiceErrors.noConsultation(agentId);
        await dropConsult(call, true);
        return view(call);
      }),
    conference: (agentId: string, by: Actor) =>
      onAgentCall(agentId, 'conference', by, async (call) => {
        await conference(call);
        return view(call);
      }),

    /** A callback's next attempt is due (the delayed job). */
    callbackDue: async (callbackId: string): Promise<void> => {
      await restored;
      return serial(callbackId, () => callbackDue(callbackId));
    },
    /** Asks for a callback from outside a call (an integration, a chat asking to be called): it queues like a caller would. */
    async scheduleCallbackFor(o: { queueId: string; number: string; interactionId?: string; priority?: number }, by: Actor) {
      await restored;
      if (!(await deps.queueExists(o.queueId))) throw voiceErrors.unknownQueue(o.queueId);
      if (!deps.externalEndpoint?.(o.number)) throw voiceErrors.noTrunk();
      const server = deps.defaultServer?.();
      if (!server) throw voiceErrors.noMediaServer();
      const pending = [...live.values()].find((c) => c.callback?.number === o.number && (c.state === 'queued' || c.state === 'scheduled'));
      if (pending) throw voiceErrors.callbackPending(o.number, pending.callId);
      const at = now();
      const base = `api${at.toString(36)}${Math.floor(at % 1000)}${o.number.slice(-4)}`;
      const interactionId = o.interactionId ?? base;
      await deps.store.interactionStarted(deps.tenantId, { id: interactionId, channel: 'voice', customerNumber: o.number, entry: null, at });
      const origin: LiveCall = {
        server, callId: base, interactionId, direction: 'inbound', entry: '', callerNumber: o.number, callerName: '', queueId: o.queueId, arrivedAt: at, state: 'ivr',
        taskId: base, taskSeq: 0, legs: {}, others: [], legSeq: 0, queueMs: 0, talkGrossMs: 0, holdMs: 0, transfers: 0, ...(o.priority !== undefined ? { priority: o.priority } : {}),
      };
      const id = `cb-${base}`;
      const cb: LiveCall = { ...origin, callId: id, taskId: id, direction: 'callback', waitingSince: at, callback: { id, number: o.number, attempts: 0, maxAttempts: deps.callbackAttempts ?? 3, requestedAt: at } };
      await deps.store.callbackCreated(deps.tenantId, { id, interactionId, originCallId: null, queueId: o.queueId, number: o.number, requestedAt: at, waitingSince: at, maxAttempts: cb.callback!.maxAttempts });
      await deps.store.callArrived({ tenantId: deps.tenantId, id, server, entry: '', callerNumber: o.number, queueId: o.queueId, at, interactionId, direction: 'callback' });
      track(cb);
      await persist(cb);
      await serial(id, () => enterQueue(cb, { queueId: o.queueId, ...(o.priority !== undefined ? { priority: o.priority } : {}), waitingSince: at }));
      deps.events.publish('voice.callback_requested', { tenantId: deps.tenantId, callbackId: id, interactionId, queueId: o.queueId, via: 'api' });
      await deps.audit({ tenantId: deps.tenantId, actor: by.name, action: 'callback.create', target: id, ...(by.requestId ? { requestId: by.requestId } : {}), details: { queueId: o.queueId } });
      return getCallback(id);
    },
    getCallback,
    async listCallbacks(state: string | undefined, limit: number) {
      const rows = await deps.store.listCallbacks(deps.tenantId, state, limit);
      return { items: rows.map((r) => ({ id: String(r.id), queueId: String(r.queue_id), number: String(r.number), state: String(r.state), attempts: Number(r.attempts), requestedAt: r.requested_at instanceof Date ? r.requested_at.toISOString() : String(r.requested_at) })) };
    },
    async cancelCallback(id: string, by: Actor): Promise<void> {
      await restored;
      const call = live.get(id);
      if (!call?.callback || (call.state !== 'queued' && call.state !== 'scheduled')) throw voiceErrors.callbackNotPending(id);
      await serial(id, () => end(call, 'cancelled'));
      await deps.audit({ tenantId: deps.tenantId, actor: by.name, action: 'callback.cancel', target: id, ...(by.requestId ? { requestId: by.requestId } : {}) });
    },
    async listVoicemails(mailbox: string | undefined, limit: number) {
      const rows = await deps.store.listVoicemails(deps.tenantId, mailbox, limit);
      return {
        items: rows.map((r) => ({
          id: String(r.id), interactionId: String(r.interaction_id), callId: String(r.call_id), mailbox: String(r.mailbox), callerNumber: r.caller_number == null ? null : String(r.caller_number),
          durationMs: r.duration_ms == null ? null : Number(r.duration_ms), createdAt: r.created_at instanceof Date ? r.created_at.toISOString() : String(r.created_at),
          context: r.context == null ? null : typeof r.context === 'string' ? JSON.parse(r.context) : r.context,
        })),
      };
    },
    /** A voicemail's audio, from the media server that recorded it; every access is audited. */
    async voicemailAudio(id: string, by: Actor) {
      const r = await deps.store.getVoicemail(deps.tenantId, id);
      if (!r) throw voiceErrors.voicemailNotFound(id);
      let file: { contentType: string; body: Buffer };
      try {
        file = await cc().fetchRecording(String(r.server), String(r.recording));
      } catch (err) {
        if ((err as { kind?: string }).kind === 'not_found') throw voiceErrors.voicemailNotFound(id);
        throw err;
      }
      await deps.audit({ tenantId: deps.tenantId, actor: by.name, action: 'voicemail.fetch', target: id, ...(by.requestId ? { requestId: by.requestId } : {}) });
      return file;
    },

    async putEntryPoint(entry: EntryPoint): Promise<EntryPoint> {
      if (entry.targetKind === 'queue' && !(await deps.queueExists(entry.targetId))) throw voiceErrors.unknownQueue(entry.targetId);
      if (entry.targetKind === 'ivr' && !(await deps.flowExists?.(entry.targetId))) throw voiceErrors.unknownFlow(entry.targetId);
      await deps.store.putEntry(deps.tenantId, entry);
      entries.invalidate(entry.entry);
      return entry;
    },
    async listEntryPoints() {
      return { items: await deps.store.listEntries(deps.tenantId) };
    },
    async deleteEntryPoint(entry: string): Promise<void> {
      const deleted = await deps.store.deleteEntry(deps.tenantId, entry);
      entries.invalidate(entry);
      if (!deleted) throw voiceErrors.entryNotFound(entry);
    },
    async getCall(id: string) {
      const r = await deps.store.getCall(deps.tenantId, id);
      if (!r) throw voiceErrors.callNotFound(id);
      const iso = (v: unknown): string | null => (v instanceof Date ? v.toISOString() : v == null ? null : String(v));
      const num = (v: unknown): number | null => (v == null ? null : Number(v));
      const legs = await deps.store.legsOf(deps.tenantId, id);
      return {
        id: String(r.id), interactionId: r.interaction_id == null ? null : String(r.interaction_id), direction: String(r.direction ?? 'inbound'),
        entry: String(r.entry), queueId: r.queue_id == null ? null : String(r.queue_id), agentId: r.agent_id == null ? null : String(r.agent_id),
        arrivedAt: iso(r.arrived_at), answeredAt: iso(r.answered_at), endedAt: iso(r.ended_at), outcome: r.outcome == null ? null : String(r.outcome),
        recording: r.recording == null ? null : String(r.recording), live: live.has(String(r.id)),
        queueMs: num(r.queue_ms), talkMs: num(r.talk_ms), holdMs: num(r.hold_ms), transfers: Number(r.transfers ?? 0),
        ivr: r.ivr_context == null ? null : typeof r.ivr_context === 'string' ? JSON.parse(r.ivr_context) : r.ivr_context,
        legs: legs.map((l) => ({ legId: String(l.leg_id), kind: String(l.kind), party: l.party == null ? null : String(l.party), startedAt: iso(l.started_at), answeredAt: iso(l.answered_at), endedAt: iso(l.ended_at), endReason: l.end_reason == null ? null : String(l.end_reason) })),
      };
    },
    async getInteraction(id: string) {
      const r = await deps.store.getInteraction(deps.tenantId, id);
      if (!r) throw voiceErrors.interactionNotFound(id);
      const iso = (v: unknown): string | null => (v instanceof Date ? v.toISOString() : v == null ? null : String(v));
      const calls = await deps.store.callsOfInteraction(deps.tenantId, id);
      return {
        id: String(r.id), channel: String(r.channel), customerNumber: r.customer_number == null ? null : String(r.customer_number), entry: r.entry == null ? null : String(r.entry),
        firstQueueId: r.first_queue_id == null ? null : String(r.first_queue_id), lastQueueId: r.last_queue_id == null ? null : String(r.last_queue_id),
        lastAgentId: r.last_agent_id == null ? null : String(r.last_agent_id), startedAt: iso(r.started_at), firstAnsweredAt: iso(r.first_answered_at), endedAt: iso(r.ended_at),
        queueMs: Number(r.queue_ms), talkMs: Number(r.talk_ms), holdMs: Number(r.hold_ms), transfers: Number(r.transfers), outcome: r.outcome == null ? null : String(r.outcome),
        context: r.context == null ? null : typeof r.context === 'string' ? JSON.parse(r.context) : r.context,
        calls: calls.map((c) => ({ id: String(c.id), direction: String(c.direction), outcome: c.outcome == null ? null : String(c.outcome), agentId: c.agent_id == null ? null : String(c.agent_id) })),
      };
    },
  };
}

export type VoiceService = ReturnType<typeof createVoiceService>;
export type { PartyLeg, TransferTarget };

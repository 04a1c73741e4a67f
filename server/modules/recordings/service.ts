import { randomUUID } from 'node:crypto';
import { isAppError } from '../../domain/errors.js';
import type { Principal } from '../../domain/principal.js';
import {
  DEFAULT_RECORDING_POLICY, isPaused, pciClose, pciPause, pciResume, retentionPlan, shouldRecord,
  type RecordingPolicy, type RetentionGroup,
} from '../../domain/recording.js';
import type { AuditLog } from '../../infra/audit.js';
import type { Clock } from '../../infra/clock.js';
import type { EventBus } from '../../infra/events.js';
import type { JobRuntime } from '../../infra/jobs/runtime.js';
import type { Log } from '../../infra/logger.js';
import type { CallControl } from '../../telephony/index.js';
import type { BridgedCall, CallRecorder } from '../voice/service.js';
import { recordingErrors } from './errors.js';
import type { RecordingFilter, RecordingRow, RecordingState, RecordingStore, RetentionRunRow } from './store.js';
import './events.js';

export interface RecordingDeps {
  store: RecordingStore;
  /** Mute, delete and fetch recordings on the media server; absent without one. */
  calls: Pick<CallControl, 'muteRecording' | 'deleteRecording' | 'fetchRecording'> | undefined;
  /** A queue's recording policy (undefined: the queue has none, or does not exist). */
  policyOf(queueId: string): Promise<RecordingPolicy | undefined>;
  /** Queues whose recordings have their own retention. */
  retentionOverrides(): Promise<{ queueId: string; days: number }[]>;
  /** The call as the voice service knows it, or undefined for an unknown call. */
  callInfo(callId: string): Promise<{ agentId: string | null } | undefined>;
  /** The agent record of a user login, for "the handling agent". */
  agentIdForUser(userId: string): Promise<string | undefined>;
  jobs: Pick<JobRuntime, 'enqueue'>;
  audit: AuditLog;
  events: EventBus;
  clock: Clock;
  log: Log;
  tenantId: number;
  settings: { retentionDays: number; retentionEveryMinutes: number };
}

export interface Actor {
  principal: Principal;
  requestId: string;
}

/** The payload of the retention job (declared in server/infra/jobs/definitions.ts). */
export interface RetentionJob {
  tenantId: number;
  trigger: 'schedule' | 'manual';
  /** Manual runs carry the id the API handed out; scheduled runs use the job's id. */
  runId?: string;
  requestedBy?: string;
}

/** Retention deletes in batches of this many, reporting progress after each. */
const BATCH = 100;
/** Optimistic writes of the PCI windows are retried this often before answering 409. */
const ATTEMPTS = 3;

const iso = (t: number | null): string | null => (t === null ? null : new Date(t).toISOString());

/**
 * A `Range: bytes=…` header against a body of `size` bytes: the inclusive byte span, or
 * `unsatisfiable` (answered 416). Forms: `a-b`, `a-` (to the end), `-n` (the last n bytes).
 */
export function byteRange(header: string, size: number): { start: number; end: number } | 'unsatisfiable' {
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) return 'unsatisfiable';
  const start = m[1] === '' ? Math.max(0, size - Number(m[2])) : Number(m[1]);
  const end = m[1] === '' || m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  if (start > end || start >= size) return 'unsatisfiable';
  return { start, end };
}

function view(r: RecordingRow) {
  return {
    name: r.name, callId: r.callId, server: r.server, queueId: r.queueId, agentId: r.agentId, agents: r.agents, customerNumber: r.customerNumber,
    startedAt: iso(r.startedAt), endedAt: iso(r.endedAt), durationMs: r.durationMs, mediaSeconds: r.mediaSeconds, state: r.state,
    paused: r.state === 'recording' && isPaused(r.pauses), pauses: r.pauses, deletedAt: iso(r.deletedAt), deletedReason: r.deletedReason,
    url: r.state === 'deleted' ? null : `/v1/calls/${encodeURIComponent(r.callId)}/recording`,
  };
}

function runView(r: RetentionRunRow) {
  return {
    id: r.id, trigger: r.trigger, requestedBy: r.requestedBy, requestedAt: iso(r.requestedAt), startedAt: iso(r.startedAt), finishedAt: iso(r.finishedAt),
    state: r.state, deleted: r.deleted, failed: r.failed, remaining: r.remaining, plan: r.plan, error: r.error,
  };
}

const cursorOf = (r: RecordingRow): string => Buffer.from(`${r.startedAt}:${r.name}`).toString('base64url');
function parseCursor(c: string): { startedAt: number; name: string } | undefined {
  const m = /^(\d{1,15}):(.{1,128})$/.exec(Buffer.from(c, 'base64url').toString('utf8'));
  return m ? { startedAt: Number(m[1]), name: m[2] as string } : undefined;
}

/**
 * Call recordings: the recording policy of each queue (the voice service asks at bridge time),
 * their metadata, PCI pause and resume (the media server writes silence while paused, so the
 * file keeps the call's timeline), playback with byte ranges to allowed roles (each access
 * audited), listing for QA, and the retention policy that deletes old recordings.
 */
export function createRecordingService(deps: RecordingDeps) {
  const { store, tenantId } = deps;
  const log = deps.log.child({ module: 'recordings' });
  const now = (): number => deps.clock.now();
  /** Recording rows still being inserted, by recording name and by call id. */
  const pendingRows = new Map<string, Promise<void>>();

  async function policyFor(queueId: string): Promise<RecordingPolicy> {
    try {
      return (await deps.policyOf(queueId)) ?? DEFAULT_RECORDING_POLICY;
    } catch (err) {
      // Failing open to "record" is the safe side for compliance; the caller is not kept waiting.
      log.warn({ err, queueId }, 'could not read the queue recording policy; recording the call');
      return DEFAULT_RECORDING_POLICY;
    }
  }

  /** Only the agent on the call, a supervisor or an admin may pause or resume its recording. */
  async function assertHandles(p: Principal, callId: string, agentId: string | null): Promise<void> {
    if (p.roles.includes('admin') || p.roles.includes('supervisor')) return;
    const own = p.kind === 'user' ? await deps.agentIdForUser(p.id) : undefined;
    if (own === undefined || agentId === null || own !== agentId) throw recordingErrors.notYourCall(callId);
  }

  async function pciChange(kind: 'pause' | 'resume', callId: string, by: Actor) {
    const call = await deps.callInfo(callId);
    if (!call) throw recordingErrors.callNotFound(callId);
    await assertHandles(by.principal, callId, call.agentId);
    await pendingRows.get(callId);
    for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
      const rec = await store.latestForCall(tenantId, callId);
      if (!rec || rec.state !== 'recording') throw recordingErrors.notRecording(callId);
      if (!deps.calls) throw recordingErrors.noMediaServer();
      const offsetMs = Math.max(0, now() - rec.startedAt);
      const next = kind === 'pause' ? pciPause(rec.pauses, offsetMs) : pciResume(rec.pauses, offsetMs);
      if (!next.ok) throw next.code === 'already_paused' ? recordingErrors.alreadyPaused(callId) : recordingErrors.notPaused(callId);
      // The versioned write decides between concurrent requests; the media server follows it.
      if (!(await store.setPauses(tenantId, rec.name, rec.version, next.windows, true))) continue;
      try {
        await deps.calls.muteRecording(rec.server, rec.name, kind === 'pause');
      } catch (err) {
        // Undo the bookkeeping so it keeps matching what the media server does.
        await store.setPauses(tenantId, rec.name, rec.version + 1, rec.pauses, false).catch((e: unknown) => log.error({ err: e, name: rec.name }, 'could not undo a PCI window'));
        if (isAppError(err) && err.kind === 'not_found') throw recordingErrors.notRecording(callId);
        throw err;
      }
      const mark = kind === 'pause' ? next.windows[next.windows.length - 1]!.startMs : next.windows[next.windows.length - 1]!.endMs!;
      await deps.audit({ tenantId, actor: by.principal.name, action: `recording.${kind}`, target: callId, requestId: by.requestId, details: { recording: rec.name, offsetMs: mark } });
      deps.events.publish(kind === 'pause' ? 'recording.paused' : 'recording.resumed', { tenantId, name: rec.name, callId, offsetMs: mark, by: by.principal.name });
      log.info({ callId, recording: rec.name, offsetMs: mark }, kind === 'pause' ? 'recording paused (PCI)' : 'recording resumed');
      return { callId, recording: rec.name, paused: kind === 'pause', offsetMs: mark, pauses: next.windows };
    }
    throw recordingErrors.busy(callId);
  }

  async function deleteOne(c: { name: string; callId: string; server: string; queueId: string | null; startedAt: number }, g: RetentionGroup, runId: string, at: number): Promise<'deleted' | 'gone' | 'failed'> {
    try {
      if (!deps.calls) throw recordingErrors.noMediaServer();
      await deps.calls.deleteRecording(c.server, c.name);
    } catch (err) {
      log.warn({ err, name: c.name, server: c.server }, 'retention could not delete a recording on its media server; it stays for the next run');
      return 'failed';
    }
    const reason = `retention: older than ${g.days} days (${g.kind === 'queues' ? `queue ${c.queueId}` : 'installation default'})`;
    // Another run may have deleted it meanwhile: only the one that marks it logs it.
    if (!(await store.markDeleted(tenantId, c.name, at, reason))) return 'gone';
    await deps.audit({ tenantId, actor: 'retention', action: 'recording.delete', target: c.name, details: { callId: c.callId, queueId: c.queueId, startedAt: iso(c.startedAt), reason, runId } });
    deps.events.publish('recording.deleted', { tenantId, name: c.name, callId: c.callId, reason });
    return 'deleted';
  }

  /** The media server finished (or failed) writing a recording; names that are not ours are ignored. */
  async function recordingEnded(e: { server: string; name: string; ok: boolean; durationSeconds: number | undefined }): Promise<void> {
    await pendingRows.get(e.name);
    if (!(await store.mediaFinished(tenantId, e.server, e.name, e.ok, e.durationSeconds))) return;
    if (!e.ok) {
      // Read back only for the report: a finished recording needs nothing more.
      const rec = await store.get(tenantId, e.name);
      if (!rec) return;
      log.error({ name: e.name, callId: rec.callId, server: e.server }, 'the media server failed to write a recording');
      deps.events.publish('recording.ended', { tenantId, name: rec.name, callId: rec.callId, state: 'failed' });
    }
  }

  const recorder: CallRecorder = {
    failed: (call) => recordingEnded({ server: call.server, name: call.name, ok: false, durationSeconds: undefined }),
    async willRecord(call) {
      return shouldRecord(await policyFor(call.queueId), call.callId);
    },
    async begin(call: BridgedCall): Promise<string | undefined> {
      const policy = await policyFor(call.queueId);
      if (!shouldRecord(policy, call.callId)) {
        log.info({ callId: call.callId, queueId: call.queueId, mode: policy.mode }, 'call not recorded by its queue policy');
        return undefined;
      }
      const name = `call-${call.callId}`;
      // The media server starts recording without waiting for the row (every millisecond before
      // the recording starts is missing from it); whatever reads the row back — the end, the
      // media server's finish, a PCI pause — waits for the insert first.
      const stored = store
        .insert(tenantId, { name, callId: call.callId, server: call.server, queueId: call.queueId, agentId: call.agentId, customerNumber: call.callerNumber, startedAt: call.at })
        .then(
          () => deps.events.publish('recording.started', { tenantId, name, callId: call.callId, queueId: call.queueId, agentId: call.agentId }),
          // The call is recorded anyway; without its row it cannot be paused or found by QA.
          (err: unknown) => log.error({ err, callId: call.callId, name }, 'could not store the recording metadata'),
        )
        .finally(() => {
          if (pendingRows.get(name) === stored) pendingRows.delete(name);
          if (pendingRows.get(call.callId) === stored) pendingRows.delete(call.callId);
        });
      pendingRows.set(name, stored);
      pendingRows.set(call.callId, stored);
      return name;
    },

    async end(call: { server: string; callId: string; recording: string; at: number }): Promise<void> {
      // Never fails the caller: the voice service is cleaning up a call when it tells us.
      try {
        await pendingRows.get(call.recording);
        for (let attempt = 0; attempt < ATTEMPTS; attempt++) {
          const rec = await store.get(tenantId, call.recording);
          if (!rec || rec.endedAt !== null) return;
          // A pause still open when the call ends lasts to the end of the file.
          if (await store.ended(tenantId, rec.name, rec.version, call.at, pciClose(rec.pauses, Math.max(0, call.at - rec.startedAt)))) {
            if (rec.state === 'recording') deps.events.publish('recording.ended', { tenantId, name: rec.name, callId: rec.callId, state: 'done' });
            return;
          }
        }
        log.warn({ callId: call.callId, name: call.recording }, 'could not record the end of a recording (it kept changing)');
      } catch (err) {
        log.error({ err, callId: call.callId, name: call.recording }, 'could not record the end of a recording');
      }
    },
  };

  return {
    ...recorder,

    recordingEnded,

    pause: (callId: string, by: Actor) => pciChange('pause', callId, by),
    resume: (callId: string, by: Actor) => pciChange('resume', callId, by),

    async list(q: { queueId?: string; agentId?: string; callId?: string; state?: RecordingState; from?: string; to?: string; limit?: number; after?: string }) {
      const from = q.from === undefined ? undefined : Date.parse(q.from);
      const to = q.to === undefined ? undefined : Date.parse(q.to);
      if (from !== undefined && to !== undefined && from > to) throw recordingErrors.badPeriod();
      // A call's recording that has just started is listed once its row is in.
      if (q.callId !== undefined) await pendingRows.get(q.callId);
      const before = q.after === undefined ? undefined : parseCursor(q.after);
      if (q.after !== undefined && !before) throw recordingErrors.badCursor();
      const limit = q.limit ?? 50;
      const f: RecordingFilter = { limit };
      if (q.queueId !== undefined) f.queueId = q.queueId;
      if (q.agentId !== undefined) f.agentId = q.agentId;
      if (q.callId !== undefined) f.callId = q.callId;
      if (q.state !== undefined) f.state = q.state;
      if (from !== undefined) f.from = from;
      if (to !== undefined) f.to = to;
      if (before) f.before = before;
      const rows = await store.list(tenantId, f);
      const page = rows.slice(0, limit);
      return { items: page.map(view), next: rows.length > limit ? cursorOf(page[page.length - 1]!) : null };
    },

    async get(name: string) {
      await pendingRows.get(name);
      const r = await store.get(tenantId, name);
      if (!r) throw recordingErrors.recordingNotFound(name);
      return view(r);
    },

    /**
     * A call's recording, whole or one byte range, fetched from the media server that made it.
     * Every access is audited: recordings hold personal data.
     */
    async stream(callId: string, range: string | undefined, by: { name: string; requestId: string }) {
      await pendingRows.get(callId);
      const rec = await store.latestForCall(tenantId, callId);
      if (!rec) throw recordingErrors.recordingNotFound(callId);
      if (rec.state === 'deleted') throw recordingErrors.recordingDeleted(callId, iso(rec.deletedAt) ?? '', rec.deletedReason ?? 'deleted');
      if (!deps.calls) throw recordingErrors.noMediaServer();
      let file: { contentType: string; body: Buffer };
      try {
        file = await deps.calls.fetchRecording(rec.server, rec.name);
      } catch (err) {
        if (isAppError(err) && err.kind === 'not_found') throw recordingErrors.recordingNotFound(callId);
        throw err;
      }
      await deps.audit({ tenantId, actor: by.name, action: 'recording.fetch', target: callId, requestId: by.requestId, details: { recording: rec.name, ...(range ? { range } : {}) } });
      const size = file.body.length;
      if (!range) return { status: 200 as const, contentType: file.contentType, size, body: file.body };
      const r = byteRange(range, size);
      if (r === 'unsatisfiable') throw recordingErrors.badRange(size);
      return { status: 206 as const, contentType: file.contentType, size, start: r.start, end: r.end, body: file.body.subarray(r.start, r.end + 1) };
    },

    /** Queues a retention run now; its progress is read with {@link retentionRun}. */
    async requestRetentionRun(by: Actor) {
      const id = `manual-${randomUUID()}`;
      await store.queueRun(tenantId, { id, trigger: 'manual', requestedBy: by.principal.name, at: now() });
      await deps.jobs.enqueue('recording.retention', { tenantId, trigger: 'manual', runId: id, requestedBy: by.principal.name }, { dedupeKey: id });
      await deps.audit({ tenantId, actor: by.principal.name, action: 'recording.retention_run', target: id, requestId: by.requestId });
      return { id, state: 'queued' as const };
    },

    async retentionRun(id: string) {
      const r = await store.getRun(tenantId, id);
      if (!r) throw recordingErrors.runNotFound(id);
      return runView(r);
    },

    async retentionStatus() {
      const last = await store.lastRun(tenantId);
      return {
        retentionDays: deps.settings.retentionDays,
        everyMinutes: deps.settings.retentionEveryMinutes,
        queues: await deps.retentionOverrides(),
        lastRun: last ? runView(last) : null,
      };
    },

    /**
     * The retention job: deletes recordings past their retention from their media server, marks
     * them deleted and logs each deletion. Idempotent: a second run finds nothing left, and two
     * runs at once log each deletion once. A recording the media server cannot delete now is
     * counted as failed and tried again by the next run.
     */
    async runRetention(job: RetentionJob, jobId: string) {
      const id = job.runId ?? jobId;
      const at = now();
      const plan = retentionPlan(at, deps.settings.retentionDays, await deps.retentionOverrides());
      const total = await store.countCandidates(tenantId, plan);
      await store.startRun(tenantId, { id, trigger: job.trigger, requestedBy: job.requestedBy ?? '', at, plan, remaining: total });
      const counts = { deleted: 0, failed: 0, gone: 0 };
      const remaining = (): number => Math.max(0, total - counts.deleted - counts.failed - counts.gone);
      try {
        for (const g of plan) {
          let after: { startedAt: number; name: string } | undefined;
          for (;;) {
            const batch = await store.candidates(tenantId, g, after, BATCH);
            if (batch.length === 0) break;
            for (const c of batch) {
              after = { startedAt: c.startedAt, name: c.name };
              counts[await deleteOne(c, g, id, at)] += 1;
            }
            await store.runProgress(tenantId, id, { deleted: counts.deleted, failed: counts.failed, remaining: remaining() });
          }
        }
      } catch (err) {
        await store.finishRun(tenantId, id, 'failed', now(), (err as Error).message).catch(() => undefined);
        throw err;
      }
      await store.runProgress(tenantId, id, { deleted: counts.deleted, failed: counts.failed, remaining: remaining() });
      await store.finishRun(tenantId, id, 'done', now());
      log.info({ runId: id, ...counts, plan: plan.map((g) => ({ kind: g.kind, days: g.days })) }, 'recording retention run finished');
      return { id, ...counts };
    },
  };
}

export type RecordingService = ReturnType<typeof createRecordingService>;

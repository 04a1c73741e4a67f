import { AppError } from './errors.js';

/**
 * Call recording rules, pure: which bridged calls are recorded, how PCI pauses are kept on the
 * recording's timeline, and which recordings the retention policy removes. No clock and no
 * randomness: time comes in as `now`, and the percentage decision is a hash of the call id, so
 * the same call always gets the same answer (replayable, testable).
 */

export type RecordingMode = 'always' | 'never' | 'percent';

/** A queue's recording policy. Without one a queue records every bridged call. */
export interface RecordingPolicy {
  readonly mode: RecordingMode;
  /** 0–100, only with mode `percent`; fractions allowed down to 0.01. */
  readonly percent?: number;
  /** Overrides the installation's retention for this queue's recordings; 0 keeps them forever. */
  readonly retentionDays?: number;
}

export const DEFAULT_RECORDING_POLICY: RecordingPolicy = { mode: 'always' };

/** Checks the rules a JSON Schema cannot say well; the field is named as in the queue document. */
export function validateRecordingPolicy(p: RecordingPolicy): AppError | undefined {
  if (p.mode === 'percent' && p.percent === undefined) {
    return new AppError('invalid', 'recording.percent_required', 'recording.percent (0–100) is required when recording.mode is "percent".', { details: { field: 'recording.percent' } });
  }
  if (p.mode !== 'percent' && p.percent !== undefined) {
    return new AppError('invalid', 'recording.percent_without_percent_mode', `recording.percent only applies to mode "percent" (the mode is "${p.mode}").`, { details: { field: 'recording.percent' } });
  }
  return undefined;
}

/**
 * A 32-bit hash of a string with good avalanche (FNV-1a, then the murmur3 finaliser), so that
 * ids that differ in one character (Asterisk's `1700000000.12`, `…13`) land far apart.
 */
export function hashId(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** The call's bucket in 0–9999 (hundredths of a percent). */
export const recordingBucket = (callId: string): number => hashId(callId) % 10_000;

/** Whether a bridged call is recorded under a policy: a pure function of the policy and the call id. */
export function shouldRecord(policy: RecordingPolicy, callId: string): boolean {
  switch (policy.mode) {
    case 'always':
      return true;
    case 'never':
      return false;
    case 'percent': {
      const p = Math.min(100, Math.max(0, policy.percent ?? 0));
      return recordingBucket(callId) < Math.round(p * 100);
    }
  }
}

/** One PCI pause on the recording's timeline, in ms from its start; `endMs` null while it lasts. */
export interface PciWindow {
  readonly startMs: number;
  readonly endMs: number | null;
}

export type PciResult = { ok: true; windows: PciWindow[] } | { ok: false; code: 'already_paused' | 'not_paused' };

export const isPaused = (windows: readonly PciWindow[]): boolean => windows.length > 0 && windows[windows.length - 1]!.endMs === null;

/** The latest time already on the timeline; a new mark never goes before it (clocks of two processes may differ slightly). */
function lastMark(windows: readonly PciWindow[]): number {
  const w = windows[windows.length - 1];
  return w ? (w.endMs ?? w.startMs) : 0;
}

/** Opens a pause at `offsetMs`. */
export function pciPause(windows: readonly PciWindow[], offsetMs: number): PciResult {
  if (isPaused(windows)) return { ok: false, code: 'already_paused' };
  return { ok: true, windows: [...windows, { startMs: Math.max(0, Math.round(offsetMs), lastMark(windows)), endMs: null }] };
}

/** Closes the open pause at `offsetMs`. */
export function pciResume(windows: readonly PciWindow[], offsetMs: number): PciResult {
  if (!isPaused(windows)) return { ok: false, code: 'not_paused' };
  const open = windows[windows.length - 1]!;
  return { ok: true, windows: [...windows.slice(0, -1), { startMs: open.startMs, endMs: Math.max(Math.round(offsetMs), open.startMs) }] };
}

/** At the end of the recording an open pause ends with it. */
export function pciClose(windows: readonly PciWindow[], endOffsetMs: number): PciWindow[] {
  const r = pciResume(windows, endOffsetMs);
  return r.ok ? r.windows : [...windows];
}

/** How long the recording was silenced, in ms (an open pause counts up to `nowOffsetMs`). */
export function pciMutedMs(windows: readonly PciWindow[], nowOffsetMs: number): number {
  return windows.reduce((sum, w) => sum + Math.max(0, (w.endMs ?? Math.max(nowOffsetMs, w.startMs)) - w.startMs), 0);
}

const DAY_MS = 86_400_000;

/** The instant before which recordings are deleted, or undefined when `days` is 0 (kept forever). */
export function retentionCutoff(now: number, days: number): number | undefined {
  if (!Number.isFinite(days) || days <= 0) return undefined;
  return now - Math.round(days * DAY_MS);
}

/**
 * One group of recordings with the same cutoff: either named queues (their own override) or
 * every recording whose queue has no override (`exceptQueues`), including those with no queue.
 */
export type RetentionGroup =
  | { readonly kind: 'queues'; readonly queueIds: readonly string[]; readonly days: number; readonly cutoff: number }
  | { readonly kind: 'default'; readonly exceptQueues: readonly string[]; readonly days: number; readonly cutoff: number };

/**
 * What a retention run deletes: recordings that started before the cutoff of their group. Queues
 * with an override form their own groups (grouped by days, sorted, so the plan is stable);
 * groups that keep recordings forever are left out.
 */
export function retentionPlan(now: number, defaultDays: number, overrides: readonly { queueId: string; days: number }[]): RetentionGroup[] {
  const byDays = new Map<number, string[]>();
  for (const o of overrides) byDays.set(o.days, [...(byDays.get(o.days) ?? []), o.queueId]);
  const groups: RetentionGroup[] = [];
  for (const days of [...byDays.keys()].sort((a, b) => a - b)) {
    const cutoff = retentionCutoff(now, days);
    if (cutoff !== undefined) groups.push({ kind: 'queues', queueIds: [...byDays.get(days)!].sort(), days, cutoff });
  }
  const cutoff = retentionCutoff(now, defaultDays);
  if (cutoff !== undefined) groups.push({ kind: 'default', exceptQueues: overrides.map((o) => o.queueId).sort(), days: defaultDays, cutoff });
  return groups;
}

/** Whether one recording is past retention under a plan (the same rule the store's queries apply). */
export function isExpired(plan: readonly RetentionGroup[], rec: { queueId: string | null; startedAt: number }): boolean {
  for (const g of plan) {
    if (g.kind === 'queues' && rec.queueId !== null && g.queueIds.includes(rec.queueId)) return rec.startedAt < g.cutoff;
  }
  const d = plan.find((g) => g.kind === 'default');
  if (!d || d.kind !== 'default') return false;
  if (rec.queueId !== null && d.exceptQueues.includes(rec.queueId)) return false;
  return rec.startedAt < d.cutoff;
}

import type { RouterConfig } from './config.js';
import type { RouterDecision } from './decisions.js';
import type { TimedEvent } from './events.js';
import { createRouterState, route } from './router.js';
import type { RouterSnapshot } from './snapshot.js';
import { restoreRouterState } from './snapshot.js';

/** A decision with where it came from: the index of the event in the replayed sequence. */
export interface RecordedDecision {
  readonly eventIndex: number;
  readonly at: number;
  readonly decision: RouterDecision;
}

/**
 * Re-runs recorded events under a config, from an empty router or a snapshot
 * taken at the start of the window. Under the recorded config it must
 * reproduce the recorded decisions exactly. Under another config it is exact
 * up to the first divergence; after that, recorded agent answers that refer
 * to offers the new config never made come back as `event_rejected` (an
 * offer's answer cannot be transplanted to a different offer) — use
 * `simulate` for a full what-if.
 */
export function replay(events: readonly TimedEvent[], config: RouterConfig, from?: RouterSnapshot): RecordedDecision[] {
  let state =
    from !== undefined ? restoreRouterState(config, from) : createRouterState(config, events[0]?.at ?? 0);
  const out: RecordedDecision[] = [];
  for (let i = 0; i < events.length; i++) {
    const e = events[i]!;
    const r = route(state, e.event, e.at);
    state = r.state;
    for (const d of r.decisions) out.push({ eventIndex: i, at: e.at, decision: d });
  }
  return out;
}

/** JSON with object keys sorted, so records read back from storage compare equal. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const keys = Object.keys(value)
    .filter((k) => (value as Record<string, unknown>)[k] !== undefined)
    .sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`).join(',')}}`;
}

/** What happened to one task in a run of decisions. */
export interface TaskOutcome {
  readonly offers: number;
  readonly firstOfferAt?: number;
  readonly firstOfferAgentIds?: readonly string[];
  readonly assignedAgentId?: string;
  readonly assignedAt?: number;
  readonly removedReason?: string;
  readonly overflowedTo?: string;
}

export interface TaskDifference {
  readonly taskId: string;
  readonly a: TaskOutcome | undefined;
  readonly b: TaskOutcome | undefined;
}

export interface DecisionDiff {
  readonly identical: boolean;
  /** The first position where the two sequences differ. */
  readonly firstDivergence?: { readonly position: number; readonly a?: RecordedDecision; readonly b?: RecordedDecision };
  /** Tasks whose outcome differs, by task id. */
  readonly tasks: readonly TaskDifference[];
  readonly summary: {
    readonly decisionsA: number;
    readonly decisionsB: number;
    readonly tasksCompared: number;
    readonly tasksDiffering: number;
    readonly assignedA: number;
    readonly assignedB: number;
  };
}

function outcomes(ds: readonly RecordedDecision[]): Map<string, TaskOutcome> {
  const m = new Map<string, { -readonly [K in keyof TaskOutcome]: TaskOutcome[K] }>();
  const get = (id: string) => {
    let o = m.get(id);
    if (o === undefined) {
      o = { offers: 0 };
      m.set(id, o);
    }
    return o;
  };
  for (const { at, decision: d } of ds) {
    switch (d.kind) {
      case 'route': {
        const o = get(d.decision.taskId);
        o.offers++;
        if (o.firstOfferAt === undefined) {
          o.firstOfferAt = at;
          o.firstOfferAgentIds = d.decision.agentIds;
        }
        break;
      }
      case 'task_assigned': {
        const o = get(d.taskId);
        o.assignedAgentId = d.agentId;
        o.assignedAt = at;
        break;
      }
      case 'task_removed':
        get(d.taskId).removedReason = d.reason;
        break;
      case 'task_overflowed':
        get(d.taskId).overflowedTo = d.toQueueId;
        break;
      default:
        break;
    }
  }
  return m;
}

/** Compares two runs: the first point of divergence, and per task what changed. */
export function diffDecisions(a: readonly RecordedDecision[], b: readonly RecordedDecision[]): DecisionDiff {
  let firstDivergence: DecisionDiff['firstDivergence'];
  const n = Math.max(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a[i];
    const y = b[i];
    if (x === undefined || y === undefined || canonicalJson(x) !== canonicalJson(y)) {
      firstDivergence = { position: i, ...(x !== undefined ? { a: x } : {}), ...(y !== undefined ? { b: y } : {}) };
      break;
    }
  }
  const oa = outcomes(a);
  const ob = outcomes(b);
  const ids = [...new Set([...oa.keys(), ...ob.keys()])].sort();
  const tasks: TaskDifference[] = [];
  for (const id of ids) {
    const x = oa.get(id);
    const y = ob.get(id);
    if (canonicalJson(x ?? null) !== canonicalJson(y ?? null)) tasks.push({ taskId: id, a: x, b: y });
  }
  const assigned = (m: Map<string, TaskOutcome>): number => [...m.values()].filter((o) => o.assignedAgentId !== undefined).length;
  return {
    identical: firstDivergence === undefined,
    ...(firstDivergence !== undefined ? { firstDivergence } : {}),
    tasks,
    summary: {
      decisionsA: a.length,
      decisionsB: b.length,
      tasksCompared: ids.length,
      tasksDiffering: tasks.length,
      assignedA: assigned(oa),
      assignedB: assigned(ob),
    },
  };
}

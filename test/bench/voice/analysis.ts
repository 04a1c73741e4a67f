/**
 * Turning SIPp's per-call log lines (and, for our server, its call records) into the figures of
 * one load step. Pure: no I/O. Times are epoch milliseconds from one clock (one machine).
 */

/** A caller's call as its UAC logged it: INVITE sent, answered (200 OK), far end hung up (BYE). */
export interface CallerCall {
  caller: string;
  inviteAt: number;
  answeredAt?: number;
  byeAt?: number;
}

/** An INVITE the agents' UAS received, when its ACK confirmed the answer, when the agent hung up. */
export interface AgentRing {
  endpoint: string;
  from: string;
  at: number;
  callId: string;
  connectedAt?: number;
  hungUpAt?: number;
}

const EPOCH = /\d{4}-\d{2}-\d{2}\s+\d{2}:\d{2}:\d{2}\.\d+\s+(\d+\.\d+)/;

/** Parses a UAC log: lines `I|A|B <caller> <date> <time> <epoch>`. */
export function parseCallerLog(text: string): Map<string, CallerCall> {
  const calls = new Map<string, CallerCall>();
  for (const line of text.split('\n')) {
    const m = /^([IAB]) (\d+) /.exec(line);
    const t = EPOCH.exec(line);
    if (!m || !t) continue;
    const at = Math.round(Number(t[1]) * 1000 * 1000) / 1000;
    const caller = m[2] as string;
    const call = calls.get(caller) ?? { caller, inviteAt: NaN };
    if (m[1] === 'I') call.inviteAt = at;
    else if (m[1] === 'A') call.answeredAt ??= at;
    else call.byeAt ??= at;
    calls.set(caller, call);
  }
  return calls;
}

/**
 * Parses the UAS log: `R INVITE sip:<endpoint>@ sip:<from>@ <date> <time> <epoch> <call-id>`
 * for each INVITE, `C <date> <time> <epoch> <call-id>` when the ACK of its answer came and
 * `H …` when the agent hung up.
 */
export function parseAgentLog(text: string): AgentRing[] {
  const rings = new Map<string, AgentRing>();
  const connected = new Map<string, number>();
  const hungUp = new Map<string, number>();
  for (const line of text.split('\n')) {
    const t = EPOCH.exec(line);
    if (!t) continue;
    const at = Math.round(Number(t[1]) * 1000 * 1000) / 1000;
    const callId = line.slice(line.indexOf(t[1] as string) + (t[1] as string).length).trim();
    const r = /^R INVITE sip:([^@]+)@ (?:sip:([^@]*)@)?/.exec(line);
    if (r) {
      rings.set(callId, { endpoint: r[1] as string, from: r[2] ?? '', at, callId });
      continue;
    }
    if (line.startsWith('C ')) connected.set(callId, at);
    else if (line.startsWith('H ')) hungUp.set(callId, at);
  }
  for (const [callId, at] of connected) {
    const ring = rings.get(callId);
    if (ring) ring.connectedAt = at;
  }
  for (const [callId, at] of hungUp) {
    const ring = rings.get(callId);
    if (ring) ring.hungUpAt = at;
  }
  return [...rings.values()].sort((a, b) => a.at - b.at);
}

/** The percentile `p` (0–100) of unsorted samples, nearest rank; NaN when empty. */
export function percentile(samples: readonly number[], p: number): number {
  if (samples.length === 0) return NaN;
  const sorted = [...samples].sort((a, b) => a - b);
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank - 1))] as number;
}

export interface Distribution {
  n: number;
  p50: number;
  p99: number;
  max: number;
}

export function distribution(samples: readonly number[]): Distribution {
  return { n: samples.length, p50: percentile(samples, 50), p99: percentile(samples, 99), max: samples.length ? Math.max(...samples) : NaN };
}

/** One call of a step joined across the caller, the agent phone and (ours) the server's record. */
export interface JoinedCall {
  caller: CallerCall;
  /** The ring of the agent that took the call. */
  ring?: AgentRing;
  /** Our server only: its call record. */
  server?: { queuedAt: number | null; rangAt: number | null; answeredAt: number | null; outcome: string | null; recording: string | null; agentId: string | null };
  completed: boolean;
}

/**
 * A call is completed when an agent's phone answered it and the caller heard the far end hang
 * up no earlier than the agent's talk time after that answer (the agent ended the call as
 * scheduled, so caller and agent were connected throughout).
 */
export function isCompleted(caller: CallerCall, ring: AgentRing | undefined, holdMs: number): boolean {
  if (!ring?.connectedAt || caller.byeAt === undefined || caller.answeredAt === undefined) return false;
  return caller.byeAt - ring.connectedAt >= holdMs - 250;
}

/**
 * app_queue dials members with the caller's number as the From user: a call's ring is the
 * answered INVITE that carries its caller number (the first INVITE when none was answered).
 */
export function joinByFrom(callers: Map<string, CallerCall>, rings: readonly AgentRing[], holdMs: number): JoinedCall[] {
  const byFrom = new Map<string, AgentRing[]>();
  for (const r of rings) byFrom.set(r.from, [...(byFrom.get(r.from) ?? []), r]);
  return [...callers.values()].map((caller) => {
    const mine = byFrom.get(caller.caller) ?? [];
    const ring = mine.find((r) => r.connectedAt !== undefined) ?? mine[0];
    return { caller, ...(ring ? { ring } : {}), completed: isCompleted(caller, ring, holdMs) };
  });
}

/** What our server recorded of a call (see our-server.ts), keyed by caller number. */
export interface ServerCall {
  callerNumber: string;
  agentId: string | null;
  queuedAt: number | null;
  rangAt: number | null;
  answeredAt: number | null;
  outcome: string | null;
  recording: string | null;
}

/**
 * Our server rings agents with its own caller id, so a ring is matched through the server's
 * record: the agent it connected, and that agent's last INVITE before the server saw the answer.
 */
export function joinThroughServer(
  callers: Map<string, CallerCall>,
  rings: readonly AgentRing[],
  server: Map<string, ServerCall>,
  endpointOf: (agentId: string) => string,
  holdMs: number,
): JoinedCall[] {
  const byEndpoint = new Map<string, AgentRing[]>();
  for (const r of rings) byEndpoint.set(r.endpoint, [...(byEndpoint.get(r.endpoint) ?? []), r]);
  return [...callers.values()].map((caller) => {
    const s = server.get(caller.caller);
    let ring: AgentRing | undefined;
    if (s?.agentId && s.answeredAt !== null) {
      const list = byEndpoint.get(endpointOf(s.agentId)) ?? [];
      const floor = (s.queuedAt ?? caller.inviteAt) - 50;
      for (const r of list) if (r.at <= s.answeredAt + 50 && r.at >= floor && r.connectedAt !== undefined) ring = r;
    }
    const server_ = s ? { queuedAt: s.queuedAt, rangAt: s.rangAt, answeredAt: s.answeredAt, outcome: s.outcome, recording: s.recording, agentId: s.agentId } : undefined;
    return { caller, ...(ring ? { ring } : {}), ...(server_ ? { server: server_ } : {}), completed: isCompleted(caller, ring, holdMs) };
  });
}

/** The latencies of a step's calls, in ms. */
export interface StepLatencies {
  /** Caller answered (200 OK: the call entered the queue) → the agent's phone got its INVITE (SIPp clocks). */
  entryToRing: Distribution;
  /** Caller's INVITE sent → the agent's phone got its INVITE (SIPp clocks). */
  inviteToRing: Distribution;
  /** Our server: queued_at → the agent's phone got its INVITE. */
  queuedToPhone?: Distribution;
  /** Our server's own view: queued_at → rang_at. */
  queuedToRang?: Distribution;
  /** The agent's phone sent its BYE → the caller got the BYE. */
  hangupToCaller: Distribution;
}

export function stepLatencies(calls: readonly JoinedCall[]): StepLatencies {
  const entry: number[] = [];
  const invite: number[] = [];
  const queuedPhone: number[] = [];
  const queuedRang: number[] = [];
  const hangup: number[] = [];
  let anyServer = false;
  for (const c of calls) {
    if (c.server) anyServer = true;
    if (c.ring) {
      if (c.caller.answeredAt !== undefined) entry.push(c.ring.at - c.caller.answeredAt);
      if (Number.isFinite(c.caller.inviteAt)) invite.push(c.ring.at - c.caller.inviteAt);
      if (c.server?.queuedAt != null) queuedPhone.push(c.ring.at - c.server.queuedAt);
      if (c.ring.hungUpAt !== undefined && c.caller.byeAt !== undefined && c.completed) hangup.push(c.caller.byeAt - c.ring.hungUpAt);
    }
    if (c.server?.queuedAt != null && c.server.rangAt != null) queuedRang.push(c.server.rangAt - c.server.queuedAt);
  }
  return {
    entryToRing: distribution(entry),
    inviteToRing: distribution(invite),
    ...(anyServer ? { queuedToPhone: distribution(queuedPhone), queuedToRang: distribution(queuedRang) } : {}),
    hangupToCaller: distribution(hangup),
  };
}

/** The highest rate whose step, and every step below it, had no failed call (0 when none). */
export function highestCleanRate(steps: readonly { rate: number; offered: number; failed: number }[]): number {
  let best = 0;
  for (const s of [...steps].sort((a, b) => a.rate - b.rate)) {
    if (s.failed > 0 || s.offered === 0) break;
    best = s.rate;
  }
  return best;
}

import { readFileSync } from 'node:fs';
import type { BusinessCalendar } from '../../../server/domain/calendar.js';
import { createSession, step } from '../../../ivr/engine.js';
import type { Flow, FlowNode, HttpResult, IvrAction, IvrEnvironment, IvrInput, IvrSession, JourneyEntry } from '../../../ivr/types.js';

/** The fixed clock of these tests: Monday 6 January 2025, 10:00 UTC. */
export const T0 = Date.parse('2025-01-06T10:00:00Z');

export const SAMPLE_SOUNDS = ['custom/welcome-en', 'custom/invalid-en'];

/** Opening hours of the sample flow: weekdays 08:00–18:00 Paris winter time, closed on 1 January and 1 May. */
export const OFFICE: BusinessCalendar = {
  id: 'main-office',
  zone: { kind: 'fixed', offsetMinutes: 60 },
  weekly: Object.fromEntries(['mon', 'tue', 'wed', 'thu', 'fri'].map((d) => [d, [{ from: '08:00', to: '18:00' }]])),
  holidays: [{ date: '2025-01-01' }, { date: '2025-05-01' }],
};

export function loadSample(name: string): Flow {
  return JSON.parse(readFileSync(new URL(`../../../ivr/flows/${name}`, import.meta.url), 'utf8')) as Flow;
}

/** A one-off flow from nodes; the first node is the start. */
export function flowOf(nodes: Record<string, FlowNode>, extra: Partial<Flow> = {}): Flow {
  return { id: 'test-flow', name: 'test', version: 3, start: Object.keys(nodes)[0] ?? 'none', nodes, ...extra };
}

/**
 * Plays the shell's part by hand: feeds inputs, advances a fixed clock, and
 * remembers what the engine asked for, so tests can answer "the prompt that
 * is playing" or "the timer that is running".
 */
export class Call {
  session: IvrSession;
  now = T0;
  last: readonly IvrAction[] = [];
  readonly all: IvrAction[] = [];
  readonly closed: JourneyEntry[] = [];

  constructor(flow: Flow, env: Partial<IvrEnvironment> = {}) {
    this.session = createSession({ id: 'c1', flow, env: { callerNumber: '+33600000001', ...env } });
  }

  send(input: IvrInput, advanceMs = 0): readonly IvrAction[] {
    this.now += advanceMs;
    const r = step(this.session, input, this.now);
    this.session = r.session;
    this.last = r.actions;
    this.all.push(...r.actions);
    this.closed.push(...r.closedVisits);
    return r.actions;
  }

  start(): readonly IvrAction[] {
    return this.send({ type: 'start' });
  }

  press(keys: string, advanceMs = 0): readonly IvrAction[] {
    const out: IvrAction[] = [];
    for (const digit of keys) out.push(...this.send({ type: 'dtmf', digit }, advanceMs));
    this.last = out;
    return out;
  }

  /** Finishes the prompt now playing; fails the test loudly if none is. */
  finishPrompt(): readonly IvrAction[] {
    const p = this.session.playback;
    if (p === undefined) throw new Error('no prompt is playing');
    return this.send({ type: 'prompt_finished', playbackId: p.id });
  }

  /** Fires the running timer after its delay. */
  fireTimer(): readonly IvrAction[] {
    const t = this.session.timer;
    if (t === undefined) throw new Error('no timer is running');
    const started = [...this.all].reverse().find((a) => a.type === 'start_timer' && a.timerId === t.id);
    return this.send({ type: 'timer_fired', timerId: t.id }, started?.type === 'start_timer' ? started.ms : 0);
  }

  /** Answers the pending data dip. */
  http(result: HttpResult, advanceMs = 10): readonly IvrAction[] {
    const phase = this.session.phase;
    if (phase.kind !== 'http') throw new Error('no data dip is pending');
    return this.send({ type: 'http_result', requestId: phase.requestId, result }, advanceMs);
  }

  get end(): IvrAction | undefined {
    return this.session.end?.action;
  }

  get path(): readonly string[] {
    return this.session.context.path;
  }

  types(actions: readonly IvrAction[] = this.last): string[] {
    return actions.map((a) => a.type);
  }

  /** Text of every prompt played so far (TTS text or sound name), in order. */
  heardPrompts(): string[] {
    return this.all.flatMap((a) => (a.type === 'play' ? a.prompts.map((p) => (p.kind === 'tts' ? p.text : p.name)) : []));
  }
}

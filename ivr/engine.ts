import { AppError } from '../server/domain/errors.js';
import { handlerFor, isNodeType } from './nodes/index.js';
import type { Effects, GatherSpec, NodeHandler, NodeRuntime, Outcome, TerminalBody } from './nodes/node-handler.js';
import { resolvePrompts } from './prompts.js';
import { readVar, render } from './template.js';
import type {
  Flow,
  FlowNode,
  HttpResult,
  IvrAction,
  IvrContext,
  IvrEnd,
  IvrEnvironment,
  IvrInput,
  IvrPhase,
  IvrSession,
  JourneyEntry,
  PromptRef,
  Scalar,
  StepResult,
  TerminalAction,
} from './types.js';

/** Node entries allowed within one step before the guard ends the call (a busy loop of set/branch nodes). */
export const MAX_HOPS_PER_STEP = 100;
/** Default cap on node visits per call. */
export const DEFAULT_MAX_VISITS = 500;
/** Type-ahead digits kept at most; far above any real entry, it only bounds a stuck or hostile sender. */
export const MAX_TYPE_AHEAD = 64;

const DTMF = /^[0-9*#A-D]$/;

/** Creates a session for one call on one flow version; the call stays on that version. */
export function createSession(options: { readonly id: string; readonly flow: Flow; readonly env: IvrEnvironment }): IvrSession {
  const { id, flow, env } = options;
  return {
    id,
    flow,
    env,
    status: 'ready',
    nodeId: undefined,
    phase: { kind: 'none' },
    context: {
      callerNumber: env.callerNumber,
      dialedNumber: env.dialedNumber,
      language: flow.defaultLanguage,
      vars: {},
      path: [],
      dips: {},
    },
    typeAhead: [],
    dropNext: undefined,
    playback: undefined,
    timer: undefined,
    seq: 0,
    visits: 0,
    journey: [],
    heard: [],
    end: undefined,
  };
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

interface DraftContext extends Mutable<Omit<IvrContext, 'vars' | 'path' | 'dips'>> {
  vars: Record<string, Scalar>;
  path: string[];
  dips: Record<string, IvrContext['dips'][string]>;
}

interface Draft extends Mutable<Omit<IvrSession, 'typeAhead' | 'journey' | 'heard' | 'context'>> {
  typeAhead: string[];
  journey: JourneyEntry[];
  heard: string[];
  context: DraftContext;
}

/** One step's working state: a private copy of the session plus what the step emits. */
interface Run {
  readonly d: Draft;
  readonly now: number;
  readonly actions: IvrAction[];
  readonly closed: JourneyEntry[];
  hops: number;
}

/**
 * The IVR engine: applies one input at `now` (epoch ms) and returns the next
 * session and the actions for the shell, in order. Pure and total: stale
 * timers, finished playbacks and late HTTP results (ids that no longer
 * match) are ignored; inputs after the end change nothing.
 *
 * Digits are never lost: every digit enters the session's type-ahead buffer
 * and the node that reads digits takes them in order, whether they came
 * during a prompt, between nodes or before the call started. A digit during
 * an interruptible prompt stops it (barge-in) and counts as input.
 */
export function step(session: IvrSession, input: IvrInput, now: number): StepResult {
  if (session.status === 'ended') return { session, actions: [], closedVisits: [] };
  const run: Run = { d: draft(session), now, actions: [], closed: [], hops: 0 };
  const d = run.d;
  switch (input.type) {
    case 'start':
      if (d.status === 'ready') {
        d.status = 'running';
        enter(run, d.flow.start);
      }
      break;
    case 'dtmf':
      if (DTMF.test(input.digit)) digit(run, input.digit);
      break;
    case 'prompt_finished':
      if (d.status === 'running' && d.playback?.id === input.playbackId) {
        d.playback = undefined;
        promptDone(run, false);
      }
      break;
    case 'timer_fired':
      if (d.status === 'running' && d.timer?.id === input.timerId) {
        d.timer = undefined;
        timerFired(run);
      }
      break;
    case 'http_result':
      if (d.status === 'running' && d.phase.kind === 'http' && d.phase.requestId === input.requestId) httpDone(run, input.result);
      break;
    case 'hangup':
      callerHangup(run);
      break;
  }
  pump(run);
  armTimer(run);
  return { session: d, actions: run.actions, closedVisits: run.closed };
}

function draft(s: IvrSession): Draft {
  return {
    ...s,
    typeAhead: [...s.typeAhead],
    journey: [...s.journey],
    heard: [...s.heard],
    context: { ...s.context, vars: { ...s.context.vars }, path: [...s.context.path], dips: { ...s.context.dips } },
  };
}

function nodeOf(flow: Flow, id: string | undefined): FlowNode | undefined {
  if (id === undefined || !Object.prototype.hasOwnProperty.call(flow.nodes, id)) return undefined;
  const node = flow.nodes[id];
  return node !== undefined && isNodeType(node.type) ? node : undefined;
}

function current(run: Run): { node: FlowNode; handler: NodeHandler; rt: NodeRuntime } {
  const node = nodeOf(run.d.flow, run.d.nodeId);
  // The engine only sets nodeId after finding the node; a miss is a bug.
  if (node === undefined) throw new AppError('internal', 'ivr.engine_no_node', 'the engine lost its current node', { details: { node: run.d.nodeId } });
  return { node, handler: handlerFor(node.type), rt: runtime(run, run.d.nodeId ?? '') };
}

function runtime(run: Run, nodeId: string): NodeRuntime {
  const { d } = run;
  const read = (name: string): Scalar | undefined => readVar(d.flow, d.context, name);
  return { flow: d.flow, nodeId, context: d.context, env: d.env, now: run.now, read, render: (text, encode) => render(text, read, encode) };
}

const nextId = (run: Run, kind: 'p' | 't' | 'h'): string => `${run.d.id}-${kind}${++run.d.seq}`;

// ---- playback, timers, journey -------------------------------------------------

function play(run: Run, prompts: ReturnType<typeof resolvePrompts>, interruptible: boolean): void {
  stopPlayback(run);
  const playbackId = nextId(run, 'p');
  run.actions.push({ type: 'play', playbackId, prompts, interruptible });
  run.d.playback = { id: playbackId, interruptible };
}

function stopPlayback(run: Run): void {
  if (run.d.playback === undefined) return;
  run.actions.push({ type: 'stop_playback', playbackId: run.d.playback.id });
  run.d.playback = undefined;
}

function startTimer(run: Run, ms: number): void {
  cancelTimer(run);
  const timerId = nextId(run, 't');
  run.actions.push({ type: 'start_timer', timerId, ms });
  run.d.timer = { id: timerId };
}

function cancelTimer(run: Run): void {
  if (run.d.timer === undefined) return;
  run.actions.push({ type: 'cancel_timer', timerId: run.d.timer.id });
  run.d.timer = undefined;
}

function resolve(run: Run, refs: readonly PromptRef[]): ReturnType<typeof resolvePrompts> {
  const { d } = run;
  return resolvePrompts(d.flow, refs, d.context.language, (name) => readVar(d.flow, d.context, name));
}

/** Closes the open journey entry (the current node's visit). */
function leave(run: Run, outcome: string, next?: string): void {
  const { d } = run;
  stopPlayback(run);
  cancelTimer(run);
  const last = d.journey[d.journey.length - 1];
  if (last === undefined || last.leftAt !== undefined) return;
  const closed: JourneyEntry = {
    ...last,
    leftAt: run.now,
    input: d.heard.length === 0 ? undefined : d.heard.join(' '),
    outcome,
    next,
  };
  d.journey[d.journey.length - 1] = closed;
  run.closed.push(closed);
  d.heard = [];
}

// ---- moving between nodes ----------------------------------------------------------

function enter(run: Run, nodeId: string): void {
  const { d } = run;
  run.hops++;
  d.visits++;
  if (run.hops > MAX_HOPS_PER_STEP || d.visits > (d.env.maxVisits ?? DEFAULT_MAX_VISITS)) {
    guardEnd(run, 'visit_limit');
    return;
  }
  const node = nodeOf(d.flow, nodeId);
  if (node === undefined) {
    guardEnd(run, 'missing_node');
    return;
  }
  d.nodeId = nodeId;
  d.phase = { kind: 'none' };
  d.context.path.push(nodeId);
  d.journey.push({
    flowId: d.flow.id,
    flowVersion: d.flow.version,
    nodeId,
    nodeType: node.type,
    enteredAt: run.now,
    leftAt: undefined,
    input: undefined,
    outcome: undefined,
    next: undefined,
  });
  apply(run, handlerFor(node.type).enter(node, runtime(run, nodeId)));
}

function applyEffects(run: Run, effects: Effects | undefined): void {
  if (effects === undefined) return;
  const ctx = run.d.context;
  for (const [k, v] of Object.entries(effects.set ?? {})) ctx.vars[k] = v;
  if (effects.language !== undefined) ctx.language = effects.language;
  if (effects.dip !== undefined && run.d.nodeId !== undefined) ctx.dips[run.d.nodeId] = effects.dip;
}

function apply(run: Run, o: Outcome): void {
  const { d } = run;
  switch (o.kind) {
    case 'next':
      applyEffects(run, o.effects);
      leave(run, o.outcome, o.next);
      enter(run, o.next);
      return;
    case 'play': {
      const prompts = resolve(run, o.prompts);
      // Digits already typed skip an interruptible announcement, as if they had cut it.
      if (prompts.length === 0 || (o.interruptible && d.typeAhead.length > 0)) {
        leave(run, prompts.length === 0 ? 'next' : 'skipped', o.next);
        enter(run, o.next);
        return;
      }
      d.phase = { kind: 'play', next: o.next };
      play(run, prompts, o.interruptible);
      return;
    }
    case 'gather':
      d.phase = { kind: 'gather', attempt: 1, stage: 'prompt', digits: '' };
      beginAttempt(run, []);
      return;
    case 'http':
      sendHttp(run, o.request, 1);
      return;
    case 'retry': {
      // Only a data dip retries: send the request again, freshly rendered.
      const attempt = d.phase.kind === 'http' ? d.phase.attempt + 1 : 1;
      const { node, handler, rt } = current(run);
      const again = handler.enter(node, rt);
      if (again.kind === 'http') sendHttp(run, again.request, attempt);
      return;
    }
    case 'end': {
      const action = withContext(o.action, d.context);
      const prompts = resolve(run, o.prompts);
      if (prompts.length === 0) {
        terminate(run, action, 'flow');
        return;
      }
      d.phase = { kind: 'closing', action };
      play(run, prompts, false);
      return;
    }
  }
}

function snapshot(ctx: DraftContext): IvrContext {
  return { ...ctx, vars: { ...ctx.vars }, path: [...ctx.path], dips: { ...ctx.dips } };
}

function withContext(body: TerminalBody, ctx: DraftContext): TerminalAction {
  return { ...body, context: snapshot(ctx) } as TerminalAction;
}

function terminate(run: Run, action: TerminalAction, by: IvrEnd['by']): void {
  const { d } = run;
  leave(run, by === 'guard' ? 'guard' : 'end');
  d.status = 'ended';
  d.phase = { kind: 'none' };
  d.end = { by, nodeId: d.nodeId, at: run.now, action };
  run.actions.push(action);
}

function guardEnd(run: Run, reason: string): void {
  terminate(run, withContext({ type: 'hangup', reason }, run.d.context), 'guard');
}

function callerHangup(run: Run): void {
  const { d } = run;
  // The channel is gone: nothing to stop, but the shell's timer must go.
  d.playback = undefined;
  if (d.status === 'running') leave(run, 'caller_hangup');
  else cancelTimer(run);
  d.status = 'ended';
  d.phase = { kind: 'none' };
  d.end = { by: 'caller', nodeId: d.nodeId, at: run.now, action: undefined };
}

// ---- prompts and digits --------------------------------------------------------------

function digit(run: Run, key: string): void {
  const { d } = run;
  const drop = d.dropNext;
  d.dropNext = undefined;
  if (key === drop || d.typeAhead.length >= MAX_TYPE_AHEAD) return;
  d.typeAhead.push(key);
  if (d.status !== 'running' || d.playback === undefined || !d.playback.interruptible) return;
  if (d.phase.kind === 'play' || (d.phase.kind === 'gather' && d.phase.stage === 'prompt')) {
    stopPlayback(run);
    promptDone(run, true);
  }
}

function promptDone(run: Run, interrupted: boolean): void {
  const { d } = run;
  const phase = d.phase;
  if (phase.kind === 'play') {
    leave(run, interrupted ? 'interrupted' : 'next', phase.next);
    enter(run, phase.next);
  } else if (phase.kind === 'gather' && phase.stage === 'prompt') {
    // A habitual terminator is dropped only until a later prompt has been heard to its end.
    if (!interrupted) d.dropNext = undefined;
    d.phase = { ...phase, stage: 'input' };
  } else if (phase.kind === 'closing') {
    terminate(run, phase.action, 'flow');
  }
}

function gatherSpec(run: Run): GatherSpec {
  const { node, handler } = current(run);
  if (handler.gatherSpec === undefined) throw new AppError('internal', 'ivr.engine_not_gathering', 'a node that reads no digits was asked for digits', { details: { node: run.d.nodeId } });
  return handler.gatherSpec(node);
}

type GatherPhase = Extract<IvrPhase, { kind: 'gather' }>;

function beginAttempt(run: Run, lead: readonly PromptRef[]): void {
  const { d } = run;
  const phase = d.phase as GatherPhase;
  const spec = gatherSpec(run);
  const prompts = resolve(run, [...lead, ...spec.prompts]);
  if (prompts.length === 0 || (spec.interruptible && d.typeAhead.length > 0)) {
    d.phase = { ...phase, stage: 'input', digits: '' };
    return;
  }
  d.phase = { ...phase, stage: 'prompt', digits: '' };
  play(run, prompts, spec.interruptible);
}

/** Feeds buffered digits, oldest first, to whichever node is ready for them, across node changes. */
function pump(run: Run): void {
  const { d } = run;
  while (d.status === 'running' && d.phase.kind === 'gather' && d.phase.stage === 'input' && d.typeAhead.length > 0) {
    const key = d.typeAhead.shift() as string;
    cancelTimer(run);
    takeDigit(run, key, d.phase);
  }
}

function takeDigit(run: Run, key: string, phase: GatherPhase): void {
  const spec = gatherSpec(run);
  const mode = spec.mode;
  if (mode.kind === 'choice') {
    if (mode.keys.includes(key)) {
      run.d.heard.push(key);
      complete(run, key);
    } else {
      run.d.heard.push(`invalid:${key}`);
      fail(run, 'invalid', spec);
    }
    return;
  }
  if (key === mode.terminator) {
    finishDigits(run, phase.digits, spec);
    return;
  }
  const digits = phase.digits + key;
  run.d.phase = { ...phase, digits };
  if (digits.length < mode.max) return;
  if (mode.terminator !== undefined) {
    // The entry is complete; a terminator the caller adds out of habit belongs to it.
    if (run.d.typeAhead[0] === mode.terminator) run.d.typeAhead.shift();
    else if (run.d.typeAhead.length === 0) run.d.dropNext = mode.terminator;
  }
  finishDigits(run, digits, spec);
}

function finishDigits(run: Run, digits: string, spec: GatherSpec): void {
  const mode = spec.mode;
  if (mode.kind !== 'digits') return;
  const ok =
    digits.length >= mode.min &&
    digits.length <= mode.max &&
    (mode.pattern === undefined || new RegExp(`^(?:${mode.pattern})$`).test(digits));
  const shown = spec.mask ? '*'.repeat(digits.length) : digits;
  run.d.heard.push(ok ? shown : `invalid:${shown}`);
  if (ok) complete(run, digits);
  else fail(run, 'invalid', spec);
}

function complete(run: Run, value: string): void {
  const { node, handler, rt } = current(run);
  if (handler.onGathered !== undefined) apply(run, handler.onGathered(node, value, rt));
}

function fail(run: Run, reason: 'no_input' | 'invalid', spec: GatherSpec): void {
  const { d } = run;
  const phase = d.phase as GatherPhase;
  if (phase.attempt <= spec.retries) {
    d.phase = { ...phase, attempt: phase.attempt + 1 };
    beginAttempt(run, reason === 'invalid' ? spec.invalidPrompts : spec.noInputPrompts);
    return;
  }
  const { node, handler, rt } = current(run);
  if (handler.onGatherFailed !== undefined) apply(run, handler.onGatherFailed(node, reason, rt));
}

/** A node waiting for digits always has a timer running, so silence ends in the no-input path. */
function armTimer(run: Run): void {
  const { d } = run;
  if (d.status !== 'running' || d.timer !== undefined || d.phase.kind !== 'gather' || d.phase.stage !== 'input') return;
  const spec = gatherSpec(run);
  startTimer(run, d.phase.digits.length > 0 ? spec.interDigitTimeoutMs : spec.timeoutMs);
}

function timerFired(run: Run): void {
  const { d } = run;
  const phase = d.phase;
  if (phase.kind === 'http') {
    httpDone(run, { outcome: 'timeout' });
    return;
  }
  if (phase.kind !== 'gather' || phase.stage !== 'input') return;
  const spec = gatherSpec(run);
  if (spec.mode.kind === 'digits' && phase.digits.length > 0) {
    finishDigits(run, phase.digits, spec);
    return;
  }
  d.heard.push('no_input');
  fail(run, 'no_input', spec);
}

// ---- data dips -------------------------------------------------------------------------

function sendHttp(run: Run, request: Extract<Outcome, { kind: 'http' }>['request'], attempt: number): void {
  const requestId = nextId(run, 'h');
  run.actions.push({ type: 'http_request', requestId, ...request });
  run.d.phase = { kind: 'http', requestId, attempt };
  // Our own deadline: a request the shell never answers still ends in time.
  startTimer(run, request.timeoutMs);
}

function summarize(result: HttpResult): string {
  switch (result.outcome) {
    case 'ok':
      return `ok:${result.status}`;
    case 'invalid_body':
      return `invalid_body:${result.status}`;
    case 'error':
      return result.status === undefined ? `error:${result.code ?? 'network'}` : `error:${result.status}`;
    case 'timeout':
      return 'timeout';
  }
}

function httpDone(run: Run, result: HttpResult): void {
  const { d } = run;
  if (d.phase.kind !== 'http') return;
  const attempt = d.phase.attempt;
  cancelTimer(run);
  d.heard.push(summarize(result));
  const { node, handler, rt } = current(run);
  if (handler.onHttpResult !== undefined) apply(run, handler.onHttpResult(node, result, attempt, rt));
}

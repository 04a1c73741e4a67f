import type { BusinessCalendar } from '../server/domain/calendar.js';
import { createSession, step } from './engine.js';
import type {
  Flow,
  HttpRequestAction,
  HttpResult,
  IvrAction,
  IvrContext,
  IvrEnd,
  IvrInput,
  IvrSession,
  JourneyEntry,
  TerminalAction,
} from './types.js';

/** A scripted caller and environment for {@link simulate}. */
export interface SimulateOptions {
  /** Keys the caller presses, in order. */
  readonly digits?: readonly string[];
  readonly callerNumber?: string;
  readonly dialedNumber?: string;
  /** Epoch ms at which the call starts; the clock moves only when a timer fires. */
  readonly now: number;
  /** A business calendar, registered under its own id. */
  readonly calendar?: BusinessCalendar;
  readonly calendars?: Readonly<Record<string, BusinessCalendar>>;
  /** Answers data dips; `undefined` (or no responder) means no answer, so the dip times out. */
  readonly httpResponder?: (request: HttpRequestAction) => HttpResult | undefined;
  /** Press keys during interruptible prompts (barge-in) instead of after them. */
  readonly bargeIn?: boolean;
  /** Hang up once the digits run out instead of waiting for timeouts. */
  readonly hangupWhenDone?: boolean;
  /** Inputs allowed before the run is declared stalled. Default 10000. */
  readonly maxInputs?: number;
}

/** What a simulated call did. */
export interface SimulationResult {
  /** Node ids in visit order. */
  readonly path: readonly string[];
  /** Every action the engine emitted, in order. */
  readonly actions: readonly IvrAction[];
  /** The terminal action, or undefined when the caller hung up or the run stalled. */
  readonly end: TerminalAction | undefined;
  readonly endedBy: IvrEnd['by'] | 'stalled';
  readonly context: IvrContext;
  readonly journey: readonly JourneyEntry[];
  /** Digits pressed but never read by any node. */
  readonly unusedDigits: readonly string[];
  /** Simulated time from start to end, ms. */
  readonly elapsedMs: number;
}

/**
 * Runs a flow without a phone: prompts finish at once, scripted digits are
 * pressed whenever the flow waits, timers fire only when no digit is left
 * (so running out of digits walks the no-input path), and data dips are
 * answered by `httpResponder`. Pure; drives {@link step} like the shell does.
 */
export function simulate(flow: Flow, options: SimulateOptions): SimulationResult {
  const digits = [...(options.digits ?? [])];
  const calendars = { ...(options.calendars ?? {}), ...(options.calendar === undefined ? {} : { [options.calendar.id]: options.calendar }) };
  let session: IvrSession = createSession({
    id: 'sim',
    flow,
    env: {
      callerNumber: options.callerNumber ?? 'anonymous',
      ...(options.dialedNumber === undefined ? {} : { dialedNumber: options.dialedNumber }),
      calendars,
    },
  });
  let now = options.now;
  const actions: IvrAction[] = [];
  const timerMs = new Map<string, number>();
  const requests = new Map<string, HttpRequestAction>();
  const answered = new Set<string>();
  const feed = (input: IvrInput): void => {
    const r = step(session, input, now);
    session = r.session;
    for (const a of r.actions) {
      actions.push(a);
      if (a.type === 'start_timer') timerMs.set(a.timerId, a.ms);
      if (a.type === 'http_request') requests.set(a.requestId, a);
    }
  };
  const fireTimer = (): void => {
    const id = session.timer?.id ?? '';
    now += timerMs.get(id) ?? 0;
    feed({ type: 'timer_fired', timerId: id });
  };

  feed({ type: 'start' });
  let inputs = 0;
  let stalled = false;
  while (session.status !== 'ended') {
    if (++inputs > (options.maxInputs ?? 10_000)) {
      stalled = true;
      break;
    }
    const phase = session.phase;
    if (phase.kind === 'http' && !answered.has(phase.requestId)) {
      answered.add(phase.requestId);
      const request = requests.get(phase.requestId);
      const result = request === undefined ? undefined : options.httpResponder?.(request);
      if (result === undefined) fireTimer();
      else if (result.outcome === 'timeout') {
        now += request?.timeoutMs ?? 0;
        feed({ type: 'http_result', requestId: phase.requestId, result });
      } else feed({ type: 'http_result', requestId: phase.requestId, result });
    } else if (session.playback !== undefined && !(options.bargeIn === true && session.playback.interruptible && digits.length > 0)) {
      feed({ type: 'prompt_finished', playbackId: session.playback.id });
    } else if (digits.length > 0) {
      feed({ type: 'dtmf', digit: digits.shift() as string });
      // A terminator scripted right after an entry that filled up is pressed at once, as a caller does.
      if (session.dropNext !== undefined && digits[0] === session.dropNext) feed({ type: 'dtmf', digit: digits.shift() as string });
    } else if (options.hangupWhenDone === true) {
      feed({ type: 'hangup' });
    } else if (session.timer !== undefined) {
      fireTimer();
    } else {
      stalled = true;
      break;
    }
  }
  return {
    path: session.context.path,
    actions,
    end: session.end?.action,
    endedBy: stalled ? 'stalled' : (session.end?.by ?? 'stalled'),
    context: session.context,
    journey: session.journey,
    unusedDigits: [...session.typeAhead, ...digits],
    elapsedMs: now - options.now,
  };
}

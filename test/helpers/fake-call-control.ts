/**
 * A media server for the integration tier: implements the CallControl port in memory, records
 * every request made of it, can fail chosen requests, and lets the test play the media server's
 * side (callers arriving and hanging up, agents' phones answering, recordings ending). Telephony
 * tests use the real Asterisk instead; this fake exists so that the HTTP, SQL and job side of a
 * feature can be tested without one.
 */
import { AppError, type ErrorKind } from '../../server/domain/errors.js';
import type { CallControl, CallEvent } from '../../server/telephony/index.js';

export interface FakeRequest {
  method: string;
  args: unknown[];
}

export interface FakeCallControl {
  calls: CallControl;
  /** Every request, in order. */
  requests: FakeRequest[];
  /** Requests of one method. */
  made(method: string): unknown[][];
  /** Makes `method` fail while `when(args)` says so (with the error it returns). */
  failWhen(method: string, when: (args: unknown[]) => Error | undefined): void;
  /** Delivers an event as the media server would (the shape of CallEvent; awaited by all handlers). */
  emit(e: Record<string, unknown> & { type: string }): Promise<void>;
  /** Files `fetchRecording` serves, by name. */
  files: Map<string, Buffer>;
}

/** An error as the telephony layer raises them (an AppError of a kind), e.g. not_found or unavailable. */
export const mediaError = (kind: ErrorKind, code: string): Error => new AppError(kind, code, `fake media server: ${code}`);

export function createFakeCallControl(opts: { server?: string; autoAnswerMs?: number } = {}): FakeCallControl {
  const server = opts.server ?? 'fake';
  const handlers = new Set<(e: CallEvent) => void | Promise<void>>();
  const requests: FakeRequest[] = [];
  const failures = new Map<string, (args: unknown[]) => Error | undefined>();
  const files = new Map<string, Buffer>();
  let legs = 0;

  const emit = async (e: Record<string, unknown> & { type: string }): Promise<void> => {
    for (const h of [...handlers]) await h(e as unknown as CallEvent);
  };

  const overrides: Record<string, (...args: unknown[]) => unknown> = {
    onEvent: (h: unknown) => {
      handlers.add(h as (e: CallEvent) => void);
      return () => handlers.delete(h as (e: CallEvent) => void);
    },
    ringLeg: async (_server: unknown, o: unknown) => {
      const legId = `leg-${++legs}`;
      if (opts.autoAnswerMs !== undefined) {
        const tag = (o as { tag: string }).tag;
        setTimeout(() => void emit({ type: 'leg_answered', server, legId, tag }), opts.autoAnswerMs).unref();
      }
      return legId;
    },
    play: async () => `pb-${requests.length}`,
    snapshot: async () => ({ channels: [], bridges: [] }),
    fetchRecording: async (_server: unknown, name: unknown) => {
      const body = files.get(String(name));
      if (!body) throw mediaError('not_found', 'ari.not_found');
      return { contentType: 'audio/wav', body };
    },
    adopt: () => undefined,
  };

  // Every other method of the port: accepted, recorded, resolved.
  const calls = new Proxy({} as CallControl, {
    get(_target, prop) {
      if (typeof prop !== 'string' || prop === 'then') return undefined;
      return (...args: unknown[]) => {
        if (prop !== 'onEvent') requests.push({ method: prop, args });
        const err = failures.get(prop)?.(args);
        if (err) return Promise.reject(err);
        const impl = overrides[prop];
        if (impl) return impl(...args);
        return Promise.resolve(undefined);
      };
    },
  });

  return {
    calls,
    requests,
    made: (method) => requests.filter((r) => r.method === method).map((r) => r.args),
    failWhen: (method, when) => failures.set(method, when),
    emit,
    files,
  };
}

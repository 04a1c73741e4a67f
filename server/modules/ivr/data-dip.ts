import type { HttpRequestAction, HttpResult } from '../../../ivr/index.js';

/** Largest response body a data dip reads; a bigger one is garbage (`invalid_body`). */
export const MAX_DIP_BODY = 256 * 1024;

export type FetchLike = (url: string, init: RequestInit) => Promise<Response>;

class BodyTooLarge extends Error {}

async function readLimited(res: Response, limit: number): Promise<string> {
  const declared = Number(res.headers.get('content-length') ?? '');
  if (Number.isFinite(declared) && declared > limit) throw new BodyTooLarge();
  if (!res.body) return '';
  const reader = res.body.getReader();
  const parts: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > limit) {
      await reader.cancel().catch(() => undefined);
      throw new BodyTooLarge();
    }
    parts.push(value);
  }
  return Buffer.concat(parts).toString('utf8');
}

const codeOf = (err: unknown): string => {
  const cause = (err as { cause?: { code?: unknown } }).cause;
  const code = typeof cause?.code === 'string' ? cause.code : (err as { code?: unknown }).code;
  return typeof code === 'string' && /^[A-Z0-9_]{1,40}$/.test(code) ? code : 'network';
};

/**
 * Performs one data dip request and says how it went, in the engine's terms. It never throws:
 * a hang past `timeoutMs` (connection, headers or body) is `timeout`, a 4xx/5xx is `error` with
 * the status, a body that is not JSON (or is too large) is `invalid_body`; mapping the JSON into
 * variables, and deciding that it lacks what the flow needs, is the engine's job. `signal` aborts
 * it early (the caller hung up).
 */
export async function performDataDip(action: HttpRequestAction, fetchFn: FetchLike, signal?: AbortSignal): Promise<HttpResult> {
  const ac = new AbortController();
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    ac.abort();
  }, action.timeoutMs);
  const onAbort = (): void => ac.abort();
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    const hasBody = action.method === 'POST' && action.body !== undefined;
    const res = await fetchFn(action.url, {
      method: action.method,
      headers: { accept: 'application/json', ...(hasBody ? { 'content-type': 'application/json' } : {}), ...action.headers },
      ...(hasBody ? { body: JSON.stringify(action.body) } : {}),
      signal: ac.signal,
    });
    let text: string;
    try {
      text = await readLimited(res, MAX_DIP_BODY);
    } catch (err) {
      if (err instanceof BodyTooLarge) return { outcome: 'invalid_body', status: res.status };
      throw err;
    }
    if (res.status >= 400) return { outcome: 'error', status: res.status };
    if (res.status < 200 || res.status >= 300) return { outcome: 'invalid_body', status: res.status };
    try {
      return { outcome: 'ok', status: res.status, body: JSON.parse(text) as unknown };
    } catch {
      return { outcome: 'invalid_body', status: res.status };
    }
  } catch (err) {
    if (timedOut) return { outcome: 'timeout' };
    if (ac.signal.aborted) return { outcome: 'error', code: 'aborted' };
    return { outcome: 'error', code: codeOf(err) };
  } finally {
    clearTimeout(timer);
    signal?.removeEventListener('abort', onAbort);
  }
}

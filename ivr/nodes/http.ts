import { FLOW_ERROR } from '../errors.js';
import type { DipRecord, HttpNode, HttpResult, Scalar } from '../types.js';
import type { NodeHandler, Outcome } from './node-handler.js';

export const HTTP_DEFAULTS = { timeoutMs: 3000, maxTimeoutMs: 30_000, retries: 1 } as const;

/** Scheme and host must be literal so that no caller input can choose the server. */
const LITERAL_ORIGIN = /^https?:\/\/[^/{}\s?#]+(?:[/?#]|$)/;
const RESPONSE_PATH = /^[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)*$/;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Reads a dotted path (`customer.tier`, `items.0.id`) from parsed JSON. */
export function readPath(body: unknown, path: string): unknown {
  let cur: unknown = body;
  for (const part of path.split('.')) {
    if (Array.isArray(cur) && /^\d+$/.test(part)) cur = cur[Number(part)];
    else if (isObject(cur) && Object.prototype.hasOwnProperty.call(cur, part)) cur = cur[part];
    else return undefined;
  }
  return cur;
}

const isScalar = (v: unknown): v is Scalar =>
  v === null || typeof v === 'string' || typeof v === 'boolean' || (typeof v === 'number' && Number.isFinite(v));

/** Maps the response into variables; undefined when a required variable is missing or not a scalar (garbage). */
function mapResponse(node: HttpNode, body: unknown): Record<string, Scalar> | undefined {
  const map = node.map ?? {};
  const required = new Set(node.required ?? Object.keys(map));
  const out: Record<string, Scalar> = {};
  for (const [name, path] of Object.entries(map)) {
    const v = readPath(body, path);
    if (isScalar(v)) out[name] = v;
    else if (required.has(name)) return undefined;
  }
  return out;
}

/**
 * http: a data dip. The engine emits `http_request` and arms a timer of the
 * same length, so a request the shell never answers still ends in time.
 * Timeouts, network errors and 5xx are retried; 4xx and garbage (not JSON,
 * required fields missing) go straight to `fallback`.
 */
export const httpHandler: NodeHandler<HttpNode> = {
  type: 'http',
  terminal: false,
  fields: ['method', 'url', 'headers', 'body', 'timeoutMs', 'retries', 'map', 'required', 'next', 'fallback'],
  check(c) {
    c.oneOf('method', ['GET', 'POST']);
    const url = c.str('url', { template: true });
    if (url !== undefined && !LITERAL_ORIGIN.test(url)) {
      c.issue(FLOW_ERROR.badUrl, 'url', 'must start with http:// or https:// and a literal host (placeholders only after it)', { url });
    }
    const headers = c.node.headers;
    if (headers !== undefined) {
      if (!isObject(headers)) c.issue(FLOW_ERROR.invalidField, 'headers', 'must map header names to strings');
      else for (const [k, v] of Object.entries(headers)) c.text(`headers.${k}`, v, true);
    }
    c.scalarMap('body', 'any', false);
    if (c.node.body !== undefined && c.node.method !== 'POST') c.issue(FLOW_ERROR.invalidField, 'body', 'needs method POST');
    c.int('timeoutMs', { min: 100, max: HTTP_DEFAULTS.maxTimeoutMs });
    c.int('retries', { min: 0, max: 5 });
    const map = c.node.map;
    if (map !== undefined) {
      if (!isObject(map)) c.issue(FLOW_ERROR.invalidField, 'map', 'must map variables to response paths');
      else {
        for (const [k, v] of Object.entries(map)) {
          c.userVar(`map.${k}`, k);
          if (typeof v !== 'string' || !RESPONSE_PATH.test(v)) c.issue(FLOW_ERROR.invalidField, `map.${k}`, 'must be a dotted path like customer.tier');
        }
      }
    }
    const required = c.node.required;
    if (required !== undefined) {
      const mapped = isObject(map) ? Object.keys(map) : [];
      if (!Array.isArray(required) || required.some((r) => typeof r !== 'string' || !mapped.includes(r))) {
        c.issue(FLOW_ERROR.invalidField, 'required', 'must list mapped variables');
      }
    }
    c.target('next');
    c.target('fallback');
  },
  enter(node, rt) {
    const method = node.method ?? 'GET';
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(node.headers ?? {})) headers[k] = rt.render(v);
    let body: Record<string, Scalar> | undefined;
    if (method === 'POST') {
      body = {};
      for (const [k, v] of Object.entries(node.body ?? {})) body[k] = typeof v === 'string' ? rt.render(v) : v;
    }
    return {
      kind: 'http',
      request: { method, url: rt.render(node.url, encodeURIComponent), headers, body, timeoutMs: node.timeoutMs ?? HTTP_DEFAULTS.timeoutMs },
    };
  },
  onHttpResult(node, result, attempt): Outcome {
    const canRetry = attempt <= (node.retries ?? HTTP_DEFAULTS.retries);
    const fail = (outcome: DipRecord['outcome'], status: number | undefined): Outcome => ({
      kind: 'next',
      next: node.fallback,
      outcome: 'fallback',
      effects: { dip: { outcome, attempts: attempt, ...(status === undefined ? {} : { status }) } },
    });
    const r: HttpResult = result;
    if (r.outcome === 'timeout') return canRetry ? { kind: 'retry' } : fail('timeout', undefined);
    if (r.outcome === 'invalid_body') return fail('garbage', r.status);
    if (r.outcome === 'error') {
      const retryable = r.status === undefined || r.status >= 500;
      return retryable && canRetry ? { kind: 'retry' } : fail('error', r.status);
    }
    const status = r.status;
    if (status < 200 || status >= 300) return status >= 500 && canRetry ? { kind: 'retry' } : fail('error', status);
    const set = mapResponse(node, r.body);
    if (set === undefined) return fail('garbage', status);
    return { kind: 'next', next: node.next, outcome: 'ok', effects: { set, dip: { outcome: 'ok', status, attempts: attempt } } };
  },
};

import type { TimeZoneRule } from '../domain/calendar.js';

const HOUR = 3_600_000;
const DAY = 86_400_000;

/** True when the runtime knows this IANA zone name (or it is a fixed offset like +02:00). */
export function isKnownTimeZone(name: string): boolean {
  if (FIXED_RE.test(name)) return true;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: name });
    return true;
  } catch {
    return false;
  }
}

const FIXED_RE = /^(?:UTC)?([+-])(\d{2}):(\d{2})$/;

function offsetAt(fmt: Intl.DateTimeFormat, at: number): number {
  const part = fmt.formatToParts(at).find((p) => p.type === 'timeZoneName')?.value ?? 'GMT';
  const m = /GMT([+-])(\d{2}):?(\d{2})?/.exec(part);
  if (!m) return 0;
  const minutes = Number(m[2]) * 60 + Number(m[3] ?? 0);
  return m[1] === '-' ? -minutes : minutes;
}

/**
 * Turns an IANA zone into the pure core's data rule: the offset changes between
 * `fromMs` and `toMs`, found day by day and narrowed to the minute. The pure
 * calendar then needs no time-zone database and no clock.
 */
export function zoneRule(name: string, fromMs: number, toMs: number): TimeZoneRule {
  const fixed = FIXED_RE.exec(name);
  if (fixed) {
    const minutes = Number(fixed[2]) * 60 + Number(fixed[3]);
    return { kind: 'fixed', offsetMinutes: fixed[1] === '-' ? -minutes : minutes };
  }
  const fmt = new Intl.DateTimeFormat('en-US', { timeZone: name, timeZoneName: 'longOffset' });
  const base = offsetAt(fmt, fromMs);
  const transitions: { from: number; offsetMinutes: number }[] = [];
  let prev = base;
  for (let t = fromMs + DAY; t <= toMs + DAY; t += DAY) {
    const off = offsetAt(fmt, t);
    if (off === prev) continue;
    // Binary search for the first minute with the new offset.
    let lo = t - DAY;
    let hi = t;
    while (hi - lo > 60_000) {
      const mid = lo + Math.floor((hi - lo) / 2 / 60_000) * 60_000;
      if (offsetAt(fmt, mid) === prev) lo = mid;
      else hi = mid;
    }
    transitions.push({ from: hi, offsetMinutes: off });
    prev = off;
  }
  if (transitions.length === 0) return { kind: 'fixed', offsetMinutes: base };
  return { kind: 'table', baseOffsetMinutes: base, transitions };
}

export const ZONE_RULE_SPAN = { backMs: 31 * DAY, aheadMs: 2 * 366 * DAY, hour: HOUR };

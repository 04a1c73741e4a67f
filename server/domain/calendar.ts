import { AppError } from './errors.js';

/**
 * How local time relates to UTC, given as data so that no code reads the
 * host's clock or time-zone database. `fixed` suits zones without daylight
 * saving; `table` lists the offset changes (e.g. generated from the IANA
 * database by the shell) and uses `baseOffsetMinutes` before the first one.
 */
export type TimeZoneRule =
  | { readonly kind: 'fixed'; readonly offsetMinutes: number }
  | {
      readonly kind: 'table';
      readonly baseOffsetMinutes: number;
      /** Sorted by `from` ascending; each applies from its epoch ms instant on. */
      readonly transitions: readonly { readonly from: number; readonly offsetMinutes: number }[];
    };

export type Weekday = 'mon' | 'tue' | 'wed' | 'thu' | 'fri' | 'sat' | 'sun';

/** Index 0 is Sunday; 1970-01-01 (epoch day 0) was a Thursday, hence the +4 below. */
const WEEKDAYS: readonly Weekday[] = ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'];

/**
 * Opening hours on one local day, `HH:MM` 24-hour. `to` at or before `from`
 * means the range runs past midnight into the next day ("22:00"–"06:00").
 * `to` may be "24:00".
 */
export interface TimeRange {
  readonly from: string;
  readonly to: string;
}

/**
 * A closed (or specially opened) local date. Without `hours` the whole date
 * is closed; with `hours` those ranges replace the weekly ones for that date.
 * A holiday governs ranges that *start* on its date: overnight hours begun on
 * the eve run to their end.
 */
export interface Holiday {
  /** Local date `YYYY-MM-DD`. */
  readonly date: string;
  readonly name?: string;
  readonly hours?: readonly TimeRange[];
}

/** Business hours of a Queue: weekly ranges in local time, holidays, and the zone rule. */
export interface BusinessCalendar {
  readonly id: string;
  readonly zone: TimeZoneRule;
  readonly weekly: Readonly<Partial<Record<Weekday, readonly TimeRange[]>>>;
  readonly holidays?: readonly Holiday[];
}

const MINUTE = 60_000;
const DAY = 86_400_000;

/** Offset from UTC in minutes at the instant `at` (epoch ms). */
export function offsetMinutesAt(zone: TimeZoneRule, at: number): number {
  if (zone.kind === 'fixed') return zone.offsetMinutes;
  const t = zone.transitions;
  let lo = 0;
  let hi = t.length; // first index with from > at
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (t[mid]!.from <= at) lo = mid + 1;
    else hi = mid;
  }
  return lo === 0 ? zone.baseOffsetMinutes : t[lo - 1]!.offsetMinutes;
}

/** Civil date from days since 1970-01-01 (H. Hinnant's algorithm; pure arithmetic, no clock). */
function civilFromDays(days: number): { y: number; m: number; d: number } {
  const z = days + 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const d = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const m = mp < 10 ? mp + 3 : mp - 9;
  return { y: yoe + era * 400 + (m <= 2 ? 1 : 0), m, d };
}

const pad2 = (n: number): string => (n < 10 ? `0${n}` : String(n));

/** The local wall-clock reading of an instant under a zone rule. */
export interface LocalTime {
  /** `YYYY-MM-DD` */
  readonly date: string;
  readonly weekday: Weekday;
  /** Minutes since local midnight, 0–1439. */
  readonly minuteOfDay: number;
  /** Days since 1970-01-01 in local time (for day arithmetic). */
  readonly epochDay: number;
}

export function localTime(zone: TimeZoneRule, at: number): LocalTime {
  const local = at + offsetMinutesAt(zone, at) * MINUTE;
  const epochDay = Math.floor(local / DAY);
  return describeDay(epochDay, Math.floor((local - epochDay * DAY) / MINUTE));
}

function describeDay(epochDay: number, minuteOfDay: number): LocalTime {
  const { y, m, d } = civilFromDays(epochDay);
  const weekday = WEEKDAYS[(((epochDay + 4) % 7) + 7) % 7]!;
  return { date: `${y}-${pad2(m)}-${pad2(d)}`, weekday, minuteOfDay, epochDay };
}

const HHMM = /^([01]\d|2[0-4]):([0-5]\d)$/;

function parseMinute(hhmm: string, field: string): number {
  const m = HHMM.exec(hhmm);
  const minutes = m === null ? NaN : Number(m[1]) * 60 + Number(m[2]);
  if (!(minutes >= 0 && minutes <= 1440)) {
    throw new AppError('invalid', 'calendar.invalid_time', `${field} must be HH:MM between 00:00 and 24:00`, {
      details: { field, value: hhmm },
    });
  }
  return minutes;
}

function rangesFor(calendar: BusinessCalendar, day: LocalTime): readonly TimeRange[] {
  const holiday = calendar.holidays?.find((h) => h.date === day.date);
  if (holiday !== undefined) return holiday.hours ?? [];
  return calendar.weekly[day.weekday] ?? [];
}

/**
 * Whether the calendar is open at instant `now` (epoch ms). Pure: the zone
 * rule is data, nothing reads a clock. Ranges are half-open [from, to).
 */
export function isOpen(calendar: BusinessCalendar, now: number): boolean {
  const today = localTime(calendar.zone, now);
  const m = today.minuteOfDay;
  for (const r of rangesFor(calendar, today)) {
    const from = parseMinute(r.from, 'from');
    const to = parseMinute(r.to, 'to');
    if (to > from ? m >= from && m < to : m >= from) return true;
  }
  const yesterday = describeDay(today.epochDay - 1, 0);
  for (const r of rangesFor(calendar, yesterday)) {
    const from = parseMinute(r.from, 'from');
    const to = parseMinute(r.to, 'to');
    if (to <= from && m < to) return true;
  }
  return false;
}

/** Checks a calendar's shape; returns an error value naming the field, or undefined. */
export function validateCalendar(calendar: BusinessCalendar): AppError | undefined {
  try {
    for (const [day, ranges] of Object.entries(calendar.weekly)) {
      if (!WEEKDAYS.includes(day as Weekday)) {
        return new AppError('invalid', 'calendar.invalid_weekday', `weekly.${day} is not a weekday (mon..sun)`, {
          details: { field: `weekly.${day}` },
        });
      }
      for (const r of ranges ?? []) {
        parseMinute(r.from, `weekly.${day}.from`);
        parseMinute(r.to, `weekly.${day}.to`);
      }
    }
    for (const h of calendar.holidays ?? []) {
      if (!/^\d{4}-\d{2}-\d{2}$/.test(h.date)) {
        return new AppError('invalid', 'calendar.invalid_date', 'holidays[].date must be YYYY-MM-DD', {
          details: { field: 'holidays.date', value: h.date },
        });
      }
      for (const r of h.hours ?? []) {
        parseMinute(r.from, 'holidays.hours.from');
        parseMinute(r.to, 'holidays.hours.to');
      }
    }
    if (calendar.zone.kind === 'table') {
      const t = calendar.zone.transitions;
      for (let i = 1; i < t.length; i++) {
        if (t[i]!.from <= t[i - 1]!.from) {
          return new AppError('invalid', 'calendar.unsorted_zone_table', 'zone.transitions must be sorted by from', {
            details: { field: 'zone.transitions' },
          });
        }
      }
    }
  } catch (e) {
    if (e instanceof AppError) return e;
    throw e;
  }
  return undefined;
}

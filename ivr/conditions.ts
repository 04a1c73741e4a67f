import type { BusinessCalendar } from '../server/domain/calendar.js';
import { isOpen, localTime } from '../server/domain/calendar.js';
import type { Condition, ConditionOp, Scalar } from './types.js';

export const CONDITION_OPS: readonly ConditionOp[] = ['eq', 'ne', 'lt', 'le', 'gt', 'ge', 'in', 'prefix', 'matches', 'set', 'unset'];

/** What a condition may look at. Calendars that are missing count as closed (callers then reach the after-hours path). */
export interface ConditionScope {
  readonly read: (name: string) => Scalar | undefined;
  readonly calendars: Readonly<Record<string, BusinessCalendar>> | undefined;
  readonly now: number;
}

const asNumber = (v: Scalar | undefined): number | undefined => {
  if (typeof v === 'number') return Number.isFinite(v) ? v : undefined;
  if (typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v))) return Number(v);
  return undefined;
};

/** Equality across the string/number divide: collected digits are strings, dip results may be numbers. */
function same(a: Scalar | undefined, b: Scalar | undefined): boolean {
  if (a === b) return true;
  const na = asNumber(a);
  const nb = asNumber(b);
  return (typeof a === 'number' || typeof b === 'number') && na !== undefined && na === nb;
}

function compare(op: ConditionOp, left: Scalar | undefined, value: Scalar | readonly Scalar[] | undefined): boolean {
  switch (op) {
    case 'set':
      return left !== undefined && left !== null && left !== '';
    case 'unset':
      return left === undefined || left === null || left === '';
    case 'eq':
      return !Array.isArray(value) && same(left, value as Scalar | undefined);
    case 'ne':
      return !Array.isArray(value) && !same(left, value as Scalar | undefined);
    case 'in':
      return Array.isArray(value) && value.some((v) => same(left, v));
    case 'prefix':
      return typeof value === 'string' && left !== undefined && left !== null && String(left).startsWith(value);
    case 'matches':
      return typeof value === 'string' && left !== undefined && left !== null && new RegExp(value).test(String(left));
    default: {
      const a = asNumber(left);
      const b = Array.isArray(value) ? undefined : asNumber(value as Scalar | undefined);
      if (a === undefined || b === undefined) return false;
      return op === 'lt' ? a < b : op === 'le' ? a <= b : op === 'gt' ? a > b : a >= b;
    }
  }
}

/** Evaluates a branch condition. Pure: `now` and the calendars come in through the scope. */
export function evaluateCondition(c: Condition, scope: ConditionScope): boolean {
  if ('all' in c) return c.all.every((x) => evaluateCondition(x, scope));
  if ('any' in c) return c.any.some((x) => evaluateCondition(x, scope));
  if ('not' in c) return !evaluateCondition(c.not, scope);
  if ('open' in c) {
    const cal = scope.calendars?.[c.open];
    return cal !== undefined && isOpen(cal, scope.now);
  }
  if ('holiday' in c) {
    const cal = scope.calendars?.[c.holiday];
    if (cal === undefined) return false;
    const today = localTime(cal.zone, scope.now).date;
    return (cal.holidays ?? []).some((h) => h.date === today);
  }
  return compare(c.op, scope.read(c.var), c.value);
}

/** Calendar ids a condition refers to. */
export function conditionCalendars(c: Condition): string[] {
  if ('all' in c) return c.all.flatMap(conditionCalendars);
  if ('any' in c) return c.any.flatMap(conditionCalendars);
  if ('not' in c) return conditionCalendars(c.not);
  if ('open' in c) return [c.open];
  if ('holiday' in c) return [c.holiday];
  return [];
}

import t from 'tap';
import type { BusinessCalendar, TimeZoneRule } from '../../../server/domain/calendar.js';
import { isOpen, localTime, offsetMinutesAt, validateCalendar } from '../../../server/domain/calendar.js';

// Instants written as UTC ISO strings are parsed here, in the test, only to build inputs.
const at = (iso: string): number => Date.parse(iso);

const weekdays = { from: '09:00', to: '17:00' };
const paris: TimeZoneRule = {
  kind: 'table',
  baseOffsetMinutes: 60,
  transitions: [
    { from: at('2025-03-30T01:00:00Z'), offsetMinutes: 120 },
    { from: at('2025-10-26T01:00:00Z'), offsetMinutes: 60 },
  ],
};
const office: BusinessCalendar = {
  id: 'paris-office',
  zone: paris,
  weekly: { mon: [weekdays], tue: [weekdays], wed: [weekdays], thu: [weekdays], fri: [weekdays, { from: '22:00', to: '02:00' }] },
  holidays: [{ date: '2025-05-01', name: 'Fête du travail' }, { date: '2025-12-24', hours: [{ from: '09:00', to: '12:00' }] }],
};

t.test('given a zone table when reading offsets then each transition applies from its instant', async (t) => {
  t.equal(offsetMinutesAt(paris, at('2025-01-15T12:00:00Z')), 60);
  t.equal(offsetMinutesAt(paris, at('2025-03-30T00:59:59Z')), 60);
  t.equal(offsetMinutesAt(paris, at('2025-03-30T01:00:00Z')), 120);
  t.equal(offsetMinutesAt(paris, at('2025-11-01T00:00:00Z')), 60);
});

t.test('given instants when computing local time then date, weekday and minute match the civil calendar', async (t) => {
  const rows: [string, TimeZoneRule, string, string, number][] = [
    ['1970-01-01T00:00:00Z', { kind: 'fixed', offsetMinutes: 0 }, '1970-01-01', 'thu', 0],
    ['2024-02-29T23:30:00Z', { kind: 'fixed', offsetMinutes: 60 }, '2024-03-01', 'fri', 30],
    ['2025-01-06T02:00:00Z', { kind: 'fixed', offsetMinutes: -300 }, '2025-01-05', 'sun', 21 * 60],
    ['1969-12-31T23:59:00Z', { kind: 'fixed', offsetMinutes: 0 }, '1969-12-31', 'wed', 1439],
    ['2000-03-01T12:00:00Z', { kind: 'fixed', offsetMinutes: 330 }, '2000-03-01', 'wed', 17 * 60 + 30],
  ];
  for (const [iso, zone, date, weekday, minute] of rows) {
    const lt = localTime(zone, at(iso));
    t.same([lt.date, lt.weekday, lt.minuteOfDay], [date, weekday, minute], iso);
  }
});

t.test('given the office calendar when asking isOpen then hours, zones, overnight ranges and holidays hold', async (t) => {
  const rows: [string, boolean, string][] = [
    ['2025-01-06T07:59:00Z', false, 'Monday 08:59 Paris (UTC+1): before opening'],
    ['2025-01-06T08:00:00Z', true, 'Monday 09:00 Paris: opens'],
    ['2025-01-06T15:59:00Z', true, 'Monday 16:59 Paris'],
    ['2025-01-06T16:00:00Z', false, 'Monday 17:00 Paris: closed (half-open range)'],
    ['2025-07-07T07:00:00Z', true, 'summer Monday 09:00 Paris is 07:00 UTC (UTC+2)'],
    ['2025-07-07T15:30:00Z', false, 'summer Monday 17:30 Paris'],
    ['2025-01-04T10:00:00Z', false, 'Saturday'],
    ['2025-01-10T21:30:00Z', true, 'Friday 22:30: overnight range'],
    ['2025-01-11T00:30:00Z', true, 'Saturday 01:30: overnight range from Friday'],
    ['2025-01-11T01:00:00Z', false, 'Saturday 02:00: overnight range over'],
    ['2025-05-01T10:00:00Z', false, 'Thursday 1 May: holiday'],
    ['2025-12-24T09:00:00Z', true, '24 Dec 10:00 Paris: special hours'],
    ['2025-12-24T12:00:00Z', false, '24 Dec 13:00 Paris: special hours over'],
  ];
  for (const [iso, open, why] of rows) t.equal(isOpen(office, at(iso)), open, why);
});

t.test('given malformed calendars when validating then the field is named', async (t) => {
  const bad = validateCalendar({ ...office, weekly: { mon: [{ from: '9am', to: '17:00' }] } });
  t.equal(bad?.code, 'calendar.invalid_time');
  t.equal(validateCalendar({ ...office, holidays: [{ date: '1 May' }] })?.code, 'calendar.invalid_date');
  t.equal(
    validateCalendar({ ...office, zone: { kind: 'table', baseOffsetMinutes: 0, transitions: [{ from: 2, offsetMinutes: 0 }, { from: 1, offsetMinutes: 0 }] } })?.code,
    'calendar.unsorted_zone_table',
  );
  t.equal(validateCalendar(office), undefined);
});

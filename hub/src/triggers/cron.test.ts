import { describe, expect, it } from 'vitest';
import { HubError } from '../errors.js';
import { CronSchedule } from './cron.js';

const next = (expr: string, after: string) => new CronSchedule(expr).nextAfter(new Date(after))?.toISOString();

describe('CronSchedule.nextAfter (UTC)', () => {
  it('finds the next Monday 03:00 for the weekly default, strictly after the given time', () => {
    // 2026-03-02 is a Monday.
    expect(next('0 3 * * 1', '2026-03-01T12:00:00Z')).toBe('2026-03-02T03:00:00.000Z');
    expect(next('0 3 * * 1', '2026-03-02T03:00:00Z')).toBe('2026-03-09T03:00:00.000Z');
    expect(next('0 3 * * 1', '2026-03-02T02:59:59.999Z')).toBe('2026-03-02T03:00:00.000Z');
  });

  it('takes steps, ranges, lists and names', () => {
    expect(next('*/15 * * * *', '2026-03-01T10:07:00Z')).toBe('2026-03-01T10:15:00.000Z');
    expect(next('5-10/5 * * * *', '2026-03-01T10:06:00Z')).toBe('2026-03-01T10:10:00.000Z');
    expect(next('0 9,17 * * mon-fri', '2026-03-06T17:00:00Z')).toBe('2026-03-09T09:00:00.000Z'); // Fri evening → Mon
    expect(next('0 0 1 jan,jul *', '2026-03-01T00:00:00Z')).toBe('2026-07-01T00:00:00.000Z');
    expect(next('30 4 * * 7', '2026-03-01T05:00:00Z')).toBe('2026-03-08T04:30:00.000Z'); // 7 is Sunday
    expect(next('0 12 10/10 * *', '2026-03-21T00:00:00Z')).toBe('2026-03-30T12:00:00.000Z'); // a/n = a-max/n
  });

  it('matches either day field when both are restricted (Vixie cron)', () => {
    // The 13th, or any Friday: after Thu 2026-03-05 comes Fri 03-06.
    expect(next('0 0 13 * 5', '2026-03-05T00:00:00Z')).toBe('2026-03-06T00:00:00.000Z');
    expect(next('0 0 13 * 5', '2026-03-12T00:00:00Z')).toBe('2026-03-13T00:00:00.000Z');
    // With one of them a star, only the other restricts.
    expect(next('0 0 13 * *', '2026-03-05T00:00:00Z')).toBe('2026-03-13T00:00:00.000Z');
  });

  it('crosses month, year and leap-day boundaries in UTC, with no DST shift', () => {
    expect(next('0 0 29 2 *', '2026-03-01T00:00:00Z')).toBe('2028-02-29T00:00:00.000Z');
    expect(next('59 23 31 12 *', '2026-12-31T23:59:00Z')).toBe('2027-12-31T23:59:00.000Z');
    // European and US DST changes (last Sunday of March, 2nd Sunday of March): every hour still exists once.
    const hourly = new CronSchedule('0 * * * *');
    let t = new Date('2026-03-28T22:30:00Z');
    const seen: string[] = [];
    for (let i = 0; i < 6; i++) {
      t = hourly.nextAfter(t)!;
      seen.push(t.toISOString().slice(11, 16));
    }
    expect(seen).toEqual(['23:00', '00:00', '01:00', '02:00', '03:00', '04:00']);
  });

  it('says never for an impossible date, and supports macros', () => {
    expect(next('0 0 30 2 *', '2026-01-01T00:00:00Z')).toBeUndefined();
    expect(next('@weekly', '2026-03-02T00:00:00Z')).toBe('2026-03-08T00:00:00.000Z');
    expect(next('@daily', '2026-03-02T00:00:00Z')).toBe('2026-03-03T00:00:00.000Z');
  });

  it('matches exactly the minutes it lists', () => {
    const c = new CronSchedule('0 3 * * 1');
    expect(c.matches(new Date('2026-03-02T03:00:30Z'))).toBe(true);
    expect(c.matches(new Date('2026-03-02T03:01:00Z'))).toBe(false);
    expect(c.matches(new Date('2026-03-03T03:00:00Z'))).toBe(false);
  });

  it.each([
    ['0 3 * *', 'expected 5 fields'],
    ['60 * * * *', 'outside 0-59'],
    ['* 24 * * *', 'outside 0-23'],
    ['* * 0 * *', 'outside 1-31'],
    ['* * * 13 *', 'outside 1-12'],
    ['* * * * 8', 'outside 0-7'],
    ['*/0 * * * *', 'bad step'],
    ['5-1 * * * *', 'runs backwards'],
    ['x * * * *', 'is not a number'],
    ['1,,2 * * * *', 'bad item'],
  ])('rejects %s', (expr, why) => {
    expect(() => new CronSchedule(expr)).toThrow(HubError);
    expect(() => new CronSchedule(expr)).toThrow(why);
  });
});

/**
 * A five-field cron parser (minute hour day-of-month month day-of-week) evaluated in UTC, so there
 * is no daylight-saving gap or repeat. Fields take `*`, numbers, ranges `a-b`, steps `*\/n` and
 * `a-b/n` (and `a/n`, meaning `a-max/n`), lists `a,b-c`, month names `jan`-`dec` and weekday names
 * `sun`-`sat` (0 and 7 are Sunday), plus the macros `@hourly`, `@daily`, `@weekly`, `@monthly` and
 * `@yearly`. As in Vixie cron, when both day fields are restricted a day matches either of them.
 */
import { HubError } from '../errors.js';

interface FieldSpec {
  name: string;
  min: number;
  max: number;
  names?: readonly string[];
}

const FIELDS: readonly FieldSpec[] = [
  { name: 'minute', min: 0, max: 59 },
  { name: 'hour', min: 0, max: 23 },
  { name: 'day of month', min: 1, max: 31 },
  { name: 'month', min: 1, max: 12, names: ['jan', 'feb', 'mar', 'apr', 'may', 'jun', 'jul', 'aug', 'sep', 'oct', 'nov', 'dec'] },
  { name: 'day of week', min: 0, max: 7, names: ['sun', 'mon', 'tue', 'wed', 'thu', 'fri', 'sat'] },
];

const MACROS: Record<string, string> = {
  '@hourly': '0 * * * *',
  '@daily': '0 0 * * *',
  '@midnight': '0 0 * * *',
  '@weekly': '0 0 * * 0',
  '@monthly': '0 0 1 * *',
  '@yearly': '0 0 1 1 *',
  '@annually': '0 0 1 1 *',
};

function bad(expression: string, why: string): HubError {
  return new HubError('BAD_CONFIG', `invalid cron expression ${JSON.stringify(expression)}: ${why}`);
}

function value(token: string, spec: FieldSpec, expression: string): number {
  const named = spec.names?.indexOf(token.toLowerCase()) ?? -1;
  // Names start at the field's minimum: jan = 1, sun = 0.
  if (named >= 0) return named + (spec.names === FIELDS[3]!.names ? 1 : 0);
  if (!/^\d+$/.test(token)) throw bad(expression, `${spec.name}: ${JSON.stringify(token)} is not a number`);
  const n = Number(token);
  if (n < spec.min || n > spec.max) throw bad(expression, `${spec.name}: ${n} is outside ${spec.min}-${spec.max}`);
  return n;
}

function parseField(text: string, spec: FieldSpec, expression: string): { values: Set<number>; star: boolean } {
  const values = new Set<number>();
  for (const part of text.split(',')) {
    const [range, stepText, extra] = part.split('/');
    if (range === undefined || range === '' || extra !== undefined) throw bad(expression, `${spec.name}: bad item ${JSON.stringify(part)}`);
    const step = stepText === undefined ? 1 : Number(stepText);
    if (!Number.isInteger(step) || step < 1 || !/^\d+$/.test(stepText ?? '1'))
      throw bad(expression, `${spec.name}: bad step in ${JSON.stringify(part)}`);
    let lo: number;
    let hi: number;
    if (range === '*') [lo, hi] = [spec.min, spec.max];
    else if (range.includes('-')) {
      const [a, b, more] = range.split('-');
      if (a === undefined || b === undefined || more !== undefined)
        throw bad(expression, `${spec.name}: bad range ${JSON.stringify(range)}`);
      [lo, hi] = [value(a, spec, expression), value(b, spec, expression)];
      if (lo > hi) throw bad(expression, `${spec.name}: range ${range} runs backwards`);
    } else {
      lo = value(range, spec, expression);
      hi = stepText === undefined ? lo : spec.max;
    }
    for (let v = lo; v <= hi; v += step) values.add(v);
  }
  return { values, star: text === '*' || text.startsWith('*/') };
}

/** A parsed cron expression. */
export class CronSchedule {
  private readonly minutes: Set<number>;
  private readonly hours: Set<number>;
  private readonly days: Set<number>;
  private readonly months: Set<number>;
  private readonly weekdays: Set<number>;
  private readonly anyDay: boolean;
  private readonly anyWeekday: boolean;

  /** Parses `expression`; throws `BAD_CONFIG` with the reason when it is not valid. */
  constructor(readonly expression: string) {
    const expanded = MACROS[expression.trim().toLowerCase()] ?? expression;
    const fields = expanded.trim().split(/\s+/);
    if (fields.length !== 5) throw bad(expression, `expected 5 fields, got ${fields.length}`);
    const parsed = fields.map((f, i) => parseField(f, FIELDS[i]!, expression));
    this.minutes = parsed[0]!.values;
    this.hours = parsed[1]!.values;
    this.days = parsed[2]!.values;
    this.months = parsed[3]!.values;
    this.weekdays = new Set([...parsed[4]!.values].map((d) => d % 7));
    this.anyDay = parsed[2]!.star;
    this.anyWeekday = parsed[4]!.star;
  }

  private dayMatches(d: Date): boolean {
    const dom = this.days.has(d.getUTCDate());
    const dow = this.weekdays.has(d.getUTCDay());
    if (this.anyDay && this.anyWeekday) return true;
    if (this.anyDay) return dow;
    if (this.anyWeekday) return dom;
    return dom || dow;
  }

  /** Whether the minute containing `date` is a scheduled one. */
  matches(date: Date): boolean {
    return (
      this.minutes.has(date.getUTCMinutes()) &&
      this.hours.has(date.getUTCHours()) &&
      this.months.has(date.getUTCMonth() + 1) &&
      this.dayMatches(date)
    );
  }

  /**
   * The first scheduled minute strictly after `date`, or `undefined` when none comes within eight
   * years (`0 0 30 2 *` never does; eight years covers every leap-day schedule).
   */
  nextAfter(date: Date): Date | undefined {
    const t = new Date(Math.floor(date.getTime() / 60_000) * 60_000 + 60_000);
    const limit = date.getTime() + 8 * 366 * 86_400_000;
    while (t.getTime() <= limit) {
      if (!this.months.has(t.getUTCMonth() + 1)) {
        t.setUTCMonth(t.getUTCMonth() + 1, 1);
        t.setUTCHours(0, 0, 0, 0);
      } else if (!this.dayMatches(t)) {
        t.setUTCDate(t.getUTCDate() + 1);
        t.setUTCHours(0, 0, 0, 0);
      } else if (!this.hours.has(t.getUTCHours())) {
        t.setUTCHours(t.getUTCHours() + 1, 0, 0, 0);
      } else if (!this.minutes.has(t.getUTCMinutes())) {
        t.setUTCMinutes(t.getUTCMinutes() + 1, 0, 0);
      } else return t;
    }
    return undefined;
  }
}

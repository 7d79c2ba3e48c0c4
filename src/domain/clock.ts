/** Time is injected (ENGINEERING.md habit 7): nothing reads Date.now() directly. */
export interface Clock {
  now(): Date;
}

export const systemClock: Clock = { now: () => new Date() };

export const DAY_MS = 86_400_000;
export const HOUR_MS = 3_600_000;

/**
 * How far a sandbox test clock may run ahead of real time: 10 years (3,650 days) is far more than any
 * consent, retry or schedule needs, and keeps every application time a valid date and SQL interval
 * (an offset of 10^17 ms overflowed PostgreSQL's interval and stopped the shared claims).
 */
export const MAX_CLOCK_OFFSET_MS = 3650 * DAY_MS;

/** An offset as every clock uses it: never behind real time, never past the bound (a value stored by an older version included). */
export function boundedOffset(offsetMs: number): number {
  return Number.isFinite(offsetMs) ? Math.min(Math.max(offsetMs, 0), MAX_CLOCK_OFFSET_MS) : 0;
}

/** A clock that is `offsetMs` ahead of another: the sandbox test clock of one application. */
export function offsetClock(base: Clock, offsetMs: number): Clock {
  const bounded = boundedOffset(offsetMs);
  return bounded === 0 ? base : { now: () => new Date(base.now().getTime() + bounded) };
}

/** A clock tests move by hand. */
export class ManualClock implements Clock {
  constructor(private current: Date) {}
  now(): Date { return new Date(this.current); }
  advance(ms: number): void { this.current = new Date(this.current.getTime() + ms); }
  set(d: Date): void { this.current = new Date(d); }
}

/** YYYY-MM-DD of a date, in UTC. */
export function isoDay(d: Date): string {
  return d.toISOString().slice(0, 10);
}

export function addDays(day: string, days: number): string {
  return isoDay(new Date(Date.parse(`${day}T00:00:00Z`) + days * DAY_MS));
}

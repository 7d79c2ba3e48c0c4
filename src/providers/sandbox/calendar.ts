/**
 * UTC day arithmetic. The sandbox works in whole days since the Unix epoch so that generation is
 * keyed by an absolute day and is independent of the hour `now` happens to be.
 */

export const DAY_MS = 86_400_000;

/** The UTC day number (days since 1970-01-01) that contains `date`. */
export function dayOf(date: Date): number {
  return Math.floor(date.getTime() / DAY_MS);
}

export interface CivilDate {
  year: number;
  /** 1–12 */
  month: number;
  /** 1–31 */
  day: number;
}

/** Day number → calendar date, without Date objects (H. Hinnant's civil_from_days): it runs per generated day. */
export function civilOf(dayNumber: number): CivilDate {
  const z = dayNumber + 719468;
  const era = Math.floor(z / 146097);
  const doe = z - era * 146097;
  const yoe = Math.floor((doe - Math.floor(doe / 1460) + Math.floor(doe / 36524) - Math.floor(doe / 146096)) / 365);
  const doy = doe - (365 * yoe + Math.floor(yoe / 4) - Math.floor(yoe / 100));
  const mp = Math.floor((5 * doy + 2) / 153);
  const day = doy - Math.floor((153 * mp + 2) / 5) + 1;
  const month = mp < 10 ? mp + 3 : mp - 9;
  return { year: yoe + era * 400 + (month <= 2 ? 1 : 0), month, day };
}

/** Calendar date → day number (inverse of civilOf). */
export function dayFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yoe = y - era * 400;
  const mp = month > 2 ? month - 3 : month + 9;
  const doy = Math.floor((153 * mp + 2) / 5) + day - 1;
  const doe = yoe * 365 + Math.floor(yoe / 4) - Math.floor(yoe / 100) + doy;
  return era * 146097 + doe - 719468;
}

export function isoOf(dayNumber: number): string {
  const c = civilOf(dayNumber);
  return `${c.year}-${String(c.month).padStart(2, '0')}-${String(c.day).padStart(2, '0')}`;
}

/** Strict YYYY-MM-DD → day number; null for anything else (including 2023-02-30). */
export function parseIsoDay(text: string): number | null {
  const m = /^(\d{4})-(\d{2})-(\d{2})$/.exec(text);
  if (!m) return null;
  const year = Number(m[1]);
  const month = Number(m[2]);
  const day = Number(m[3]);
  if (month < 1 || month > 12 || day < 1 || day > 31) return null;
  const n = dayFromCivil(year, month, day);
  const back = civilOf(n);
  return back.month === month && back.day === day ? n : null;
}

/** A month counter (year * 12 + month - 1): adjacent months differ by one. */
export function monthIndexOf(c: CivilDate): number {
  return c.year * 12 + c.month - 1;
}

/** 0 = Sunday … 6 = Saturday (1970-01-01 was a Thursday). */
export function weekdayOf(dayNumber: number): number {
  return (((dayNumber + 4) % 7) + 7) % 7;
}

export function isLastDayOfMonth(dayNumber: number): boolean {
  return civilOf(dayNumber + 1).day === 1;
}

/** ISO 8601 durations (`P30D`, `PT6H`, `P1DT12H30M`, `P2W`) to milliseconds. Months and years are refused: their length varies. */
const PATTERN = /^P(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$/;

/**
 * Whole milliseconds (fractions of a millisecond are rounded), or null when the text is not such a
 * duration or its length is not a safe integer of milliseconds: a string of digits never becomes
 * Infinity, NaN or an imprecise number that a caller would go on to store.
 */
export function parseDuration(text: string): number | null {
  const m = PATTERN.exec(text);
  if (!m || text === 'P' || text.endsWith('T')) return null;
  const [, w, d, h, min, s] = m;
  const n = (v: string | undefined) => (v ? Number(v) : 0);
  const ms = Math.round(((n(w) * 7 + n(d)) * 86_400 + n(h) * 3600 + n(min) * 60) * 1000 + n(s) * 1000);
  return Number.isSafeInteger(ms) ? ms : null;
}

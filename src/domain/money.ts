/**
 * Providers' decimal amounts as Causeway's integer minor units, without float arithmetic: Plaid's
 * JSON numbers, GoCardless's and SimpleFIN's decimal strings (`"-19.99"`), by the currency's ISO
 * 4217 exponent.
 *
 * Plaid sends amounts as JSON numbers (`19.99`); JSON.parse gives the nearest double, and
 * `String(n)` gives the shortest decimal that reads back as that double, which for any amount of
 * up to 15 significant digits is exactly the decimal Plaid wrote. We shift the decimal point in that
 * string (handling exponent notation such as `1e-7` or `1.5e+21`) instead of multiplying: 1.005 * 100
 * is 100.49999999999999 in floating point, while the string says 1.005 → 101 (rounded half away).
 *
 * Amounts with more decimals than the currency has (a USD amount of 0.125) are rounded half away from
 * zero: 0.125 → 13, -0.125 → -13, so a charge and its refund round to the same size.
 */

/**
 * ISO 4217 exponents other than 2. An explicit table rather than Intl: Intl follows CLDR, which
 * differs from ISO 4217 for some currencies (IQD has 3 decimals in ISO, 0 in CLDR).
 */
const EXPONENTS: Readonly<Record<string, number>> = {
  BIF: 0, CLP: 0, DJF: 0, GNF: 0, ISK: 0, JPY: 0, KMF: 0, KRW: 0, PYG: 0, RWF: 0, UGX: 0, UYI: 0,
  VND: 0, VUV: 0, XAF: 0, XOF: 0, XPF: 0,
  BHD: 3, IQD: 3, JOD: 3, KWD: 3, LYD: 3, OMR: 3, TND: 3,
  CLF: 4, UYW: 4,
};

/**
 * Decimal places of a currency's minor unit. Codes outside ISO 4217 (Plaid's `unofficial_currency_code`,
 * such as BTC) get 2: Causeway keeps minor units of a currency code, and has no finer unit for them.
 */
export function currencyExponent(currency: string): number {
  return EXPONENTS[currency.toUpperCase()] ?? 2;
}

/** The exact decimal text of a finite number (exponent notation included), as JSON had it. */
function decimalText(value: number): string {
  if (!Number.isFinite(value)) throw new RangeError(`Not a finite amount: ${value}`);
  return String(value);
}

const DECIMAL = /^([+-]?)(\d*)(?:\.(\d*))?(?:e([+-]?\d+))?$/i;

/**
 * A decimal amount (a number as Plaid sent it, or decimal text) as integer minor units of a currency
 * with `exponent` decimals, rounded half away from zero. Throws RangeError past Number.MAX_SAFE_INTEGER.
 */
export function toMinorUnits(value: number | string, exponent: number): number {
  const text = typeof value === 'number' ? decimalText(value) : value.trim();
  const match = DECIMAL.exec(text);
  if (!match || (match[2] === '' && (match[3] ?? '') === '')) throw new RangeError(`Not a decimal amount: ${JSON.stringify(text)}`);
  const negative = match[1] === '-';
  const whole = match[2] ?? '';
  const fraction = match[3] ?? '';
  const digits = whole + fraction;
  // Where the decimal point falls in `digits` once scaled to minor units.
  const point = whole.length + Number(match[4] ?? 0) + exponent;
  let kept: string;
  let dropped: string;
  if (point >= digits.length) {
    kept = digits + '0'.repeat(point - digits.length);
    dropped = '';
  } else if (point <= 0) {
    kept = '';
    dropped = '0'.repeat(-point) + digits;
  } else {
    kept = digits.slice(0, point);
    dropped = digits.slice(point);
  }
  let units = BigInt(kept === '' ? '0' : kept);
  // Half away from zero: the first dropped digit decides (a 5 followed by anything rounds up in size).
  if (dropped !== '' && dropped.charCodeAt(0) >= 53 /* '5' */) units += 1n;
  if (units > BigInt(Number.MAX_SAFE_INTEGER)) throw new RangeError(`Amount ${text} is too large to hold in minor units`);
  if (units === 0n) return 0;
  return negative ? -Number(units) : Number(units);
}

/** An amount in a currency, by its ISO 4217 exponent. */
export function amountToMinor(value: number | string, currency: string): number {
  return toMinorUnits(value, currencyExponent(currency));
}

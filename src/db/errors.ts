/**
 * PostgreSQL's errors as either driver reports them: node-postgres's error bare, or PGlite's, and
 * either one wrapped by Drizzle (its `cause`) and perhaps by a wrapper or two around that.
 */

/** unique_violation: a row with that key is already there. */
export const UNIQUE_VIOLATION = '23505';
/** deadlock_detected and serialization_failure: the transaction lost a race and may simply run again. */
export const CONFLICT_CODES: readonly string[] = ['40P01', '40001'];

/** How deep the `cause` chain is looked through: Drizzle's error, the driver's, and a wrapper or two around them. */
const CAUSE_DEPTH = 4;

/** The first error in the first CAUSE_DEPTH links of err's `cause` chain whose SQLSTATE is one of `codes`, with the constraint it names. */
export function sqlErrorOf(err: unknown, codes: readonly string[]): { code: string; constraint: string | undefined } | null {
  for (let e = err as { code?: unknown; constraint?: unknown; cause?: unknown } | null | undefined, depth = 0; e && depth < CAUSE_DEPTH; e = e.cause as typeof e, depth++) {
    if (typeof e.code === 'string' && codes.includes(e.code)) return { code: e.code, constraint: typeof e.constraint === 'string' ? e.constraint : undefined };
  }
  return null;
}

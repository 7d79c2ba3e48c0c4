/**
 * An application's time in SQL: real time plus its sandbox test-clock offset. The offset is bounded
 * here as in domain/clock.ts (0 to MAX_CLOCK_OFFSET_MS), so even a value stored before the bound
 * existed cannot overflow an interval ('interval out of range') and fail a statement that serves
 * every application.
 */
import { sql, type AnyColumn, type SQL } from 'drizzle-orm';
import { MAX_CLOCK_OFFSET_MS } from '../../domain/clock.js';

/** The clock_offset_ms column (or an alias such as sql`a.clock_offset_ms`) as every query uses it. */
export function boundedOffsetSql(offset: AnyColumn | SQL): SQL {
  return sql`least(greatest(${offset}, 0), ${sql.raw(String(MAX_CLOCK_OFFSET_MS))})`;
}

/** `wall` (real time) on the clock of the application whose offset column is given, plus `plusMs` (a parameter or a number). */
export function appTimeSql(wall: Date, offset: AnyColumn | SQL, plusMs: number | SQL = 0): SQL {
  const extra = plusMs === 0 ? sql`` : sql` + ${plusMs}`;
  return sql`(${wall.toISOString()}::timestamptz + (${boundedOffsetSql(offset)}${extra}) * interval '1 millisecond')`;
}

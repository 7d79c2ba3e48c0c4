/**
 * A condition that only filters rows found another way (by primary key), never one the planner
 * answers from an index.
 *
 * Partial indexes hold the rows still in play: webhook_deliveries_app_due_idx (`status =
 * 'pending'`), jobs_one_live_per_connection (the live statuses) and import_batches_unfinished_idx
 * (not completed). A lookup by id that also checks such a status lets PostgreSQL prove that the
 * partial index covers the rows asked for, and it estimates that index's size from the statistics
 * of the last ANALYZE. Those are gathered when the table changed enough, which is usually when
 * little is pending, so the index looks nearly empty and the planner prefers reading all of it,
 * filtering by id, to probing the primary key: every lookup during a backlog then reads the whole
 * backlog (a webhook claim of 107 deliveries took 26.7 ms with 4,735 pending; BENCHMARKS.md).
 * `(condition) is true` keeps a WHERE clause's meaning (false and null both leave the row out) but
 * is not a form the planner proves an index from.
 */
import { sql, type SQL } from 'drizzle-orm';

export function filterOnly(condition: SQL): SQL;
export function filterOnly(condition: SQL | undefined): SQL | undefined;
export function filterOnly(condition: SQL | undefined): SQL | undefined {
  return condition === undefined ? undefined : sql`(${condition}) is true`;
}

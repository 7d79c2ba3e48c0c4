/**
 * How a status check meets the partial indexes of the rows still in play. Two opposite cases:
 * `liveJob` lets every plan find a connection's live job through its partial index; `filterOnly`
 * keeps a lookup by id from being answered by such an index.
 */
import { sql, type Column, type SQL } from 'drizzle-orm';
import { LIVE_JOB_STATUSES } from '../domain/types.js';

/**
 * A job is live (queued, running or awaiting input), written with the statuses as literals, exactly
 * as jobs_one_live_per_connection's predicate is. A prepared statement's generic plan knows nothing
 * of its parameters, so a status list sent as parameters cannot prove that index: the generic plan
 * read every job of the connection (its whole history), and the planner kept to a custom plan per
 * call instead, planning the refresh request's lock on every call. With literals any plan probes
 * the index for the one live job. The statuses are the code's constants, never input.
 */
export function liveJob(status: Column | SQL): SQL {
  return sql`${status} in (${sql.raw(LIVE_JOB_STATUSES.map((s) => `'${s}'`).join(', '))})`;
}

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
export function filterOnly(condition: SQL): SQL;
export function filterOnly(condition: SQL | undefined): SQL | undefined;
export function filterOnly(condition: SQL | undefined): SQL | undefined {
  return condition === undefined ? undefined : sql`(${condition}) is true`;
}

/**
 * How a statement's conditions and inputs meet the planner. `liveJob` lets every plan find a
 * connection's live job through its partial index; `filterOnly` keeps a lookup by id from being
 * answered by such an index; `opaque` lets a named statement keep one plan whatever its
 * parameters.
 */
import { sql, type Column, type Placeholder, type SQL } from 'drizzle-orm';
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

/** Types of the values a statement hides from the planner (`opaque`). */
export type OpaqueType = 'text[]' | 'int4[]' | 'int8[]' | 'date[]' | 'timestamptz[]' | 'date';

/**
 * A parameter the planner reads as an unknown value whatever the call passes: `(select $n::type)`,
 * an InitPlan it does not look into. For the inputs whose value sways only the planner's estimates,
 * never the plan a statement needs.
 *
 * A named statement (db/statements.ts) is planned for each call's parameters (a custom plan) five
 * times. From then on it keeps one plan for all calls (the generic one) if that costs less than the
 * custom plans have cost on average, planning included. Two inputs make every custom plan look
 * cheaper, so the statement is planned again on every call:
 * - an `unnest` of array parameters: a custom plan counts the call's rows (4 accounts, 3
 *   transactions) where the generic plan assumes 10 an array;
 * - a refresh's window (`date >= $from`): a custom plan reads the date's share from the
 *   statistics (78 rows) where the generic one assumes a third of the connection's (287), for the
 *   same plan (the connection's date index and its live pending ones).
 * Measured on a refresh (bench/refresh-sql.ts, BENCHMARKS.md): on server connections that start
 * with the refreshes, as a restarted worker's do, the writes that begin `with owned` (the apply,
 * the accounts' upsert, the run's end) made 330 plans for 1,350 calls, against 790. The plan cache
 * weighs the generic plan against the average of every custom plan made on that connection so
 * far. So where the same connections also ran the first syncs of an empty database, their cheap
 * early plans keep the accounts' upsert on custom plans for a long while.
 *
 * `value`: an array (sent as one parameter), an array's literal text, a date, or a prepared
 * statement's placeholder. `type` is the code's constant.
 */
export function opaque(value: readonly unknown[] | string | Placeholder, type: OpaqueType): SQL {
  return sql`(select ${Array.isArray(value) ? sql.param(value) : value}::${sql.raw(type)})`;
}

/** Rows as `unnest`'s arguments: one array parameter a column (each `opaque`), in the order given. */
export function opaqueColumns<R>(rows: readonly R[], columns: readonly (readonly [pick: (row: R) => unknown, type: OpaqueType])[]): SQL {
  return sql.join(columns.map(([pick, type]) => opaque(rows.map(pick), type)), sql`, `);
}

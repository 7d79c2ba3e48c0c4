/**
 * The one way to run a transaction (`withTransaction`), and the one order in which rows are locked.
 *
 * LOCK ORDER. Every transaction or statement that holds a row lock while it waits for another
 * takes them in this order, and never the other way round:
 *
 *   1. the user            (users row; `for no key update`, `for update` only to delete it)
 *   2. the connection(s)   (connections rows, several in id order; `for no key update`, `for update` to delete)
 *   3. the job             (jobs row: the run's fence, or the live job being cancelled)
 *   4. the data            (accounts, transactions, identities, transaction_removals)
 *   5. bookkeeping         (institution_throttles, refresh_schedule, provider_calls, events)
 *
 * A lock may be skipped (a job run's end needs no user), but a later one is never held while an
 * earlier one is waited for. Watch for the implicit ones: `update users set change_seq` (ingestion,
 * purge) locks the user; inserting a row with a foreign key takes `for key share` on the row it
 * references (a job on its user and connection, a transaction on its account). So a transaction
 * that will write under a user locks that user first, in the strongest mode it will need (a later
 * upgrade can deadlock too). The helpers are in repos/locks.ts; one
 * statement can keep the order too: a row's lock is taken only once its filter has passed, so
 * `... where exists (select 1 from users where ... for no key update) for no key update` locks the
 * user before the connection (repos/locks.ts `userLockedFirst`).
 *
 * Webhook deliveries stand apart: the worker's claim and its lease renewal lock them `skip locked`,
 * so neither ever waits, and the recorder waits only on rows it holds the lease of, then on the
 * endpoints in id order (repos/webhooks.ts).
 *
 * Even in order, PostgreSQL may still report a deadlock (40P01: a lock taken by a statement we do
 * not control, such as a cascade) or a serialization failure (40001). `withTransaction` runs the
 * transaction again then, a bounded number of times with jittered backoff; so does `retryOnConflict`
 * for a single statement outside a transaction. The function passed must be safe to run again: no
 * side effects outside the transaction (queue sends go through the transaction's `db`, or after
 * the commit). The embedded PGlite runs one statement at a time and never deadlocks.
 *
 * A transaction that still loses after the last run ends as AppError `try_again` (503 with
 * Retry-After): a busy moment, not a fault, so every caller (a route, a job, the CLI) gets the same
 * answer rather than a raw deadlock or a RetryTransaction that would reach the HTTP layer as a 500.
 */
import { sql } from 'drizzle-orm';
import { PgTransaction } from 'drizzle-orm/pg-core';
import { AppError } from '../domain/errors.js';
import type { Db } from './open.js';
import { CONFLICT_CODES, sqlErrorOf } from './errors.js';

/**
 * A CTE (`with ${ASYNC_COMMIT} …`, then `from async_commit` or `cross join async_commit` so it is
 * evaluated) that lets the statement's own transaction commit without waiting for the disk. Only
 * for bookkeeping whose loss costs nothing: a crash of the server may lose the last few such commits,
 * but never one that a later ordinary commit depends on (the log is flushed in order, so an
 * ordinary commit makes every earlier one durable with it). The institution permits (repos/throttles.ts)
 * and the scheduler's claim (repos/connections.ts) use it: their rows are taken again when lost.
 */
export const ASYNC_COMMIT = sql`async_commit as materialized (select set_config('synchronous_commit', 'off', true) as setting)`;

/** Five runs in all: a deadlock between two transactions is settled by the first retry almost always. */
export const TRANSACTION_ATTEMPTS = 5;
/** Backoff before retry n (1-based): a random wait up to BASE × 2^(n-1) ms (full jitter), so the two sides of a deadlock do not meet again. */
const BACKOFF_BASE_MS = 10;

/**
 * Thrown inside a transaction that saw a race it can only settle by starting again with a fresh
 * snapshot (a live job committed after its read, say): `withTransaction` runs it again.
 */
export class RetryTransaction extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RetryTransaction';
  }
}

/** A deadlock or serialization failure, as either driver reports it (db/errors.ts). */
export function isConflict(err: unknown): boolean {
  return sqlErrorOf(err, CONFLICT_CODES) !== null;
}

const retryable = (err: unknown) => isConflict(err) || err instanceof RetryTransaction;

/** Counts of retries since start, by cause: what the race tests and an operator look at. */
export const retryCounts = { conflict: 0, race: 0, exhausted: 0 };

/**
 * Runs `fn` and runs it again when it loses a race (see above), at most TRANSACTION_ATTEMPTS times.
 * `fn` must be atomic (one transaction or one statement) and safe to run again.
 */
export async function retryOnConflict<T>(fn: () => Promise<T>, attempts = TRANSACTION_ATTEMPTS): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      if (!retryable(err)) throw err;
      if (attempt >= attempts) {
        retryCounts.exhausted++;
        throw err;
      }
      if (err instanceof RetryTransaction) retryCounts.race++;
      else retryCounts.conflict++;
      await new Promise((r) => setTimeout(r, Math.random() * BACKOFF_BASE_MS * 2 ** (attempt - 1)));
    }
  }
}

/**
 * Runs `fn` in a transaction on `db`, again (bounded, jittered) after a deadlock or serialization
 * failure. Inside a transaction already (`db` is one), it opens a savepoint and does not retry: the
 * outer transaction's locks would meet the same deadlock, so the outermost one retries.
 */
export async function withTransaction<T>(db: Db, fn: (tx: Db) => Promise<T>): Promise<T> {
  if (db instanceof PgTransaction) return db.transaction((tx) => fn(tx as unknown as Db));
  try {
    return await retryOnConflict(() => db.transaction((tx) => fn(tx as unknown as Db)));
  } catch (err) {
    // Only the outermost transaction gets here with a retryable error: its runs are spent.
    if (retryable(err)) throw exhausted(err);
    throw err;
  }
}

/** The answer to a transaction that lost every run: retry the request shortly. The last error is kept as `cause` for the log. */
function exhausted(err: unknown): AppError {
  const e = new AppError('try_again', 'The database was busy with a conflicting change. Retry the request in a moment.', {}, { 'retry-after': '1' });
  e.cause = err;
  return e;
}

/**
 * Accounts, transactions and identity: ingestion (bulk, idempotent, keyed by provider ids) and reads.
 *
 * Ingestion of one connection's transactions is two statements:
 *   read the stored window → plan (domain/matching) → apply the plan in ONE statement (fence on
 *   the job's run token, feed positions, insert/update/remove, the connection's sync state);
 *   a plan of many inserts (a first sync) applies the same statement and then COPYs its inserts,
 *   in one transaction.
 * The run's claim of the job comes first, and a superseded run's apply writes nothing, so the
 * window read is never stale. A crash leaves the last apply whole or absent; a re-run re-plans.
 */
import { and, asc, eq, sql } from 'drizzle-orm';
import { newId } from '../../domain/ids.js';
import type { IncomingTransaction, StoredTransaction, TransactionPlan } from '../../domain/matching.js';
import type { Db } from '../open.js';
import { preparedSql } from '../prepared.js';
import { opaque, opaqueColumns, type OpaqueType } from '../predicates.js';
import { copyField, copyRows, copyText } from '../copy.js';
import { sqlErrorOf, UNIQUE_VIOLATION } from '../errors.js';
import { withTransaction } from '../transaction.js';
import { SupersededRunError } from './jobs.js';
import { journalInsert, type ProviderCallInsert } from './provider-calls.js';
import type { JobStep } from '../../domain/types.js';
import { connectionLockedFirst } from './locks.js';
import { accounts, identities, transactions } from '../schema.js';

export type AccountRow = typeof accounts.$inferSelect;
export type TransactionRow = typeof transactions.$inferSelect;

/**
 * The job run doing a write: nothing is written unless it still owns the job (jobs.run_token).
 * `save`: the run's steps as they stand after this write (the step it ends done, the next one
 * started) and its provider calls not yet journaled, written by the same statement (one write per
 * step instead of two: services/sync/steps.ts). The calls are journaled even when the run was
 * superseded, as every job write does (db/repos/jobs.ts).
 */
export interface RunFence { jobId: string; runToken: string; save?: { steps: JobStep[]; at: Date; calls: ProviderCallInsert[] } }

/**
 * `owned` for a CTE: the job row, locked, if the run still owns it; one row regardless when there is
 * no run. Its user and connection are locked before it, in the order of db/transaction.ts (a row is
 * locked only once its filter passed, and the filter locks the one before): the statement goes on
 * to bump the user's change_seq and to write under the connection, while a purge or a delete holds
 * the user and connection and waits for this job.
 */
function ownedBy(run: RunFence | null) {
  return run ? sql`select id from jobs where id = ${run.jobId} and run_token = ${run.runToken}
    and ${connectionLockedFirst(sql`jobs.connection_id`, { userFirst: true })}
    for update` : sql`select 1`;
}

/** The CTEs that write a fence's `save` after `owned` (nothing without one). */
function savedBy(run: RunFence | null) {
  if (!run?.save) return sql``;
  const { steps, at, calls } = run.save;
  return sql`, saved as (update jobs set steps = ${JSON.stringify(steps)}::jsonb, updated_at = ${at.toISOString()}::timestamptz
      where id = ${run.jobId} and exists (select 1 from owned))${calls.length > 0 ? sql`, journal as (${journalInsert(calls)})` : sql``}`;
}

/**
 * Inserts new accounts and refreshes known ones (keyed by provider account id); answers every
 * stored id. Fenced like the ingestion: a superseded run (a purge or a delete took its job) writes
 * nothing and gets SupersededRunError. `keepBalances`: the provider did not read balances this time (its budget is spent): existing
 * accounts keep theirs; a new one starts at zero until they are read.
 */
export async function upsertAccounts(db: Db, rows: (typeof accounts.$inferInsert)[], run: RunFence | null, opts: { keepBalances?: boolean } = {}): Promise<{ id: string; providerAccountId: string }[]> {
  return (await upsertAccountsReadingWindow(db, rows, run, opts)).accounts;
}

/**
 * upsertAccounts, and with `windowFrom` the connection's stored window as loadStoredWindow reads it,
 * in the same statement: a run that goes on to retrieve transactions plans them against it, one
 * round trip fewer. Read after the run's claim, like loadStoredWindow's read (see the top of this
 * file), and nothing but this run writes the connection's transactions until it ends.
 */
export async function upsertAccountsReadingWindow(
  db: Db, rows: (typeof accounts.$inferInsert)[], run: RunFence | null, opts: { keepBalances?: boolean; windowFrom?: string } = {},
): Promise<{ accounts: { id: string; providerAccountId: string }[]; window: StoredTransaction[] | null }> {
  if (rows.length === 0) return { accounts: [], window: null };
  const balances = opts.keepBalances ? sql`` : sql`, balance_current = excluded.balance_current,
      balance_available = excluded.balance_available, balance_limit = excluded.balance_limit,
      balances_updated_at = excluded.balances_updated_at`;
  const first = rows[0]!;
  const result = (await db.execute(sql`
    with owned as (${ownedBy(run)})${savedBy(run)},
    up as (insert into accounts (id, application_id, user_id, connection_id, provider_account_id, name, type, mask, currency,
      balance_current, balance_available, balance_limit, balances_updated_at, created_at, updated_at)
    select v.id, v.application_id, v.user_id, v.connection_id, v.pid, v.name, v.type, v.mask, v.currency,
      v.cur, v.avail, v.lim, v.at, v.at, v.at
    from unnest(${opaqueColumns(rows, [
      [(r) => r.id, 'text[]'], [(r) => r.applicationId, 'text[]'], [(r) => r.userId, 'text[]'], [(r) => r.connectionId, 'text[]'],
      [(r) => r.providerAccountId, 'text[]'], [(r) => r.name, 'text[]'], [(r) => r.type, 'text[]'], [(r) => r.mask, 'text[]'],
      [(r) => r.currency, 'text[]'], [(r) => r.balanceCurrent, 'int8[]'], [(r) => r.balanceAvailable ?? null, 'int8[]'],
      [(r) => r.balanceLimit ?? null, 'int8[]'], [(r) => r.updatedAt.toISOString(), 'timestamptz[]'],
    ])})
      as v(id, application_id, user_id, connection_id, pid, name, type, mask, currency, cur, avail, lim, at)
    where exists (select 1 from owned)
    on conflict (connection_id, provider_account_id) do update set name = excluded.name, type = excluded.type,
      mask = excluded.mask, currency = excluded.currency${balances}, updated_at = excluded.updated_at
    returning id, provider_account_id, (xmax = 0) as inserted),
    -- accounts.updated, in the same statement: balances moved, and how many accounts are new.
    ev as (insert into events (id, application_id, user_id, connection_id, type, data, actor, created_at)
      select ${newId('evt', first.updatedAt.getTime())}, ${first.applicationId}, ${first.userId}, ${first.connectionId}, 'accounts.updated',
        jsonb_build_object('accounts', count(*), 'added', count(*) filter (where inserted), 'jobId', ${run?.jobId ?? null}::text), null,
        ${first.updatedAt.toISOString()}::timestamptz
      from up having count(*) > 0)
    select id, provider_account_id, null::json as stored from up${opts.windowFrom === undefined ? sql`` : sql`
    -- the window, as one more row (its id null) holding its rows as JSON, read only while the run owns the job
    union all select null, null, coalesce(json_agg(w), '[]'::json) from (select ${STORED} from transactions
      where connection_id = ${first.connectionId} and (date >= ${opaque(opts.windowFrom, 'date')} or (status = 'pending' and removed_at is null))
        and exists (select 1 from owned)) w`}`)) as { rows: { id: string | null; provider_account_id: string; stored: unknown }[] };
  const stored = result.rows.filter((r) => r.id !== null);
  if (stored.length === 0 && run) throw new SupersededRunError(run.jobId);
  const window = result.rows.find((r) => r.id === null)?.stored;
  return {
    accounts: stored.map((r) => ({ id: r.id!, providerAccountId: r.provider_account_id })),
    window: window === undefined ? null : (typeof window === 'string' ? JSON.parse(window) : window) as StoredTransaction[],
  };
}

export async function listUserAccounts(db: Db, applicationId: string, userId: string): Promise<AccountRow[]> {
  return db.select().from(accounts).where(and(eq(accounts.applicationId, applicationId), eq(accounts.userId, userId))).orderBy(asc(accounts.id));
}

export async function findAccount(db: Db, applicationId: string, userId: string, id: string): Promise<AccountRow | null> {
  const [row] = await db.select().from(accounts).where(and(eq(accounts.applicationId, applicationId), eq(accounts.userId, userId), eq(accounts.id, id)));
  return row ?? null;
}

/** Stored transactions of a connection dated on or after `from`, plus every live pending one (they may post later). */
export async function loadStoredWindow(db: Db, connectionId: string, from: string): Promise<StoredTransaction[]> {
  return (await storedWindow(db).execute({ connectionId, from })).rows as unknown as StoredTransaction[];
}

/** The stored transactions with these provider ids (a cursor page's added, modified, removed and the pending ones they name). */
export async function loadStoredByProviderIds(db: Db, connectionId: string, providerIds: string[]): Promise<StoredTransaction[]> {
  if (providerIds.length === 0) return [];
  const result = (await db.execute(sql`select ${STORED} from transactions
    where connection_id = ${connectionId} and provider_transaction_id = any(${arrayLiteral([...new Set(providerIds)])}::text[])`)) as { rows: unknown[] };
  return result.rows as StoredTransaction[];
}

/**
 * What the matching reads of a stored transaction, as domain/matching.ts StoredTransaction names
 * it, and nothing more: a refresh reads a month of rows, and the columns it does not need (the
 * tenant's ids, the feed positions, three timestamps each made a Date) and drizzle's mapping of
 * each row cost more Node CPU than the rest. Dates as text: PGlite would make them Dates.
 */
const STORED = sql.raw(`id, provider_transaction_id as "providerId", account_id as "accountId", status, amount, currency,
  date::text as date, authorized_date::text as "authorizedDate", description, merchant_name as "merchantName", category,
  provider_pending_id as "pendingProviderId", removed_at is not null as removed`);

const storedWindow = preparedSql('causeway_stored_window', () => sql`select ${STORED} from transactions
  where connection_id = ${sql.placeholder('connectionId')}
    and (date >= ${opaque(sql.placeholder('from'), 'date')} or (status = 'pending' and removed_at is null))`);

export interface ApplyContext {
  applicationId: string;
  userId: string;
  connectionId: string;
  now: Date;
  /** The day the connection's transactions are now synced through. */
  syncedThrough: string | null;
  /** A provider that syncs by cursor: the cursor after the pages applied, written with them (undefined: left as it is). */
  providerCursor?: string | null;
  /** The job run doing the ingestion: nothing is written unless it still owns the job. */
  run: RunFence | null;
}

/**
 * A PostgreSQL array literal, sent as ONE text parameter and cast in SQL (`::text[]`, `::date[]`,
 * `::int8[]`): strings quoted with `"` and `\` escaped, numbers bare, null as NULL. Built in one
 * pass: pg's own serialiser of a JavaScript array (a type dispatch and two replaces per element) was
 * the largest Node cost of an initial sync's apply. PGlite passes a string parameter through as well.
 */
function arrayLiteral(values: readonly (string | number | null)[]): string {
  let out = '{';
  for (let i = 0; i < values.length; i++) {
    const v = values[i];
    if (i > 0) out += ',';
    if (v === null || v === undefined) out += 'NULL';
    else if (typeof v === 'number') out += v;
    else out += `"${NEEDS_ESCAPE.test(v) ? v.replace(ESCAPED, '\\$&') : v}"`;
  }
  return `${out}}`;
}
const NEEDS_ESCAPE = /["\\]/;
const ESCAPED = /["\\]/g;

/** unnestRows' columns after the id, in order: account, ids, status, amount, currency, dates, description, merchant, category. */
const ROW_TYPES: readonly OpaqueType[] = ['text[]', 'text[]', 'text[]', 'text[]', 'int8[]', 'text[]', 'date[]', 'date[]', 'text[]', 'text[]', 'text[]'];

/** Transactions as one `unnest(...) with ordinality as v(...)` source: one array parameter per column, any number of rows. */
function unnestRows(ids: readonly string[], rows: readonly IncomingTransaction[]) {
  const n = rows.length;
  const c = Array.from({ length: 11 }, () => new Array<string | number | null>(n));
  for (let i = 0; i < n; i++) {
    const t = rows[i]!;
    c[0]![i] = t.accountId; c[1]![i] = t.providerId; c[2]![i] = t.pendingProviderId; c[3]![i] = t.status; c[4]![i] = t.amount;
    c[5]![i] = t.currency; c[6]![i] = t.date; c[7]![i] = t.authorizedDate; c[8]![i] = t.description; c[9]![i] = t.merchantName;
    c[10]![i] = t.category;
  }
  const columns = sql.join([opaque(arrayLiteral(ids), 'text[]'), ...c.map((values, i) => opaque(arrayLiteral(values), ROW_TYPES[i]!))], sql`, `);
  return sql`unnest(${columns}) with ordinality as v(id, account_id, pid, ppid, status, amount, currency, date, adate, description, merchant, category, ord)`;
}

/**
 * Applies a plan in ONE statement, so it needs no transaction of its own: checks that the run
 * still owns its job (locking the user, the connection and the job row, in that order, so a
 * superseded run cannot write at the same time), reserves the plan's feed positions on the user's
 * counter (the user's lock orders concurrent ingestions of one user), inserts, updates and removes, and advances the connection's
 * `transactionsSyncedThrough`, and writes the transactions.updated event when anything changed.
 * Answers false, having written nothing, when the run was superseded. A part of the plan that is
 * empty (no updates, say, on a first sync) is left out of the statement rather than run on nothing.
 *
 * Many inserts (a first sync, a backfill) go in by COPY instead (applyByCopy): the same statement
 * without its inserts, then the rows copied with the feed positions it reserved, in one
 * transaction. An initial sync's apply then costs the database about 14 % less CPU a row, and
 * Node and the database together about 9 % less (BENCHMARKS.md).
 */
export async function applyTransactionPlan(db: Db, ctx: ApplyContext, plan: TransactionPlan): Promise<boolean> {
  if (plan.inserts.length >= COPY_FROM_ROWS) {
    const applied = await applyByCopy(db, ctx, plan).catch((err: unknown) => {
      if (!isStoredAlready(err)) throw err;
      applyCounts.copyConflicts++;
      return null; // rolled back whole: the statement below skips what is stored
    });
    if (applied) applyCounts.copied++;
    if (applied !== null) return applied;
  }
  const result = (await db.execute(applyStatement(ctx, plan, 'insert'))) as { rows: { owned: number }[] };
  return Number(result.rows[0]?.owned) > 0;
}

/**
 * A plan inserting at least this many rows goes in by COPY. A day's refresh inserts a handful and
 * stays one statement: the COPY's transaction takes four round trips instead of one.
 */
export const COPY_FROM_ROWS = 64;

/** Plans applied by COPY, and those whose COPY met a stored provider id and went through the statement instead (since start). */
export const applyCounts = { copied: 0, copyConflicts: 0 };

const TRANSACTION_COLUMNS = ['id', 'application_id', 'user_id', 'connection_id', 'account_id', 'provider_transaction_id',
  'provider_pending_id', 'status', 'amount', 'currency', 'date', 'authorized_date', 'description', 'merchant_name', 'category',
  'created_seq', 'change_seq', 'created_at', 'updated_at'] as const;

/**
 * The plan in one transaction: the apply statement without its inserts (fence, feed positions for
 * every change, updates, removals, the connection's sync state, the event), then the inserts by
 * COPY at the positions it reserved. COPY cannot skip a row already stored the way ON CONFLICT DO
 * NOTHING does (a provider id stored outside the window read, or named twice in one answer): the
 * transaction then fails whole and the caller applies the plan by the one statement.
 */
async function applyByCopy(db: Db, ctx: ApplyContext, plan: TransactionPlan): Promise<boolean> {
  // The rows are written out before the transaction opens, so the user, connection and job stay
  // locked only while the database works: all but the two feed positions, which the statement reserves.
  // The fields every row shares are escaped once: after the id the tenant's three, after the category the times.
  const now = ctx.now.toISOString();
  const owner = `\t${copyField(ctx.applicationId)}\t${copyField(ctx.userId)}\t${copyField(ctx.connectionId)}\t`;
  const times = `\t${now}\t${now}\n`;
  const heads = plan.inserts.map((t) => `${newId('txn')}${owner}${copyField(t.accountId)}\t${copyField(t.providerId)}\t${copyField(t.pendingProviderId)}\t${copyField(t.status)}\t${t.amount}\t${copyField(t.currency)}\t${copyField(t.date)}\t${copyField(t.authorizedDate)}\t${copyField(t.description)}\t${copyField(t.merchantName)}\t${copyField(t.category)}\t`);
  let headBytes = 0;
  for (const h of heads) headBytes += Buffer.byteLength(h);
  // A row's tail: its two feed positions (at most 16 digits each), the times and the newline.
  const tailBytes = 2 * 16 + 1 + times.length;
  return withTransaction(db, async (tx) => {
    const result = (await tx.execute(applyStatement(ctx, plan, 'copy'))) as { rows: { owned: number; base: unknown }[] };
    const row = result.rows[0];
    // Superseded: nothing written but the run's calls, as the one statement would (committed).
    if (!(Number(row?.owned) > 0)) return false;
    const base = Number(row!.base);
    const payload = copyText(heads, headBytes, (i) => { const seq = base + i + 1; return `${seq}\t${seq}${times}`; }, tailBytes);
    await copyRows(tx, 'transactions', TRANSACTION_COLUMNS, payload);
    return true;
  });
}

/** A unique violation on the transactions' provider ids (the only unique key a COPY of new ids can break). */
function isStoredAlready(err: unknown): boolean {
  const e = sqlErrorOf(err, [UNIQUE_VIOLATION]);
  return e !== null && (e.constraint === undefined || e.constraint === 'transactions_provider_idx');
}

/**
 * The apply statement. `inserts`: 'insert' writes the plan's inserts itself (ON CONFLICT DO NOTHING);
 * 'copy' leaves them to a COPY after it, reserving their feed positions all the same and answering
 * the first (`base`: the inserts take base + 1 onwards, in the plan's order).
 */
function applyStatement(ctx: ApplyContext, plan: TransactionPlan, inserts: 'insert' | 'copy') {
  const nIns = plan.inserts.length;
  const nUpd = plan.updates.length;
  const total = nIns + nUpd + plan.removals.length;
  const now = ctx.now.toISOString();
  const ins = nIns === 0 || inserts === 'copy' ? sql`` : sql`
    ins as (
      insert into transactions (id, application_id, user_id, connection_id, account_id, provider_transaction_id,
        provider_pending_id, status, amount, currency, date, authorized_date, description, merchant_name, category,
        created_seq, change_seq, created_at, updated_at)
      select v.id, ${ctx.applicationId}, ${ctx.userId}, ${ctx.connectionId}, v.account_id, v.pid, v.ppid, v.status,
        v.amount, v.currency, v.date, v.adate, v.description, v.merchant, v.category, seq.base + v.ord, seq.base + v.ord,
        ${now}::timestamptz, ${now}::timestamptz
      from ${unnestRows(plan.inserts.map(() => newId('txn')), plan.inserts)} cross join seq
      on conflict (connection_id, provider_transaction_id) do nothing),`;
  const upd = nUpd === 0 ? sql`` : sql`
    upd as (
      update transactions as x set account_id = v.account_id, provider_transaction_id = v.pid, provider_pending_id = v.ppid,
        status = v.status, amount = v.amount, currency = v.currency, date = v.date, authorized_date = v.adate,
        description = v.description, merchant_name = v.merchant, category = v.category, change_seq = seq.base + ${nIns} + v.ord,
        removed_at = null, updated_at = ${now}::timestamptz
      from ${unnestRows(plan.updates.map((u) => u.id), plan.updates.map((u) => u.next))} cross join seq
      where x.id = v.id and x.connection_id = ${ctx.connectionId}),`;
  const rem = plan.removals.length === 0 ? sql`` : sql`
    rem as (
      update transactions as x set removed_at = ${now}::timestamptz, change_seq = seq.base + ${nIns + nUpd} + v.ord, updated_at = ${now}::timestamptz
      from unnest(${opaque(arrayLiteral(plan.removals), 'text[]')}) with ordinality as v(id, ord) cross join seq
      where x.id = v.id and x.connection_id = ${ctx.connectionId}),`;
  const answer = inserts === 'copy'
    ? sql`select (select count(*)::int from owned) as owned, (select base from seq) as base`
    : sql`select count(*)::int as owned from owned`;
  return sql`
    with owned as (${ownedBy(ctx.run)})${savedBy(ctx.run)},
    seq as (
      update users set change_seq = change_seq + ${total} where id = ${ctx.userId} and ${total} > 0 and exists (select 1 from owned)
      returning change_seq - ${total} as base),${ins}${upd}${rem}
    mark as (
      update connections set transactions_synced_through = ${ctx.syncedThrough}${ctx.providerCursor !== undefined ? sql`, provider_cursor = ${ctx.providerCursor}` : sql``}
      where id = ${ctx.connectionId} and exists (select 1 from owned)),
    ev as (insert into events (id, application_id, user_id, connection_id, type, data, actor, created_at)
      select ${newId('evt', ctx.now.getTime())}, ${ctx.applicationId}, ${ctx.userId}, ${ctx.connectionId}, 'transactions.updated',
        jsonb_build_object('added', ${nIns}::int, 'modified', ${nUpd}::int, 'removed', ${plan.removals.length}::int, 'jobId', ${ctx.run?.jobId ?? null}::text),
        null, ${now}::timestamptz
      where ${total} > 0 and exists (select 1 from owned))
    ${answer}`;
}

export async function upsertIdentity(db: Db, row: typeof identities.$inferInsert, run: RunFence | null): Promise<void> {
  const result = (await db.execute(sql`
    with owned as (${ownedBy(run)})${savedBy(run)}
    insert into identities (connection_id, application_id, user_id, data_enc, digest, updated_at)
    select ${row.connectionId}, ${row.applicationId}, ${row.userId}, ${row.dataEnc}, ${row.digest ?? null}::text, ${row.updatedAt.toISOString()}::timestamptz
    where exists (select 1 from owned)
    on conflict (connection_id) do update set data_enc = excluded.data_enc, digest = excluded.digest, updated_at = excluded.updated_at
    returning connection_id`)) as { rows: unknown[] };
  if (result.rows.length === 0 && run) throw new SupersededRunError(run.jobId);
}

export async function findIdentity(db: Db, applicationId: string, connectionId: string) {
  const [row] = await db.select().from(identities).where(and(eq(identities.applicationId, applicationId), eq(identities.connectionId, connectionId)));
  return row ?? null;
}


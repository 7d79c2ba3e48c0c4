/**
 * The sandbox with its answers computed before the clock starts: to measure Causeway's own cost.
 *
 * The sandbox simulates a bank in-process: fetchAccounts and fetchTransactions each replay the
 * persona's whole twelve-month ledger (about 9.5 ms of CPU each, whatever the date range), on the
 * same thread as Causeway. A real provider is network I/O instead. This wrapper answers
 * fetchAccounts and fetchTransactions from a table filled by warm() beforehand, keyed by login,
 * day and range exactly as the job will ask; a miss falls through to the sandbox (and is counted).
 */
import { addDays, isoDay } from '../src/domain/clock.js';
import { findConnection } from '../src/db/repos/connections.js';
import { and, eq, isNull, sql } from 'drizzle-orm';
import type { Db } from '../src/db/open.js';
import { transactions } from '../src/db/schema.js';
import { RESYNC_OVERLAP_DAYS, INITIAL_HISTORY_DAYS } from '../src/services/sync/steps.js';
import type { Provider, ProviderAccount, ProviderLink, ProviderTransaction } from '../src/providers/types.js';
import type { SandboxProvider } from '../src/providers/sandbox/index.js';
import { windowOf } from '../src/providers/types.js';

export interface Precomputed { provider: Provider; stats: { hits: number; misses: number } }

const who = (link: ProviderLink) => (link.access.kind === 'web' ? link.access.login : link.access.token);
const accountsKey = (link: ProviderLink, now: Date) => `${who(link)}|${link.firstSyncedAt ? 'later' : 'first'}|${isoDay(now)}`;
const txKey = (link: ProviderLink, range: { from: string; to: string }) => `${who(link)}|${range.from}|${range.to}`;

export function precomputed(base: SandboxProvider): Precomputed & {
  warmInitial(institutionId: string, logins: string[], password: string, now: Date): Promise<void>;
  warmRefresh(db: Db, applicationId: string, institutionId: string, links: { connectionId: string; login: string }[], password: string, now: Date): Promise<void>;
} {
  const accounts = new Map<string, ProviderAccount[]>();
  const txs = new Map<string, ProviderTransaction[]>();
  const stats = { hits: 0, misses: 0 };
  const provider: Provider = {
    ...base,
    fetchIdentity: (link, ctx) => base.fetchIdentity(link, ctx),
    revoke: (link, ctx) => base.revoke(link, ctx),
    async fetchAccounts(link, ctx) {
      const hit = accounts.get(accountsKey(link, ctx.now));
      if (hit) { stats.hits++; return hit; }
      stats.misses++;
      return base.fetchAccounts(link, ctx);
    },
    async fetchTransactions(link, range, ctx) {
      const hit = txs.get(txKey(link, range));
      if (hit) { stats.hits++; return hit; }
      stats.misses++;
      return base.fetchTransactions(link, range, ctx);
    },
  };
  const fill = async (link: ProviderLink, range: { from: string; to: string }, now: Date) => {
    const ctx = { now, runKey: 'warm' };
    accounts.set(accountsKey(link, now), await base.fetchAccounts(link, ctx));
    txs.set(txKey(link, range), windowOf(await base.fetchTransactions(link, range, ctx)).transactions);
  };
  return {
    provider, stats,
    async warmInitial(institutionId, logins, password, now) {
      const today = isoDay(now);
      for (const login of logins) {
        await fill({ institutionId, access: { kind: 'web', login, password }, firstSyncedAt: null }, { from: addDays(today, -INITIAL_HISTORY_DAYS), to: today }, now);
      }
    },
    /** The window retrieve-transactions will ask for (services/sync/steps.ts), connection by connection. */
    async warmRefresh(db, applicationId, institutionId, links, password, now) {
      const today = isoDay(now);
      for (const { connectionId, login } of links) {
        const c = (await findConnection(db, applicationId, connectionId))!;
        const since = c.transactionsSyncedThrough ? addDays(c.transactionsSyncedThrough, -RESYNC_OVERLAP_DAYS) : addDays(today, -INITIAL_HISTORY_DAYS);
        const pending = await oldestLivePendingDate(db, connectionId);
        const from = pending && pending < since ? pending : since;
        await fill({ institutionId, access: { kind: 'web', login, password }, firstSyncedAt: c.firstSyncedAt }, { from, to: today }, now);
      }
    },
  };
}

/** As the run reads it at its start (db/repos/jobs.ts findJobForRun). */
async function oldestLivePendingDate(db: Db, connectionId: string): Promise<string | null> {
  const [row] = await db.select({ d: sql<string | null>`min(${transactions.date})::text` }).from(transactions)
    .where(and(eq(transactions.connectionId, connectionId), eq(transactions.status, 'pending'), isNull(transactions.removedAt)));
  return row?.d ?? null;
}

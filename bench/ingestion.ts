/**
 * Initial-sync ingestion, two ways:
 *
 *   initialSync   : the real path. N web connections created through services/connections.ts
 *                   (`width` API clients at once), run by the real worker through pg-boss. Timed
 *                   from the first create to the last job succeeded; txn/s = rows stored / seconds.
 *   ingestionCore : the same database work without the job machinery: per connection, one
 *                   loadStoredWindow → planTransactions → applyTransactionPlan (as steps.ts does),
 *                   on data fetched from the sandbox beforehand.
 */
import { sql } from 'drizzle-orm';
import { addDays, isoDay } from '../src/domain/clock.js';
import { newId } from '../src/domain/ids.js';
import { planTransactions, type IncomingTransaction } from '../src/domain/matching.js';
import { insertConnection } from '../src/db/repos/connections.js';
import { applyTransactionPlan, loadStoredWindow, upsertAccounts } from '../src/db/repos/data.js';
import { createConnection } from '../src/services/connections.js';
import type { Core, Tenant } from '../src/services/core.js';
import { createUser } from '../src/services/users.js';
import type { Db } from '../src/db/open.js';
import { createSandboxProvider } from '../src/providers/sandbox/index.js';
import { checkpoint, inParallel, round, scalar, startWindow, waitFor, type WindowResult } from './measure.js';
import { allJobsDone, jobProfile, polls, type JobProfile } from './profile.js';
import { windowOf } from '../src/providers/types.js';

export const INSTITUTION = 'ins_sandbox_web';
export const PASSWORD = 'pass_good';

/** user_good, then other logins that behave like it, each with its own seed (and so its own history). */
export const benchLogin = (i: number) => (i === 0 ? 'user_good' : `bench_user_${i}`);

async function countTransactions(db: Db): Promise<number> {
  return scalar(db, sql`select count(*)::int as n from transactions`);
}

export interface InitialSyncResult {
  connections: number;
  transactions: number;
  txnPerSec: number;
  /** When the last createConnection call returned (the worker runs meanwhile). */
  createSeconds: number;
  window: WindowResult;
  appQueriesPerJob: number | null;
  otherQueriesPerJob: number | null;
  profile: JobProfile;
  /** For the refresh phase: the synced connections. */
  synced: Synced[];
}

export async function initialSync(core: Core, tenant: Tenant, logins: string[], width: number): Promise<InitialSyncResult> {
  const n = logins.length;
  const users: string[] = [];
  for (const login of logins) users.push((await createUser(core, tenant, { externalId: login })).id);
  const before = await countTransactions(core.db);
  await checkpoint(core.database);
  const jobIds: string[] = [];
  const synced: InitialSyncResult['synced'] = [];
  const polls0 = polls;
  const end = startWindow();
  const t0 = Date.now();
  await inParallel(users, width, async (userId, i) => {
    const login = logins[i]!;
    const r = await createConnection(core, tenant, userId, { institutionId: INSTITUTION, method: 'web', credentials: { login, password: PASSWORD } });
    jobIds.push(r.job!.id);
    synced.push({ userId, connectionId: r.connection.id, login });
  });
  const createSeconds = (Date.now() - t0) / 1000;
  await waitFor('initial sync', () => allJobsDone(core.db, jobIds), 240_000, 50);
  const window = end();
  const stored = (await countTransactions(core.db)) - before;
  const pg = core.database.kind === 'postgres';
  return {
    connections: n, transactions: stored, txnPerSec: round(stored / window.seconds), createSeconds: round(createSeconds, 2), window,
    appQueriesPerJob: pg ? round((window.appQueries - (polls - polls0)) / n, 1) : null,
    otherQueriesPerJob: pg ? round(window.otherQueries / n, 1) : null,
    profile: await jobProfile(core.db, jobIds), synced,
  };
}

export interface Synced { userId: string; connectionId: string; login: string }

interface Prepared { userId: string; connectionId: string; incoming: IncomingTransaction[] }

export interface IngestionCoreResult {
  /** Connections per width. */
  connections: number;
  /**
   * The sandbox answering a create job's fetchAccounts + fetchTransactions, no database: the
   * provider side of the real path, on the same thread (a real bank is network I/O instead).
   */
  sandboxTxnPerSec: number;
  sandboxMsPerConnection: number;
  /** width 1: one connection at a time; width 4: four transactions at once. */
  byWidth: { width: number; transactions: number; txnPerSec: number; seconds: number; eventLoopBusy: number }[];
}

/** Users, connections and accounts as a create job would leave them, and their transactions fetched from the sandbox. */
async function prepare(core: Core, tenant: Tenant, k: number, tag: string): Promise<{ prepared: Prepared[]; fetchMs: number; count: number }> {
  const now = core.clock.now();
  const today = isoDay(now);
  const from = addDays(today, -365);
  const prepared: Prepared[] = [];
  const sandbox = createSandboxProvider({ latencyMs: 0 });
  let fetchMs = 0;
  let count = 0;
  for (let i = 0; i < k; i++) {
    const login = `core_${tag}_${i}`;
    const user = await createUser(core, tenant, { externalId: `core_${tag}_${i}` });
    const access = { kind: 'web' as const, login, password: PASSWORD };
    const c = await insertConnection(core.db, {
      id: newId('con'), applicationId: tenant.application.id, userId: user.id, institutionId: INSTITUTION, provider: sandbox.id,
      method: 'web', products: ['accounts', 'transactions'], status: 'active', accessEnc: core.cipher.encrypt(JSON.stringify(access)),
      createdAt: now, updatedAt: now,
    });
    const link = { institutionId: INSTITUTION, access, firstSyncedAt: null };
    const ctx = { now, runKey: `core:${login}` };
    const t = performance.now();
    const accounts = await sandbox.fetchAccounts(link, ctx);
    const fetched = windowOf(await sandbox.fetchTransactions(link, { from, to: today }, ctx)).transactions;
    fetchMs += performance.now() - t;
    const stored = await upsertAccounts(core.db, accounts.map((a) => ({
      id: newId('acc'), applicationId: tenant.application.id, userId: user.id, connectionId: c.id, providerAccountId: a.id, name: a.name,
      type: a.type, mask: a.mask, currency: a.currency, balanceCurrent: a.balances!.current, balanceAvailable: a.balances!.available,
      balanceLimit: a.balances!.limit, balancesUpdatedAt: now, createdAt: now, updatedAt: now,
    })), null);
    const ids = new Map(stored.map((a) => [a.providerAccountId, a.id]));
    const incoming = fetched.filter((f) => ids.has(f.accountId)).map((f) => ({
      providerId: f.id, accountId: ids.get(f.accountId)!, status: f.status, amount: f.amount, currency: f.currency, date: f.date,
      authorizedDate: f.authorizedDate, description: f.description, merchantName: f.merchantName, category: f.category, pendingProviderId: f.pendingTransactionId,
    }));
    count += incoming.length;
    prepared.push({ userId: user.id, connectionId: c.id, incoming });
  }
  return { prepared, fetchMs, count };
}

/** `runTag` tells repeated calls on one database apart (their users' external ids). */
export async function ingestionCore(core: Core, tenant: Tenant, k: number, widths: number[], runTag = ''): Promise<IngestionCoreResult> {
  const today = isoDay(core.clock.now());
  const from = addDays(today, -365);
  const result: IngestionCoreResult = { connections: k, sandboxTxnPerSec: 0, sandboxMsPerConnection: 0, byWidth: [] };
  let fetchMs = 0;
  let fetched = 0;
  for (const width of widths) {
    const { prepared, fetchMs: ms, count } = await prepare(core, tenant, k, `${runTag}w${width}`);
    fetchMs += ms;
    fetched += count;
    const end = startWindow();
    await inParallel(prepared, width, async (p) => {
      const stored = await loadStoredWindow(core.db, p.connectionId, from);
      const plan = planTransactions(stored, p.incoming, { from, to: today });
      await applyTransactionPlan(core.db, {
        applicationId: tenant.application.id, userId: p.userId, connectionId: p.connectionId, now: core.clock.now(), syncedThrough: today, run: null,
      }, plan);
    });
    const w = end();
    result.byWidth.push({ width, transactions: count, txnPerSec: round(count / w.seconds), seconds: round(w.seconds, 2), eventLoopBusy: w.eventLoopBusy });
  }
  result.sandboxTxnPerSec = round(fetched / (fetchMs / 1000));
  result.sandboxMsPerConnection = round(fetchMs / (k * widths.length), 1);
  return result;
}

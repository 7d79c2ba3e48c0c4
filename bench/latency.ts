/**
 * Refresh with a provider that answers like a real one: every call waits `latencyMs` (500 ms by
 * default) before its answer, and a refresh makes four (verify credentials, accounts,
 * transactions, identity), so a job spends two seconds or more on the network. One worker process
 * at `jobConcurrency` (400) with the database pool at its default size (10).
 *
 *   N connections, already synced through yesterday, half at each of two sandbox web banks (each
 *   takes 256 refreshes at once) ─► every connection refreshed (trigger api) again as soon as its
 *   last refresh ended, for `seconds` ─► refreshes/s over the window after the first `warmSeconds`
 *
 * The answers are computed before the clock starts (the sandbox simulator's CPU would otherwise
 * be measured as Causeway's): the credentials check, identity, accounts and 60 days of
 * transactions per login, a range filtered from them. The pool's size and its peak checkouts are reported beside the jobs in flight: a job
 * waiting on the network holds no connection.
 */
import { addDays, isoDay } from '../src/domain/clock.js';
import { newId } from '../src/domain/ids.js';
import { insertConnection } from '../src/db/repos/connections.js';
import { refreshConnection } from '../src/services/connections.js';
import type { Core, Tenant } from '../src/services/core.js';
import { createUser } from '../src/services/users.js';
import { createSandboxProvider } from '../src/providers/sandbox/index.js';
import { windowOf, type Provider, type ProviderAccount, type ProviderLink, type ProviderTransaction } from '../src/providers/types.js';
import { inParallel, round, sleep, startWindow, type WindowResult } from './measure.js';
import { PASSWORD } from './ingestion.js';
import { sql } from 'drizzle-orm';

export const LATENCY_INSTITUTIONS = ['ins_sandbox_web', 'ins_sandbox_universal'];
/** History each login's answers cover: a refresh asks for 30 days before the last synced day. */
const HISTORY_DAYS = 60;

export interface LatencyResult {
  latencyMs: number;
  connections: number;
  jobConcurrency: number;
  poolSize: number;
  seconds: number;
  /** Refreshes that ended in the window after the warm-up, per second. */
  refreshesPerSec: number;
  succeeded: number;
  failed: number;
  jobMsP50: number;
  /** Jobs in flight in the worker, sampled: mean and peak. */
  inFlightMean: number;
  inFlightPeak: number;
  /** Database connections checked out of Causeway's pool, sampled: peak, and requests waiting for one (peak). */
  poolCheckedOutPeak: number;
  poolWaitingPeak: number;
  window: WindowResult;
}

/** The sandbox's answers, computed once per login, behind `latencyMs` of network per call. */
export function slowProvider(latencyMs: number): Provider & { warm(logins: string[], now: Date): Promise<void> } {
  const base = createSandboxProvider({ latencyMs: 0 });
  const accounts = new Map<string, ProviderAccount[]>();
  const txs = new Map<string, ProviderTransaction[]>();
  const identities = new Map<string, Awaited<ReturnType<Provider['fetchIdentity']>>>();
  const verified = new Map<string, Awaited<ReturnType<NonNullable<Provider['verifyCredentials']>>>>();
  const login = (link: ProviderLink) => (link.access.kind === 'web' ? link.access.login : link.access.token);
  const wait = () => sleep(latencyMs);
  const answer = <T>(answers: Map<string, T>, link: ProviderLink): T => {
    const hit = answers.get(login(link));
    if (hit === undefined) throw new Error(`no answer computed for ${login(link)}`);
    return hit;
  };
  return {
    ...base,
    async verifyCredentials(link) { await wait(); return answer(verified, link); },
    async fetchIdentity(link) { await wait(); return answer(identities, link); },
    async fetchAccounts(link) { await wait(); return answer(accounts, link); },
    async fetchTransactions(link, range) {
      await wait();
      return answer(txs, link).filter((t) => t.date >= range.from && t.date <= range.to);
    },
    async warm(logins, now) {
      const today = isoDay(now);
      for (const l of logins) {
        const link: ProviderLink = { institutionId: LATENCY_INSTITUTIONS[0]!, access: { kind: 'web', login: l, password: PASSWORD }, firstSyncedAt: now };
        const ctx = { now, runKey: 'warm' };
        verified.set(l, await base.verifyCredentials!(link, null, ctx));
        identities.set(l, await base.fetchIdentity(link, ctx));
        accounts.set(l, await base.fetchAccounts(link, ctx));
        txs.set(l, windowOf(await base.fetchTransactions(link, { from: addDays(today, -HISTORY_DAYS), to: today }, ctx)).transactions);
      }
    },
  };
}

/** Users and web connections as an earlier sync left them (synced through yesterday, nothing stored yet). */
export async function latencyConnections(core: Core, tenant: Tenant, n: number): Promise<{ userId: string; connectionId: string; login: string }[]> {
  const now = core.clock.now();
  const out: { userId: string; connectionId: string; login: string }[] = [];
  for (let i = 0; i < n; i++) {
    const login = `latency_user_${i}`;
    const user = await createUser(core, tenant, { externalId: login });
    const c = await insertConnection(core.db, {
      id: newId('con'), applicationId: tenant.application.id, userId: user.id, institutionId: LATENCY_INSTITUTIONS[i % LATENCY_INSTITUTIONS.length]!,
      provider: 'sandbox', method: 'web', products: ['accounts', 'transactions', 'identity'], status: 'active',
      accessEnc: core.cipher.encrypt(JSON.stringify({ kind: 'web', login, password: PASSWORD })),
      firstSyncedAt: new Date(now.getTime() - 86_400_000), lastSuccessfulSyncAt: new Date(now.getTime() - 86_400_000),
      transactionsSyncedThrough: addDays(isoDay(now), -1), createdAt: now, updatedAt: now,
    });
    out.push({ userId: user.id, connectionId: c.id, login });
  }
  return out;
}

export async function latencyRound(
  core: Core, tenant: Tenant, connections: { userId: string; connectionId: string }[],
  opts: { latencyMs: number; seconds: number; warmSeconds: number; width: number },
): Promise<LatencyResult> {
  const pool = core.database.kind === 'postgres' ? core.database.pool : null;
  const inFlight = new Map<string, { connectionId: string; userId: string; startedAt: number }>();
  const ended: { at: number; ms: number; ok: boolean }[] = [];
  const start = async (c: { userId: string; connectionId: string }) => {
    const r = await refreshConnection(core, tenant, c.userId, c.connectionId, undefined, 'api');
    inFlight.set(r.job.id, { ...c, startedAt: Date.now() });
  };
  const samples = { inFlight: [] as number[], checkedOut: 0, waiting: 0 };
  const sampler = setInterval(() => {
    samples.inFlight.push(core.queue.inFlight());
    if (pool) {
      samples.checkedOut = Math.max(samples.checkedOut, pool.totalCount - pool.idleCount);
      samples.waiting = Math.max(samples.waiting, pool.waitingCount);
    }
  }, 100);
  const t0 = Date.now();
  const end = startWindow();
  await inParallel(connections, opts.width, start);
  const until = t0 + opts.seconds * 1000;
  while (Date.now() < until) {
    await sleep(100);
    const ids = [...inFlight.keys()];
    const rows = (await core.db.execute(sql`select id, status from jobs where id = any(${sql.param(ids)}::text[]) and status in ('succeeded', 'failed')`)) as unknown as { rows: { id: string; status: string }[] };
    const again: { userId: string; connectionId: string }[] = [];
    for (const row of rows.rows) {
      const f = inFlight.get(row.id)!;
      inFlight.delete(row.id);
      ended.push({ at: Date.now(), ms: Date.now() - f.startedAt, ok: row.status === 'succeeded' });
      again.push(f);
    }
    if (Date.now() < until) await inParallel(again, opts.width, start);
  }
  const window = end();
  clearInterval(sampler);
  const from = t0 + opts.warmSeconds * 1000;
  const counted = ended.filter((e) => e.at >= from && e.at <= until);
  const ms = counted.map((e) => e.ms).sort((a, b) => a - b);
  const mean = samples.inFlight.reduce((a, b) => a + b, 0) / Math.max(1, samples.inFlight.length);
  return {
    latencyMs: opts.latencyMs, connections: connections.length, jobConcurrency: core.config.jobConcurrency,
    poolSize: pool?.options.max ?? 1, seconds: opts.seconds,
    refreshesPerSec: round(counted.filter((e) => e.ok).length / ((until - from) / 1000), 1),
    succeeded: ended.filter((e) => e.ok).length, failed: ended.filter((e) => !e.ok).length,
    jobMsP50: ms.length ? ms[Math.floor(ms.length / 2)]! : 0,
    inFlightMean: round(mean), inFlightPeak: Math.max(0, ...samples.inFlight),
    poolCheckedOutPeak: samples.checkedOut, poolWaitingPeak: samples.waiting, window,
  };
}

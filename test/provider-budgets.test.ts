/**
 * The engine's side of providers that ration calls per account and scope (GoCardless's four a
 * day): budgets reported in answers are kept and given to the next run, a spent scope is not read
 * and loses nothing (stored transactions stay, the window does not move on, balances stay), the
 * refresh budget shows the provider's and refuses a refresh that could read nothing, and the
 * provider-wide state store is shared and encrypted. Driven through the HTTP API with a scripted
 * sandbox that reports budgets the way the GoCardless adapter does.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { sql, type SQL } from 'drizzle-orm';
import { createSandboxProvider } from '../src/providers/sandbox/index.js';
import type { Provider, ProviderBudget, ProviderCallContext } from '../src/providers/types.js';
import { startTestApp, type TestApp } from './helpers/app.js';
import { refreshConnection } from '../src/services/connections.js';
import { findApplication } from '../src/db/repos/applications.js';

const HOUR = 3600_000;

/** What the scripted provider does on its next calls: which accounts' scopes are spent, what it saw. */
const script = {
  spent: new Map<string, Date>(), // `${accountId}:${scope}` → reset
  seenBudgets: [] as ProviderBudget[][],
  stateValues: [] as (string | null)[],
};

function budgeted(): Provider {
  const inner = createSandboxProvider({ latencyMs: 0 });
  const report = (ctx: ProviderCallContext, accountId: string, scope: string) => {
    const reset = script.spent.get(`${accountId}:${scope}`);
    ctx.reportBudget?.({ accountId, scope, limit: 4, remaining: reset ? 0 : 3, resetAt: reset ?? new Date(ctx.now.getTime() + 24 * HOUR) });
  };
  /** A scope the budgets given to the run say is spent (the adapter's own rule: not called until its reset). */
  const spentInRun = (ctx: ProviderCallContext, accountId: string, scope: string) =>
    ctx.budgets?.some((b) => b.accountId === accountId && b.scope === scope && b.remaining === 0 && b.resetAt > ctx.now) ?? false;
  return {
    ...inner,
    reportsBudgets: true,
    async fetchAccounts(link, ctx) {
      script.seenBudgets.push([...(ctx.budgets ?? [])]);
      await ctx.state?.put('token', `secret-token-${script.stateValues.length}`, new Date(Date.now() + HOUR));
      script.stateValues.push((await ctx.state?.get('token')) ?? null);
      const accounts = await inner.fetchAccounts(link, ctx);
      return accounts.map((a) => {
        if (spentInRun(ctx, a.id, 'balances')) return { ...a, balances: null };
        report(ctx, a.id, 'balances');
        return a;
      });
    },
    async fetchTransactions(link, range, ctx) {
      const all = await inner.fetchTransactions(link, range, ctx);
      const accounts = [...new Set(all.map((t) => t.accountId))];
      const deferred = accounts.filter((id) => spentInRun(ctx, id, 'transactions'))
        .map((accountId) => ({ accountId, until: ctx.budgets!.find((b) => b.accountId === accountId && b.scope === 'transactions')!.resetAt }));
      for (const id of accounts) if (!deferred.some((d) => d.accountId === id)) report(ctx, id, 'transactions');
      return { transactions: all.filter((t) => !deferred.some((d) => d.accountId === t.accountId)), deferred };
    },
  };
}

describe('provider call budgets (engine)', () => {
  let t: TestApp;
  let user: string;
  let con: string;
  before(async () => {
    t = await startTestApp({ provider: budgeted() });
    user = await t.createUser();
    const created = await t.api('POST', `/v1/users/${user}/connections`, {
      institutionId: 'ins_sandbox_web', method: 'web', credentials: { login: 'user_good', password: 'pass_good' },
    });
    assert.equal(created.status, 202, JSON.stringify(created.body));
    con = created.body.connection.id;
    assert.equal((await t.waitForJob(created.body.job.id)).status, 'succeeded');
  });
  after(() => t.close());

  const rowsOf = async (q: SQL) => ((await t.core.db.execute(q)) as { rows: any[] }).rows;
  const appId = async () => ((await rowsOf(sql`select application_id as a from connections where id = ${con}`))[0] as { a: string }).a;
  const connection = async () => (await t.api('GET', `/v1/users/${user}/connections/${con}`)).body;
  const transactionsOf = async (accountId: string) => {
    const rows: { id: string; removedAt?: string | null }[] = [];
    let cursor: string | null = null;
    do {
      const res = await t.api('GET', `/v1/users/${user}/transactions?accountId=${accountId}&limit=500${cursor ? `&cursor=${cursor}` : ''}`);
      assert.equal(res.status, 200, JSON.stringify(res.body));
      rows.push(...res.body.data);
      cursor = res.body.nextCursor;
    } while (cursor);
    return rows.map((r) => r.id).sort();
  };
  const refresh = async () => {
    const res = await t.api('POST', `/v1/users/${user}/connections/${con}/refresh`);
    assert.ok(res.status === 202 || res.status === 200, JSON.stringify(res.body));
    return t.waitForJob(res.body.job.id);
  };

  it('keeps what the provider reported and gives it to the next run', async () => {
    const rows = { rows: (await rowsOf(sql`select account_key, scope, remaining from provider_budgets where connection_id = ${con} order by 1, 2`)) as { account_key: string; scope: string; remaining: number }[] };
    assert.ok(rows.rows.length >= 2, 'balances and transactions budgets per account');
    assert.ok(rows.rows.every((r) => r.remaining === 3));
    await refresh();
    const given = script.seenBudgets.at(-1)!;
    assert.equal(given.length, rows.rows.length, 'the run was given every kept budget');
    const view = await connection();
    assert.deepEqual(view.refreshBudget.providerScopes.map((s: { scope: string; remaining: number }) => [s.scope, s.remaining]), [['balances', 3], ['transactions', 3]]);
  });

  it('a spent transactions scope is not read, and its account loses nothing', async () => {
    const accounts = (await t.api('GET', `/v1/users/${user}/accounts`)).body.data as { id: string; providerAccountId?: string }[];
    const [first] = (await rowsOf(sql`select id, provider_account_id from accounts where connection_id = ${con} order by id limit 1`)) as { id: string; provider_account_id: string }[];
    assert.ok(first && accounts.length > 0);
    const before = await transactionsOf(first.id);
    assert.ok(before.length > 0, 'the account has transactions to keep');
    const through = (await rowsOf(sql`select transactions_synced_through as d from connections where id = ${con}`))[0] as { d: string };
    // The provider said: this account's transactions are spent for five hours.
    const reset = new Date(Date.now() + 5 * HOUR);
    script.spent.set(`${first.provider_account_id}:transactions`, reset);
    await refresh(); // reports it
    const job = await refresh(); // the run that is given it: the account is deferred
    const step = job.steps.find((s: { name: string }) => s.name === 'retrieve-transactions');
    assert.equal(step.resultCode, 'partial');
    assert.deepEqual(await transactionsOf(first.id), before, 'nothing of the deferred account removed or added');
    const after = (await rowsOf(sql`select transactions_synced_through as d from connections where id = ${con}`))[0] as { d: string };
    assert.equal(String(after.d), String(through.d), 'the window did not move on past what the deferred account missed');
    const view = await connection();
    assert.equal(view.status, 'active');
    assert.equal(view.statusReason, 'partial_data');
    const kept = (await rowsOf(sql`select remaining, reset_at from provider_budgets where connection_id = ${con} and account_key = ${first.provider_account_id} and scope = 'transactions'`)) as { remaining: number; reset_at: string }[];
    assert.equal(kept[0]!.remaining, 0);
    assert.ok(view.refreshBudget.remainingToday > 0, 'the other accounts, and balances, can still refresh while this one waits');
  });

  it('spent balances keep the stored balances; everything spent refuses a refresh until the first reset', async () => {
    const balances = async () => ((await rowsOf(sql`select provider_account_id as p, balance_current as b, balances_updated_at as at from accounts where connection_id = ${con} order by 1`)) as { p: string; b: string; at: string }[])
      .map((a) => [a.p, String(a.b), String(a.at)]);
    const soon = new Date(Date.now() + 2 * HOUR);
    const stored = (await balances()).map(([p]) => p!);
    for (const p of stored) script.spent.set(`${p}:balances`, soon);
    await refresh(); // the provider reports balances spent
    const kept = await balances();
    const job = await refresh(); // a run given them does not read balances
    assert.equal(job.status, 'succeeded');
    assert.deepEqual(await balances(), kept, 'balances, and when they were read, as they were');
    for (const p of stored) script.spent.set(`${p}:transactions`, new Date(Date.now() + 5 * HOUR));
    await refresh(); // the provider reports every account's transactions spent too
    const view = await connection();
    assert.equal(view.refreshBudget.remainingToday, 0);
    const next = new Date(view.refreshBudget.nextRefreshAllowedAt).getTime();
    assert.ok(Math.abs(next - soon.getTime()) < 5_000, `next refresh when balances come back (${view.refreshBudget.nextRefreshAllowedAt})`);
    const refused = await t.api('POST', `/v1/users/${user}/connections/${con}/refresh`);
    assert.equal(refused.status, 429);
    assert.equal(refused.body.code, 'refresh_budget_exhausted');
    assert.ok(Number(refused.headers['retry-after']) > 3600);
    // A refresh the provider asked for (a webhook's) is outside the app's budget: it runs, reads nothing spent, loses nothing.
    const txBefore = (await rowsOf(sql`select count(*)::int as n from transactions where connection_id = ${con} and removed_at is null`))[0] as { n: number };
    const system = await refreshConnection(t.core, { application: (await findApplication(t.core.db, await appId()))! }, user, con, undefined, 'system');
    const ran = await t.waitForJob(system.job.id);
    assert.equal(ran.status, 'succeeded');
    assert.equal(ran.steps.find((s: { name: string }) => s.name === 'retrieve-transactions').resultCode, 'rate_limited');
    const txAfter = (await rowsOf(sql`select count(*)::int as n from transactions where connection_id = ${con} and removed_at is null`))[0] as { n: number };
    assert.equal(txAfter.n, txBefore.n);
    assert.deepEqual(await balances(), kept);
  });

  it('the provider-wide state is shared between calls and encrypted at rest', async () => {
    assert.ok(script.stateValues.length >= 2);
    assert.ok(script.stateValues.every((v, i) => v === `secret-token-${i}`), 'each run read what it stored');
    const raw = (await rowsOf(sql`select value_enc from provider_state where provider = 'sandbox' and key = 'token'`)) as { value_enc: string }[];
    assert.equal(raw.length, 1);
    assert.ok(!raw[0]!.value_enc.includes('secret-token'), 'not in clear');
  });
});

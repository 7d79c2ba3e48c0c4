import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createSandboxProvider } from '../../src/providers/sandbox/index.js';
import { ProviderError, type ProviderLink, type ProviderTransaction } from '../../src/providers/types.js';

const NOW = new Date('2025-06-18T09:30:00Z');
const DAY = 86_400_000;
const provider = createSandboxProvider({ latencyMs: 0 });
const ctx = (now = NOW) => ({ now, runKey: 'job_1:1' });
const link = (login = 'user_good', institutionId = 'ins_sandbox_universal'): ProviderLink =>
  ({ institutionId, access: { kind: 'web', login, password: 'pass_good' }, firstSyncedAt: null });
const plus = (d: Date, days: number) => new Date(d.getTime() + days * DAY);
const iso = (d: Date) => d.toISOString().slice(0, 10);
const YEAR = { from: '2024-06-18', to: '2025-06-18' };

const fetchAround = (l: ProviderLink, now: Date, from: Date, to = now) =>
  provider.fetchTransactions(l, { from: iso(from), to: iso(to) }, ctx(now));

describe('sandbox transactions', () => {
  it('cover twelve months, with realistic income, bills, spending and some pending', async () => {
    const txns = await provider.fetchTransactions(link(), YEAR, ctx());
    assert.ok(txns.length > 500, `${txns.length} transactions`);
    const dates = txns.map((t) => t.date);
    assert.ok(dates.every((d) => d >= YEAR.from && d <= YEAR.to));
    assert.ok(dates.some((d) => d <= '2024-06-25') && dates.some((d) => d >= '2025-06-15'), 'spread over the year');
    assert.ok(txns.some((t) => t.status === 'pending'));
    const salary = txns.filter((t) => t.category === 'income' && t.description.startsWith('SALARY'));
    assert.ok(salary.length >= 25 && salary.length <= 27, `${salary.length} fortnightly pays`);
    assert.ok(salary.every((t) => t.amount > 0));
    const categories = new Set(txns.map((t) => t.category));
    for (const c of ['groceries', 'coffee', 'fuel', 'restaurants', 'transfer', 'credit_card_payment', 'loan_payment', 'interest']) {
      assert.ok(categories.has(c), `no ${c}`);
    }
    assert.ok(categories.has('rent') || txns.some((t) => t.description.startsWith('HOME LOAN REPAYMENT')), 'housing is paid');
    assert.ok(txns.some((t) => t.merchantName === 'Woolworths' || t.merchantName === 'Coles' || t.merchantName === 'Aldi'));
    for (const t of txns) {
      assert.ok(Number.isInteger(t.amount) && t.amount !== 0);
      assert.equal(t.currency, 'AUD');
      assert.match(t.id, /^sbx_txn_[0-9a-f]{16}(_p)?$/);
      assert.equal(t.id.endsWith('_p'), t.status === 'pending');
    }
    assert.equal(new Set(txns.map((t) => t.id)).size, txns.length, 'ids are unique');
    assert.deepEqual(dates, [...dates].sort().reverse(), 'newest first');
  });

  it('only shows twelve months, and never days after now', async () => {
    const txns = await provider.fetchTransactions(link(), { from: '2020-01-01', to: '2030-01-01' }, ctx());
    const dates = txns.map((t) => t.date).sort();
    assert.ok((dates[0] ?? '') >= '2024-06-18', `oldest ${dates[0]}`);
    assert.equal(dates.at(-1), '2025-06-18');
  });

  it('rejects a malformed range', async () => {
    for (const range of [{ from: '2025-6-1', to: '2025-06-18' }, { from: '2025-06-18', to: '2025-06-01' }, { from: '2025-02-30', to: '2025-03-01' }]) {
      await assert.rejects(provider.fetchTransactions(link(), range, ctx()), (e: unknown) => e instanceof ProviderError && e.code === 'provider_error');
    }
  });

  it('is deterministic: same login, institution and now give byte-identical output', async () => {
    const other = createSandboxProvider({ latencyMs: 0 });
    const a = await provider.fetchTransactions(link(), YEAR, ctx());
    const b = await other.fetchTransactions(link(), YEAR, ctx());
    assert.equal(JSON.stringify(b), JSON.stringify(a));
    assert.deepEqual(await other.fetchAccounts(link(), ctx()), await provider.fetchAccounts(link(), ctx()));
    // The hour of `now` does not matter, only the day.
    assert.deepEqual(await provider.fetchTransactions(link(), YEAR, ctx(new Date('2025-06-18T23:59:59Z'))), a);
  });

  it('differs between logins and between institutions', async () => {
    const good = await provider.fetchTransactions(link(), YEAR, ctx());
    assert.notDeepEqual(await provider.fetchTransactions(link('someone'), YEAR, ctx()), good);
    assert.notDeepEqual(await provider.fetchTransactions(link('user_good', 'ins_sandbox_web'), YEAR, ctx()), good);
  });

  it('moves forward with the clock: a later now keeps the same past and adds new days', async () => {
    const later = plus(NOW, 20);
    const before = await fetchAround(link(), NOW, new Date('2024-09-01'));
    const after = await fetchAround(link(), later, new Date('2024-09-01'));
    const afterById = new Map(after.map((t) => [t.id, t]));
    for (const t of before.filter((x) => x.status === 'posted')) assert.deepEqual(afterById.get(t.id), t);
    assert.ok(after.some((t) => t.date > iso(NOW)), 'new days appear');
    assert.ok(after.length > before.length);
  });
});

/** Pending transactions at `now`, and what the same window looks like a week later. */
async function pendingThenWeekLater(l: ProviderLink, now: Date) {
  const first = await fetchAround(l, now, plus(now, -10));
  const later = await fetchAround(l, plus(now, 7), plus(now, -10), plus(now, 7));
  return { pending: first.filter((t) => t.status === 'pending'), later };
}

describe('sandbox pending transactions', () => {
  it('post 1–5 days later, linked to the pending id, at a linking institution', async () => {
    let linked = 0;
    for (let k = 0; k < 4; k++) {
      const { pending, later } = await pendingThenWeekLater(link(), plus(NOW, k * 9));
      for (const p of pending) {
        assert.ok(!later.some((t) => t.id === p.id), 'the pending id is gone once posted');
        const posted = later.find((t) => t.pendingTransactionId === p.id);
        if (!posted) continue; // cancelled
        linked++;
        assert.equal(posted.status, 'posted');
        assert.notEqual(posted.id, p.id);
        assert.deepEqual([posted.accountId, posted.amount, posted.description, posted.authorizedDate], [p.accountId, p.amount, p.description, p.date]);
        const days = (Date.parse(posted.date) - Date.parse(p.date)) / DAY;
        assert.ok(days >= 1 && days <= 5, `posted ${days} days later`);
      }
    }
    assert.ok(linked >= 5, `${linked} linked`);
  });

  it('post with a new id and no link at ins_sandbox_nolink, same amount and account, 1–3 days later', async () => {
    const nolink = link('user_good', 'ins_sandbox_nolink');
    let matched = 0;
    let total = 0;
    for (let k = 0; k < 4; k++) {
      const { pending, later } = await pendingThenWeekLater(nolink, plus(NOW, k * 9));
      assert.ok(later.every((t) => t.pendingTransactionId === null), 'no posted transaction carries a link');
      for (const p of pending) {
        total++;
        assert.ok(!later.some((t) => t.id === p.id));
        const candidates = later.filter((t) => t.status === 'posted' && t.accountId === p.accountId && t.amount === p.amount &&
          t.description === p.description && t.date > p.date && Date.parse(t.date) - Date.parse(p.date) <= 7 * DAY);
        if (candidates.length > 0) matched++;
        for (const c of candidates) assert.ok((Date.parse(c.date) - Date.parse(p.date)) / DAY <= 3);
      }
    }
    assert.ok(total >= 5 && matched >= total * 0.75, `${matched} of ${total} matched`);
  });

  it('always has something pending: every day brings at least one card authorisation', async () => {
    for (const l of [link(), link('someone_else', 'ins_sandbox_nolink')]) {
      for (let k = 0; k < 30; k++) {
        const now = plus(NOW, k);
        const recent = await fetchAround(l, now, plus(now, -6));
        assert.ok(recent.some((t) => t.status === 'pending' && t.date === iso(now)), `nothing pending on ${iso(now)}`);
      }
    }
  });

  it('a cancelled pending transaction disappears without ever posting', async () => {
    let cancelled: ProviderTransaction | null = null;
    for (let k = 0; k < 60 && !cancelled; k++) {
      const now = plus(NOW, k * 3);
      const { pending, later } = await pendingThenWeekLater(link(), now);
      cancelled = pending.find((p) => !later.some((t) => t.id === p.id || t.pendingTransactionId === p.id)) ?? null;
    }
    assert.ok(cancelled, 'found a cancelled authorisation');
    const much = await fetchAround(link(), plus(new Date(cancelled.date), 40), new Date(cancelled.date));
    assert.ok(!much.some((t) => t.id === cancelled.id || t.pendingTransactionId === cancelled.id || t.id === cancelled.id.replace(/_p$/, '')));
  });

  it('generates twelve months of user_good quickly (under 200 ms)', async () => {
    await provider.fetchTransactions(link(), YEAR, ctx()); // warm the JIT
    const t = performance.now();
    await provider.fetchTransactions(link(), YEAR, ctx());
    const ms = performance.now() - t;
    assert.ok(ms < 200, `${ms.toFixed(1)} ms`);
  });
});

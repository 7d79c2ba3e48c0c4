import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createSandboxProvider, findSandboxInstitution, SANDBOX_INSTITUTIONS, sandboxPostedBalance } from '../../src/providers/sandbox/index.js';
import { ANCHOR_DATE, anchorBalanceOf, generateTransactions, postedBalanceOn } from '../../src/providers/sandbox/generator.js';
import { runLedger } from '../../src/providers/sandbox/ledger.js';
import { buildPersona } from '../../src/providers/sandbox/persona.js';
import { dayFromCivil, isoOf } from '../../src/providers/sandbox/calendar.js';
import type { ProviderLink, ProviderTransaction } from '../../src/providers/types.js';
import { windowOf } from '../../src/providers/types.js';

const NOW = new Date('2025-06-18T09:30:00Z');
const TODAY = '2025-06-18';
const provider = createSandboxProvider({ latencyMs: 0 });
const ctx = (now = NOW) => ({ now, runKey: 'job_1:1' });
const link = (login = 'user_good', institutionId = 'ins_sandbox_universal'): ProviderLink =>
  ({ institutionId, access: { kind: 'web', login, password: 'pass_good' }, firstSyncedAt: null });
const universal = findSandboxInstitution('ins_sandbox_universal');
if (!universal) throw new Error('catalogue is missing ins_sandbox_universal');

const sum = (ts: ProviderTransaction[]) => ts.reduce((s, t) => s + t.amount, 0);
const nextDay = (iso: string) => isoOf(dayFromCivil(Number(iso.slice(0, 4)), Number(iso.slice(5, 7)), Number(iso.slice(8, 10))) + 1);

describe('sandbox accounts', () => {
  it('user_good has a transaction account, savings, a credit card and a loan or mortgage, at every institution', () => {
    for (const institution of SANDBOX_INSTITUTIONS) {
      const types = buildPersona(institution, 'user_good').accounts.map((a) => a.type);
      assert.ok(types.length >= 4, institution.id);
      for (const t of ['transaction', 'savings', 'credit_card']) assert.ok(types.includes(t as never), `${institution.id} lacks ${t}`);
      assert.ok(types.includes('loan') || types.includes('mortgage'), `${institution.id} lacks a loan`);
    }
  });

  it('returns AUD accounts with stable ids, names and four-digit masks', async () => {
    const accounts = await provider.fetchAccounts(link(), ctx());
    for (const a of accounts) {
      assert.match(a.id, /^sbx_acc_[0-9a-f]{16}$/);
      assert.match(a.mask, /^\d{4}$/);
      assert.equal(a.currency, 'AUD');
      assert.ok(a.name.length > 0);
      assert.ok(Number.isInteger(a.balances!.current));
    }
    assert.equal(new Set(accounts.map((a) => a.id)).size, accounts.length);
    const later = await provider.fetchAccounts(link(), ctx(new Date('2025-09-01T00:00:00Z')));
    assert.deepEqual(later.map((a) => a.id), accounts.map((a) => a.id));
  });
});

describe('sandbox balances agree with transactions', () => {
  const persona = buildPersona(universal, 'user_good');

  it('current = anchor balance + every transaction posted since the anchor', async () => {
    const accounts = await provider.fetchAccounts(link(), ctx());
    const all = generateTransactions(persona, { from: nextDay(ANCHOR_DATE), to: TODAY }, NOW, { includeLateAccounts: false });
    for (const a of accounts) {
      const posted = all.filter((t) => t.accountId === a.id && t.status === 'posted');
      assert.equal(a.balances!.current, anchorBalanceOf(persona, a.id) + sum(posted), a.name);
      assert.equal(a.balances!.current, postedBalanceOn(persona, a.id, TODAY), a.name);
      assert.equal(sandboxPostedBalance('ins_sandbox_universal', 'user_good', a.id, TODAY), a.balances!.current);
    }
  });

  it('available = current + pending (credit: + limit; loans: none)', async () => {
    const accounts = await provider.fetchAccounts(link(), ctx());
    const recent = windowOf(await provider.fetchTransactions(link(), { from: '2025-06-01', to: TODAY }, ctx())).transactions;
    assert.ok(recent.some((t) => t.status === 'pending'), 'some transactions are pending');
    for (const a of accounts) {
      const pending = sum(recent.filter((t) => t.accountId === a.id && t.status === 'pending'));
      if (a.type === 'loan' || a.type === 'mortgage') {
        assert.deepEqual([a.balances!.available, a.balances!.limit], [null, null]);
        assert.ok(a.balances!.current <= 0, 'a loan is owed');
      } else if (a.type === 'credit_card') {
        assert.ok(a.balances!.limit !== null && a.balances!.limit > 0);
        assert.equal(a.balances!.available, a.balances!.limit + a.balances!.current + pending);
      } else {
        assert.equal(a.balances!.available, a.balances!.current + pending);
        assert.equal(a.balances!.limit, null);
      }
    }
  });

  it('posted transactions over (from, to] sum to the balance difference, for several windows', async () => {
    const accounts = await provider.fetchAccounts(link(), ctx());
    for (const [from, to] of [['2024-07-01', '2024-07-31'], ['2024-09-13', '2025-02-02'], ['2025-06-10', TODAY]] as const) {
      const txns = windowOf(await provider.fetchTransactions(link(), { from: nextDay(from), to }, ctx())).transactions;
      for (const a of accounts) {
        const posted = txns.filter((t) => t.accountId === a.id && t.status === 'posted');
        assert.equal(sum(posted), postedBalanceOn(persona, a.id, to) - postedBalanceOn(persona, a.id, from), `${a.name} ${from}..${to}`);
      }
    }
  });

  it('stays plausible for a decade: no overdrawn everyday or savings, cards within limit, loans owed', () => {
    for (const login of ['user_good', 'user_flaky', 'jane.citizen', 'user_new_accounts']) {
      for (const institution of SANDBOX_INSTITUTIONS) {
        const p = buildPersona(institution, login);
        runLedger(p, dayFromCivil(2030, 12, 31), Number.POSITIVE_INFINITY, { onDayEnd: (day, balances) => {
          p.accounts.forEach((a, i) => {
            const b = balances[i] ?? 0;
            const where = `${login}@${institution.id} ${a.role} on ${isoOf(day)}: ${b}`;
            if (a.type === 'transaction' || a.type === 'savings') assert.ok(b >= 0, where);
            if (a.type === 'credit_card') assert.ok(b <= 100_000 && b > -(a.limit ?? 0), where);
            if (a.type === 'loan' || a.type === 'mortgage') assert.ok(b <= 0, where);
          });
        } });
      }
    }
  });

  it('computes balances from the anchor quickly (well under 50 ms for years of days)', () => {
    const p = buildPersona(universal, 'user_good');
    runLedger(p, dayFromCivil(2026, 6, 1)); // warm the JIT
    const t = performance.now();
    runLedger(p, dayFromCivil(2026, 6, 1));
    const ms = performance.now() - t;
    assert.ok(ms < 50, `${ms.toFixed(1)} ms for ${dayFromCivil(2026, 6, 1) - dayFromCivil(2020, 1, 1)} days`);
  });
});

describe('sandbox identity', () => {
  it('gives names, a primary email and phone, and an Australian address, deterministically', async () => {
    const identity = await provider.fetchIdentity(link(), ctx());
    assert.deepEqual(await provider.fetchIdentity(link(), ctx(new Date('2026-01-01T00:00:00Z'))), identity);
    assert.match(identity.names[0] ?? '', /^[A-Z][a-z]+ [A-Z][A-Za-z']+$/);
    assert.equal(identity.emails.filter((e) => e.primary).length, 1);
    assert.match(identity.emails[0]?.address ?? '', /^[a-z]+\.[a-z]+@example\.com$/);
    assert.equal(identity.phones.filter((p) => p.primary).length, 1);
    assert.match(identity.phones[0]?.number ?? '', /^\+61 4\d{2} \d{3} \d{3}$/);
    const home = identity.addresses.find((a) => a.primary);
    assert.ok(home);
    assert.equal(home.country, 'AU');
    assert.match(home.postalCode, /^\d{4}$/);
  });

  it('is the same person at every institution, and a different one for another login', async () => {
    const here = await provider.fetchIdentity(link('user_good', 'ins_sandbox_universal'), ctx());
    assert.deepEqual(await provider.fetchIdentity(link('user_good', 'ins_sandbox_web'), ctx()), here);
    assert.notDeepEqual(await provider.fetchIdentity(link('someone_else'), ctx()), here);
  });
});

describe('ledger caches', () => {
  it('give exactly what a full replay from the anchor gives, day after day', async () => {
    const { clearLedgerCaches } = await import('../../src/providers/sandbox/generator.js');
    const { createSandboxProvider } = await import('../../src/providers/sandbox/index.js');
    const provider = createSandboxProvider({ latencyMs: 0 });
    for (const [institutionId, login] of [['ins_sandbox_web', 'user_good'], ['ins_sandbox_nolink', 'cache_check'], ['ins_sandbox_universal', 'user_new_accounts']] as const) {
      const link = { institutionId, access: { kind: 'web' as const, login, password: 'pass_good' }, firstSyncedAt: new Date('2026-01-01T00:00:00Z') };
      const cachedRuns: unknown[] = [];
      const freshRuns: unknown[] = [];
      for (let d = 0; d < 70; d += 3) {
        const now = new Date(Date.parse('2026-05-03T10:00:00Z') + d * 86_400_000);
        const range = { from: new Date(now.getTime() - 40 * 86_400_000).toISOString().slice(0, 10), to: now.toISOString().slice(0, 10) };
        const ctx = { now, runKey: 'r' };
        cachedRuns.push([await provider.fetchAccounts(link, ctx), await provider.fetchTransactions(link, range, ctx)]);
      }
      for (let d = 0; d < 70; d += 3) {
        clearLedgerCaches();
        const now = new Date(Date.parse('2026-05-03T10:00:00Z') + d * 86_400_000);
        const range = { from: new Date(now.getTime() - 40 * 86_400_000).toISOString().slice(0, 10), to: now.toISOString().slice(0, 10) };
        const ctx = { now, runKey: 'r' };
        freshRuns.push([await provider.fetchAccounts(link, ctx), await provider.fetchTransactions(link, range, ctx)]);
      }
      assert.deepEqual(cachedRuns, freshRuns, `${login}@${institutionId}`);
    }
  });
});

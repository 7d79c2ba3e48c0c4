import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createSandboxProvider } from '../../src/providers/sandbox/index.js';
import { dayFromCivil, isoOf, parseIsoDay } from '../../src/providers/sandbox/calendar.js';
import { Rng, hashHex, hashString } from '../../src/providers/sandbox/random.js';

const provider = createSandboxProvider({ latencyMs: 0 });

describe('sandbox institution catalogue', () => {
  const byId = new Map(provider.institutions().map((i) => [i.id, i]));
  const get = (id: string) => {
    const i = byId.get(id);
    assert.ok(i, `${id} is listed`);
    return i;
  };

  it('has the web-only, openbanking-only, both, MFA, slow, outage and no-link institutions', () => {
    assert.deepEqual(get('ins_sandbox_web').methods, ['web']);
    assert.deepEqual(get('ins_sandbox_openbank').methods, ['openbanking']);
    assert.deepEqual(get('ins_sandbox_universal').methods, ['web', 'openbanking']);
    assert.deepEqual([get('ins_sandbox_mfa').methods, get('ins_sandbox_mfa').alwaysMfa], [['web'], true]);
    assert.deepEqual(get('ins_sandbox_slow').methods, ['web', 'openbanking']);
    assert.deepEqual(get('ins_sandbox_outage').methods, ['web', 'openbanking']);
    assert.equal(get('ins_sandbox_nolink').linksPendingTransactions, false);
  });

  it('every institution is Australian, offers accounts/balances/transactions/identity (not investments), with refresh limits', () => {
    for (const i of provider.institutions()) {
      assert.equal(i.country, 'AU');
      assert.match(i.id, /^ins_sandbox_/);
      assert.match(i.name, /^Sandbox /);
      assert.deepEqual(i.products, ['accounts', 'balances', 'transactions', 'identity']);
      const slow = i.id === 'ins_sandbox_slow';
      assert.deepEqual(i.limits, slow
        ? { refreshesPerDay: 4, minIntervalSeconds: 3600, maxConcurrentRefreshes: 2, refreshesPerMinute: 30 }
        : { refreshesPerDay: 20, minIntervalSeconds: 0, maxConcurrentRefreshes: 256, refreshesPerMinute: 60_000 });
      assert.equal(i.linksPendingTransactions, i.id !== 'ins_sandbox_nolink');
      assert.equal(i.alwaysMfa, i.id === 'ins_sandbox_mfa');
    }
  });

  it('returns fresh objects holding only the contract fields, so callers cannot change the catalogue', () => {
    const list = provider.institutions();
    assert.deepEqual(Object.keys(list[0] ?? {}).sort(), ['alwaysMfa', 'country', 'id', 'limits', 'linksPendingTransactions', 'maxAccessDays', 'methods', 'name', 'primaryColor', 'products']);
    list[0]?.methods.push('openbanking');
    assert.deepEqual(provider.institutions(), createSandboxProvider({ latencyMs: 0 }).institutions());
    assert.equal(provider.id, 'sandbox');
  });
});

describe('sandbox randomness and calendar', () => {
  it('a seeded generator repeats its sequence, and different seeds differ', () => {
    const seq = (seed: number) => { const r = new Rng(seed); return Array.from({ length: 8 }, () => r.next()); };
    assert.deepEqual(seq(42), seq(42));
    assert.notDeepEqual(seq(42), seq(43));
    assert.ok(seq(7).every((x) => x >= 0 && x < 1));
  });

  it('draws integers within bounds and roughly uniformly', () => {
    const r = new Rng(1);
    const counts = [0, 0, 0, 0];
    for (let i = 0; i < 4000; i++) counts[r.int(0, 3)]! += 1;
    assert.ok(counts.every((c) => c > 850 && c < 1150), counts.join(','));
  });

  it('hashes strings stably', () => {
    assert.equal(hashString('user_good'), hashString('user_good'));
    assert.notEqual(hashString('user_good'), hashString('user_goof'));
    assert.match(hashHex('x'), /^[0-9a-f]{16}$/);
  });

  it('converts days and ISO dates both ways, rejecting impossible dates', () => {
    assert.equal(dayFromCivil(1970, 1, 1), 0);
    assert.equal(isoOf(dayFromCivil(2024, 2, 29)), '2024-02-29');
    for (let d = dayFromCivil(2019, 12, 1); d < dayFromCivil(2021, 3, 1); d++) {
      assert.equal(isoOf(d), new Date(d * 86_400_000).toISOString().slice(0, 10));
      assert.equal(parseIsoDay(isoOf(d)), d);
    }
    for (const bad of ['2023-02-29', '2024-13-01', '2024-1-01', 'yesterday', '2024-04-31']) assert.equal(parseIsoDay(bad), null);
  });

  it('uses no Math.random anywhere in the sandbox', async () => {
    const { readdir, readFile } = await import('node:fs/promises');
    const dir = new URL('../../src/providers/sandbox/', import.meta.url);
    for (const name of await readdir(dir)) {
      const text = await readFile(new URL(name, dir), 'utf8');
      assert.ok(!text.includes('Math.random'), name);
    }
  });
});

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createSandboxProvider } from '../../src/providers/sandbox/index.js';
import { ProviderError, type ProviderLink, type ProviderErrorCode } from '../../src/providers/types.js';

const NOW = new Date('2025-06-18T09:30:00Z');
const DAY = 86_400_000;
const provider = createSandboxProvider({ latencyMs: 0 });
const ctx = (runKey = 'job_1:1', now = NOW) => ({ now, runKey });

function web(login: string, password = 'pass_good', institutionId = 'ins_sandbox_universal', firstSyncedAt: Date | null = null): ProviderLink {
  return { institutionId, access: { kind: 'web', login, password }, firstSyncedAt };
}

/** Asserts a ProviderError with this code and transient flag. */
async function rejectsWith(p: Promise<unknown>, code: ProviderErrorCode, transient: boolean): Promise<void> {
  await assert.rejects(p, (e: unknown) => {
    assert.ok(e instanceof ProviderError, `expected ProviderError, got ${String(e)}`);
    assert.equal(e.code, code);
    assert.equal(e.transient, transient);
    return true;
  });
}

describe('sandbox magic credentials (web)', () => {
  it('user_good / pass_good is verified with no access expiry', async () => {
    assert.deepEqual(await provider.verifyCredentials(web('user_good'), null, ctx()), { kind: 'verified', accessExpiresAt: null });
  });

  it('pass_bad, or any password but pass_good, is invalid_credentials (final)', async () => {
    for (const [login, password] of [['user_good', 'pass_bad'], ['user_good', 'Pass_Good'], ['someone', ''], ['user_mfa', 'nope']]) {
      await rejectsWith(provider.verifyCredentials(web(login ?? '', password ?? ''), null, ctx()), 'invalid_credentials', false);
    }
  });

  it('user_locked is account_locked whatever the password', async () => {
    await rejectsWith(provider.verifyCredentials(web('user_locked', 'pass_good'), null, ctx()), 'account_locked', false);
    await rejectsWith(provider.verifyCredentials(web('user_locked', 'pass_bad'), null, ctx()), 'account_locked', false);
  });

  it('data calls re-check the credentials like a fresh login', async () => {
    await rejectsWith(provider.fetchAccounts(web('user_good', 'pass_bad'), ctx()), 'invalid_credentials', false);
    await rejectsWith(provider.fetchTransactions(web('user_locked'), { from: '2025-06-01', to: '2025-06-18' }, ctx()), 'account_locked', false);
  });

  it('user_mfa asks for a code, accepts 1234 and fails anything else', async () => {
    const link = web('user_mfa');
    assert.deepEqual(await provider.verifyCredentials(link, null, ctx()), {
      kind: 'mfa_required', prompt: 'Enter the code sent to your phone (sandbox: 1234)',
    });
    assert.deepEqual(await provider.verifyCredentials(link, '1234', ctx()), { kind: 'verified', accessExpiresAt: null });
    await rejectsWith(provider.verifyCredentials(link, '0000', ctx()), 'mfa_failed', false);
  });

  it('ins_sandbox_mfa wants a code from every pass_good login, but still rejects bad passwords first', async () => {
    for (const login of ['user_good', 'someone_else', 'user_expiring']) {
      const outcome = await provider.verifyCredentials(web(login, 'pass_good', 'ins_sandbox_mfa'), null, ctx());
      assert.equal(outcome.kind, 'mfa_required');
    }
    const expiring = await provider.verifyCredentials(web('user_expiring', 'pass_good', 'ins_sandbox_mfa'), '1234', ctx());
    assert.deepEqual(expiring, { kind: 'verified', accessExpiresAt: new Date(NOW.getTime() + 3 * DAY) });
    await rejectsWith(provider.verifyCredentials(web('user_good', 'pass_bad', 'ins_sandbox_mfa'), null, ctx()), 'invalid_credentials', false);
  });

  it('user_expiring is verified with access expiring in 3 days', async () => {
    const outcome = await provider.verifyCredentials(web('user_expiring'), null, ctx());
    assert.deepEqual(outcome, { kind: 'verified', accessExpiresAt: new Date(NOW.getTime() + 3 * DAY) });
  });

  it('any other login with pass_good behaves like user_good, with its own data', async () => {
    assert.equal((await provider.verifyCredentials(web('jane.citizen'), null, ctx())).kind, 'verified');
    const mine = await provider.fetchAccounts(web('jane.citizen'), ctx());
    const good = await provider.fetchAccounts(web('user_good'), ctx());
    assert.ok(mine.length >= 4);
    assert.notDeepEqual(mine.map((a) => a.id), good.map((a) => a.id));
  });

  it('a web login at an openbanking-only institution is refused', async () => {
    await rejectsWith(provider.verifyCredentials(web('user_good', 'pass_good', 'ins_sandbox_openbank'), null, ctx()), 'provider_error', false);
  });
});

describe('sandbox user_flaky', () => {
  it('fails about one run in three, with institution_unavailable (transient)', async () => {
    let failures = 0;
    for (let i = 0; i < 300; i++) {
      try {
        await provider.fetchAccounts(web('user_flaky'), ctx(`job_${i}:1`));
      } catch (e) {
        assert.ok(e instanceof ProviderError);
        assert.equal(e.code, 'institution_unavailable');
        assert.equal(e.transient, true);
        failures++;
      }
    }
    assert.ok(failures >= 60 && failures <= 135, `${failures} of 300 runs failed`);
  });

  it('is deterministic per runKey, and a failing run fails every retrieval call', async () => {
    const outcome = async (runKey: string) => {
      const calls = [
        provider.fetchAccounts(web('user_flaky'), ctx(runKey)),
        provider.fetchTransactions(web('user_flaky'), { from: '2025-06-01', to: '2025-06-18' }, ctx(runKey)),
        provider.fetchIdentity(web('user_flaky'), ctx(runKey)),
      ];
      return (await Promise.allSettled(calls)).map((r) => r.status);
    };
    let sawFailure = false;
    for (let i = 0; i < 20; i++) {
      const first = await outcome(`job_${i}:1`);
      assert.deepEqual(await outcome(`job_${i}:1`), first);
      assert.equal(new Set(first).size, 1, 'a run fails as a whole or not at all');
      sawFailure ||= first[0] === 'rejected';
    }
    assert.ok(sawFailure);
  });

  it('verifies credentials normally (only retrieval is flaky)', async () => {
    for (let i = 0; i < 10; i++) assert.equal((await provider.verifyCredentials(web('user_flaky'), null, ctx(`job_${i}:1`))).kind, 'verified');
  });
});

describe('sandbox user_new_accounts', () => {
  it('shows one more account, with transactions, only once the link has synced', async () => {
    const range = { from: '2025-01-01', to: '2025-06-18' };
    const first = await provider.fetchAccounts(web('user_new_accounts'), ctx());
    const later = await provider.fetchAccounts(web('user_new_accounts', 'pass_good', 'ins_sandbox_universal', new Date('2025-06-01T00:00:00Z')), ctx());
    assert.equal(later.length, first.length + 1);
    assert.deepEqual(later.slice(0, first.length), first, 'existing accounts are unchanged');
    const added = later.find((a) => !first.some((f) => f.id === a.id));
    assert.ok(added);
    const before = await provider.fetchTransactions(web('user_new_accounts'), range, ctx());
    const after = await provider.fetchTransactions(web('user_new_accounts', 'pass_good', 'ins_sandbox_universal', new Date('2025-06-01T00:00:00Z')), range, ctx());
    assert.ok(!before.some((t) => t.accountId === added.id));
    assert.ok(after.some((t) => t.accountId === added.id));
    assert.deepEqual(after.filter((t) => t.accountId !== added.id), before);
  });

  it('other logins never get an extra account', async () => {
    const first = await provider.fetchAccounts(web('user_good'), ctx());
    const later = await provider.fetchAccounts(web('user_good', 'pass_good', 'ins_sandbox_universal', NOW), ctx());
    assert.deepEqual(later, first);
  });
});

describe('sandbox ins_sandbox_outage', () => {
  const link = web('user_good', 'pass_good', 'ins_sandbox_outage');
  it('fails verification and every data call with institution_unavailable (transient)', async () => {
    await rejectsWith(provider.verifyCredentials(link, null, ctx()), 'institution_unavailable', true);
    await rejectsWith(provider.fetchAccounts(link, ctx()), 'institution_unavailable', true);
    await rejectsWith(provider.fetchTransactions(link, { from: '2025-06-01', to: '2025-06-18' }, ctx()), 'institution_unavailable', true);
    await rejectsWith(provider.fetchIdentity(link, ctx()), 'institution_unavailable', true);
    await rejectsWith(provider.completeLink({ institutionId: 'ins_sandbox_outage', params: { decision: 'approve' }, reference: 'ref', update: null }, ctx()), 'institution_unavailable', true);
  });
  it('still lets access be revoked', async () => {
    await provider.revoke(link, ctx());
  });
});

describe('sandbox latency', () => {
  it('with latency 0 a call schedules no timer: it resolves before a setImmediate callback', async () => {
    const order: string[] = [];
    setImmediate(() => order.push('immediate'));
    await provider.verifyCredentials(web('user_good'), null, ctx());
    await provider.fetchAccounts(web('user_good'), ctx());
    await provider.revoke(web('user_good'), ctx());
    order.push('calls');
    assert.deepEqual(order, ['calls']);
  });

  it('waits latencyMs per call, ten times longer on the slow institution', async () => {
    const timed = createSandboxProvider({ latencyMs: 15 });
    let t = performance.now();
    await timed.verifyCredentials(web('user_good'), null, ctx());
    const normal = performance.now() - t;
    t = performance.now();
    await timed.verifyCredentials(web('user_good', 'pass_good', 'ins_sandbox_slow'), null, ctx());
    const slow = performance.now() - t;
    assert.ok(normal >= 14, `normal call took ${normal} ms`);
    assert.ok(slow >= 149, `slow call took ${slow} ms`);
  });

  it('refuses a negative latency', () => {
    assert.throws(() => createSandboxProvider({ latencyMs: -1 }), RangeError);
  });
});

import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createSandboxProvider } from '../../src/providers/sandbox/index.js';
import { ProviderError, type ProviderErrorCode, type ProviderLink } from '../../src/providers/types.js';

const NOW = new Date('2025-06-18T09:30:00Z');
const DAY = 86_400_000;
const provider = createSandboxProvider({ latencyMs: 0 });
const ctx = (now = NOW, runKey = 'job_1:1') => ({ now, runKey });

async function rejectsWith(p: Promise<unknown>, code: ProviderErrorCode, transient = false): Promise<void> {
  await assert.rejects(p, (e: unknown) => e instanceof ProviderError && e.code === code && e.transient === transient);
}

/** The consent page's answer: a grant, or the refusal thrown as the ProviderError a job would end with. */
async function grant(params: Record<string, string>, institutionId = 'ins_sandbox_openbank', now = NOW) {
  const result = await provider.completeLink({ institutionId, params, reference: 'ref', update: null }, ctx(now));
  if (result.kind === 'granted') return result.grant;
  if (result.kind === 'denied') throw new ProviderError(result.code, result.message, false, result.providerCode);
  throw new Error('the sandbox never answers pending');
}

const start = (institutionId: string, state: string, publicUrl: string) => provider.startLink({
  institutionId, products: ['accounts'], state, returnUrl: `${publicUrl}/link/return?state=${encodeURIComponent(state)}`, webhookUrl: null, userId: 'usr_1', update: null,
}, ctx());

function tokenLink(token: string, institutionId = 'ins_sandbox_openbank', firstSyncedAt: Date | null = null): ProviderLink {
  return { institutionId, access: { kind: 'token', token }, firstSyncedAt };
}

describe('sandbox openbanking authorisation', () => {
  it('sends the user to the consent page Causeway serves, with the state URL-encoded', async () => {
    const { url } = await start('ins_sandbox_openbank', 'st/a te?&', 'https://causeway.example');
    assert.equal(url, 'https://causeway.example/sandbox/consent/st%2Fa%20te%3F%26');
  });

  it('refuses an authorisation URL for a web-only institution', async () => {
    await assert.rejects(start('ins_sandbox_web', 's', 'http://x'), ProviderError);
  });

  it('approval grants a sbx_tok_ token for user_good by default, valid for 365 days', async () => {
    const g = await grant({ decision: 'approve' });
    assert.match(g.token, /^sbx_tok_user_good_/);
    assert.deepEqual(g.grantedAt, NOW);
    assert.deepEqual(g.expiresAt, new Date(NOW.getTime() + 365 * DAY));
  });

  it('denial is authorization_denied', async () => {
    await rejectsWith(grant({ decision: 'deny' }), 'authorization_denied');
    await rejectsWith(grant({}), 'authorization_denied');
  });

  it('user_expiring consent lasts 3 days, and data calls fail with consent_expired after it', async () => {
    const g = await grant({ decision: 'approve', persona: 'user_expiring' });
    assert.match(g.token, /^sbx_tok_user_expiring_/);
    assert.deepEqual(g.expiresAt, new Date(NOW.getTime() + 3 * DAY));
    const link = tokenLink(g.token);
    assert.ok((await provider.fetchAccounts(link, ctx(new Date(NOW.getTime() + 2 * DAY)))).length >= 4);
    await rejectsWith(provider.fetchAccounts(link, ctx(new Date(NOW.getTime() + 3 * DAY))), 'consent_expired');
  });

  it('unknown personas, and ones that make no sense at a consent page, are denied', async () => {
    for (const persona of ['user_locked', 'pass_bad', 'nobody', '']) {
      await rejectsWith(grant({ decision: 'approve', persona }), 'authorization_denied');
    }
  });

  it('a web-only institution cannot complete an openbanking authorisation', async () => {
    await rejectsWith(grant({ decision: 'approve' }, 'ins_sandbox_web'), 'provider_error');
  });
});

describe('sandbox openbanking data', () => {
  it('a token reads the same persona data as the web login at the same institution', async () => {
    const g = await grant({ decision: 'approve' }, 'ins_sandbox_universal');
    const viaToken = await provider.fetchAccounts(tokenLink(g.token, 'ins_sandbox_universal'), ctx());
    const viaWeb = await provider.fetchAccounts({
      institutionId: 'ins_sandbox_universal', access: { kind: 'web', login: 'user_good', password: 'pass_good' }, firstSyncedAt: null,
    }, ctx());
    assert.deepEqual(viaToken, viaWeb);
    const identity = await provider.fetchIdentity(tokenLink(g.token, 'ins_sandbox_universal'), ctx());
    assert.ok(identity.names.length > 0);
  });

  it('verifyCredentials on a token link reports the consent expiry', async () => {
    const g = await grant({ decision: 'approve' });
    assert.deepEqual(await provider.verifyCredentials(tokenLink(g.token), null, ctx()), { kind: 'verified', accessExpiresAt: g.expiresAt });
  });

  it('personas apply to data calls: user_flaky fails some runs, user_new_accounts grows after the first sync', async () => {
    const flaky = tokenLink((await grant({ decision: 'approve', persona: 'user_flaky' })).token);
    const results = await Promise.allSettled(Array.from({ length: 60 }, (_, i) => provider.fetchAccounts(flaky, ctx(NOW, `job_${i}:1`))));
    const failed = results.filter((r) => r.status === 'rejected').length;
    assert.ok(failed > 5 && failed < 40, `${failed} of 60 failed`);

    const token = (await grant({ decision: 'approve', persona: 'user_new_accounts' })).token;
    const first = await provider.fetchAccounts(tokenLink(token), ctx());
    const later = await provider.fetchAccounts(tokenLink(token, 'ins_sandbox_openbank', NOW), ctx());
    assert.equal(later.length, first.length + 1);
  });

  it('an unparseable or tampered token, or one from another institution, is invalid_credentials', async () => {
    const g = await grant({ decision: 'approve' });
    for (const token of ['', 'garbage', 'sbx_tok_user_good_', `${g.token}x`, g.token.replace('user_good', 'user_flaky')]) {
      await rejectsWith(provider.fetchAccounts(tokenLink(token), ctx()), 'invalid_credentials');
    }
    await rejectsWith(provider.fetchAccounts(tokenLink(g.token, 'ins_sandbox_universal'), ctx()), 'invalid_credentials');
  });

  it('a token cannot be used at a web-only institution', async () => {
    const g = await grant({ decision: 'approve' });
    await rejectsWith(provider.fetchAccounts(tokenLink(g.token, 'ins_sandbox_web'), ctx()), 'provider_error');
  });
});

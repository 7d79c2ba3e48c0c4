/**
 * The SimpleFIN adapter: Causeway's Provider contract over the SimpleFIN protocol (v1, with v2's
 * structured errors read when a bridge sends them). The user pastes a setup token; Causeway claims
 * it once (claimToken) and keeps the access URL it answers, which holds Basic credentials, as the
 * link's token. Data comes from one GET /accounts a run (answers.ts); the answer's error list and
 * HTTP statuses are normalised in errors.ts; the claim and access URLs go through the shared
 * address guard (client.ts). Revoke is local: SimpleFIN has no call for it (revokeNotice).
 */
import type {
  AuthorizationGrant, Provider, ProviderAccount, ProviderCallContext, ProviderLink, ProviderTransaction, TransactionsWindow,
} from '../types.js';
import { ProviderError } from '../types.js';
import { createAnswerCache, earlierWindows, mainWindowStartDay, type Fetch } from './answers.js';
import { CLAIM_TIMEOUT_MS, createSimpleFinClient, DATA_TIMEOUT_MS } from './client.js';
import { failureOf, issuesOf, type Issue } from './errors.js';
import { accountIdsOf, accountOf, BRIDGE_INSTITUTION_ID, bridgeInstitution, currencyOf, maskOf, transactionOf } from './mapping.js';
import { accessPartsOf, claimUrlOf, looksLikeAccessUrl, secretPieces } from './token.js';
import { cleanText, type SfinAccountSet } from './wire.js';

export const SIMPLEFIN_PROVIDER_ID = 'simplefin';
/** An account the bridge could not read this time ("Try again later"): its stored transactions wait this long for the next run. */
const ACCOUNT_RETRY_MS = 3_600_000;

export const SIMPLEFIN_REVOKE_NOTICE = 'SimpleFIN has no way for an app to give its access back: Causeway deletes the access it holds, and you should also remove Causeway at your SimpleFIN bridge (its list of connected apps).';

export interface SimpleFinProviderOptions {
  dataTimeoutMs?: number;
  claimTimeoutMs?: number;
  /** How long a run's answer is kept for its next call (answers.ts). */
  answerTtlMs?: number;
}

const HTTPS_ONLY = 'Its address must use https (plain http only where the operator allows private addresses, CAUSEWAY_ALLOW_PRIVATE_ADDRESSES).';

function badStoredAccess(why: 'form' | 'https'): ProviderError {
  return new ProviderError('invalid_credentials', `The stored SimpleFIN access URL can no longer be used${why === 'https' ? `. ${HTTPS_ONLY}` : ': connect again with a new setup token.'}`, false, 'BAD_ACCESS_URL');
}

function notAnAccessUrl(why: 'form' | 'https'): ProviderError {
  return new ProviderError('invalid_credentials', why === 'https'
    ? `This SimpleFIN access URL is refused. ${HTTPS_ONLY}`
    : 'This is not a SimpleFIN access URL: one looks like https://user:password@bridge.example/simplefin.', false, 'NOT_AN_ACCESS_URL');
}

export function createSimpleFinProvider(opts: SimpleFinProviderOptions = {}): Provider {
  const client = createSimpleFinClient({ dataTimeoutMs: opts.dataTimeoutMs ?? DATA_TIMEOUT_MS, claimTimeoutMs: opts.claimTimeoutMs ?? CLAIM_TIMEOUT_MS });
  const answers = createAnswerCache(client, opts.answerTtlMs);

  function fetchFor(link: ProviderLink, ctx: ProviderCallContext): Fetch {
    if (link.access.kind !== 'token') throw new ProviderError('provider_error', 'A SimpleFIN link holds an access URL, not a login.', false, 'WRONG_ACCESS');
    const allowPrivate = ctx.allowPrivateAddresses === true;
    const token = link.access.token;
    return { access: accessPartsOf(token, allowPrivate, badStoredAccess), token, secrets: secretPieces(token), allowPrivate, now: ctx.now, runKey: ctx.runKey };
  }

  /** The answer's issues; throws the failure they amount to. */
  function usable(answer: SfinAccountSet, now: Date): Issue[] {
    const issues = issuesOf(answer);
    const failure = failureOf(issues, now, null);
    if (failure) throw failure;
    return issues;
  }

  /** Causeway's id of each bridge account id the answer names (the first, when one repeats). */
  function idsByBridgeId(answer: SfinAccountSet): Map<string, string> {
    const ids = accountIdsOf(answer);
    const out = new Map<string, string>();
    answer.accounts.forEach((a, i) => { if (!out.has(a.id)) out.set(a.id, ids[i]!); });
    return out;
  }

  function transactionsOf(answer: SfinAccountSet, now: Date): ProviderTransaction[] {
    const ids = accountIdsOf(answer);
    return answer.accounts.flatMap((a, i) => {
      const id = ids[i]!;
      const currency = currencyOf(a.currency);
      return (a.transactions ?? []).map((t) => transactionOf(t, id, currency, now));
    });
  }

  async function checkAccess(token: string, ctx: ProviderCallContext): Promise<SfinAccountSet> {
    const allowPrivate = ctx.allowPrivateAddresses === true;
    const access = accessPartsOf(token, allowPrivate, notAnAccessUrl);
    let answer: SfinAccountSet;
    try {
      answer = await client.accounts(access, secretPieces(token), { balancesOnly: true }, allowPrivate, ctx.now);
    } catch (err) {
      if (err instanceof ProviderError && err.code === 'consent_revoked') {
        throw new ProviderError('invalid_credentials', 'The SimpleFIN bridge refused this access URL: it was revoked at the bridge, or its credentials are wrong.', false, 'ACCESS_REFUSED');
      }
      if (err instanceof ProviderError && err.providerCode === 'BLOCKED_ADDRESS') throw new ProviderError('invalid_credentials', err.message, false, err.providerCode);
      throw err;
    }
    if (issuesOf(answer).some((i) => i.kind === 'revoked')) {
      throw new ProviderError('invalid_credentials', 'The SimpleFIN bridge refused this access URL: it was revoked at the bridge, or its credentials are wrong.', false, 'ACCESS_REFUSED');
    }
    return answer;
  }

  async function adopt(token: string, ctx: ProviderCallContext): Promise<AuthorizationGrant> {
    const answer = await checkAccess(token, ctx);
    return {
      token, grantedAt: ctx.now, expiresAt: null, institutionId: BRIDGE_INSTITUTION_ID,
      accounts: answer.accounts.map((a) => ({ name: cleanText(a.name, 200), mask: maskOf(a.name, a.id) || null })),
    };
  }

  return {
    id: SIMPLEFIN_PROVIDER_ID,
    name: 'SimpleFIN',
    methods: ['token'],
    sandboxOnly: false,
    revokeNotice: SIMPLEFIN_REVOKE_NOTICE,

    async listInstitutions(_ctx, cursor) {
      if (cursor !== null) throw new ProviderError('provider_error', 'SimpleFIN has one catalogue page.', false, 'BAD_CURSOR');
      return { institutions: [bridgeInstitution()], next: null, total: 1 };
    },

    async getInstitution(id) {
      return id === BRIDGE_INSTITUTION_ID ? bridgeInstitution() : null;
    },

    async claimToken(pasted, ctx) {
      // An access URL pasted instead (claimed by the user elsewhere) is checked and kept, as an import is.
      if (looksLikeAccessUrl(pasted)) return adopt(pasted.trim(), ctx);
      const allowPrivate = ctx.allowPrivateAddresses === true;
      const access = await client.claim(claimUrlOf(pasted, allowPrivate), allowPrivate);
      return { token: access, grantedAt: ctx.now, expiresAt: null, institutionId: BRIDGE_INSTITUTION_ID };
    },

    async importAccess(input, ctx) {
      if (input.institutionId !== null && input.institutionId !== BRIDGE_INSTITUTION_ID) {
        throw new ProviderError('invalid_credentials', `SimpleFIN has one institution, ${BRIDGE_INSTITUTION_ID}.`, false, 'INSTITUTION_MISMATCH');
      }
      return adopt(input.token.trim(), ctx);
    },

    async fetchAccounts(link, ctx): Promise<ProviderAccount[]> {
      const answer = await answers.main(fetchFor(link, ctx));
      const issues = usable(answer, ctx.now);
      const byBridge = idsByBridgeId(answer);
      // An account the bridge failed to read keeps its stored balances; one with a gap in its transactions has a good balance.
      const unread = new Set(issues.filter((i) => i.kind === 'account' && i.code !== 'act.missingdata').map((i) => byBridge.get(i.accountId!)));
      const ids = accountIdsOf(answer);
      return answer.accounts.map((a, i) => accountOf(a, ids[i]!, { balances: !unread.has(ids[i]!) }));
    },

    async fetchTransactions(link, range, ctx): Promise<ProviderTransaction[] | TransactionsWindow> {
      const f = fetchFor(link, ctx);
      const mainStart = mainWindowStartDay(ctx.now);
      const fetched = [await answers.main(f)];
      for (const w of earlierWindows(range.from, mainStart)) fetched.unshift(await answers.window(f, w));
      const deferred = new Map<string, Date>();
      const kept = new Map<string, ProviderTransaction>();
      // Oldest window first, the main answer last: a later answer's copy of a transaction wins, and a posted copy beats a pending one.
      for (const answer of fetched) {
        const byBridge = idsByBridgeId(answer);
        for (const issue of usable(answer, ctx.now)) {
          const id = issue.kind === 'account' ? byBridge.get(issue.accountId!) : undefined;
          if (id) deferred.set(id, new Date(ctx.now.getTime() + ACCOUNT_RETRY_MS));
        }
        for (const t of transactionsOf(answer, ctx.now)) {
          if (t.date < range.from || t.date > range.to) continue;
          const had = kept.get(t.id);
          if (had && had.status === 'posted' && t.status === 'pending') continue;
          kept.set(t.id, t);
        }
      }
      const transactions = [...kept.values()].filter((t) => !deferred.has(t.accountId));
      if (deferred.size === 0) return transactions;
      return { transactions, deferred: [...deferred].map(([accountId, until]) => ({ accountId, until })) };
    },

    async fetchIdentity() {
      // SimpleFIN carries no identity; the institution's products leave it out.
      return { names: [], emails: [], phones: [], addresses: [] };
    },

    async revoke() {
      // Local only: the engine forgets the access URL; revokeNotice tells the user to remove Causeway at the bridge.
    },
  };
}


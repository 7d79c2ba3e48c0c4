/**
 * Runs the GoCardless adapter once against GoCardless's own OpenAPI spec served as a validating mock
 * (Prism), so every request the adapter sends is checked against the official schema (Prism answers
 * 422, or sets `sl-violations`, for a request that breaks it), every example answer is read by the
 * adapter's mapping, and each error example the spec documents for the account endpoints (chosen
 * with Prism's `Prefer: code=…, example=…`) is mapped to the Causeway code errors.ts promises.
 * Not part of `npm test`: the spec lives outside the repository.
 *
 *   SCARF_ANALYTICS=false npx -y @stoplight/prism-cli@5.14.2 mock -p 4011 ../shared/specs/gocardless-bank-account-data-v2.json
 *   node --import tsx scripts/check-gocardless-adapter-prism.ts [http://127.0.0.1:4011]
 *
 * One spec artefact is worked around here, not in the adapter: the spec's global `jwtAuth` also
 * covers /token/new/ and /token/refresh/, which the real API serves without a bearer (they are how
 * one gets it), so Prism would refuse them; this script adds a bearer to those two requests only.
 */
import { createGoCardlessProvider } from '../src/providers/gocardless/index.js';
import { GOCARDLESS_ERRORS } from '../src/providers/gocardless/errors.js';
import { encodeGrant } from '../src/providers/gocardless/grant.js';
import { readFile } from 'node:fs/promises';
import { ProviderError, type ProviderCallContext, type ProviderLink } from '../src/providers/types.js';
import { MemoryState } from '../test/fakes/gocardless/harness.js';

const baseUrl = (process.argv[2] ?? 'http://127.0.0.1:4011').replace(/\/$/, '');
const violations: string[] = [];
const specNotes: string[] = [];
let prefer: { path: RegExp; value: string } | null = null;

const realFetch = globalThis.fetch;
globalThis.fetch = (async (input: string | URL | Request, init: RequestInit = {}) => {
  const url = new URL(String(input instanceof Request ? input.url : input));
  const headers = new Headers(init.headers);
  if (/\/api\/v2\/token\/(new|refresh)\/$/.test(url.pathname)) headers.set('authorization', 'Bearer prism-spec-artefact');
  if (prefer && prefer.path.test(url.pathname)) headers.set('prefer', prefer.value);
  const res = await realFetch(input, { ...init, headers });
  const v = res.headers.get('sl-violations');
  // Prism also reports where its own example answers break the spec's response schemas: those are the spec's, kept apart.
  const found = v ? (JSON.parse(v) as Array<{ location: string[]; message: string }>) : [];
  const where = `${init.method ?? 'GET'} ${url.pathname}${url.search}`;
  for (const x of found) (x.location[0] === 'request' ? violations : specNotes).push(`${where}: ${res.status} ${x.location.join('.')}: ${x.message}`);
  if (res.status === 422 && !found.length) violations.push(`${where}: 422`);
  return res;
}) as typeof fetch;

const gc = createGoCardlessProvider();
const state = new MemoryState(() => new Date());
const ctx = (): ProviderCallContext => ({
  now: new Date(), runKey: 'prism', state, reportBudget: () => undefined,
  settings: { secretId: 'prism-secret-id', secretKey: 'prism-secret-key', baseUrl, countries: 'GB,DE' },
});
const ACCOUNT = '3fa85f64-5717-4562-b3fc-2c963f66afa6';
const day = (plus: number) => new Date(Date.now() + plus * 86_400_000).toISOString().slice(0, 10);
const RANGE = { from: day(-60), to: day(0) };
const link: ProviderLink = {
  institutionId: 'N26_NTSBDEB1', firstSyncedAt: null,
  access: {
    kind: 'token', token: encodeGrant({
      v: 1, requisitionId: '8126e9fb-93c9-4228-937c-68f0383c2df7', agreementId: null, institutionId: 'N26_NTSBDEB1', historyDays: 90,
      accounts: [{ id: ACCOUNT, key: 'res-1', name: 'Main', currency: 'EUR', mask: '1234', type: 'transaction', ownerName: 'Jamie Rivera', ibanHash: null }],
    }),
  },
};

let failures = 0;
const shown = (out: unknown) => (JSON.stringify(out, (_k, v) => (typeof v === 'string' && v.length > 50 ? `${v.slice(0, 50)}…` : v)) ?? 'done').slice(0, 170);
async function check(name: string, run: () => Promise<unknown>, accept?: (e: ProviderError) => string | null): Promise<void> {
  const before = violations.length;
  try {
    const out = await run();
    console.log(`OK    ${name}: ${shown(out)}`);
  } catch (err) {
    const why = err instanceof ProviderError ? accept?.(err) : null;
    if (why) console.log(`OK    ${name}: ${why}`);
    else {
      failures += 1;
      console.log(`FAIL  ${name}${err instanceof ProviderError ? ` [${err.code}/${err.providerCode}]` : ''}: ${(err as Error).message}`);
    }
  }
  for (const v of violations.slice(before)) { failures += 1; console.log(`      request refused by the spec: ${v}`); }
}

await check('listInstitutions, every page (/institutions/?country=)', async () => {
  const first = await gc.listInstitutions(ctx(), null);
  const second = await gc.listInstitutions(ctx(), first.next);
  return { pages: [first.institutions.length, second.institutions.length], next: second.next, first: first.institutions[0] };
});
await check('getInstitution (/institutions/{id}/)', () => gc.getInstitution('N26_NTSBDEB1', ctx()));
let reference = '';
await check('startLink (institutions/{id}, POST agreements/enduser, POST requisitions)', async () => {
  const session = await gc.startLink!({
    institutionId: 'N26_NTSBDEB1', products: ['accounts', 'balances', 'transactions', 'identity'], state: 'prism-state-0123456789',
    returnUrl: 'https://causeway.example/link/return?state=prism-state-0123456789', webhookUrl: null, userId: 'usr_prism', update: null,
  }, ctx());
  reference = session.reference;
  return session;
});
await check('completeLink (GET requisitions/{id})', () => gc.completeLink!({ institutionId: 'N26_NTSBDEB1', params: { ref: 'x' }, reference, update: null }, ctx()));
await check('importAccess (GET requisitions/{id})', () => gc.importAccess!({ institutionId: null, token: '8126e9fb-93c9-4228-937c-68f0383c2df7' }, ctx()),
  (e) => (e.code === 'invalid_credentials' && /not linked/.test(e.message) ? `request accepted; the spec's example requisition is not linked (${e.providerCode}), which an import rightly refuses` : null));
await check('fetchAccounts (accounts/{id}/, accounts/{id}/balances/)', () => gc.fetchAccounts(link, ctx()));
await check('fetchTransactions (accounts/{id}/transactions/?date_from&date_to)', async () => {
  const got = await gc.fetchTransactions!(link, RANGE, ctx());
  return { transactions: Array.isArray(got) ? got.length : got.transactions.length, note: 'the example rows are dated "date", not a date: left for an answer that dates them' };
});
await check('fetchIdentity (from the grant)', () => gc.fetchIdentity(link, ctx()));
await check('revoke (DELETE requisitions/{id}/)', () => gc.revoke(link, ctx()));

// The spec's documented error examples for the metered data endpoints the adapter calls on every run, each through its mapping.
// (Details are read once, at link time, from a linked requisition, which Prism's static examples never are: the fake's check covers them.)
const EXPECTED: Record<string, string> = {
  EUAExpiredError: 'consent_expired', AccessExpiredError: 'consent_expired', AccountInactiveError: 'user_action_required',
  AccountEUAScopeError: 'user_action_required', AccountValidEUAError: 'consent_expired', AccountAccessForbidden: 'invalid_credentials',
  AccountSuspendedError: 'consent_revoked', RateLimitError: 'rate_limited', RateLimitExceeded: 'rate_limited',
  UnknownRequestError: 'institution_unavailable', ServiceError: 'institution_unavailable', ConnectionError: 'institution_unavailable',
  AccountNotFoundError: 'consent_revoked', NotFoundError: 'provider_error', InvalidID: 'provider_error', DateRangeError: 'provider_error',
  IPAccessDenied: 'provider_error', InvalidToken: 'provider_error', AccountResourceUnavailable: 'provider_error',
  // Its example carries the account with status ERROR: the bank failed while GoCardless processed it.
  AccountStateError: 'institution_unavailable',
};
const doc = JSON.parse(await readFile(new URL('../../shared/specs/gocardless-bank-account-data-v2.json', import.meta.url), 'utf8'));
for (const scope of ['balances', 'transactions']) {
  const call = scope === 'transactions' ? () => gc.fetchTransactions!(link, RANGE, ctx()) : () => gc.fetchAccounts(link, ctx());
  for (const [status, r] of Object.entries(doc.paths[`/api/v2/accounts/{id}/${scope}/`].get.responses as Record<string, any>)) {
    if (Number(status) < 400) continue;
    for (const name of Object.keys((Object.values(r.content ?? {})[0] as any)?.examples ?? {})) {
      prefer = { path: new RegExp(`/accounts/[^/]+/${scope}/$`), value: `code=${status}, example=${name}` };
      if (name === 'AccountResourceUnavailable' && scope === 'balances') {
        // No balances for this account: the account still comes, its balances unread.
        await check(`${scope} ${status} ${name}`, async () => {
          const accounts = await call() as Awaited<ReturnType<typeof gc.fetchAccounts>>;
          if (accounts[0]?.balances !== null) throw new Error(`balances ${JSON.stringify(accounts[0]?.balances)}`);
          return 'balances null, the account kept';
        });
      } else {
        const want = EXPECTED[name];
        await check(`${scope} ${status} ${name}`, async () => { throw new Error(`no error: ${shown(await call())}`); },
          (e) => (e.code === want ? `${e.code}${e.transient ? ' (transient)' : ''}, ${e.providerCode}${e.retryAfterSeconds !== null ? `, retry after ${e.retryAfterSeconds} s` : ''}` : null));
      }
      prefer = null;
    }
  }
}
for (const n of new Set(specNotes)) console.log(`NOTE  the spec's own example breaks its response schema: ${n}`);
const missing = Object.keys(EXPECTED).filter((k) => !GOCARDLESS_ERRORS[k] && k !== 'AccountStateError');
if (missing.length) { failures += 1; console.log(`FAIL  errors.ts has no row for ${missing.join(', ')}`); }
console.log(failures === 0 ? '\nevery adapter request was accepted by the spec, every example answer read, every documented error mapped' : `\n${failures} check(s) failed`);
process.exit(failures === 0 ? 0 : 1);

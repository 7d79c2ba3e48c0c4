/**
 * The GoCardless Bank Account Data adapter (formerly Nordigen): Causeway's Provider contract over
 * GoCardless's API v2 with plain fetch (client.ts), one access token shared by every worker
 * (tokens.ts), linking by end-user agreement and requisition (link.ts), every failure normalised once
 * (errors.ts). GoCardless has no webhooks: Causeway polls, inside the budgets its headers report.
 *
 * Budgets: GoCardless allows about four successful calls a day per account and scope (details,
 * balances, transactions). Each answer's HTTP_X_RATELIMIT_ACCOUNT_SUCCESS_* headers are reported
 * (ctx.reportBudget); a scope the engine's budgets say is spent is not called at all: balances come
 * back null, transactions deferred (TransactionsWindow) until the budget resets. A 429 is never read
 * as "no new data".
 */
import type {
  Provider, ProviderAccount, ProviderBudget, ProviderCallContext, ProviderIdentity, ProviderInstitution, ProviderTransaction, TransactionsWindow,
} from '../types.js';
import { ProviderError } from '../types.js';
import { createGoCardlessClients, DEFAULT_TIMEOUT_MS, type GoCardlessSession } from './client.js';
import { accountStatusError } from './errors.js';
import { grantOf, type CachedAccount } from './grant.js';
import { completeLink, deleteRequisition, importAccess, startLink } from './link.js';
import { accountFromCache, balancesFromGoCardless, institutionFromGoCardless, transactionsFromGoCardless } from './mapping.js';
import { GOCARDLESS_SETTING_FIELDS, gocardlessSettingsFromEnv } from './settings.js';
import type { GcAccount, GcBalance, GcInstitution, GcTransactions } from './wire.js';

export const GOCARDLESS_PROVIDER_ID = 'gocardless';

const enc = encodeURIComponent;
const DAY_MS = 86_400_000;
const isoDay = (d: Date) => d.toISOString().slice(0, 10);

function countryIndexOf(cursor: string | null, count: number): number {
  if (cursor === null) return 0;
  const n = Number(cursor);
  if (!/^\d{1,3}$/.test(cursor) || n >= count) throw new ProviderError('provider_error', `Not a GoCardless catalogue cursor: ${JSON.stringify(cursor)}`, false, 'BAD_CURSOR');
  return n;
}

/** The engine's budget for an account's scope, when it says the scope is spent until a later time. */
function spentUntil(ctx: ProviderCallContext, accountKey: string, scope: string): Date | null {
  const b: ProviderBudget | undefined = ctx.budgets?.find((x) => x.accountId === accountKey && x.scope === scope);
  return b && b.remaining <= 0 && b.resetAt.getTime() > ctx.now.getTime() ? b.resetAt : null;
}

export function createGoCardlessProvider(opts: { fetchTimeoutMs?: number } = {}): Provider {
  const clients = createGoCardlessClients(opts.fetchTimeoutMs ?? DEFAULT_TIMEOUT_MS);
  const session = (ctx: ProviderCallContext): GoCardlessSession => clients.session(ctx);

  /** An account's metadata (not metered per account): its status says whether data can be read at all. */
  async function checkAccount(s: GoCardlessSession, a: CachedAccount): Promise<void> {
    const { data } = await s.request<GcAccount>('accounts/{id}', { path: `/api/v2/accounts/${enc(a.id)}/` });
    const stopped = accountStatusError(data.status, 'accounts/{id}');
    if (stopped) throw stopped;
  }

  return {
    id: GOCARDLESS_PROVIDER_ID,
    name: 'GoCardless',
    methods: ['openbanking'],
    sandboxOnly: false,
    reportsBudgets: true,
    settingFields: GOCARDLESS_SETTING_FIELDS,
    settingsFromEnv: gocardlessSettingsFromEnv,

    /** A page per configured country; an institution serving several is listed with the first of them. */
    async listInstitutions(ctx, cursor) {
      const s = session(ctx);
      const countries = s.credentials.countries;
      const index = countryIndexOf(cursor, countries.length);
      const country = countries[index]!;
      const { data } = await s.request<GcInstitution[]>('institutions', { path: '/api/v2/institutions/', query: { country } });
      const earlier = new Set(countries.slice(0, index));
      const institutions: ProviderInstitution[] = (Array.isArray(data) ? data : [])
        .filter((i) => !(i.countries ?? []).some((c) => earlier.has(c.toUpperCase())))
        .map((i) => institutionFromGoCardless(i, country));
      return { institutions, next: index + 1 < countries.length ? String(index + 1) : null, total: null };
    },

    async getInstitution(id, ctx) {
      const s = session(ctx);
      try {
        const { data } = await s.request<GcInstitution>('institutions/{id}', { path: `/api/v2/institutions/${enc(id)}/` });
        const configured = s.credentials.countries;
        const own = (data.countries ?? []).map((c) => c.toUpperCase());
        return institutionFromGoCardless(data, configured.find((c) => own.includes(c)) ?? own[0] ?? 'EU');
      } catch (err) {
        if (err instanceof ProviderError && err.providerCode === 'NotFoundError') return null;
        throw err;
      }
    },

    startLink: (input, ctx) => startLink(session(ctx), input),
    completeLink: (input, ctx) => completeLink(session(ctx), input),

    async fetchAccounts(link, ctx): Promise<ProviderAccount[]> {
      const grant = grantOf(link);
      const s = session(ctx);
      const out: ProviderAccount[] = [];
      for (const a of grant.accounts) {
        await checkAccount(s, a);
        if (spentUntil(ctx, a.key, 'balances')) {
          out.push(accountFromCache(a, null, a.currency || 'EUR'));
          continue;
        }
        const path = `/api/v2/accounts/${enc(a.id)}/balances/`;
        let balances: ReturnType<typeof balancesFromGoCardless> = null;
        try {
          const { data } = await s.request<{ balances?: GcBalance[] }>('accounts/{id}/balances', { path, accountKey: a.key });
          balances = balancesFromGoCardless(data.balances ?? [], a.currency);
        } catch (err) {
          // The bank offers no balances for this account: its other data still comes through.
          if (!(err instanceof ProviderError && err.providerCode === 'AccountResourceUnavailable')) throw err;
        }
        const currency = a.currency || balances?.currency || 'EUR';
        out.push(accountFromCache(a, balances ? { current: balances.current, available: balances.available, limit: balances.limit } : null, currency));
      }
      return out;
    },

    async fetchTransactions(link, range, ctx): Promise<ProviderTransaction[] | TransactionsWindow> {
      const grant = grantOf(link);
      const s = session(ctx);
      const transactions: ProviderTransaction[] = [];
      const deferred: TransactionsWindow['deferred'] = [];
      // The agreement gives this many days of history; asking for more is refused (400).
      const earliest = grant.historyDays ? isoDay(new Date(ctx.now.getTime() - (grant.historyDays - 1) * DAY_MS)) : null;
      const from = earliest && range.from < earliest ? earliest : range.from;
      for (const a of grant.accounts) {
        const until = spentUntil(ctx, a.key, 'transactions');
        if (until) {
          deferred.push({ accountId: a.key, until });
          continue;
        }
        if (from > range.to) continue;
        const { data } = await s.request<GcTransactions>('accounts/{id}/transactions', {
          path: `/api/v2/accounts/${enc(a.id)}/transactions/`, query: { date_from: from, date_to: range.to }, accountKey: a.key,
        });
        const t = data.transactions ?? { booked: [] };
        transactions.push(...transactionsFromGoCardless(a, t.booked ?? [], t.pending ?? []));
      }
      return deferred.length > 0 ? { transactions, deferred } : transactions;
    },

    /** The account holders' names the details gave at link time; GoCardless tells nothing more. */
    async fetchIdentity(link): Promise<ProviderIdentity> {
      const grant = grantOf(link);
      const names = [...new Set(grant.accounts.map((a) => a.ownerName).filter((n): n is string => !!n))];
      return { names, emails: [], phones: [], addresses: [] };
    },

    async revoke(link, ctx) {
      await deleteRequisition(session(ctx), grantOf(link).requisitionId);
    },

    importAccess: (input, ctx) => importAccess(session(ctx), input),
  };
}

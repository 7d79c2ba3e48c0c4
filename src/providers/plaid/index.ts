/**
 * The Plaid adapter: Causeway's Provider contract over Plaid's API, through the official `plaid`
 * client (client.ts), linking by Hosted Link (link.ts), syncing transactions by cursor, with every
 * failure normalised once (errors.ts) and webhooks verified by Plaid's JWT scheme (webhooks.ts).
 * Stateless apart from caches: the access token travels in the ProviderLink, the keys in ctx.settings.
 */
import type {
  AuthorizationGrant, Provider, ProviderAccount, ProviderCallContext, ProviderIdentity, ProviderInstitution,
  ProviderLink, TransactionsPage,
} from '../types.js';
import { ProviderError } from '../types.js';
import { createPlaidClients, DEFAULT_TIMEOUT_MS, type PlaidSession } from './client.js';
import { accessTokenOf, completeLink, PLAID_COUNTRIES, startLink } from './link.js';
import { accountFromPlaid, identityFromPlaid, institutionFromPlaid, transactionFromPlaid } from './mapping.js';
import { PLAID_SETTING_FIELDS, plaidSettingsFromEnv } from './settings.js';
import { createWebhookParser } from './webhooks.js';

export const PLAID_PROVIDER_ID = 'plaid';
/** Institutions per catalogue page: Plaid's maximum for /institutions/get. */
export const INSTITUTIONS_PAGE = 500;
/** Transactions per /transactions/sync page: Plaid's maximum, so a first sync takes the fewest calls. */
export const SYNC_PAGE = 500;

/** Item errors that mean the Item is already gone, so a revoke has nothing left to do. */
const ALREADY_GONE = new Set(['ITEM_NOT_FOUND', 'ITEM_CONCURRENTLY_DELETED']);

function offsetOf(cursor: string | null): number {
  if (cursor === null) return 0;
  if (!/^\d{1,9}$/.test(cursor)) throw new ProviderError('provider_error', `Not a Plaid catalogue cursor: ${JSON.stringify(cursor)}`, false, 'BAD_CURSOR');
  return Number(cursor);
}

export function createPlaidProvider(opts: { fetchTimeoutMs?: number } = {}): Provider {
  const clients = createPlaidClients(opts.fetchTimeoutMs ?? DEFAULT_TIMEOUT_MS);
  const session = (ctx: ProviderCallContext): PlaidSession => clients.session(ctx.settings, ctx.now);

  /** One data call on a link's Item, its access token kept out of any message. */
  async function onItem<T>(link: ProviderLink, ctx: ProviderCallContext, run: (s: PlaidSession, token: string) => Promise<T>): Promise<T> {
    const { token } = accessTokenOf(link);
    return run(session(ctx), token);
  }

  return {
    id: PLAID_PROVIDER_ID,
    name: 'Plaid',
    methods: ['hosted'],
    sandboxOnly: false,
    settingFields: PLAID_SETTING_FIELDS,
    settingsFromEnv: plaidSettingsFromEnv,

    async listInstitutions(ctx, cursor) {
      const offset = offsetOf(cursor);
      const got = await session(ctx).call('/institutions/get', (api) => api.institutionsGet({
        count: INSTITUTIONS_PAGE, offset, country_codes: [...PLAID_COUNTRIES], options: { include_optional_metadata: true },
      }));
      const institutions: ProviderInstitution[] = got.institutions.map(institutionFromPlaid);
      const reached = offset + got.institutions.length;
      return { institutions, next: got.institutions.length > 0 && reached < got.total ? String(reached) : null, total: got.total };
    },

    async getInstitution(id, ctx) {
      try {
        const got = await session(ctx).call('/institutions/get_by_id', (api) => api.institutionsGetById({
          institution_id: id, country_codes: [...PLAID_COUNTRIES], options: { include_optional_metadata: true },
        }));
        return institutionFromPlaid(got.institution);
      } catch (err) {
        if (err instanceof ProviderError && err.providerCode === 'INVALID_INSTITUTION') return null;
        throw err;
      }
    },

    startLink: (input, ctx) => startLink(session(ctx), input),
    completeLink: (input, ctx) => completeLink(session(ctx), input),

    fetchAccounts: (link, ctx) => onItem(link, ctx, async (s, token): Promise<ProviderAccount[]> => {
      const got = await s.call('/accounts/get', (api) => api.accountsGet({ access_token: token }), token);
      return got.accounts.map(accountFromPlaid);
    }),

    syncTransactions: (link, cursor, ctx) => onItem(link, ctx, async (s, token): Promise<TransactionsPage> => {
      const got = await s.call('/transactions/sync', (api) => api.transactionsSync({
        access_token: token, count: SYNC_PAGE, ...(cursor === null ? {} : { cursor }),
        options: { include_personal_finance_category: true },
      }), token);
      return {
        added: got.added.map(transactionFromPlaid),
        modified: got.modified.map(transactionFromPlaid),
        removed: got.removed.map((r) => r.transaction_id),
        accounts: got.accounts.map(accountFromPlaid),
        nextCursor: got.next_cursor,
        hasMore: got.has_more,
      };
    }),

    fetchIdentity: (link, ctx) => onItem(link, ctx, async (s, token): Promise<ProviderIdentity> => {
      const got = await s.call('/identity/get', (api) => api.identityGet({ access_token: token }), token);
      return identityFromPlaid(got.accounts);
    }),

    revoke: (link, ctx) => onItem(link, ctx, async (s, token) => {
      try {
        await s.call('/item/remove', (api) => api.itemRemove({ access_token: token }), token);
      } catch (err) {
        if (err instanceof ProviderError && ALREADY_GONE.has(err.providerCode)) return;
        throw err;
      }
    }),

    async importAccess(input, ctx): Promise<AuthorizationGrant> {
      const s = session(ctx);
      const token = input.token;
      const { item } = await s.call('/item/get', (api) => api.itemGet({ access_token: token }), token);
      if (input.institutionId !== null && item.institution_id && item.institution_id !== input.institutionId) {
        throw new ProviderError('invalid_credentials', `The access token belongs to another institution (${item.institution_id}).`, false, 'INSTITUTION_MISMATCH');
      }
      const created = item.created_at ? new Date(item.created_at) : null;
      const expires = item.consent_expiration_time ? new Date(item.consent_expiration_time) : null;
      const grant: AuthorizationGrant = {
        token,
        itemId: item.item_id,
        grantedAt: created && !Number.isNaN(created.getTime()) ? created : ctx.now,
        expiresAt: expires && !Number.isNaN(expires.getTime()) ? expires : null,
      };
      const institutionId = item.institution_id ?? input.institutionId;
      if (institutionId) grant.institutionId = institutionId;
      return grant;
    },

    setWebhook: (link, url, ctx) => onItem(link, ctx, async (s, token) => {
      await s.call('/item/webhook/update', (api) => api.itemWebhookUpdate({ access_token: token, webhook: url }), token);
    }),

    parseWebhook: createWebhookParser(clients),
  };
}

/**
 * One handler per Plaid endpoint. Each receives the parsed, shape-checked body and answers the
 * response object without request_id (the server adds it); failures throw PlaidFail.
 */
import { fail, PlaidFail, type PlaidErrorBody } from './errors.js';
import { institutionCatalogue, institutionJson } from './institutions.js';
import { ownersFor, type PlaidAccount } from './data.js';
import type { FakeItem, PlaidWorld } from './items.js';
import type { LinkTokenRequest, LinkTokens } from './link.js';
import type { IdSource } from './random.js';
import { itemJson, WEBHOOK_TYPE, type WebhookEvent } from './shapes.js';
import { decodeCursor, encodeCursor, syncPage } from './sync.js';
import type { WebhookKeys } from './webhooks.js';

export interface RouteCtx {
  world: PlaidWorld;
  links: LinkTokens;
  keys: WebhookKeys;
  ids: IdSource;
  now: () => Date;
  baseUrl: string;
  pageSize: number;
  cursorSecret: string;
  /** Fire and forget a webhook about an Item to its URL. */
  emit: (item: FakeItem, event: WebhookEvent) => void;
  /** Fire and forget a webhook to any URL. */
  emitTo: (url: string, payload: Record<string, unknown>) => void;
  makeError: (code: string) => PlaidErrorBody;
}

type Body = Record<string, any>;
export type Handler = (body: Body, ctx: RouteCtx) => Record<string, unknown> | Promise<Record<string, unknown>>;

const COUNTRIES = ['US', 'GB', 'ES', 'NL', 'FR', 'IE', 'CA', 'DE', 'IT', 'PL', 'DK', 'NO', 'SE', 'EE', 'LT', 'LV', 'PT', 'BE', 'AT', 'FI'];
const PRODUCTS = ['assets', 'auth', 'balance', 'balance_plus', 'beacon', 'identity', 'identity_match', 'investments', 'investments_auth',
  'liabilities', 'payment_initiation', 'identity_verification', 'transactions', 'credit_details', 'income', 'income_verification',
  'standing_orders', 'transfer', 'employment', 'recurring_transactions', 'transactions_refresh', 'signal', 'statements',
  'processor_payments', 'processor_identity', 'profile', 'cra_base_report', 'cra_income_insights', 'cra_partner_insights',
  'cra_network_insights', 'cra_cashflow_insights', 'cra_monitoring', 'cra_lend_score', 'cra_plaid_credit_score', 'layer',
  'pay_by_bank', 'protect_linked_bank', 'protect_transactions'];
/** Codes /sandbox/item/fire_webhook accepts (Plaid's list, plus PENDING_EXPIRATION for UK/EU tests). */
const FIREABLE = ['DEFAULT_UPDATE', 'NEW_ACCOUNTS_AVAILABLE', 'SMS_MICRODEPOSITS_VERIFICATION', 'AUTHORIZATION_GRANTED', 'USER_PERMISSION_REVOKED',
  'USER_ACCOUNT_REVOKED', 'PENDING_DISCONNECT', 'PENDING_EXPIRATION', 'RECURRING_TRANSACTIONS_UPDATE', 'LOGIN_REPAIRED', 'SYNC_UPDATES_AVAILABLE', 'PRODUCT_READY', 'ERROR'];

const HOUR = 3600;

function countryCodes(v: unknown): string[] {
  const codes = v as string[];
  if (!codes.length) fail('INVALID_FIELD', 'country_codes must contain at least one country');
  const bad = codes.filter((c) => !COUNTRIES.includes(c));
  if (bad.length) fail('INVALID_FIELD', `invalid country_codes: ${bad.join(', ')}`);
  return codes;
}

function checkUrl(field: string, v: unknown): string | null {
  if (v === undefined || v === null || v === '') return null;
  try { new URL(String(v)); } catch { fail('INVALID_FIELD', `${field} must be a valid URL`); }
  return String(v);
}

/** Data endpoints answer the Item's error while it has one. */
function healthy(item: FakeItem): FakeItem {
  if (item.error) {
    const { error_type, error_code, error_message, display_message, status } = item.error;
    throw new PlaidFail({ error_type, error_code, error_message, display_message, http: status ?? 400 });
  }
  return item;
}

/** Calling a product's endpoint adds the product to the Item, if the institution has it. */
function needProduct(item: FakeItem, product: string): void {
  if (!item.institution.products.includes(product)) fail('PRODUCTS_NOT_SUPPORTED', `the ${product} product is not supported by ${item.institution.name}`);
  if (!item.products.includes(product)) item.products.push(product);
}

function selectAccounts(item: FakeItem, options: Body | undefined): PlaidAccount[] {
  const ids = options?.account_ids as string[] | undefined;
  if (!ids) return item.accounts;
  const bad = ids.filter((id) => !item.accounts.some((a) => a.account_id === id));
  if (bad.length) fail('INVALID_ACCOUNT_ID');
  return item.accounts.filter((a) => ids.includes(a.account_id));
}

/** Plaid: `balance` is not a valid value; Balance comes with any other product. */
function invalidProducts(products: string[]): void {
  const bad = products.filter((p) => p === 'balance' || !PRODUCTS.includes(p));
  if (bad.length) fail('INVALID_PRODUCT', `invalid products: ${bad.join(', ')}${bad.includes('balance') ? ' (balance needs no initialization)' : ''}`);
}

const accountsJson = (accounts: PlaidAccount[]) => structuredClone(accounts);

export const ROUTES: Record<string, Handler> = {
  '/link/token/create'(b, ctx) {
    const user = b.user as Body | undefined;
    if (!user?.client_user_id && !b.user_id && !b.user_token) fail('MISSING_FIELDS', 'the following required fields are missing: user.client_user_id');
    const countries = countryCodes(b.country_codes);
    const updateItem = b.access_token ? ctx.world.byToken(b.access_token) : null;
    const products = (b.products ?? []) as string[];
    if (!updateItem && !products.length) fail('MISSING_FIELDS', 'the following required fields are missing: products');
    invalidProducts(products);
    if (b.institution_id && !ctx.world.institution(b.institution_id)) fail('INVALID_INSTITUTION');
    const hosted = b.hosted_link as Body | undefined;
    const completion = checkUrl('hosted_link.completion_redirect_uri', hosted?.completion_redirect_uri);
    const lifetime = hosted?.url_lifetime_seconds;
    if (lifetime !== undefined && (!Number.isInteger(lifetime) || lifetime <= 0 || lifetime > 21 * 24 * HOUR)) fail('INVALID_FIELD', 'hosted_link.url_lifetime_seconds must be a positive integer of at most 21 days');
    const request: LinkTokenRequest = {
      client_name: b.client_name, language: b.language, country_codes: countries, products,
      webhook: checkUrl('webhook', b.webhook), redirect_uri: checkUrl('redirect_uri', b.redirect_uri), institution_id: b.institution_id ?? null,
      client_user_id: user?.client_user_id ?? null, completion_redirect_uri: completion, hosted: Boolean(hosted),
      account_selection_enabled: Boolean((b.update as Body | undefined)?.account_selection_enabled),
    };
    // Plaid: 4 hours for a new Item, 30 minutes in update mode; Hosted Link URLs default to 30 minutes.
    const seconds = hosted ? (lifetime ?? HOUR / 2) : updateItem ? HOUR / 2 : 4 * HOUR;
    const t = ctx.links.create(request, updateItem, seconds);
    return { link_token: t.token, expiration: t.expiration, ...(hosted ? { hosted_link_url: `${ctx.baseUrl}/hl/${t.token}` } : {}) };
  },

  '/link/token/get'(b, ctx) {
    const t = ctx.links.get(b.link_token) ?? fail('INVALID_LINK_TOKEN');
    const r = t.request;
    return {
      link_token: t.token, created_at: t.createdAt, expiration: t.expiration,
      metadata: { initial_products: r.products, webhook: r.webhook, country_codes: r.country_codes, language: r.language, redirect_uri: r.redirect_uri, client_name: r.client_name },
      link_sessions: t.sessions.map((s) => ctx.links.sessionJson(s)),
    };
  },

  '/item/public_token/exchange'(b, ctx) {
    const item = ctx.world.exchange(b.public_token);
    return { access_token: item.accessToken, item_id: item.itemId };
  },

  '/item/get'(b, ctx) {
    const item = ctx.world.byToken(b.access_token);
    return {
      item: itemJson(item, true),
      status: {
        investments: null,
        transactions: { last_successful_update: item.lastSuccessfulUpdate, last_failed_update: item.lastFailedUpdate },
        last_webhook: item.lastWebhook,
      },
    };
  },

  '/item/remove'(b, ctx) {
    ctx.world.byToken(b.access_token).removed = true;
    return {};
  },

  '/item/webhook/update'(b, ctx) {
    const item = ctx.world.byToken(b.access_token);
    item.webhook = checkUrl('webhook', b.webhook);
    if (item.webhook) ctx.emit(item, { webhook_code: 'WEBHOOK_UPDATE_ACKNOWLEDGED' });
    return { item: itemJson(item) };
  },

  '/accounts/get'(b, ctx) {
    const item = healthy(ctx.world.byToken(b.access_token));
    return { accounts: accountsJson(selectAccounts(item, b.options)), item: itemJson(item) };
  },

  '/accounts/balance/get'(b, ctx) {
    const item = healthy(ctx.world.byToken(b.access_token));
    needProduct(item, 'balance');
    return { accounts: accountsJson(selectAccounts(item, b.options)), item: itemJson(item) };
  },

  '/identity/get'(b, ctx) {
    const item = healthy(ctx.world.byToken(b.access_token));
    needProduct(item, 'identity');
    const accounts = selectAccounts(item, b.options).map((a) => ({ ...structuredClone(a), owners: ownersFor(item.institution, a) }));
    return { accounts, item: itemJson(item) };
  },

  '/transactions/sync'(b, ctx) {
    const item = healthy(ctx.world.byToken(b.access_token));
    needProduct(item, 'transactions');
    const count = (b.count ?? 100) as number;
    if (count < 1 || count > 500) fail('INVALID_FIELD', 'count must be between 1 and 500');
    const options = (b.options ?? {}) as Body;
    const accountId = options.account_id as string | undefined;
    if (accountId && !item.accounts.some((a) => a.account_id === accountId)) fail('INVALID_ACCOUNT_ID');
    const binding = `${item.itemId}|${accountId ?? ''}`;
    item.syncedOnce = true;
    const status = item.updateStatus;
    const cursor = (b.cursor ?? '') as string;
    const accounts = accountsJson(item.accounts);
    if (status === 'NOT_READY') {
      return { added: [], modified: [], removed: [], next_cursor: cursor === 'now' ? '' : cursor, has_more: false, accounts, transactions_update_status: status };
    }
    if (cursor === 'now') {
      const len = item.log.entries.length;
      return { added: [], modified: [], removed: [], next_cursor: encodeCursor({ base: len, target: len, offset: 0 }, binding, ctx.cursorSecret), has_more: false, accounts, transactions_update_status: status };
    }
    const start = cursor ? decodeCursor(cursor, binding, ctx.cursorSecret) : null;
    const page = syncPage(item.log, start, Math.min(count, ctx.pageSize), accountId);
    const withDescription = <T extends { name: string; original_description: string | null }>(t: T): T => (options.include_original_description ? { ...t, original_description: t.name } : t);
    return {
      added: page.added.map(withDescription),
      modified: page.modified.map(withDescription),
      removed: page.removed,
      next_cursor: encodeCursor(page.next, binding, ctx.cursorSecret),
      has_more: page.hasMore,
      accounts,
      transactions_update_status: status,
    };
  },

  '/institutions/get'(b) {
    const count = b.count as number;
    const offset = b.offset as number;
    if (count < 1 || count > 500) fail('INVALID_FIELD', 'count must be between 1 and 500');
    if (offset < 0) fail('INVALID_FIELD', 'offset must be at least 0');
    const countries = countryCodes(b.country_codes);
    const o = (b.options ?? {}) as Body;
    const products = (o.products ?? []) as string[];
    const routing = o.routing_numbers as string[] | undefined;
    const all = institutionCatalogue().filter((i) => i.country_codes.some((c) => countries.includes(c))
      && products.every((p) => i.products.includes(p))
      && (typeof o.oauth !== 'boolean' || i.oauth === o.oauth)
      && (!routing?.length || i.routing_numbers.some((r) => routing.includes(r))));
    return {
      institutions: all.slice(offset, offset + count).map((i) => institutionJson(i, { optionalMetadata: Boolean(o.include_optional_metadata) })),
      total: all.length,
    };
  },

  '/institutions/get_by_id'(b, ctx) {
    const countries = countryCodes(b.country_codes);
    const inst = ctx.world.institution(b.institution_id);
    if (!inst || !inst.country_codes.some((c) => countries.includes(c))) fail('INVALID_INSTITUTION');
    const o = (b.options ?? {}) as Body;
    const health = ctx.world.institutionHealth.get(inst!.institution_id) ?? { health: 'HEALTHY' as const, since: new Date(0).toISOString() };
    return { institution: institutionJson(inst!, { optionalMetadata: Boolean(o.include_optional_metadata), status: o.include_status ? health : null }) };
  },

  '/webhook_verification_key/get'(b, ctx) {
    return { key: ctx.keys.jwk(b.key_id) ?? fail('INVALID_WEBHOOK_VERIFICATION_KEY_ID') };
  },

  '/sandbox/public_token/create'(b, ctx) {
    const inst = ctx.world.institution(b.institution_id) ?? fail('INVALID_INSTITUTION');
    const products = b.initial_products as string[];
    if (!products.length) fail('MISSING_FIELDS', 'the following required fields are missing: initial_products');
    invalidProducts(products);
    const unsupported = products.filter((p) => !inst.products.includes(p));
    if (unsupported.length) fail('PRODUCTS_NOT_SUPPORTED', `${inst.name} does not support ${unsupported.join(', ')}`);
    const o = (b.options ?? {}) as Body;
    const password = o.override_password as string | undefined;
    if (password?.startsWith('error_')) fail(password.slice('error_'.length));
    const days = (o.transactions as Body | undefined)?.days_requested as number | undefined;
    const item = ctx.world.createItem({ institutionId: inst.institution_id, products, webhook: checkUrl('options.webhook', o.webhook), ...(days ? { historyDays: Math.min(days, 180) } : {}) });
    return { public_token: ctx.world.issuePublicToken(item) };
  },

  '/sandbox/item/reset_login'(b, ctx) {
    const item = ctx.world.byToken(b.access_token);
    ctx.world.setError(item, { error_code: 'ITEM_LOGIN_REQUIRED' });
    if (item.webhook) ctx.emit(item, { webhook_code: 'ERROR', error: item.error });
    return { reset_login: true };
  },

  '/sandbox/item/fire_webhook'(b, ctx) {
    const item = ctx.world.byToken(b.access_token);
    if (!FIREABLE.includes(b.webhook_code)) fail('INVALID_FIELD', `webhook_code must be one of ${FIREABLE.join(', ')}`);
    if (b.webhook_type && b.webhook_type !== WEBHOOK_TYPE[b.webhook_code]) fail('INVALID_FIELD', `webhook_code ${b.webhook_code} is not a ${b.webhook_type} webhook`);
    if (!item.webhook) fail('SANDBOX_WEBHOOK_INVALID');
    ctx.emit(item, { webhook_code: b.webhook_code, ...(b.webhook_type ? { webhook_type: b.webhook_type } : {}) });
    return { webhook_fired: true };
  },
};


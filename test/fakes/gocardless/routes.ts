/**
 * One handler per GoCardless endpoint, in its wire format: paths with their trailing slash, JSON
 * bodies checked as GoCardless checks them (unknown fields, required fields, field errors), answers
 * shaped as the spec's schemas. Handlers throw GcFail for errors; index.ts adds the rate-limit
 * headers, the call log and injected failures. Auth is checked before any handler but the tokens'.
 */
import { addDays, balancesOf, txJson } from './data.js';
import {
  accountNotFound, accountSuspended, authenticationFailed, dateRange, err, euaExpired, euaScope, fail, fieldError, invalidAccountId,
  invalidCountry, invalidToken, invalidUuid, notFound, type GcErrorAnswer,
} from './errors.js';
import { COUNTRIES, INSTITUTIONS, institutionJson } from './institutions.js';
import type { AccountLimits } from './limits.js';
import type { TokenStore } from './auth.js';
import type { Agreement, FakeAccount, GcWorld, Requisition } from './world.js';

export interface RouteCtx {
  world: GcWorld;
  tokens: TokenStore;
  limits: AccountLimits;
  secret: { id: string; key: string };
  query: URLSearchParams;
  body: Record<string, unknown>;
  /** The fake's own address, for the absolute `next` and `previous` of a paginated list. */
  baseUrl: string;
}

export interface RouteAnswer { status?: number; body: unknown }
type Handler = (ctx: RouteCtx, ...params: string[]) => RouteAnswer;
export interface Route { method: string; pattern: RegExp; template: string; auth: boolean; handler: Handler }

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const SCOPES = ['balances', 'details', 'transactions'];
const ok = (body: unknown, status = 200): RouteAnswer => ({ status, body });

/** The body fields and query parameters each endpoint accepts (others: 400 Unknown fields), for the spec check. */
export const ACCEPTED: Readonly<Record<string, readonly string[]>> = {
  'POST /api/v2/token/new/': ['secret_id', 'secret_key'],
  'POST /api/v2/token/refresh/': ['refresh'],
  'GET /api/v2/institutions/': ['country', 'access_scopes_supported', 'account_selection_supported', 'business_accounts_supported', 'card_accounts_supported',
    'corporate_accounts_supported', 'pending_transactions_supported', 'private_accounts_supported', 'read_debtor_account_supported',
    'read_refund_account_supported', 'separate_continuous_history_consent_supported', 'ssn_verification_supported'],
  'POST /api/v2/agreements/enduser/': ['institution_id', 'max_historical_days', 'access_valid_for_days', 'access_scope', 'reconfirmation'],
  'POST /api/v2/requisitions/': ['redirect', 'institution_id', 'agreement', 'reference', 'user_language', 'ssn', 'account_selection', 'redirect_immediate'],
  'GET /api/v2/accounts/{id}/transactions/': ['date_from', 'date_to'],
};
const accepted = (key: string) => ACCEPTED[key]!;

function onlyFields(body: Record<string, unknown>, allowed: readonly string[]): void {
  const unknown = Object.keys(body).filter((k) => !allowed.includes(k));
  if (unknown.length) fail(err(400, 'Unknown fields', `Unknown fields {${unknown.join(', ')}} in body`));
}

function onlyParams(query: URLSearchParams, allowed: readonly string[]): void {
  const unknown = [...query.keys()].filter((k) => !allowed.includes(k));
  if (unknown.length) fail(err(400, 'Unknown fields', `Unknown fields {${unknown.join(', ')}} in query`));
}

function page<T>(ctx: RouteCtx, items: T[], path: string): RouteAnswer {
  const limit = Math.max(1, Math.min(100, Number(ctx.query.get('limit') ?? 100) || 100));
  const offset = Math.max(0, Number(ctx.query.get('offset') ?? 0) || 0);
  const next = offset + limit < items.length ? `${ctx.baseUrl}${path}?limit=${limit}&offset=${offset + limit}` : null;
  const previous = offset > 0 ? `${ctx.baseUrl}${path}?limit=${limit}&offset=${Math.max(0, offset - limit)}` : null;
  return ok({ count: items.length, next, previous, results: items.slice(offset, offset + limit) });
}

export const agreementJson = (a: Agreement) => ({
  id: a.id, created: a.created, institution_id: a.institution_id, max_historical_days: a.max_historical_days,
  access_valid_for_days: a.access_valid_for_days, access_scope: [...a.access_scope], accepted: a.accepted, reconfirmation: a.reconfirmation,
});

export const requisitionJson = (w: GcWorld, r: Requisition) => ({
  id: r.id, created: r.created, redirect: r.redirect, status: w.statusOf(r), institution_id: r.institution_id, agreement: r.agreement,
  reference: r.reference, accounts: [...r.accounts], user_language: r.user_language, link: r.link, account_selection: false, redirect_immediate: false,
});

function agreementOf(ctx: RouteCtx, id: string): Agreement {
  if (!UUID.test(id)) fail(invalidUuid(id));
  return ctx.world.agreements.get(id) ?? fail(notFound());
}

function requisitionOf(ctx: RouteCtx, id: string): Requisition {
  if (!UUID.test(id)) fail(invalidUuid(id));
  return ctx.world.requisitions.get(id) ?? fail(notFound());
}

function intIn(body: Record<string, unknown>, field: string, max: number, detail: string, fallback: number): number {
  const v = body[field] ?? fallback;
  if (!Number.isInteger(v) || (v as number) < 1 || (v as number) > max) fail(fieldError(400, field, `Incorrect ${field}`, detail, true));
  return v as number;
}

/** The checks every metered account endpoint makes before it answers: id, account, agreement, status, scope, budget. */
function metered(ctx: RouteCtx, id: string, scope: string): FakeAccount {
  if (!UUID.test(id)) fail(invalidAccountId(id));
  const account = ctx.world.accounts.get(id) ?? fail(accountNotFound(id));
  const agreement = ctx.world.agreements.get(account.agreementId)!;
  if (ctx.world.agreementExpired(agreement)) {
    fail(euaExpired(agreement.id, agreement.access_valid_for_days, ctx.world.agreementEnds(agreement)!.toISOString().slice(0, 10)));
  }
  const status = ctx.world.accountStatusOf(account);
  if (status === 'SUSPENDED') fail(accountSuspended());
  if (status === 'PROCESSING' || status === 'ERROR') {
    fail({ status: 409, body: { id: account.id, created: account.created, last_accessed: account.last_accessed, iban: account.bank.iban, aspsp_identifier: account.bank.institutionId, status } });
  }
  if (!agreement.access_scope.includes(scope)) fail(euaScope(scope));
  const refused: GcErrorAnswer | null = ctx.limits.refuse(id, scope);
  if (refused) fail(refused);
  account.last_accessed = ctx.world.now().toISOString();
  return account;
}

const DATE = /^\d{4}-\d{2}-\d{2}$/;

export const ROUTES: Route[] = [];
function route(method: string, template: string, handler: Handler, auth = true): void {
  const pattern = new RegExp(`^${template.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{[a-z_]+\}/g, '([^/]+)')}$`);
  ROUTES.push({ method, pattern, template, auth, handler });
}

route('POST', '/api/v2/token/new/', (ctx) => {
  onlyFields(ctx.body, accepted('POST /api/v2/token/new/'));
  if (ctx.body.secret_id !== ctx.secret.id || ctx.body.secret_key !== ctx.secret.key) fail(authenticationFailed());
  return ok(ctx.tokens.newPair());
}, false);

route('POST', '/api/v2/token/refresh/', (ctx) => {
  onlyFields(ctx.body, accepted('POST /api/v2/token/refresh/'));
  return ok(ctx.tokens.renew(String(ctx.body.refresh ?? '')) ?? fail(invalidToken()));
}, false);

route('GET', '/api/v2/institutions/', (ctx) => {
  onlyParams(ctx.query, accepted('GET /api/v2/institutions/'));
  const country = ctx.query.get('country');
  if (country !== null && !COUNTRIES.includes(country.toUpperCase())) fail(invalidCountry(country));
  const list = INSTITUTIONS.filter((i) => country === null || i.countries.includes(country.toUpperCase()));
  return ok(list.map((i) => institutionJson(i)));
});

route('GET', '/api/v2/institutions/{id}/', (ctx, id) => ok(institutionJson(ctx.world.institution(id!) ?? fail(notFound()))));

route('GET', '/api/v2/agreements/enduser/', (ctx) => page(ctx, [...ctx.world.agreements.values()].map(agreementJson), '/api/v2/agreements/enduser/'));

route('POST', '/api/v2/agreements/enduser/', (ctx) => {
  const b = ctx.body;
  onlyFields(b, accepted('POST /api/v2/agreements/enduser/'));
  if (typeof b.institution_id !== 'string' || !b.institution_id) fail({ status: 400, body: { institution_id: ['This field is required.'], status_code: 400 } });
  const inst = ctx.world.institution(b.institution_id as string)
    ?? fail(fieldError(400, 'institution_id', `Unknown Institution ID ${String(b.institution_id)}`, 'Get Institution IDs from /institutions/?country={$COUNTRY_CODE}'));
  const total = Number(inst.transaction_total_days);
  const maxAccess = Number(inst.max_access_valid_for_days);
  const history = intIn(b, 'max_historical_days', Math.min(730, total), `max_historical_days must be > 0 and <= ${inst.id} transaction_total_days (${total})`, Math.min(90, total));
  const access = intIn(b, 'access_valid_for_days', Math.min(730, maxAccess), `access_valid_for_days must be > 0 and <= ${maxAccess}`, Math.min(90, maxAccess));
  const scope = b.access_scope ?? SCOPES;
  if (!Array.isArray(scope) || scope.length === 0) fail(fieldError(400, 'access_scope', 'Field \'access_scope\' may not be an empty list.', `Please choose one or several of ['balances', 'details', 'transactions'].`, true));
  const bad = (scope as unknown[]).find((s) => !SCOPES.includes(String(s)));
  if (bad !== undefined) fail(fieldError(400, 'access_scope', `Unknown value '${String(bad)}' in access_scope`, `Choose one or several from ['balances', 'details', 'transactions']`, true));
  if (b.reconfirmation === true && !inst.countries.includes('GB')) fail(fieldError(400, 'reconfirmation', 'Reconfirmation not supported', `Reconfirmation not supported for ${inst.id}`));
  const a = ctx.world.createAgreement({ institution_id: inst.id, max_historical_days: history, access_valid_for_days: access, access_scope: [...new Set((scope as string[]).map(String))] });
  return ok(agreementJson(a), 201);
});

route('GET', '/api/v2/agreements/enduser/{id}/', (ctx, id) => ok(agreementJson(agreementOf(ctx, id!))));

route('DELETE', '/api/v2/agreements/enduser/{id}/', (ctx, id) => {
  const a = agreementOf(ctx, id!);
  ctx.world.agreements.delete(a.id);
  return ok({ summary: 'End User Agreement deleted', detail: `End User Agreement ${a.id} deleted` });
});

route('PUT', '/api/v2/agreements/enduser/{id}/accept/', (ctx, id) => {
  agreementOf(ctx, id!);
  return fail(err(403, 'Insufficient permissions', 'Your company doesn\'t have permission to accept EUA. You\'ll have to use our default form for this action.'));
});

route('GET', '/api/v2/requisitions/', (ctx) => page(ctx, [...ctx.world.requisitions.values()].map((r) => requisitionJson(ctx.world, r)), '/api/v2/requisitions/'));

route('POST', '/api/v2/requisitions/', (ctx) => {
  const b = ctx.body;
  onlyFields(b, accepted('POST /api/v2/requisitions/'));
  const missing = ['redirect', 'institution_id'].filter((f) => typeof b[f] !== 'string' || b[f] === '');
  if (missing.length) fail({ status: 400, body: { ...Object.fromEntries(missing.map((f) => [f, ['This field is required.']])), status_code: 400 } });
  try { new URL(b.redirect as string); } catch { fail(fieldError(400, 'redirect', 'Invalid redirect URI', 'Redirect URI must have a valid URI structure', true)); }
  const inst = ctx.world.institution(b.institution_id as string)
    ?? fail(fieldError(400, 'institution_id', `Unknown Institution ID ${String(b.institution_id)}`, 'Get Institution IDs from /institutions/?country={$COUNTRY_CODE}'));
  let agreement: Agreement;
  if (b.agreement === undefined) {
    agreement = ctx.world.createAgreement({ institution_id: inst.id, max_historical_days: Math.min(90, Number(inst.transaction_total_days)), access_valid_for_days: Math.min(90, Number(inst.max_access_valid_for_days)), access_scope: [...SCOPES] });
  } else {
    const id = String(b.agreement);
    if (!UUID.test(id)) fail(fieldError(400, 'agreement', 'Invalid EndUserAgreement ID', `${id} is not a valid EndUserAgreement UUID.  Please specify valid agreement from /api/agreements/enduser/ or create a new one`, true));
    agreement = ctx.world.agreements.get(id) ?? fail(fieldError(404, 'agreement', `ID ${id} not found`, 'Please check whether you specified a valid ID'));
    if (agreement.institution_id !== inst.id) {
      fail(fieldError(400, 'agreement', `Incorrect Institution ID ${inst.id}`, `Provided Institution ID: '${inst.id}' for requisition does not match EUA institution ID '${agreement.institution_id}'. Please provide correct institution ID: '${agreement.institution_id}'`));
    }
    if (agreement.requisitionId) {
      fail(fieldError(400, 'agreement', `Agreement ${id} is already associated`, `The agreement is already associated with requisition ${agreement.requisitionId}. Please provide a valid agreement or use a different requisition.`, true));
    }
  }
  const reference = b.reference === undefined ? undefined : String(b.reference);
  if (reference !== undefined && [...ctx.world.requisitions.values()].some((r) => r.reference === reference)) {
    fail(fieldError(400, 'reference', 'Client reference must be unique', `Client reference: ${reference} already exists`));
  }
  const language = b.user_language === undefined ? undefined : String(b.user_language);
  if (language !== undefined && !/^[a-z]{2}(-[a-z]{2})?$/i.test(language)) fail(fieldError(400, 'user_language', 'Provided user_language is invalid or not supported', `'${language}' is an invalid or unsupported language`));
  const r = ctx.world.createRequisition({ redirect: b.redirect as string, institution_id: inst.id, agreement, ...(reference ? { reference } : {}), ...(language ? { user_language: language } : {}) });
  return ok(requisitionJson(ctx.world, r), 201);
});

route('GET', '/api/v2/requisitions/{id}/', (ctx, id) => ok(requisitionJson(ctx.world, requisitionOf(ctx, id!))));

route('DELETE', '/api/v2/requisitions/{id}/', (ctx, id) => {
  const r = requisitionOf(ctx, id!);
  ctx.world.deleteRequisition(r);
  return ok({ summary: 'Requisition deleted', detail: `Requisition ${r.id} deleted with all its End User Agreements` });
});

route('GET', '/api/v2/accounts/{id}/', (ctx, id) => {
  const a = (UUID.test(id!) ? ctx.world.accounts.get(id!) : undefined) ?? fail(accountNotFound(id!));
  return ok({
    id: a.id, created: a.created, last_accessed: a.last_accessed, iban: a.bank.iban, status: ctx.world.accountStatusOf(a),
    institution_id: a.bank.institutionId, owner_name: a.bank.ownerName, name: a.bank.name,
  });
});

route('GET', '/api/v2/accounts/{id}/details/', (ctx, id) => {
  onlyParams(ctx.query, []);
  const b = metered(ctx, id!, 'details').bank;
  const account: Record<string, unknown> = {};
  if (b.resourceId) account.resourceId = b.resourceId;
  Object.assign(account, { iban: b.iban, currency: b.currency, ownerName: b.ownerName, name: b.name, product: b.product, cashAccountType: b.cashAccountType, status: 'enabled' });
  return ok({ account });
});

route('GET', '/api/v2/accounts/{id}/balances/', (ctx, id) => {
  onlyParams(ctx.query, []);
  return ok({ balances: balancesOf(metered(ctx, id!, 'balances').bank, ctx.world.today()) });
});

route('GET', '/api/v2/accounts/{id}/transactions/', (ctx, id) => {
  onlyParams(ctx.query, accepted('GET /api/v2/accounts/{id}/transactions/'));
  const from = ctx.query.get('date_from');
  const to = ctx.query.get('date_to');
  for (const [name, v] of [['date_from', from], ['date_to', to]] as const) {
    if (v !== null && (!DATE.test(v) || Number.isNaN(Date.parse(v)))) fail(err(400, 'Invalid date format', `${name} '${v}' is not a valid date. Use the format YYYY-MM-DD`));
  }
  if (from && to && from > to) fail(dateRange(from, to));
  const account = metered(ctx, id!, 'transactions');
  const agreement = ctx.world.agreements.get(account.agreementId)!;
  const today = ctx.world.today();
  // The agreement gives max_historical_days of history: earlier rows are not there to read.
  const earliest = addDays(today, -agreement.max_historical_days);
  const lo = from && from > earliest ? from : earliest;
  const hi = to ?? today;
  const within = (t: { bookingDate?: string; valueDate: string }) => { const d = t.bookingDate ?? t.valueDate; return d >= lo && d <= hi; };
  const b = account.bank;
  return ok({
    transactions: { booked: b.booked.filter(within).map((t) => txJson(t, b.currency)), pending: b.pending.filter(within).map((t) => txJson(t, b.currency)) },
    last_updated: ctx.world.now().toISOString(),
  });
});

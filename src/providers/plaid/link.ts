/**
 * Linking through Plaid Hosted Link:
 *
 *   startLink ─► /institutions/get_by_id (the bank's countries) ─► /link/token/create with hosted_link
 *       └─ user on Plaid's page ─► back on Causeway's return URL ─► completeLink ─► /link/token/get
 *            ├─ a session succeeded ─► /item/public_token/exchange (not in update mode) ─► /item/get ─► granted
 *            ├─ the latest session exited ─► denied (the exit's error, mapped; none: authorization_denied)
 *            └─ nothing finished ─► pending
 *
 * Update mode (repair, new products) passes the Item's access token; Plaid keeps the same token, so
 * nothing is exchanged. Products the Item lacks are asked for as `additional_consented_products`
 * (Plaid's way to add a product in update mode); a plain repair asks for none.
 */
import type { CountryCode, ItemWithConsentFields, LinkTokenCreateRequest, LinkTokenGetSessionsResponse, Products } from 'plaid';
import type { AuthorizationGrant, LinkResult, LinkSession, LinkStart, ProviderLink } from '../types.js';
import { ProviderError } from '../types.js';
import type { PlaidSession } from './client.js';
import { mapPlaidError } from './errors.js';
import { linkAccountsFromPlaid, plaidProductsFor } from './mapping.js';

/** Every country Plaid serves: the catalogue lists them all; a link narrows to the bank's own. */
export const PLAID_COUNTRIES: readonly CountryCode[] = [
  'US', 'CA', 'GB', 'IE', 'FR', 'ES', 'NL', 'DE', 'IT', 'PL', 'DK', 'NO', 'SE', 'EE', 'LT', 'LV', 'PT', 'BE', 'AT', 'FI',
].map((c) => c as CountryCode);

/** How long the Hosted Link page stays usable: long enough for a bank's OAuth detour, short enough to abandon. */
export const HOSTED_LINK_LIFETIME_SECONDS = 3600;
const CLIENT_NAME = 'Causeway';

export function accessTokenOf(link: ProviderLink): { token: string; itemId: string | undefined } {
  if (link.access.kind !== 'token') {
    throw new ProviderError('provider_error', 'A Plaid link holds an access token, not web credentials.', false, 'NOT_A_TOKEN');
  }
  return { token: link.access.token, itemId: link.access.itemId };
}

/** The bank's countries that Plaid serves, so Link is not asked for countries the client may not be enabled for. */
async function countriesOf(s: PlaidSession, institutionId: string): Promise<CountryCode[]> {
  const { institution } = await s.call('/institutions/get_by_id', (api) =>
    api.institutionsGetById({ institution_id: institutionId, country_codes: [...PLAID_COUNTRIES] }));
  const own = institution.country_codes.filter((c) => PLAID_COUNTRIES.includes(c));
  return own.length > 0 ? own : [...PLAID_COUNTRIES];
}

/** Products the Item already has consent for: consented_products under Data Transparency Messaging, else what it has. */
function productsHeld(item: ItemWithConsentFields): Set<string> {
  if (item.consented_products) return new Set(item.consented_products);
  return new Set([...(item.products ?? []), ...item.billed_products, ...item.available_products]);
}

export async function startLink(s: PlaidSession, input: LinkStart): Promise<LinkSession> {
  const wanted = plaidProductsFor(input.products).map((p) => p as Products);
  // Update mode: the Item says which bank it is at and which products it already has.
  const token = input.update ? accessTokenOf(input.update).token : undefined;
  const item = token ? (await s.call('/item/get', (api) => api.itemGet({ access_token: token }), token)).item : null;
  const request: LinkTokenCreateRequest = {
    client_name: CLIENT_NAME,
    language: 'en',
    country_codes: await countriesOf(s, item?.institution_id ?? input.institutionId),
    user: { client_user_id: input.userId },
    hosted_link: { completion_redirect_uri: input.returnUrl, url_lifetime_seconds: HOSTED_LINK_LIFETIME_SECONDS },
  };
  if (input.webhookUrl !== null) request.webhook = input.webhookUrl;
  if (token && item) {
    const held = productsHeld(item);
    const missing = wanted.filter((p) => !held.has(p));
    request.access_token = token;
    // Account Select in update mode: accounts the user opened since (NEW_ACCOUNTS_AVAILABLE) are shared only
    // when the user picks them here; without it a repair for new_accounts_available could never bring them in.
    request.update = { account_selection_enabled: true };
    if (missing.length > 0) request.additional_consented_products = missing;
  } else {
    request.products = wanted;
    request.institution_id = input.institutionId;
  }
  const created = await s.call('/link/token/create', (api) => api.linkTokenCreate(request), token);
  if (!created.hosted_link_url) {
    throw new ProviderError('provider_error', 'Plaid created a link token without a Hosted Link URL (is Hosted Link enabled for this client?).', false, 'NO_HOSTED_LINK_URL', null, created.request_id);
  }
  const urlEnds = s.now.getTime() + HOSTED_LINK_LIFETIME_SECONDS * 1000;
  const tokenEnds = Date.parse(created.expiration);
  return {
    url: created.hosted_link_url,
    reference: created.link_token,
    expiresAt: new Date(Number.isNaN(tokenEnds) ? urlEnds : Math.min(urlEnds, tokenEnds)),
  };
}

function startedAt(session: LinkTokenGetSessionsResponse): number {
  const t = Date.parse(session.started_at ?? '');
  return Number.isNaN(t) ? 0 : t;
}

interface Success { publicToken: string | null; institutionId: string | null; accounts: { name: string; mask: string | null }[] }

function successOf(session: LinkTokenGetSessionsResponse, updateMode: boolean): Success | null {
  const added = session.results?.item_add_results?.[0];
  if (added) return { publicToken: added.public_token, institutionId: added.institution?.institution_id ?? null, accounts: linkAccountsFromPlaid(added.accounts ?? []) };
  const legacy = session.on_success;
  if (legacy) {
    return { publicToken: legacy.public_token, institutionId: legacy.metadata?.institution?.institution_id ?? null, accounts: linkAccountsFromPlaid(legacy.metadata?.accounts ?? []) };
  }
  // Update mode may finish without a public token to hand over: a finished session that did not exit succeeded.
  if (updateMode && session.finished_at && !session.exit && !session.on_exit) return { publicToken: null, institutionId: null, accounts: [] };
  return null;
}

async function grantFor(s: PlaidSession, token: string, itemId: string | undefined, fallback: Success & { institutionId: string }): Promise<AuthorizationGrant> {
  const { item } = await s.call('/item/get', (api) => api.itemGet({ access_token: token }), token);
  const expires = item.consent_expiration_time ? new Date(item.consent_expiration_time) : null;
  return {
    token,
    itemId: itemId ?? item.item_id,
    grantedAt: s.now,
    expiresAt: expires && !Number.isNaN(expires.getTime()) ? expires : null,
    institutionId: item.institution_id ?? fallback.institutionId,
    accounts: fallback.accounts,
  };
}

export async function completeLink(
  s: PlaidSession,
  input: { institutionId: string; reference: string; update: ProviderLink | null },
): Promise<LinkResult> {
  const got = await s.call('/link/token/get', (api) => api.linkTokenGet({ link_token: input.reference }));
  const sessions = [...(got.link_sessions ?? [])].sort((a, b) => startedAt(b) - startedAt(a));
  const updateMode = input.update !== null;
  for (const session of sessions) {
    const success = successOf(session, updateMode);
    if (!success) continue;
    const base = { ...success, institutionId: success.institutionId ?? input.institutionId };
    if (input.update) {
      const { token, itemId } = accessTokenOf(input.update);
      return { kind: 'granted', grant: await grantFor(s, token, itemId, base) };
    }
    if (!success.publicToken) continue;
    const publicToken = success.publicToken;
    const exchanged = await s.call('/item/public_token/exchange', (api) => api.itemPublicTokenExchange({ public_token: publicToken }), publicToken);
    return { kind: 'granted', grant: await grantFor(s, exchanged.access_token, exchanged.item_id, base) };
  }
  const latest = sessions[0];
  const exit = latest?.exit ?? latest?.on_exit ?? null;
  if (!latest || !exit) return { kind: 'pending' };
  if (exit.error?.error_code) {
    const mapping = mapPlaidError(exit.error);
    return { kind: 'denied', code: mapping.code, message: mapping.userAction, providerCode: exit.error.error_code };
  }
  const where = exit.metadata?.status ? ` (at ${exit.metadata.status})` : '';
  return { kind: 'denied', code: 'authorization_denied', message: `The user left Plaid Link without linking${where}.`, providerCode: 'LINK_EXITED' };
}

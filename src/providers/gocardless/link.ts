/**
 * Linking through GoCardless: an end-user agreement and a requisition, then the bank's consent pages.
 *
 *   startLink ─► GET institution (its history and consent limits) ─► POST agreement ─► POST requisition
 *       └─ user at requisition.link (GoCardless, then the bank) ─► back on Causeway's return URL (?ref=…)
 *            ─► completeLink ─► GET requisition
 *                 ├─ LN ─► GET agreement (accepted), each account's metadata and details ─► granted
 *                 ├─ RJ ─► denied authorization_denied     ER ─► denied institution_unavailable
 *                 ├─ EX ─► denied consent_expired          SU ─► denied consent_revoked
 *                 └─ CR, ID, GC, UA, SA, GA ─► pending (or denied, when GoCardless sent the user back with an error)
 *
 * Update mode (a repair, or renewing a consent that ends) is the same: a new agreement and requisition
 * for the same institution. The new requisition's accounts have new uuids but the same stable keys
 * (grant.ts), so they map to the same Causeway accounts; the requisition it replaces is deleted, so
 * no access is left behind at GoCardless. importAccess adopts a requisition made elsewhere.
 */
import { ProviderError, type AuthorizationGrant, type LinkResult, type LinkSession, type LinkStart, type ProviderLink } from '../types.js';
import type { GoCardlessSession } from './client.js';
import { accountStatusError } from './errors.js';
import {
  cacheAccount, decodeReference, encodeGrant, encodeReference, grantOf, ibanHashOf, isUuid, requisitionReference, tryDecodeGrant,
  type CachedAccount, type GrantToken,
} from './grant.js';
import type { GcAccount, GcAgreement, GcDetails, GcInstitution, GcRequisition, GcRequisitionStatus } from './wire.js';

/** How long Causeway waits for the user at the bank before the link counts as abandoned. */
export const LINK_LIFETIME_SECONDS = 3600;
/** GoCardless's bounds for max_historical_days and access_valid_for_days, and its default for both. */
const MAX_DAYS = 730;
const DEFAULT_DAYS = 90;
const DAY_MS = 86_400_000;

const enc = encodeURIComponent;
const days = (v: string | number | undefined): number => {
  const n = Number(v);
  return Number.isInteger(n) && n > 0 ? Math.min(n, MAX_DAYS) : DEFAULT_DAYS;
};

/** What each requisition status means, in words for messages. */
export const STATUS_WORDS: Readonly<Record<GcRequisitionStatus, string>> = {
  CR: 'created, not yet started', ID: 'the user is choosing an institution', GC: 'the user is giving consent at GoCardless',
  UA: 'the user is authenticating at the bank', SA: 'the user is selecting accounts', GA: 'the bank granted access, accounts being read',
  LN: 'linked', RJ: 'rejected', ER: 'failed with an error', SU: 'suspended', EX: 'expired',
};
const PENDING: ReadonlySet<string> = new Set(['CR', 'ID', 'GC', 'UA', 'SA', 'GA']);

export async function startLink(s: GoCardlessSession, input: LinkStart): Promise<LinkSession> {
  const previous = input.update ? grantOf(input.update) : null;
  const institutionId = previous?.institutionId ?? input.institutionId;
  const { data: institution } = await s.request<GcInstitution>('institutions/{id}', { path: `/api/v2/institutions/${enc(institutionId)}/` });
  const scope = input.products.includes('transactions') ? ['balances', 'details', 'transactions'] : ['balances', 'details'];
  const { data: agreement } = await s.request<GcAgreement>('agreements/enduser', {
    method: 'POST', path: '/api/v2/agreements/enduser/',
    body: {
      institution_id: institutionId,
      max_historical_days: days(institution.transaction_total_days),
      access_valid_for_days: days(institution.max_access_valid_for_days),
      access_scope: scope,
    },
  });
  const { data: requisition } = await s.request<GcRequisition>('requisitions', {
    method: 'POST', path: '/api/v2/requisitions/',
    body: { redirect: input.returnUrl, institution_id: institutionId, reference: requisitionReference(input.state, agreement.id), agreement: agreement.id },
  });
  if (!requisition.link) throw new ProviderError('provider_error', 'GoCardless created a requisition without a link.', true, 'NO_REQUISITION_LINK');
  return {
    url: requisition.link,
    reference: encodeReference(requisition.id, agreement.id),
    expiresAt: new Date(s.ctx.now.getTime() + LINK_LIFETIME_SECONDS * 1000),
  };
}

/** An account the previous grant already knew, recognised by its IBAN (for when its details cannot be read now). */
function knownByIban(previous: GrantToken | null, meta: GcAccount): CachedAccount | null {
  const hash = ibanHashOf(meta.iban);
  if (!previous || !hash) return null;
  const matches = previous.accounts.filter((a) => a.ibanHash === hash);
  return matches.length === 1 ? matches[0]! : null;
}

async function readAccount(s: GoCardlessSession, id: string, previous: GrantToken | null): Promise<CachedAccount> {
  const path = `/api/v2/accounts/${enc(id)}/`;
  const { data: meta } = await s.request<GcAccount>('accounts/{id}', { path });
  const stopped = accountStatusError(meta.status, 'accounts/{id}');
  if (stopped && !stopped.transient) throw stopped;
  const detailsPath = `/api/v2/accounts/${enc(id)}/details/`;
  try {
    const { data, rate } = await s.request<{ account: GcDetails }>('accounts/{id}/details', { path: detailsPath });
    const cached = cacheAccount(id, data.account ?? {}, meta);
    s.reportBudget(cached.key, detailsPath, rate);
    return cached;
  } catch (err) {
    // The details budget of a bank account linked before is spent (a repair the same day): what the last grant read still holds.
    const known = err instanceof ProviderError && err.code === 'rate_limited' ? knownByIban(previous, meta) : null;
    if (known) return { ...known, id };
    throw err;
  }
}

/** The grant for a linked (LN) requisition: consent dates from its agreement, each account read once. */
export async function grantFromRequisition(s: GoCardlessSession, req: GcRequisition, previous: GrantToken | null): Promise<AuthorizationGrant> {
  const agreement = req.agreement
    ? (await s.request<GcAgreement>('agreements/enduser/{id}', { path: `/api/v2/agreements/enduser/${enc(req.agreement)}/` })).data
    : null;
  const accounts: CachedAccount[] = [];
  const keys = new Set<string>();
  for (const id of req.accounts ?? []) {
    const a = await readAccount(s, id, previous);
    // Two accounts the bank does not tell apart: the later one keeps its order as part of its key.
    let key = a.key;
    for (let n = 2; keys.has(key); n++) key = `${a.key}~${n}`;
    keys.add(key);
    accounts.push({ ...a, key });
  }
  const accepted = agreement?.accepted ? new Date(agreement.accepted) : null;
  const grantedAt = accepted && !Number.isNaN(accepted.getTime()) ? accepted : s.ctx.now;
  const validFor = agreement?.access_valid_for_days ?? DEFAULT_DAYS;
  const token: GrantToken = {
    v: 1, requisitionId: req.id, agreementId: agreement?.id ?? null, institutionId: req.institution_id,
    historyDays: agreement?.max_historical_days ?? null, accounts,
  };
  return {
    token: encodeGrant(token),
    grantedAt,
    expiresAt: new Date(grantedAt.getTime() + validFor * DAY_MS),
    itemId: req.id,
    institutionId: req.institution_id,
    accounts: accounts.map((a) => ({ name: a.name, mask: a.mask || null })),
  };
}

/** Deletes a requisition; one GoCardless no longer has is already gone. */
export async function deleteRequisition(s: GoCardlessSession, requisitionId: string): Promise<void> {
  try {
    await s.request('requisitions/{id} DELETE', { method: 'DELETE', path: `/api/v2/requisitions/${enc(requisitionId)}/` });
  } catch (err) {
    if (err instanceof ProviderError && (err.providerCode === 'NotFoundError' || err.providerCode === 'InvalidID')) return;
    throw err;
  }
}

function denied(code: 'authorization_denied' | 'institution_unavailable' | 'consent_expired' | 'consent_revoked', req: GcRequisition, detail = ''): LinkResult {
  return { kind: 'denied', code, message: `The GoCardless requisition was ${STATUS_WORDS[req.status]}${detail ? ` (${detail})` : ''}.`, providerCode: `REQUISITION_${req.status}` };
}

export async function completeLink(
  s: GoCardlessSession,
  input: { institutionId: string; params: Record<string, string>; reference: string; update: ProviderLink | null },
): Promise<LinkResult> {
  const { requisitionId } = decodeReference(input.reference);
  const { data: req } = await s.request<GcRequisition>('requisitions/{id}', { path: `/api/v2/requisitions/${enc(requisitionId)}/` });
  const previous = input.update ? tryDecodeGrant(input.update.access.kind === 'token' ? input.update.access.token : '') : null;
  switch (req.status) {
    case 'LN': {
      const grant = await grantFromRequisition(s, req, previous);
      // The requisition this one replaces gives access Causeway no longer uses: ended, best effort.
      if (previous && previous.requisitionId !== req.id) await deleteRequisition(s, previous.requisitionId).catch(() => undefined);
      return { kind: 'granted', grant };
    }
    case 'RJ': return denied('authorization_denied', req, input.params.details);
    case 'ER': return denied('institution_unavailable', req, input.params.details);
    case 'EX': return denied('consent_expired', req);
    case 'SU': return denied('consent_revoked', req);
    default: break;
  }
  // GoCardless sends the user back with ?error=…&details=… when they cancel or the bank fails, before the status moves on.
  const error = input.params.error;
  if (PENDING.has(req.status) && error) {
    const cancelled = /cancel/i.test(error);
    return {
      kind: 'denied', code: cancelled ? 'authorization_denied' : 'institution_unavailable',
      message: `GoCardless sent the user back: ${error}${input.params.details ? ` (${input.params.details})` : ''}.`, providerCode: error,
    };
  }
  return { kind: 'pending' };
}

const refuse = (message: string, code: string) => new ProviderError('invalid_credentials', message, false, code);

/** Adopts a requisition made elsewhere (its id), or the adapter's own token: it must be linked (LN). */
export async function importAccess(s: GoCardlessSession, input: { institutionId: string | null; token: string }): Promise<AuthorizationGrant> {
  const own = tryDecodeGrant(input.token.trim());
  const requisitionId = own?.requisitionId ?? input.token.trim();
  if (!isUuid(requisitionId)) throw refuse('A GoCardless import takes a requisition id (a UUID).', 'NOT_A_REQUISITION');
  let req: GcRequisition;
  try {
    req = (await s.request<GcRequisition>('requisitions/{id}', { path: `/api/v2/requisitions/${enc(requisitionId)}/` })).data;
  } catch (err) {
    if (err instanceof ProviderError && (err.providerCode === 'NotFoundError' || err.providerCode === 'InvalidID')) {
      throw refuse(`GoCardless has no requisition ${requisitionId} for this application's secret.`, err.providerCode);
    }
    throw err;
  }
  if (req.status !== 'LN') {
    throw refuse(`The GoCardless requisition ${requisitionId} is ${req.status} (${STATUS_WORDS[req.status] ?? 'unknown'}), not linked (LN): only a linked requisition can be imported.`, `REQUISITION_${req.status}`);
  }
  if (input.institutionId !== null && req.institution_id !== input.institutionId) {
    throw refuse(`The requisition belongs to another institution (${req.institution_id}).`, 'INSTITUTION_MISMATCH');
  }
  return grantFromRequisition(s, req, own);
}

/**
 * Import (PRODUCT.md §3): bring in a link the app already holds at the provider (a Plaid access
 * token, say; the sandbox takes a token it issued) without sending the user through a flow.
 *
 *   import ─► init ─► import job (authorize checks the token and records the consent) ─► active
 *                                                                    a bad token ─► failed
 *
 * The provider is asked only by the job, so the call is journaled like any other. Tokens are
 * openbanking-style access: the institution must offer openbanking.
 */
import { newId } from '../domain/ids.js';
import { AppError, notFound } from '../domain/errors.js';
import { withAccountsProduct } from '../domain/steps.js';
import type { Product } from '../domain/types.js';
import { findClashes, insertConnection } from '../db/repos/connections.js';
import { connectionEvent, insertEvent } from '../db/repos/events.js';
import { insertJobUnlessLive } from '../db/repos/jobs.js';
import { withTransaction } from '../db/transaction.js';
import type { ProviderAccess } from '../providers/types.js';
import { newJobRow, presentConnection } from './connections.js';
import { tenantClock, type Core, type Tenant } from './core.js';
import { providerById, requireUsable } from './providers.js';
import { findInstitution, findOrFetchInstitution } from './catalogue.js';
import { grantEventData, grantPatch } from './sync/grant.js';
import { journalRow } from './sync/journal.js';
import { insertProviderCalls } from '../db/repos/provider-calls.js';
import { ProviderError } from '../providers/types.js';
import { requireUser } from './users.js';
import { callContext } from './provider-state.js';
import { jobView } from './views.js';

/** The link to import: `accessToken` (Plaid, the sandbox), or what another provider calls it: a GoCardless `requisitionId`, a SimpleFIN `accessUrl`. */
export interface ImportInput { provider?: string; institutionId?: string; accessToken?: string; requisitionId?: string; accessUrl?: string; products?: Product[] }

const TOKEN_FIELDS = ['accessToken', 'requisitionId', 'accessUrl'] as const;

/** The one token an import names, and the field it came in. */
function tokenOf(input: ImportInput): { token: string; field: string } {
  const given = TOKEN_FIELDS.filter((f) => input[f] !== undefined);
  if (given.length !== 1) {
    throw new AppError('validation_failed', given.length === 0
      ? 'Send the link to import: accessToken (Plaid, the sandbox), requisitionId (GoCardless) or accessUrl (SimpleFIN).'
      : `Send one of ${given.join(' and ')}, not both.`,
    { errors: [{ field: `body.${given[1] ?? 'accessToken'}`, message: 'exactly one of accessToken, requisitionId, accessUrl' }] });
  }
  return { token: input[given[0]!]!, field: given[0]! };
}

export async function importConnection(core: Core, tenant: Tenant, userId: string, input: ImportInput) {
  const { token } = tokenOf(input);
  await requireUser(core, tenant, userId);
  const { provider, institution, grant, call } = await resolveImport(core, tenant, input);
  const now = tenantClock(core, tenant.application).now();
  const method = institution.methods.find((m) => m !== 'web');
  if (!method) {
    throw new AppError('unsupported_method', `${institution.name} offers ${institution.methods.join(' and ')} only; imported access tokens need openbanking or hosted.`,
      { errors: [{ field: 'body.institutionId', message: 'must be an institution that offers openbanking or hosted' }] });
  }
  const products = input.products ?? institution.products.filter((p) => p !== 'investments');
  const unsupported = products.filter((p) => !institution.products.includes(p));
  if (unsupported.length > 0) {
    throw new AppError('unsupported_product', `${institution.name} does not offer ${unsupported.join(', ')}.`,
      { errors: [{ field: 'body.products', message: `supported: ${institution.products.join(', ')}` }] });
  }
  const access: ProviderAccess = { kind: 'token', token, ...(grant?.itemId ? { itemId: grant.itemId } : {}) };
  // The same token twice would be the same link twice: answer the first one instead.
  const loginHash = tokenLoginHash(core, institution.id, token);
  const { connection, job } = await withTransaction(core.db, async (tx) => {
    const base = { applicationId: tenant.application.id, userId, institutionId: institution.id, method, loginHash };
    const clashes = await findClashes(tx, base);
    if (!clashes) throw notFound('user', userId); // deleted meanwhile
    const other = clashes.otherMethod ?? clashes.sameLogin;
    if (other) {
      throw new AppError('conflicting_connection', clashes.otherMethod
        ? `This user already has the ${other.method} connection ${other.id} to ${institution.name}. Delete it before importing another.`
        : `This access token was already imported as connection ${other.id}.`, { connectionId: other.id });
    }
    // One link at the provider cannot back two users' connections (a revoke of one would end both);
    // the other user's connection is not named.
    if (clashes.sameLoginElsewhere) throw new AppError('conflicting_connection', 'This access token is already imported for another user of this application.');
    const connection = await insertConnection(tx, {
      ...base, id: newId('con', now.getTime()), provider: provider.id, providerInstitutionId: institution.providerInstitutionId,
      products: withAccountsProduct(products), status: 'init', statusReason: null,
      ...(grant ? grantPatch(core, grant) : { accessEnc: core.cipher.encrypt(JSON.stringify(access)) }), createdAt: now, updatedAt: now,
    });
    if (call) await insertProviderCalls(tx, [{ ...call, connectionId: connection.id }]);
    await insertEvent(tx, connectionEvent(connection, 'connection.imported', { institutionId: institution.id, provider: provider.id }, tenant.actor ?? null, now));
    if (grant) await insertEvent(tx, connectionEvent(connection, 'consent.granted', grantEventData(grant, { renewed: false, imported: true, jobId: null }), null, now));
    const { job } = await insertJobUnlessLive(tx, newJobRow(connection, 'import', 'api', connection.products as Product[], now));
    return { connection, job };
  });
  await core.queue.enqueue(job);
  return { connection: await presentConnection(core, tenant, connection), job: jobView(job), authorizationUrl: null, link: null };
}

/** A token's login hash: the same token at the same institution is the same link (findClashes compares it). */
export function tokenLoginHash(core: Core, institutionId: string, token: string): string {
  return core.cipher.fingerprint(`${institutionId}\ntoken\n${token}`);
}

/**
 * The provider and institution of an import. Named institution: checked by the import job, so the
 * call is journaled there. No institution: the provider is asked now which one the token is for
 * (Plaid's /item/get), the institution fetched into the catalogue if new, and the call journaled
 * with the connection.
 */
async function resolveImport(core: Core, tenant: Tenant, input: ImportInput) {
  if (input.institutionId) {
    const institution = await findInstitution(core, input.institutionId);
    if (!institution) throw notFound('institution', input.institutionId);
    if (input.provider && input.provider !== institution.provider) {
      throw new AppError('validation_failed', `${institution.name} is served by ${institution.provider}, not ${input.provider}.`,
        { errors: [{ field: 'body.provider', message: `must be ${institution.provider} for this institution, or left out` }] });
    }
    const provider = providerById(core, institution.provider);
    await requireUsable(core, tenant.application, provider);
    if (!provider.importAccess) throw notImportable(provider.name);
    return { provider, institution, grant: null, call: null };
  }
  if (!input.provider) {
    throw new AppError('validation_failed', 'Name the provider the access token is from (and the institution, where the provider cannot tell it).',
      { errors: [{ field: 'body.provider', message: 'required when institutionId is not given' }] });
  }
  const provider = providerById(core, input.provider);
  const settings = await requireUsable(core, tenant.application, provider);
  if (!provider.importAccess) throw notImportable(provider.name);
  const now = tenantClock(core, tenant.application).now();
  const startedAt = Date.now();
  const ctx = callContext(core, provider.id, settings, now, `import:${tenant.application.id}`);
  let grant;
  try {
    grant = await provider.importAccess({ institutionId: null, token: tokenOf(input).token }, ctx);
  } catch (err) {
    if (!(err instanceof ProviderError)) throw err;
    if (err.code === 'invalid_credentials') {
      throw new AppError('validation_failed', `${provider.name} does not recognise this access token (${err.providerCode}).`, { errors: [{ field: `body.${tokenOf(input).field}`, message: 'not a link the provider issued to these settings' }] });
    }
    // A rate limit says so, with the wait asked for: a bulk import (services/import-run.ts) waits it out and tries again.
    const wait = err.retryAfterSeconds !== null ? { retryAfterSeconds: err.retryAfterSeconds } : {};
    throw new AppError('provider_unavailable', `${provider.name} could not check the token (${err.providerCode}): ${err.message}`,
      { providerCode: err.providerCode, providerRequestId: err.requestId, providerError: err.code, ...wait },
      err.retryAfterSeconds !== null ? { 'retry-after': String(err.retryAfterSeconds) } : {});
  }
  if (!grant.institutionId) {
    throw new AppError('validation_failed', `${provider.name} did not say which institution this token is for; send institutionId.`, { errors: [{ field: 'body.institutionId', message: 'required for this token' }] });
  }
  const institution = await findOrFetchInstitution(core, provider, grant.institutionId, settings);
  if (!institution) throw new AppError('provider_unavailable', `${provider.name} named institution ${grant.institutionId}, which it does not list.`);
  const call = journalRow({ applicationId: tenant.application.id, jobId: null, provider: provider.id, operation: 'importAccess', error: null, startedAt, at: now });
  return { provider, institution, grant, call };
}

function notImportable(name: string) {
  return new AppError('import_not_supported', `The ${name} provider cannot import connections; create one with the user instead.`);
}

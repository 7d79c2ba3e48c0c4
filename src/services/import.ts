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
import { findInstitution, tenantClock, type Core, type Tenant } from './core.js';
import { providerFor } from './applications.js';
import { requireUser } from './users.js';
import { jobView } from './views.js';

export interface ImportInput { institutionId: string; accessToken: string; products?: Product[] }

export async function importConnection(core: Core, tenant: Tenant, userId: string, input: ImportInput) {
  providerFor(core, tenant.application); // a live application gets a clear 400, not the sandbox's simulated banks
  await requireUser(core, tenant, userId);
  if (!core.provider.importAccess) {
    throw new AppError('import_not_supported', `The ${core.provider.id} provider cannot import connections; create one with the user instead.`);
  }
  const now = tenantClock(core, tenant.application).now();
  const institution = findInstitution(core, input.institutionId);
  if (!institution) throw notFound('institution', input.institutionId);
  if (!institution.methods.includes('openbanking')) {
    throw new AppError('unsupported_method', `${institution.name} offers ${institution.methods.join(' and ')} only; imported access tokens need openbanking.`,
      { errors: [{ field: 'body.institutionId', message: 'must be an institution that offers openbanking' }] });
  }
  const products = input.products ?? institution.products.filter((p) => p !== 'investments');
  const unsupported = products.filter((p) => !institution.products.includes(p));
  if (unsupported.length > 0) {
    throw new AppError('unsupported_product', `${institution.name} does not offer ${unsupported.join(', ')}.`,
      { errors: [{ field: 'body.products', message: `supported: ${institution.products.join(', ')}` }] });
  }
  const access: ProviderAccess = { kind: 'token', token: input.accessToken };
  // The same token twice would be the same link twice: answer the first one instead.
  const loginHash = core.cipher.fingerprint(`${institution.id}\ntoken\n${input.accessToken}`);
  const { connection, job } = await withTransaction(core.db, async (tx) => {
    const base = { applicationId: tenant.application.id, userId, institutionId: institution.id, method: 'openbanking', loginHash };
    const clashes = await findClashes(tx, base);
    if (!clashes) throw notFound('user', userId); // deleted meanwhile
    const other = clashes.otherMethod ?? clashes.sameLogin;
    if (other) {
      throw new AppError('conflicting_connection', clashes.otherMethod
        ? `This user already has the web connection ${other.id} to ${institution.name}. Delete it before importing an openbanking one.`
        : `This access token was already imported as connection ${other.id}.`, { connectionId: other.id });
    }
    // One link at the provider cannot back two users' connections (a revoke of one would end both);
    // the other user's connection is not named.
    if (clashes.sameLoginElsewhere) throw new AppError('conflicting_connection', 'This access token is already imported for another user of this application.');
    const connection = await insertConnection(tx, {
      ...base, id: newId('con', now.getTime()), provider: core.provider.id, products: withAccountsProduct(products), status: 'init', statusReason: null,
      accessEnc: core.cipher.encrypt(JSON.stringify(access)), createdAt: now, updatedAt: now,
    });
    await insertEvent(tx, connectionEvent(connection, 'connection.imported', { institutionId: institution.id }, tenant.actor ?? null, now));
    const { job } = await insertJobUnlessLive(tx, newJobRow(connection, 'import', 'api', connection.products as Product[], now));
    return { connection, job };
  });
  await core.queue.enqueue(job);
  return { connection: presentConnection(core, tenant, connection), job: jobView(job), authorizationUrl: null };
}

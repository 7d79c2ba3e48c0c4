/**
 * Token connections (method `token`): the user pastes a token the provider gave them (a SimpleFIN
 * setup token). Causeway claims it at once, while the user is there to hear that it failed, and
 * keeps the lasting access it gives, encrypted:
 *
 *   create ─► claim ─► init + access, consent.granted ─► create job ─► active
 *   repair ─► claim a new token ─► init + new access ─► repair job (same connection, same account ids)
 *   a token already claimed, forged or at a refused address ─► 400 invalid_setup_token, nothing created
 *
 * A claim works once: the access it gives is written in the same transaction as the connection.
 */
import { AppError, notFound } from '../domain/errors.js';
import type { Product } from '../domain/types.js';
import { findClashes, insertConnection, type ConnectionRow } from '../db/repos/connections.js';
import { connectionEvent, insertEvent } from '../db/repos/events.js';
import { insertJobUnlessLive } from '../db/repos/jobs.js';
import { insertProviderCalls } from '../db/repos/provider-calls.js';
import { withTransaction } from '../db/transaction.js';
import type { ApplicationRow } from '../db/repos/applications.js';
import { ProviderError, type AuthorizationGrant, type Provider } from '../providers/types.js';
import type { CatalogueInstitution } from './catalogue.js';
import { conflicting, newJobRow, presentConnection } from './connections.js';
import { tenantClock, type Core, type Tenant } from './core.js';
import { callContext } from './provider-state.js';
import { settingsFor } from './providers.js';
import { grantEventData, grantPatch } from './sync/grant.js';
import { journalRow } from './sync/journal.js';
import { jobView } from './views.js';
import { recordProviderCall } from '../metrics.js';

export interface Claimed {
  grant: AuthorizationGrant;
  /** The claim's journal row, written with the connection. */
  call: ReturnType<typeof journalRow>;
  /** Two connections on the same access are the same link twice. */
  loginHash: string;
}

/** Claims the pasted token at the provider. A refusal is the user's to fix (400); a provider that did not answer is 502. */
export async function claimPasted(core: Core, application: ApplicationRow, provider: Provider, institutionId: string, pasted: string): Promise<Claimed> {
  if (!provider.claimToken) throw new AppError('unsupported_method', `The ${provider.name} provider takes no pasted tokens.`);
  const now = tenantClock(core, application).now();
  const settings = (await settingsFor(core, application, provider)) ?? undefined;
  const startedAt = Date.now();
  let outcome = 'ok';
  try {
    const grant = await provider.claimToken(pasted, callContext(core, provider.id, settings, now, `claim:${application.id}`));
    return { grant, call: journalRow({ applicationId: application.id, jobId: null, provider: provider.id, operation: 'claimToken', error: null, startedAt, at: now }), loginHash: core.cipher.fingerprint(`${institutionId}\ntoken\n${grant.token}`) };
  } catch (err) {
    outcome = err instanceof ProviderError ? err.code : 'unexpected';
    if (!(err instanceof ProviderError)) throw err;
    core.log.info({ provider: provider.id, providerCode: err.providerCode }, 'setup token not claimed');
    if (err.code === 'invalid_credentials' || err.code === 'consent_revoked' || err.code === 'user_action_required') {
      throw new AppError('invalid_setup_token', `${err.message}`, { errors: [{ field: 'body.setupToken', message: err.providerCode }], providerCode: err.providerCode });
    }
    throw new AppError('provider_unavailable', `${provider.name} could not claim the token (${err.providerCode}): ${err.message} Nothing was created; try again.`,
      { providerCode: err.providerCode, providerRequestId: err.requestId });
  } finally {
    // Journaled with the connection it creates, not through callProvider: counted here.
    recordProviderCall({ provider: provider.id, institution: institutionId, operation: 'claimToken', outcome, durationMs: Date.now() - startedAt });
  }
}

type NewConnection = Pick<ConnectionRow, 'id' | 'applicationId' | 'userId' | 'institutionId' | 'provider' | 'providerInstitutionId' | 'method' | 'products' | 'createdAt' | 'updatedAt'>;

/** Create with a pasted token: claimed, then the connection, its access, the claim's journal row and the first job in one transaction. */
export async function connectWithToken(core: Core, tenant: Tenant, base: NewConnection, institution: CatalogueInstitution, provider: Provider, setupToken: string) {
  const claimed = await claimPasted(core, tenant.application, provider, institution.id, setupToken);
  const { connection, job } = await withTransaction(core.db, async (tx) => {
    const clashes = await findClashes(tx, { ...base, loginHash: claimed.loginHash });
    if (!clashes) throw notFound('user', base.userId);
    if (clashes.otherMethod) throw conflicting(clashes.otherMethod.id, institution.name, clashes.otherMethod.method);
    const now = base.createdAt;
    const connection = await insertConnection(tx, {
      ...base, status: 'init', statusReason: null, loginHash: claimed.loginHash, ...grantPatch(core, claimed.grant),
    });
    await insertProviderCalls(tx, [{ ...claimed.call, connectionId: connection.id }]);
    await insertEvent(tx, connectionEvent(connection, 'consent.granted', grantEventData(claimed.grant, { renewed: false, imported: false, jobId: null }), null, now));
    const { job } = await insertJobUnlessLive(tx, newJobRow(connection, 'create', 'api', connection.products as Product[], now));
    return { connection, job };
  });
  await core.queue.enqueue(job);
  return { connection: await presentConnection(core, tenant, connection), job: jobView(job), authorizationUrl: null, link: null };
}

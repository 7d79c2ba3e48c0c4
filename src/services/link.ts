/**
 * Link sessions: one flow for every provider whose link ends somewhere other than Causeway's
 * credentials form (the bank's consent page, Plaid Hosted Link, a GoCardless requisition).
 *
 *   create / repair ──► pre_init (state hash, 24 h) ──► openLinkSession: provider.startLink ──► { url, reference, expiresAt }
 *   the user at the provider ──► GET /link/return?state=… (or the sandbox consent form)
 *        ──► completeLinkSession: provider.completeLink(params, reference)
 *              granted ──► init + access, consent dates, consent.granted ──► create/repair job ──► active
 *              denied  ──► failed (first link) or unchanged with its data (a repair)
 *              pending ──► still pre_init; times out as abandoned
 *
 * The provider is called outside any transaction (it may take seconds); the connection is found
 * again, locked, by its state afterwards, so an unlink or delete in between wins.
 */
import { AppError } from '../domain/errors.js';
import { allowedActions, InvalidTransitionError, transition, type FailureCode } from '../domain/status.js';
import { STATUS_REASONS, type Product, type StatusReason } from '../domain/types.js';
import { findConnectionByAuthState, findLiveConnectionsAt, lockConnectionWithLiveJob, stateOf, updateConnection, type ConnectionRow } from '../db/repos/connections.js';
import { findApplication, type ApplicationRow } from '../db/repos/applications.js';
import { connectionEvent, insertEvent } from '../db/repos/events.js';
import { cancelLiveJob, insertJobUnlessLive, type JobRow } from '../db/repos/jobs.js';
import { withTransaction } from '../db/transaction.js';
import { ProviderError, type AuthorizationGrant, type LinkResult } from '../providers/types.js';
import { newJobRow } from './connections.js';
import { tenantClock, type Core } from './core.js';
import { sha256 } from './crypto.js';
import { providerFor, settingsFor } from './providers.js';
import { callProvider, type CallScope } from './sync/journal.js';
import { grantAccess, grantEventData, grantPatch, linkOf, providerInstitutionOf, providerWebhookUrl } from './sync/grant.js';
import { catalogueId } from './catalogue.js';

/** Causeway's one return route: every provider sends the user back here with the connection's state. */
export function returnUrl(core: Core, state: string): string {
  return `${core.publicUrl()}/link/return?state=${encodeURIComponent(state)}`;
}

async function scopeFor(core: Core, application: ApplicationRow, c: ConnectionRow, runKey: string): Promise<CallScope> {
  const provider = providerFor(core, c);
  const clock = tenantClock(core, application);
  return {
    core, provider, settings: (await settingsFor(core, application, provider)) ?? {}, applicationId: c.applicationId, connectionId: c.id,
    institutionId: c.institutionId, jobId: null, now: () => clock.now(), runKey,
    simulatedOutage: application.sandboxOutages.includes(c.institutionId), simulatedRateLimitSeconds: application.sandboxRateLimits[c.institutionId] ?? null,
  };
}

export interface LinkView { url: string; reference: string; expiresAt: string }

/**
 * Starts the provider's side of a link for a connection that is waiting with this state (just
 * created or repaired, committed). `update`: a repair or new products on a link that exists.
 * A provider failure answers 502 and leaves the connection waiting: repairing it starts again.
 */
export async function openLinkSession(core: Core, application: ApplicationRow, c: ConnectionRow, state: string, opts: { update: boolean; products: Product[] }): Promise<LinkView> {
  const scope = await scopeFor(core, application, c, `link:${c.id}`);
  const session = await callProvider(scope, 'startLink', (p, ctx) => {
    if (!p.startLink) throw new ProviderError('provider_error', `The ${p.name} provider has no link page.`, false, 'link_not_supported');
    return p.startLink({
      institutionId: providerInstitutionOf(c), products: opts.products, state, returnUrl: returnUrl(core, state),
      webhookUrl: providerWebhookUrl(core, p.id), userId: c.userId, update: opts.update ? linkOf(core, c) : null,
    }, ctx);
  }).catch((err: unknown) => {
    if (!(err instanceof ProviderError)) throw err;
    throw new AppError('provider_unavailable', `${scope.provider.name} could not start the link (${err.providerCode}): ${err.message}. The connection waits; repair it to try again.`,
      { connectionId: c.id, providerCode: err.providerCode, providerRequestId: err.requestId });
  });
  // Kept only while the same attempt is the connection's: a newer one (a second repair) has its own.
  await withTransaction(core.db, async (tx) => {
    const current = await findConnectionByAuthState(tx, sha256(state), { forUpdate: true });
    if (!current) return;
    const expires = current.authExpiresAt && current.authExpiresAt < session.expiresAt ? current.authExpiresAt : session.expiresAt;
    await updateConnection(tx, current.id, { linkReferenceEnc: core.cipher.encrypt(session.reference), authExpiresAt: expires });
  });
  return { url: session.url, reference: session.reference, expiresAt: session.expiresAt.toISOString() };
}

export interface LinkOutcome {
  connection: ConnectionRow;
  job: JobRow | null;
  /** What the user did at the provider. `duplicate`: they linked a connection they already had, which is refreshed instead. */
  result: 'granted' | 'denied' | 'pending' | 'duplicate';
  message: string | null;
}

const unknownLink = () => new AppError('not_found', 'This link is not valid any more. Start the connection again from the app.');

/**
 * The user came back from the provider (GET /link/return, or the sandbox's consent form). The
 * provider reads its own callback; Causeway moves the connection on.
 */
export async function completeLinkSession(core: Core, state: string, params: Record<string, string>): Promise<LinkOutcome> {
  const stateHash = sha256(state);
  const before = await findConnectionByAuthState(core.db, stateHash);
  if (!before) throw unknownLink();
  const application = await findApplication(core.db, before.applicationId);
  if (!application) throw unknownLink();
  const now = tenantClock(core, application).now();
  if (before.authExpiresAt && before.authExpiresAt < now) {
    throw new AppError('authorization_expired', 'This authorisation link has expired. Start again from the app to get a new one.');
  }
  checkTransition(before, 'authorization_granted');
  // Update mode where the link still has its access (a repair, new products); a fresh link after an unlink dropped it.
  const update = before.accessEnc !== null;
  const scope = await scopeFor(core, application, before, `link:${before.id}`);
  const reference = before.linkReferenceEnc ? core.cipher.decrypt(before.linkReferenceEnc) : '';
  const result: LinkResult = await callProvider(scope, 'completeLink', (p, ctx) => {
    if (!p.completeLink) throw new ProviderError('provider_error', `The ${p.name} provider has no link to complete.`, false, 'link_not_supported');
    return p.completeLink({ institutionId: providerInstitutionOf(before), params, reference, update: update ? linkOf(core, before) : null }, ctx);
  }).catch((err: unknown) => {
    if (!(err instanceof ProviderError)) throw err;
    // The link stays valid: the user (or the page) can come back to it once the provider answers.
    throw new AppError('provider_unavailable', `${scope.provider.name} did not answer (${err.providerCode}). Reload this page in a moment to finish linking.`,
      { providerCode: err.providerCode, providerRequestId: err.requestId });
  });
  if (result.kind === 'pending') return { connection: before, job: null, result: 'pending', message: 'The bank has not finished the authorisation yet.' };
  if (result.kind === 'granted' && !update) {
    const duplicate = await duplicateOf(core, before, result.grant);
    if (duplicate) return adoptDuplicate(core, scope, before, duplicate, result.grant, stateHash);
  }
  return withTransaction(core.db, async (tx) => {
    // Locked, so an unlink or delete at the same moment either comes first (the link is then dead) or waits.
    const c = await findConnectionByAuthState(tx, stateHash, { forUpdate: true });
    if (!c) throw unknownLink();
    const at = tenantClock(core, application).now();
    const done = { authStateHash: null, authExpiresAt: null, linkReferenceEnc: null, updatedAt: at };
    if (result.kind === 'denied') {
      const next = checkTransition(c, 'authorization_denied', result.code);
      // A first link refused for a reason other than the user's no (the institution failed, the login is
      // locked) says so, as a first web attempt does (PRODUCT.md §2: failed with the error as its reason).
      const reason = next.status === 'failed' && (STATUS_REASONS as readonly string[]).includes(result.code)
        ? result.code as StatusReason : next.reason;
      const connection = await updateConnection(tx, c.id, { ...done, status: next.status, statusReason: reason });
      return { connection, job: null, result: 'denied' as const, message: result.message };
    }
    const next = checkTransition(c, 'authorization_granted');
    const grant = result.grant;
    // The user is here with a new grant: it replaces whatever job was running on the old access.
    await cancelLiveJob(tx, c.id, at, 'A new authorisation replaced this job.');
    const connection = await updateConnection(tx, c.id, { ...done, status: next.status, statusReason: next.reason, ...grantPatch(core, grant) });
    await insertEvent(tx, connectionEvent(c, 'consent.granted', grantEventData(grant, { renewed: c.consentGrantedAt !== null, imported: false, jobId: null }), null, at));
    const { job } = await insertJobUnlessLive(tx, newJobRow(connection, c.firstSyncedAt ? 'repair' : 'create', 'user', connection.products as Product[], at));
    return { connection, job, result: 'granted' as const, message: null };
  }).then(async (outcome) => {
    if (outcome.job) await core.queue.enqueue(outcome.job);
    return outcome;
  }, async (err: unknown) => {
    // The connection was unlinked or deleted while the provider answered: the access just issued must not outlive it.
    if (result.kind === 'granted' && !update) await revokeGrant(core, scope, before, result.grant);
    throw err;
  });
}

async function revokeGrant(core: Core, scope: CallScope, c: ConnectionRow, grant: AuthorizationGrant): Promise<void> {
  const link = { institutionId: providerInstitutionOf(c), access: grantAccess(grant), firstSyncedAt: null };
  await callProvider(scope, 'revoke', (p, ctx) => p.revoke(link, ctx)).catch((err: unknown) => {
    core.log.warn({ err, connectionId: c.id }, 'a link granted for a connection that is gone could not be removed at the provider');
  });
}

function checkTransition(c: ConnectionRow, type: 'authorization_granted' | 'authorization_denied', code?: string) {
  try {
    return transition(stateOf(c), type === 'authorization_denied' && code ? { type, code: code as FailureCode } : { type });
  } catch (err) {
    if (!(err instanceof InvalidTransitionError)) throw err;
    throw new AppError('not_found', `This authorisation link no longer applies: the connection is ${c.status}. Start again from the app.`);
  }
}

/**
 * Another live connection of the same user at the same institution through the same provider,
 * sharing an account (by mask, where the provider tells masks before any data call): the user
 * linked the same bank login twice. Banks may invalidate the older link, and providers bill per link.
 */
async function duplicateOf(core: Core, c: ConnectionRow, grant: AuthorizationGrant): Promise<ConnectionRow | null> {
  const masks = new Set((grant.accounts ?? []).map((a) => a.mask).filter((m): m is string => !!m));
  if (masks.size === 0) return null;
  const institutionId = grant.institutionId ? catalogueId(c.provider, grant.institutionId) : c.institutionId;
  const others = await findLiveConnectionsAt(core.db, c.applicationId, c.userId, institutionId, c.id);
  for (const other of others) {
    if (other.provider !== c.provider) continue;
    if (other.accountMasks.some((m) => masks.has(m))) return other;
  }
  return null;
}

/**
 * A duplicate link: the new link is removed at the provider, the waiting connection ends as failed
 * (`duplicate_connection`), and the existing connection is refreshed, so the user ends where they
 * were with fresh data, on the connection the app already knows.
 */
async function adoptDuplicate(core: Core, scope: CallScope, c: ConnectionRow, existing: ConnectionRow, grant: AuthorizationGrant, stateHash: string): Promise<LinkOutcome> {
  await revokeGrant(core, scope, c, grant);
  const { connection, job } = await withTransaction(core.db, async (tx) => {
    const locked = await findConnectionByAuthState(tx, stateHash, { forUpdate: true });
    if (!locked) throw unknownLink();
    const next = checkTransition(locked, 'authorization_denied');
    const at = scope.now();
    await insertEvent(tx, connectionEvent(locked, 'connection.duplicate_link', { existingConnectionId: existing.id }, null, at));
    const connection = await updateConnection(tx, locked.id, {
      status: next.status, statusReason: next.status === 'failed' ? 'duplicate_connection' : next.reason,
      authStateHash: null, authExpiresAt: null, linkReferenceEnc: null, updatedAt: at,
    });
    // The existing connection is synced again now the user is here (a job already in flight does it).
    const mine = await lockConnectionWithLiveJob(tx, existing.applicationId, existing.id, existing.userId);
    if (!mine || mine.live) return { connection, job: null };
    // A plain active connection (the usual duplicate) allows refresh, not repair: either lets it be synced now.
    const actions = allowedActions(stateOf(mine.connection));
    if (!actions.includes('repair') && !actions.includes('refresh')) return { connection, job: null };
    const { job } = await insertJobUnlessLive(tx, newJobRow(mine.connection, 'repair', 'user', mine.connection.products as Product[], at));
    return { connection, job };
  });
  if (job) await core.queue.enqueue(job);
  return { connection, job, result: 'duplicate', message: `This bank is already connected (${existing.id}); it is being refreshed instead.` };
}

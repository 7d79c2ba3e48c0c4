/**
 * Repair and update products (PRODUCT.md §3): the same connection, the same account ids, never a
 * second connection and never history fetched twice.
 *
 *   repair, web          new credentials ─► pending ─► repair job ─► active (new accounts added)
 *   repair, openbanking  a new authorisation URL; approval ─► init ─► repair job (renews consent)
 *                        ─► active. A connection that never synced (pre_init, failed) is resumed.
 *   repair, token        a new setup token, claimed ─► init + new access ─► repair job (services/token-link.ts)
 *   update products      products added; on active/degraded a job fetches them best-effort
 *                        (a product that fails gives active + partial_data)
 */
import { AppError, notFound } from '../domain/errors.js';
import { allowedActions, transition } from '../domain/status.js';
import { withAccountsProduct } from '../domain/steps.js';
import type { ConnectionAction, ConnectionStatus, Product } from '../domain/types.js';
import { findClashes, lockConnectionWithLiveJob, stateOf, updateConnection, type ConnectionRow } from '../db/repos/connections.js';
import { cancelLiveJob, findLiveJob, insertJobUpdatingConnection, type JobRow } from '../db/repos/jobs.js';
import { connectionEvent, insertEvent } from '../db/repos/events.js';
import type { Db } from '../db/open.js';
import { withTransaction } from '../db/transaction.js';
import type { ProviderAccess } from '../providers/types.js';
import { AUTHORIZATION_WINDOW_MS, conflicting, connectionNotFound, invalidState, newJobRow, presentConnection, requireConnection } from './connections.js';
import { insertProviderCalls } from '../db/repos/provider-calls.js';
import { providerFor } from './providers.js';
import { grantEventData, grantPatch } from './sync/grant.js';
import { claimPasted } from './token-link.js';
import { lockUser } from '../db/repos/locks.js';
import { tenantClock, type Core, type Tenant } from './core.js';
import { findInstitution } from './catalogue.js';
import { openLinkSession } from './link.js';
import { randomToken, sha256 } from './crypto.js';
import { jobView } from './views.js';

/** `linkState`: a new link session to open once committed (openbanking, hosted). */
type Outcome = { connection: ConnectionRow; job: JobRow | null; linkState: string | null };

/** Locks the connection, checks the action is allowed and no job is in flight. */
/** A background refresh still waiting in the queue: a user's repair goes first. */
function givesWay(job: JobRow): boolean {
  return job.status === 'queued' && job.type === 'refresh' && (job.trigger === 'scheduled' || job.trigger === 'system');
}

async function lockFor(core: Core, tenant: Tenant, tx: Db, userId: string, connectionId: string, action: ConnectionAction, verb: string) {
  const found = await lockConnectionWithLiveJob(tx, tenant.application.id, connectionId, userId);
  if (!found) return connectionNotFound(core, tenant, userId, connectionId, tx);
  const c = found.connection;
  if (!allowedActions(stateOf(c)).includes(action)) throw invalidState(c, verb);
  // The user is here to repair: a background refresh still waiting in the queue gives way (it would
  // meet the same broken access). One already running is waited for.
  if (found.live && action === 'repair' && givesWay(found.live)) {
    await cancelLiveJob(tx, c.id, tenantClock(core, tenant.application).now(), 'The user repaired the connection; this background refresh gave way.');
    return c;
  }
  if (found.live) {
    throw new AppError('job_in_progress', `Job ${found.live.id} is ${found.live.status} for this connection; wait for it to finish (GET /v1/jobs/${found.live.id}), then try again.`,
      { jobId: found.live.id, connectionStatus: c.status as ConnectionStatus, allowedActions: allowedActions(stateOf(c)) });
  }
  return c;
}

async function finishOutcome(core: Core, tenant: Tenant, o: Outcome) {
  if (o.job) await core.queue.enqueue(o.job);
  // A connection that has access (it synced, or was linked) is repaired in the provider's update mode: same link, same accounts.
  const link = o.linkState
    ? await openLinkSession(core, tenant.application, o.connection, o.linkState, { update: o.connection.accessEnc !== null, products: o.connection.products as Product[] })
    : null;
  return { connection: await presentConnection(core, tenant, o.connection), job: o.job ? jobView(o.job) : null, authorizationUrl: link?.url ?? null, link };
}

export interface RepairInput { credentials?: { login: string; password: string }; setupToken?: string }

export async function repairConnection(core: Core, tenant: Tenant, userId: string, connectionId: string, input: RepairInput) {
  const now = tenantClock(core, tenant.application).now();
  // A token connection is repaired with a new token the user made at the provider: claimed before anything is locked.
  const claimed = input.setupToken ? await claimFor(core, tenant, userId, connectionId, input.setupToken) : null;
  const outcome = await withTransaction(core.db, async (tx): Promise<Outcome> => { // a live job that appeared meanwhile (LiveJobRaceError): run again, then 409
    // The user first (`no key update`: only deleting the user takes more), then the connection: the order create and delete user take them in.
    if (!(await lockUser(tx, tenant.application.id, userId, 'no key update'))) throw notFound('user', userId);
    const c = await lockFor(core, tenant, tx, userId, connectionId, 'repair', 'be repaired');
    const st = stateOf(c);
    const loginHash = c.method === 'web' && input.credentials ? core.cipher.fingerprint(`${c.institutionId}\n${input.credentials.login}`) : null;
    // A failed or unlinked connection coming back must not sit beside a live one by the other method.
    const clashes = await findClashes(tx, { applicationId: c.applicationId, userId, institutionId: c.institutionId, method: c.method, loginHash: null, excludeId: c.id });
    if (clashes?.otherMethod) {
      throw conflicting(clashes.otherMethod.id, (await findInstitution(core, c.institutionId, tx))?.name ?? c.institutionId, clashes.otherMethod.method);
    }
    if (c.method === 'web') {
      if (!input.credentials) {
        throw new AppError('credentials_required', 'Send the new credentials { login, password } to repair a web connection.',
          { errors: [{ field: 'body.credentials', message: 'required for method web' }] });
      }
      const next = transition(st, { type: 'repair_started' });
      const access: ProviderAccess = { kind: 'web', ...input.credentials };
      const patch = {
        status: next.status, statusReason: next.reason, accessEnc: core.cipher.encrypt(JSON.stringify(access)), loginHash, pausedUntil: null, updatedAt: now,
      };
      const jobRow = newJobRow(c, 'repair', 'api', withAccountsProduct(c.products as Product[]), now);
      await insertEvent(tx, connectionEvent(c, 'connection.repair_requested', { method: c.method, jobId: jobRow.id }, tenant.actor ?? null, now));
      const job = await insertJobUpdatingConnection(tx, jobRow, patch);
      return { connection: { ...c, ...patch }, job, linkState: null };
    }
    if (c.method === 'token') {
      if (!claimed) {
        throw new AppError('setup_token_required', 'Send a new setupToken the user made at the provider to repair a token connection.',
          { errors: [{ field: 'body.setupToken', message: 'required for method token' }] });
      }
      const next = transition(st, { type: 'repair_started' });
      const patch = { status: next.status, statusReason: next.reason, loginHash: claimed.loginHash, updatedAt: now, ...grantPatch(core, claimed.grant) };
      const jobRow = newJobRow(c, 'repair', 'api', withAccountsProduct(c.products as Product[]), now);
      await insertProviderCalls(tx, [{ ...claimed.call, connectionId: c.id }]);
      await insertEvent(tx, connectionEvent(c, 'connection.repair_requested', { method: c.method, jobId: jobRow.id }, tenant.actor ?? null, now));
      await insertEvent(tx, connectionEvent(c, 'consent.granted', grantEventData(claimed.grant, { renewed: true, imported: false, jobId: jobRow.id }), null, now));
      const job = await insertJobUpdatingConnection(tx, jobRow, patch);
      return { connection: { ...c, ...patch }, job, linkState: null };
    }
    if (input.setupToken) {
      throw new AppError('validation_failed', 'Only token connections take a setupToken.', { errors: [{ field: 'body.setupToken', message: `not allowed for method ${c.method}` }] });
    }
    if (input.credentials) {
      throw new AppError('credentials_not_allowed', `${c.method === 'hosted' ? 'Hosted' : 'Openbanking'} connections are repaired at the ${c.method === 'hosted' ? 'provider' : 'institution'}; do not send credentials.`,
        { errors: [{ field: 'body.credentials', message: `not allowed for method ${c.method}` }] });
    }
    // A new authorisation. A connection that never synced is resumed (pre_init); one that did keeps
    // its status, and its data, until the user approves.
    const next = st.everSynced ? { status: st.status, reason: st.reason } : transition(st, { type: 'authorization_started' });
    const state = randomToken();
    const connection = await updateConnection(tx, c.id, {
      status: next.status, statusReason: next.reason, authStateHash: sha256(state), authExpiresAt: new Date(now.getTime() + AUTHORIZATION_WINDOW_MS),
      updatedAt: now,
    });
    await insertEvent(tx, connectionEvent(c, 'connection.repair_requested', { method: c.method, jobId: null }, tenant.actor ?? null, now));
    return { connection, job: null, linkState: state };
  });
  return finishOutcome(core, tenant, outcome);
}

/**
 * Adds products to a connection. On an active or degraded connection a job fetches them (and the
 * accounts) best-effort; otherwise they are fetched by the connection's next sync.
 */
export async function updateProducts(core: Core, tenant: Tenant, userId: string, connectionId: string, products: Product[]) {
  const now = tenantClock(core, tenant.application).now();
  const outcome = await withTransaction(core.db, async (tx): Promise<Outcome> => { // a live job that appeared meanwhile (LiveJobRaceError): run again, then 409
    const c = await lockFor(core, tenant, tx, userId, connectionId, 'update_products', 'take new products');
    const institution = await findInstitution(core, c.institutionId, tx);
    const unsupported = products.filter((p) => !institution?.products.includes(p));
    if (unsupported.length > 0) {
      throw new AppError('unsupported_product', `${institution?.name ?? c.institutionId} does not offer ${unsupported.join(', ')}.`,
        { errors: [{ field: 'body.products', message: `supported: ${institution?.products.join(', ') ?? 'none'}` }] });
    }
    const added = products.filter((p) => !c.products.includes(p));
    if (added.length === 0) {
      throw new AppError('products_already_linked', `The connection already has ${products.join(', ')}. Refresh it to fetch them again.`,
        { errors: [{ field: 'body.products', message: `the connection has: ${c.products.join(', ')}` }] });
    }
    // A provider-hosted link may need the user's consent for the new products (Plaid's update mode):
    // a link session is opened too, for the app to send the user to when the job reports it.
    const state = c.method === 'hosted' && c.accessEnc ? randomToken() : null;
    const patch = {
      products: [...c.products, ...added], updatedAt: now,
      ...(state ? { authStateHash: sha256(state), authExpiresAt: new Date(now.getTime() + AUTHORIZATION_WINDOW_MS) } : {}),
    };
    const recorded = (jobId: string | null) =>
      insertEvent(tx, connectionEvent(c, 'connection.products_updated', { added, products: patch.products, jobId }, tenant.actor ?? null, now));
    if (c.status !== 'active' && c.status !== 'degraded') {
      await recorded(null);
      return { connection: await updateConnection(tx, c.id, patch), job: null, linkState: state };
    }
    const job = await insertJobUpdatingConnection(tx, newJobRow(c, 'update_products', 'api', withAccountsProduct(added), now), patch);
    await recorded(job.id);
    return { connection: { ...c, ...patch }, job, linkState: state };
  });
  return finishOutcome(core, tenant, outcome);
}

/** The claim of a token repair, at the connection's provider (a connection of another method is refused inside the repair). */
async function claimFor(core: Core, tenant: Tenant, userId: string, connectionId: string, setupToken: string) {
  const c = await requireConnection(core, tenant, userId, connectionId);
  // A repair the status or a job in flight refuses must not spend the token (a claim works once): the lock below refuses it, with nothing claimed.
  if (c.method !== 'token' || !allowedActions(stateOf(c)).includes('repair')) return null;
  const live = await findLiveJob(core.db, c.id);
  if (live && !givesWay(live)) return null;
  return claimPasted(core, tenant.application, providerFor(core, c), c.institutionId, setupToken);
}

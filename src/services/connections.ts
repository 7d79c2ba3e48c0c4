/**
 * Connection use cases: create (web and openbanking), read, refresh, and the openbanking
 * authorisation round trip. Jobs are created here and run by src/services/sync/run.ts.
 */
import { newId } from '../domain/ids.js';
import { backgroundAllowedAt, refreshBudget, spendRefresh, withinProvider } from '../domain/budget.js';
import { scopesOf } from './budgets.js';
import { AppError, notFound } from '../domain/errors.js';
import { allowedActions } from '../domain/status.js';
import { planSteps, withAccountsProduct } from '../domain/steps.js';
import type { JobTrigger, JobType, Method, Product } from '../domain/types.js';
import {
  findClashes, findConnection, insertConnection, listConnections, lockConnectionWithLiveJob, stateOf, type ConnectionRow,
} from '../db/repos/connections.js';
import { insertJobUnlessLive, insertJobUpdatingConnection } from '../db/repos/jobs.js';
import { canUse, providerById, providerFor, requireUsable } from './providers.js';
import { findInstitution } from './catalogue.js';
import { cachedInstitution, cachedInstitutions } from './limits.js';
import { openLinkSession } from './link.js';
import { connectWithToken } from './token-link.js';
import { requireUser } from './users.js';
import type { Db } from '../db/open.js';
import { withTransaction } from '../db/transaction.js';
import type { ProviderAccess } from '../providers/types.js';
import { tenantClock, type Core, type Tenant } from './core.js';
import { randomToken, sha256 } from './crypto.js';
import { connectionView, jobView } from './views.js';
import { idPage, readIdCursor } from './cursor.js';

/** How long a user has to finish an openbanking authorisation (PRODUCT.md §2). */
export const AUTHORIZATION_WINDOW_MS = 24 * 3600_000;

export interface CreateConnectionInput {
  institutionId: string;
  method: Method;
  credentials?: { login: string; password: string };
  /** token: what the user pasted (a SimpleFIN setup token). */
  setupToken?: string;
  products?: Product[];
}

export async function requireConnection(core: Core, tenant: Tenant, userId: string, connectionId: string, db: Db = core.db) {
  const c = await findConnection(db, tenant.application.id, connectionId, { userId });
  return c ?? connectionNotFound(core, tenant, userId, connectionId, db);
}

export async function connectionNotFound(core: Core, tenant: Tenant, userId: string, connectionId: string, db: Db): Promise<never> {
  await requireUser(core, tenant, userId, db); // only to say which of the two ids is unknown
  throw notFound('connection', connectionId);
}

export async function presentConnection(core: Core, tenant: Tenant, c: ConnectionRow) {
  return (await presentConnections(core, tenant, [c]))[0]!;
}

/** Many connections, with one read of their institutions (and of the provider budgets of those whose provider reports them). */
export async function presentConnections(core: Core, tenant: Tenant, rows: ConnectionRow[]) {
  // Kept a minute per process, as the job path keeps them (limits.ts): a refresh's answer made a read of its own otherwise.
  const institutions = await cachedInstitutions(core, rows.map((c) => c.institutionId));
  const now = tenantClock(core, tenant.application).now();
  const scopes = await scopesOf(core.db, rows.filter((c) => providerFor(core, c).reportsBudgets).map((c) => c.id), now);
  return rows.map((c) => connectionView(c, institutions.get(c.institutionId) ?? null, now, scopes.get(c.id), providerFor(core, c).revokeNotice ?? null));
}

export function newJobRow(c: ConnectionRow, type: JobType, trigger: JobTrigger, products: Product[], now: Date) {
  return {
    id: newId('job', now.getTime()), applicationId: c.applicationId, userId: c.userId, connectionId: c.id, type, trigger,
    status: 'queued', products, steps: planSteps(type, c.method as Method, products), queueJobId: crypto.randomUUID(),
    createdAt: now, updatedAt: now,
  } as const;
}

export async function createConnection(core: Core, tenant: Tenant, userId: string, input: CreateConnectionInput) {
  await requireUser(core, tenant, userId);
  const now = tenantClock(core, tenant.application).now();
  const institution = await institutionForNewConnection(core, tenant, input.institutionId);
  // institutionForNewConnection checked the application may use it (settings read once).
  const provider = providerById(core, institution.provider);
  if (!institution.methods.includes(input.method)) {
    throw new AppError('unsupported_method', `${institution.name} supports ${institution.methods.join(' and ')}, not ${input.method}.`,
      { errors: [{ field: 'body.method', message: `must be one of: ${institution.methods.join(', ')}` }] });
  }
  const products = input.products ?? institution.products.filter((p) => p !== 'investments');
  const unsupported = products.filter((p) => !institution.products.includes(p));
  if (unsupported.length > 0) {
    throw new AppError('unsupported_product', `${institution.name} does not offer ${unsupported.join(', ')}.`,
      { errors: [{ field: 'body.products', message: `supported: ${institution.products.join(', ')}` }] });
  }
  const withAccounts = withAccountsProduct(products);
  const base = {
    id: newId('con', now.getTime()), applicationId: tenant.application.id, userId, institutionId: institution.id,
    provider: provider.id, providerInstitutionId: institution.providerInstitutionId, method: input.method, products: withAccounts, createdAt: now, updatedAt: now,
  };
  if (input.method === 'web') {
    if (!input.credentials) {
      throw new AppError('credentials_required', 'Send credentials { login, password } to create a web connection.',
        { errors: [{ field: 'body.credentials', message: 'required for method web' }] });
    }
    const access: ProviderAccess = { kind: 'web', ...input.credentials };
    const loginHash = core.cipher.fingerprint(`${institution.id}\n${input.credentials.login}`);
    // A provider's shared test persona (the sandbox's user_good) is no one person's login: it pauses per user only.
    const acrossUsers = !provider.sharedLogin?.(input.credentials.login);
    const { connection, job } = await withTransaction(core.db, async (tx) => {
      const clashes = await findClashes(tx, { ...base, loginHash, acrossUsers });
      if (!clashes) throw notFound('user', userId); // deleted meanwhile
      if (clashes.otherMethod) throw conflicting(clashes.otherMethod.id, institution.name, clashes.otherMethod.method);
      // The same login twice at once can lock the user out at the bank (Basiq), whichever of the
      // application's users entered it: the new one waits.
      const paused = clashes.sameLogin !== null || clashes.sameLoginElsewhere !== null;
      const connection = await insertConnection(tx, {
        ...base, status: 'pending', statusReason: paused ? 'duplicate_credentials' : null, loginHash,
        pausedUntil: paused ? new Date(now.getTime() + DUPLICATE_PAUSE_MS) : null, accessEnc: core.cipher.encrypt(JSON.stringify(access)),
      });
      const { job } = await insertJobUnlessLive(tx, newJobRow(connection, 'create', 'api', withAccounts, now));
      return { connection, job };
    });
    if (!connection.pausedUntil) await core.queue.enqueue(job); // a paused job is sent when the pause ends (services/due.ts)
    return { connection: await presentConnection(core, tenant, connection), job: jobView(job), authorizationUrl: null, link: null };
  }
  if (input.method === 'token') {
    if (input.credentials) {
      throw new AppError('credentials_not_allowed', 'Token connections take the setupToken the user pasted, not credentials.',
        { errors: [{ field: 'body.credentials', message: 'not allowed for method token' }] });
    }
    if (!input.setupToken) {
      throw new AppError('setup_token_required', `Send the setupToken the user pasted from ${provider.name} to create a token connection.`,
        { errors: [{ field: 'body.setupToken', message: 'required for method token' }] });
    }
    return connectWithToken(core, tenant, { ...base, userId }, institution, provider, input.setupToken);
  }
  if (input.setupToken) throw new AppError('validation_failed', 'Only token connections take a setupToken.', { errors: [{ field: 'body.setupToken', message: `not allowed for method ${input.method}` }] });
  if (input.credentials) {
    throw new AppError('credentials_not_allowed', `${input.method === 'hosted' ? 'Hosted' : 'Openbanking'} connections are authorised at the ${input.method === 'hosted' ? 'provider' : 'institution'}; do not send credentials.`,
      { errors: [{ field: 'body.credentials', message: `not allowed for method ${input.method}` }] });
  }
  const state = randomToken();
  const connection = await withTransaction(core.db, async (tx) => {
    const clashes = await findClashes(tx, { ...base, loginHash: null });
    if (!clashes) throw notFound('user', userId);
    if (clashes.otherMethod) throw conflicting(clashes.otherMethod.id, institution.name, clashes.otherMethod.method);
    return insertConnection(tx, {
      ...base, status: 'pre_init', statusReason: null, authStateHash: sha256(state), authExpiresAt: new Date(now.getTime() + AUTHORIZATION_WINDOW_MS),
    });
  });
  const link = await openLinkSession(core, tenant.application, connection, state, { update: false, products: withAccounts });
  return { connection: await presentConnection(core, tenant, connection), job: null, authorizationUrl: link.url, link };
}

/** The institution a new connection names: in the catalogue, of a provider the application can use. */
async function institutionForNewConnection(core: Core, tenant: Tenant, id: string) {
  const found = await findInstitution(core, id);
  if (!found) throw notFound('institution', id);
  const provider = providerById(core, found.provider);
  // A sandbox institution asked for by a live application: say why, rather than "not found".
  if (provider.sandboxOnly && tenant.application.environment !== 'sandbox') await requireUsable(core, tenant.application, provider);
  if (!(await canUse(core, tenant.application, provider))) throw notFound('institution', id);
  return found;
}

/** A new web connection with the same login at the same institution as a live one in the application waits this long (PRODUCT.md §3). */
export const DUPLICATE_PAUSE_MS = 6 * 60_000;

export function conflicting(otherId: string, institution: string, otherMethod: string) {
  return new AppError('conflicting_connection',
    `This user already has the ${otherMethod} connection ${otherId} to ${institution}. Repair or delete that one instead of adding a second.`,
    { connectionId: otherId });
}

export async function listUserConnections(core: Core, tenant: Tenant, userId: string, after: string | null, limit: number) {
  await requireUser(core, tenant, userId);
  const rows = await listConnections(core.db, tenant.application.id, userId, readIdCursor(core, tenant, 'user_connections', after), limit + 1);
  const page = idPage(core, tenant, 'user_connections', rows, limit, (c) => c);
  return { ...page, data: await presentConnections(core, tenant, page.data) };
}

/** 409 for an action the connection's status does not allow, with the status and what it allows. */
export function invalidState(c: ConnectionRow, verb: string) {
  const st = stateOf(c);
  const actions = allowedActions(st);
  return new AppError('invalid_state', `A connection that is ${st.status} cannot ${verb}. Allowed now: ${actions.length ? actions.join(', ') : 'nothing'}.`,
    { connectionStatus: st.status, allowedActions: actions });
}

/**
 * Starts a refresh, or answers the job already in flight for the connection (created: false).
 * Ad hoc refreshes spend the refresh budget; a spent budget answers 429 with when to come back.
 */
export async function refreshConnection(
  core: Core, tenant: Tenant, userId: string, connectionId: string, products: Product[] | undefined, trigger: JobTrigger = 'api',
  /** The scheduler's planned start at the institution's pace (wall clock); otherwise at once. */
  startAfter?: Date,
) {
  const now = tenantClock(core, tenant.application).now();
  // A live job committed after the read (LiveJobRaceError) runs the transaction again: the second read sees it.
  const result = await startRefresh(core, tenant, userId, connectionId, products, trigger, now);
  if (result.created) await core.queue.enqueue(result.job, startAfter);
  return { connection: await presentConnection(core, tenant, result.connection), job: jobView(result.job), created: result.created };
}

function startRefresh(core: Core, tenant: Tenant, userId: string, connectionId: string, products: Product[] | undefined, trigger: JobTrigger, now: Date) {
  return withTransaction(core.db, async (tx) => {
    const found = await lockConnectionWithLiveJob(tx, tenant.application.id, connectionId, userId);
    if (!found) return connectionNotFound(core, tenant, userId, connectionId, tx);
    const c = found.connection;
    if (found.live) return { connection: c, job: found.live, created: false };
    if (!allowedActions(stateOf(c)).includes('refresh')) throw invalidState(c, 'be refreshed');
    const wanted = products ?? (c.products as Product[]);
    const notLinked = wanted.filter((p) => !c.products.includes(p));
    if (notLinked.length > 0) {
      throw new AppError('unsupported_product', `This connection was not linked for ${notLinked.join(', ')}; add products first.`,
        { errors: [{ field: 'body.products', message: `the connection has: ${c.products.join(', ')}` }] });
    }
    // The provider said there is new data (a webhook): one refresh, coalesced with any in flight, outside the app's budget.
    if (trigger === 'system') {
      const job = await insertJobUpdatingConnection(tx, newJobRow(c, 'refresh', trigger, withAccountsProduct(wanted), now), { updatedAt: now });
      return { connection: c, job, created: true };
    }
    const institution = await cachedInstitution(core, c.institutionId, tx);
    const budgetState = { refreshDay: c.refreshDay, refreshesToday: c.refreshesToday, lastRefreshAt: c.lastRefreshAt };
    const limits = institution?.limits ?? { refreshesPerDay: 0, minIntervalSeconds: 0 };
    const scopes = providerFor(core, c).reportsBudgets ? (await scopesOf(tx, [c.id], now)).get(c.id) ?? [] : [];
    const budget = withinProvider(refreshBudget(budgetState, limits, now), scopes);
    const allowedAt = trigger === 'scheduled' ? backgroundAllowedAt(budget, limits.refreshesPerDay, now) : budget.nextRefreshAllowedAt;
    if (budget.remainingToday === 0 || allowedAt > now) {
      const retryAfter = Math.max(1, Math.ceil((allowedAt.getTime() - now.getTime()) / 1000));
      throw new AppError('refresh_budget_exhausted',
        `This connection may be refreshed again at ${allowedAt.toISOString()} (${budget.remainingToday} left today). Background refreshes keep it fresh meanwhile.`,
        { refreshBudget: { remainingToday: budget.remainingToday, nextRefreshAllowedAt: allowedAt.toISOString() } },
        { 'retry-after': String(retryAfter) });
    }
    const patch = { ...spendRefresh(budgetState, now), updatedAt: now };
    const job = await insertJobUpdatingConnection(tx, newJobRow(c, 'refresh', trigger, withAccountsProduct(wanted), now), patch);
    return { connection: { ...c, ...patch }, job, created: true };
  });
}

/** Refreshes every connection of the user that may be refreshed now; reports the others. */
export async function refreshAllConnections(core: Core, tenant: Tenant, userId: string, products: Product[] | undefined) {
  await requireUser(core, tenant, userId);
  const all = await listConnections(core.db, tenant.application.id, userId, null, 1000);
  const started: { connectionId: string; job: ReturnType<typeof jobView>; created: boolean }[] = [];
  const skipped: { connectionId: string; code: string; message: string }[] = [];
  for (const c of all) {
    try {
      const wanted = products?.filter((p) => c.products.includes(p));
      const r = await refreshConnection(core, tenant, userId, c.id, wanted);
      started.push({ connectionId: c.id, job: r.job, created: r.created });
    } catch (err) {
      if (!(err instanceof AppError)) throw err;
      skipped.push({ connectionId: c.id, code: err.code, message: err.message });
    }
  }
  return { data: started, skipped };
}

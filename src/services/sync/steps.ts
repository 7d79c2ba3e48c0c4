/** What each job step does. Every provider call goes through `call`, which journals it. */
import { addDays, isoDay, type Clock } from '../../domain/clock.js';
import { newId } from '../../domain/ids.js';
import { planTransactions, type IncomingTransaction } from '../../domain/matching.js';
import type { StepName } from '../../domain/types.js';
import { updateConnection, type ConnectionRow } from '../../db/repos/connections.js';
import { applyTransactionPlan, loadStoredWindow, upsertAccounts, upsertIdentity } from '../../db/repos/data.js';
import { saveRun, stepsWith, SupersededRunError, type JobRow } from '../../db/repos/jobs.js';
import { lockConnection } from '../../db/repos/locks.js';
import { withTransaction } from '../../db/transaction.js';
import { insertProviderCalls, type ProviderCallInsert } from '../../db/repos/provider-calls.js';
import { ProviderError, type AuthorizationGrant, type ProviderCallContext, type ProviderLink } from '../../providers/types.js';
import { connectionEvent, insertEvent } from '../../db/repos/events.js';
import type { Core } from '../core.js';
import type { HeldPermit } from '../limits.js';

/** History fetched on the first sync (PRODUCT.md §5: twelve months). */
export const INITIAL_HISTORY_DAYS = 365;
/** Later syncs re-read this many days before the last synced day, to catch late changes and removals. */
export const RESYNC_OVERLAP_DAYS = 30;

export interface RunState {
  core: Core;
  clock: Clock;
  job: JobRow;
  runToken: string;
  connection: ConnectionRow;
  link: ProviderLink;
  runKey: string;
  /** Sandbox control: the application switched an outage of this institution on. */
  simulatedOutage: boolean;
  /** Sandbox control: the institution answers this application 429 with this Retry-After (seconds). */
  simulatedRateLimitSeconds: number | null;
  /** The institution permit this run holds (services/limits.ts). */
  permit: HeldPermit;
  /** How often this connection is refreshed in the background (domain/schedule.ts). */
  refreshIntervalMs: number;
  flags: { newAccounts: boolean; partialData: boolean };
  steps: JobRow['steps'];
  /** Provider calls of this run, written to the journal together when the run ends (flushJournal). */
  calls: ProviderCallInsert[];
  /** The connection's accounts, provider account id → account id: read at the start, kept up to date by retrieve-accounts. */
  accounts: Map<string, string>;
  /** The date of the connection's oldest live pending transaction, read at the start. */
  oldestPending: string | null;
}

/** Writes the run's provider calls in one statement. */
export async function flushJournal(s: RunState): Promise<void> {
  if (s.calls.length === 0) return;
  const calls = s.calls.splice(0);
  await insertProviderCalls(s.core.db, calls);
}

export type StepOutcome = { kind: 'success' | 'skipped'; resultCode: string } | { kind: 'awaiting_input' };

async function call<T>(s: RunState, operation: string, fn: (ctx: ProviderCallContext) => Promise<T>): Promise<T> {
  const startedAt = Date.now();
  let outcome = 'ok';
  let error: ProviderError | null = null;
  try {
    return await fn({ now: s.clock.now(), runKey: s.runKey, simulatedOutage: s.simulatedOutage, simulatedRateLimitSeconds: s.simulatedRateLimitSeconds });
  } catch (err) {
    outcome = 'error';
    error = err instanceof ProviderError ? err : null;
    throw err;
  } finally {
    s.calls.push({
      id: newId('call'), applicationId: s.job.applicationId, connectionId: s.job.connectionId, jobId: s.job.id, operation, outcome,
      errorCode: error?.code ?? (outcome === 'ok' ? null : 'unexpected'), providerCode: error?.providerCode ?? null,
      durationMs: Date.now() - startedAt, createdAt: s.clock.now(),
    });
  }
}

const fenceOf = (s: RunState) => ({ jobId: s.job.id, runToken: s.runToken });

const ok = (resultCode = 'ok'): StepOutcome => ({ kind: 'success', resultCode });

export async function runStep(s: RunState, name: StepName): Promise<StepOutcome> {
  switch (name) {
    case 'verify-credentials': return verifyCredentials(s);
    case 'authorize': return authorize(s);
    case 'retrieve-accounts': return retrieveAccounts(s);
    case 'retrieve-transactions': return retrieveTransactions(s);
    case 'retrieve-identity': return retrieveIdentity(s);
    case 'retrieve-investments':
    case 'enrich':
      return { kind: 'skipped', resultCode: 'not_supported' };
  }
}

async function verifyCredentials(s: RunState): Promise<StepOutcome> {
  const { core, job } = s;
  const mfaCode = job.mfaCodeEnc ? core.cipher.decrypt(job.mfaCodeEnc) : null;
  const outcome = await call(s, 'verifyCredentials', (ctx) => core.provider.verifyCredentials(s.link, mfaCode, ctx));
  if (outcome.kind === 'verified') {
    if (outcome.accessExpiresAt?.getTime() !== s.connection.accessExpiresAt?.getTime()) {
      s.connection = await updateConnection(core.db, s.connection.id, { accessExpiresAt: outcome.accessExpiresAt });
    }
    if (mfaCode) await saveRun(core.db, job.id, s.runToken, { mfaCodeEnc: null });
    return ok();
  }
  if (job.trigger === 'scheduled' || job.trigger === 'system') {
    // Nobody is there to type a code: the connection needs the user (reconnect_required / mfa_required).
    throw new ProviderError('mfa_required', 'The institution asked for a one-time code during a background refresh.', false, 'mfa_required');
  }
  const now = s.clock.now();
  const expiresAt = new Date(now.getTime() + core.config.mfaTimeoutSeconds * 1000);
  s.steps = stepsWith(s.steps, 'verify-credentials', { status: 'awaiting_input', resultCode: 'mfa_required' });
  await withTransaction(core.db, async (tx) => {
    const pending = s.connection.status === 'pending';
    if (pending) await lockConnection(tx, s.connection.applicationId, s.connection.id); // the connection before the job (db/transaction.ts)
    await saveRun(tx, job.id, s.runToken, { status: 'awaiting_input', steps: s.steps, mfaPrompt: outcome.prompt, mfaExpiresAt: expiresAt, updatedAt: now });
    if (pending) await updateConnection(tx, s.connection.id, { statusReason: 'awaiting_mfa', updatedAt: now });
  });
  await core.queue.scheduleMfaTimeout(job.id, new Date(Date.now() + core.config.mfaTimeoutSeconds * 1000));
  return { kind: 'awaiting_input' };
}

/**
 * Openbanking access: exchanges the grant the consent page sent back (create, repair), or checks
 * an imported token (import). Either way the consent dates are recorded with a consent.granted event.
 */
async function authorize(s: RunState): Promise<StepOutcome> {
  const { core } = s;
  const access = s.connection.accessEnc ? JSON.parse(core.cipher.decrypt(s.connection.accessEnc)) as { kind: string; params?: Record<string, string>; token?: string } : null;
  let grant: AuthorizationGrant;
  if (access?.kind === 'grant' && access.params) {
    const params = access.params;
    grant = await call(s, 'completeAuthorization', (ctx) => core.provider.completeAuthorization({ institutionId: s.connection.institutionId, params }, ctx));
  } else if (s.job.type === 'import' && access?.kind === 'token' && access.token && s.connection.consentGrantedAt === null) {
    const importAccess = core.provider.importAccess?.bind(core.provider);
    if (!importAccess) throw new ProviderError('provider_error', `The ${core.provider.id} provider cannot import connections.`, false, 'import_not_supported');
    const token = access.token;
    grant = await call(s, 'importAccess', (ctx) => importAccess({ institutionId: s.connection.institutionId, token }, ctx));
  } else {
    return ok('already_authorized'); // a resumed run exchanged it already
  }
  const tokenAccess = { kind: 'token' as const, token: grant.token };
  const renewed = s.connection.consentGrantedAt !== null;
  const at = s.clock.now();
  const write = withTransaction(core.db, async (tx) => {
    // Fenced: the run must still own its job (an unlink or delete takes it), and holds it until commit.
    // The user and connection are locked first, in the order of db/transaction.ts.
    await lockConnection(tx, s.connection.applicationId, s.connection.id);
    await saveRun(tx, s.job.id, s.runToken, { updatedAt: at });
    const c = await updateConnection(tx, s.connection.id, {
      accessEnc: core.cipher.encrypt(JSON.stringify(tokenAccess)), consentGrantedAt: grant.grantedAt, consentExpiresAt: grant.expiresAt,
    });
    await insertEvent(tx, connectionEvent(c, 'consent.granted', {
      grantedAt: grant.grantedAt.toISOString(), expiresAt: grant.expiresAt.toISOString(), renewed, imported: s.job.type === 'import', jobId: s.job.id,
    }, null, at));
    return c;
  });
  s.connection = await write.catch(async (err: unknown) => {
    // The connection was taken away meanwhile: the token just issued must not outlive it.
    if (err instanceof SupersededRunError) {
      await call(s, 'revoke', (ctx) => core.provider.revoke({ ...s.link, access: tokenAccess }, ctx)).catch(() => {});
    }
    throw err;
  });
  s.link = { ...s.link, access: tokenAccess };
  return ok();
}

async function retrieveAccounts(s: RunState): Promise<StepOutcome> {
  const { core, connection } = s;
  const fetched = await call(s, 'fetchAccounts', (ctx) => core.provider.fetchAccounts(s.link, ctx));
  // After the first sync, accounts the user did not share before wait for a repair (new_accounts_available).
  // A connection whose data was purged has no accounts left: its next sync fetches them all again.
  const addNew = connection.firstSyncedAt === null || s.job.type === 'repair' || s.accounts.size === 0;
  const toStore = fetched.filter((a) => addNew || s.accounts.has(a.id));
  s.flags.newAccounts = toStore.length < fetched.length;
  const now = s.clock.now();
  const stored = await upsertAccounts(core.db, toStore.map((a) => ({
    id: newId('acc', now.getTime()), applicationId: connection.applicationId, userId: connection.userId, connectionId: connection.id,
    providerAccountId: a.id, name: a.name, type: a.type, mask: a.mask, currency: a.currency,
    balanceCurrent: a.balances.current, balanceAvailable: a.balances.available, balanceLimit: a.balances.limit,
    balancesUpdatedAt: now, createdAt: now, updatedAt: now,
  })), fenceOf(s));
  for (const a of stored) s.accounts.set(a.providerAccountId, a.id);
  return ok(s.flags.newAccounts ? 'new_accounts_available' : 'ok');
}

async function retrieveTransactions(s: RunState): Promise<StepOutcome> {
  const { core, connection } = s;
  const today = isoDay(s.clock.now());
  const since = connection.transactionsSyncedThrough
    ? addDays(connection.transactionsSyncedThrough, -RESYNC_OVERLAP_DAYS)
    : addDays(today, -INITIAL_HISTORY_DAYS);
  // A pending transaction older than the overlap must be in the window, or its posting could not be matched.
  const from = s.oldestPending && s.oldestPending < since ? s.oldestPending : since;
  const fetched = await call(s, 'fetchTransactions', (ctx) => core.provider.fetchTransactions(s.link, { from, to: today }, ctx));
  const incoming: IncomingTransaction[] = [];
  for (const t of fetched) {
    const accountId = s.accounts.get(t.accountId);
    if (!accountId) continue; // an account not (yet) shared through this connection
    incoming.push({
      providerId: t.id, accountId, status: t.status, amount: t.amount, currency: t.currency, date: t.date, authorizedDate: t.authorizedDate,
      description: t.description, merchantName: t.merchantName, category: t.category, pendingProviderId: t.pendingTransactionId,
    });
  }
  const stored = await loadStoredWindow(core.db, connection.id, from);
  const plan = planTransactions(stored, incoming, { from, to: today });
  const applied = await applyTransactionPlan(core.db, {
    applicationId: connection.applicationId, userId: connection.userId, connectionId: connection.id, now: s.clock.now(),
    syncedThrough: today, run: fenceOf(s),
  }, plan);
  if (!applied) throw new SupersededRunError(s.job.id);
  return ok();
}

async function retrieveIdentity(s: RunState): Promise<StepOutcome> {
  const { core, connection } = s;
  const identity = await call(s, 'fetchIdentity', (ctx) => core.provider.fetchIdentity(s.link, ctx));
  await upsertIdentity(core.db, {
    connectionId: connection.id, applicationId: connection.applicationId, userId: connection.userId,
    dataEnc: core.cipher.encrypt(JSON.stringify(identity)), updatedAt: s.clock.now(),
  }, fenceOf(s));
  return ok();
}

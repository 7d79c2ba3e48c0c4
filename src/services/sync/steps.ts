/** What each job step does. Every provider call and write of the job goes through writes.ts (`call`, `endingWrite`, `withJournal`). */
import { addDays, isoDay, type Clock } from '../../domain/clock.js';
import { newId } from '../../domain/ids.js';
import { planTransactions, type IncomingTransaction, type StoredTransaction } from '../../domain/matching.js';
import type { JobStep, StepName } from '../../domain/types.js';
import { updateConnection, type ConnectionRow } from '../../db/repos/connections.js';
import { applyTransactionPlan, loadStoredByProviderIds, loadStoredWindow, upsertAccounts, upsertAccountsReadingWindow, upsertIdentity } from '../../db/repos/data.js';
import { saveRun, stepsWith, SupersededRunError, type JobRow } from '../../db/repos/jobs.js';
import { lockConnection } from '../../db/repos/locks.js';
import { withTransaction } from '../../db/transaction.js';
import type { CallScope } from './journal.js';
import { call, endingWrite, fenceOf, withJournal } from './writes.js';
import { ProviderError, windowOf, type AuthorizationGrant, type ProviderAccount, type ProviderLink, type ProviderTransaction } from '../../providers/types.js';
import { grantAccess, grantEventData, grantPatch, providerWebhookUrl } from './grant.js';
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
  /** The provider that serves the connection, with the application's settings: every call goes through it (sync/journal.ts). */
  scope: CallScope;
  /** The connection's accounts, provider account id → account id: read at the start, kept up to date by retrieve-accounts. */
  accounts: Map<string, string>;
  /** The date of the connection's oldest live pending transaction, read at the start. */
  oldestPending: string | null;
  /** The stored identity profile's digest (null: none stored), read at the start. */
  identityDigest: string | null;
  /**
   * The step running now and the one to start after it; `carried`: the step's last write also saved
   * it done and the next one started (`endingWrite`), so runSteps writes neither again.
   */
  step: { name: StepName; next: StepName | null; carried: { outcome: StepOutcome; steps: JobStep[] } | null };
  /**
   * The running step's start is not saved yet (the step before it ended without a write of its
   * own): its first write saves it, or its provider call does if the call takes longer than
   * START_SAVE_AFTER_MS (`call`).
   */
  startUnsaved: boolean;
  /** The stored transactions window the accounts step's write read for the transactions step, from its first day. */
  window: { from: string; rows: StoredTransaction[] } | null;
}

export type StepDone = { kind: 'success' | 'skipped'; resultCode: string };
export type StepOutcome = StepDone | { kind: 'awaiting_input' };

const ok = (resultCode = 'ok'): StepDone => ({ kind: 'success', resultCode });

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
  const outcome = await call(s, 'verifyCredentials', (p, ctx) => {
    if (!p.verifyCredentials) throw new ProviderError('provider_error', `The ${p.name} provider takes no credentials.`, false, 'web_not_supported');
    return p.verifyCredentials(s.link, mfaCode, ctx);
  });
  if (outcome.kind === 'verified') {
    if (outcome.accessExpiresAt?.getTime() !== s.connection.accessExpiresAt?.getTime()) {
      s.connection = await updateConnection(core.db, s.connection.id, { accessExpiresAt: outcome.accessExpiresAt });
    }
    if (mfaCode) await withJournal(s, (calls) => saveRun(core.db, job.id, s.runToken, { mfaCodeEnc: null }, calls));
    return ok();
  }
  if (job.trigger === 'scheduled' || job.trigger === 'system') {
    // Nobody is there to type a code: the connection needs the user (reconnect_required / mfa_required).
    throw new ProviderError('mfa_required', 'The institution asked for a one-time code during a background refresh.', false, 'mfa_required');
  }
  const now = s.clock.now();
  const expiresAt = new Date(now.getTime() + core.config.mfaTimeoutSeconds * 1000);
  s.steps = stepsWith(s.steps, 'verify-credentials', { status: 'awaiting_input', resultCode: 'mfa_required' });
  await withJournal(s, (calls) => withTransaction(core.db, async (tx) => {
    const pending = s.connection.status === 'pending';
    if (pending) await lockConnection(tx, s.connection.applicationId, s.connection.id); // the connection before the job (db/transaction.ts)
    await saveRun(tx, job.id, s.runToken, { status: 'awaiting_input', steps: s.steps, mfaPrompt: outcome.prompt, mfaExpiresAt: expiresAt, updatedAt: now }, calls);
    if (pending) await updateConnection(tx, s.connection.id, { statusReason: 'awaiting_mfa', updatedAt: now });
  }), 'transaction');
  await core.queue.scheduleMfaTimeout(job.id, new Date(Date.now() + core.config.mfaTimeoutSeconds * 1000));
  return { kind: 'awaiting_input' };
}

/**
 * Import: checks the imported token at the provider and records its consent dates with a
 * consent.granted event, then points the provider's webhooks at Causeway where it can. A link made
 * through Causeway's own flow was exchanged on the user's return (services/link.ts): nothing to do.
 * A row from before link sessions still holds the consent page's answer (`grant`): exchanged here.
 */
async function authorize(s: RunState): Promise<StepOutcome> {
  const { core } = s;
  const access = s.connection.accessEnc ? JSON.parse(core.cipher.decrypt(s.connection.accessEnc)) as { kind: string; params?: Record<string, string>; token?: string } : null;
  let grant: AuthorizationGrant | null = null;
  if (access?.kind === 'grant' && access.params) {
    const params = access.params;
    const result = await call(s, 'completeLink', (p, ctx) => {
      if (!p.completeLink) throw new ProviderError('provider_error', `The ${p.name} provider has no link to complete.`, false, 'link_not_supported');
      return p.completeLink({ institutionId: s.link.institutionId, params, reference: '', update: null }, ctx);
    });
    if (result.kind !== 'granted') {
      throw new ProviderError(result.kind === 'denied' ? result.code : 'authorization_denied', result.kind === 'denied' ? result.message : 'The authorisation was not finished.', false, result.kind === 'denied' ? result.providerCode : 'pending');
    }
    grant = result.grant;
  } else if (s.job.type === 'import' && access?.kind === 'token' && access.token && s.connection.consentGrantedAt === null) {
    const token = access.token;
    grant = await call(s, 'importAccess', (p, ctx) => {
      if (!p.importAccess) throw new ProviderError('provider_error', `The ${p.name} provider cannot import connections.`, false, 'import_not_supported');
      return p.importAccess({ institutionId: s.link.institutionId, token }, ctx);
    });
  }
  if (grant) await recordGrant(s, grant);
  if (s.job.type === 'import') await pointWebhooksHere(s);
  return ok(grant ? 'ok' : 'already_authorized');
}

async function recordGrant(s: RunState, grant: AuthorizationGrant): Promise<void> {
  const { core } = s;
  const tokenAccess = grantAccess(grant);
  const renewed = s.connection.consentGrantedAt !== null;
  const at = s.clock.now();
  const write = withJournal(s, (calls) => withTransaction(core.db, async (tx) => {
    // Fenced: the run must still own its job (an unlink or delete takes it), and holds it until commit.
    // The user and connection are locked first, in the order of db/transaction.ts.
    await lockConnection(tx, s.connection.applicationId, s.connection.id);
    await saveRun(tx, s.job.id, s.runToken, { updatedAt: at }, calls);
    const c = await updateConnection(tx, s.connection.id, grantPatch(core, grant));
    await insertEvent(tx, connectionEvent(c, 'consent.granted', grantEventData(grant, { renewed, imported: s.job.type === 'import', jobId: s.job.id }), null, at));
    return c;
  }), 'transaction');
  s.connection = await write.catch(async (err: unknown) => {
    // The connection was taken away meanwhile: the token just issued must not outlive it.
    if (err instanceof SupersededRunError) {
      await call(s, 'revoke', (p, ctx) => p.revoke({ ...s.link, access: tokenAccess }, ctx)).catch(() => {});
    }
    throw err;
  });
  s.link = { ...s.link, access: tokenAccess };
}

/** An imported link's webhooks still go wherever its first owner pointed them: to Causeway's, when Causeway has a public address. */
async function pointWebhooksHere(s: RunState): Promise<void> {
  const url = providerWebhookUrl(s.core, s.scope.provider.id);
  if (!url || !s.scope.provider.setWebhook) return;
  await call(s, 'setWebhook', (p, ctx) => p.setWebhook!(s.link, url, ctx)).catch((err) => {
    // Not fatal: the scheduler's polling keeps the connection fresh without webhooks.
    s.core.log.warn({ err, connectionId: s.connection.id }, 'provider webhook not pointed at Causeway');
  });
}

async function retrieveAccounts(s: RunState): Promise<StepOutcome> {
  const fetched = await call(s, 'fetchAccounts', (p, ctx) => p.fetchAccounts(s.link, ctx));
  const outcome = () => ok(s.flags.newAccounts ? 'new_accounts_available' : 'ok');
  await storeAccounts(s, fetched, true, outcome);
  return s.step.carried?.outcome ?? outcome();
}

/**
 * Stores the accounts a provider listed. After the first sync, accounts the user did not share
 * before wait for a repair (new_accounts_available). A connection whose data was purged has no
 * accounts left: its next sync fetches them all again. `complete`: the list is every account (an
 * accounts call), not just those a sync page named. `outcome`: the step ends with this write (endingWrite),
 * its outcome known once the accounts are sorted.
 */
async function storeAccounts(s: RunState, fetched: ProviderAccount[], complete: boolean, outcome?: () => StepDone): Promise<void> {
  const { core, connection } = s;
  const addNew = connection.firstSyncedAt === null || s.job.type === 'repair' || s.accounts.size === 0;
  const toStore = fetched.filter((a) => addNew || s.accounts.has(a.id));
  if (toStore.length < fetched.length) s.flags.newAccounts = true;
  else if (complete) s.flags.newAccounts = false;
  const now = s.clock.now();
  const row = (a: ProviderAccount) => ({
    id: newId('acc', now.getTime()), applicationId: connection.applicationId, userId: connection.userId, connectionId: connection.id,
    providerAccountId: a.id, name: a.name, type: a.type, mask: a.mask, currency: a.currency,
    balanceCurrent: a.balances?.current ?? 0, balanceAvailable: a.balances?.available ?? null, balanceLimit: a.balances?.limit ?? null,
    balancesUpdatedAt: now, createdAt: now, updatedAt: now,
  });
  // Balances the provider did not read this time (its budget for them is spent) stay as they were.
  const read = toStore.filter((a) => a.balances !== null);
  const unread = toStore.filter((a) => a.balances === null);
  if (unread.length > 0) s.flags.partialData = true;
  // The step's last write reads the stored window too when the next step plans transactions against it.
  const windowFrom = s.step.next === 'retrieve-transactions' && !s.scope.provider.syncTransactions ? windowStart(s) : undefined;
  const write = async (rows: ReturnType<typeof row>[], keepBalances: boolean, last: boolean) => {
    if (!(outcome && last && rows.length > 0)) return upsertAccounts(core.db, rows, fenceOf(s), { keepBalances });
    const done = await endingWrite(s, outcome(), (run) => upsertAccountsReadingWindow(core.db, rows, run, { keepBalances, windowFrom }));
    s.window = windowFrom === undefined || done.window === null ? null : { from: windowFrom, rows: done.window };
    return done.accounts;
  };
  const stored = [
    ...(read.length > 0 || unread.length === 0 ? await write(read.map(row), false, unread.length === 0) : []),
    ...(unread.length > 0 ? await write(unread.map(row), true, true) : []),
  ];
  for (const a of stored) s.accounts.set(a.providerAccountId, a.id);
}

function toIncoming(s: RunState, fetched: ProviderTransaction[]): IncomingTransaction[] {
  const incoming: IncomingTransaction[] = [];
  for (const t of fetched) {
    const accountId = s.accounts.get(t.accountId);
    if (!accountId) continue; // an account not (yet) shared through this connection
    incoming.push({
      providerId: t.id, accountId, status: t.status, amount: t.amount, currency: t.currency, date: t.date, authorizedDate: t.authorizedDate,
      description: t.description, merchantName: t.merchantName, category: t.category, pendingProviderId: t.pendingTransactionId,
    });
  }
  return incoming;
}

/** The first day of the window a refresh asks the provider for and plans against (`today` on the application's clock). */
function windowStart(s: RunState, today = isoDay(s.clock.now())): string {
  const since = s.connection.transactionsSyncedThrough
    ? addDays(s.connection.transactionsSyncedThrough, -RESYNC_OVERLAP_DAYS)
    : addDays(today, -INITIAL_HISTORY_DAYS);
  // A pending transaction older than the overlap must be in the window, or its posting could not be matched.
  return s.oldestPending && s.oldestPending < since ? s.oldestPending : since;
}

async function retrieveTransactions(s: RunState): Promise<StepOutcome> {
  if (s.scope.provider.syncTransactions) return syncByCursor(s);
  const { core, connection } = s;
  const today = isoDay(s.clock.now());
  const from = windowStart(s, today);
  // Read by the accounts' write just before, if it read this window (not when a day turned between).
  const preread = s.window?.from === from ? s.window.rows : null;
  s.window = null;
  const got = windowOf(await call(s, 'fetchTransactions', (p, ctx) => {
    if (!p.fetchTransactions) throw new ProviderError('provider_error', `The ${p.name} provider lists no transactions.`, false, 'not_supported');
    return p.fetchTransactions(s.link, { from, to: today }, ctx);
  }));
  // Accounts whose transactions the provider could not give this time (its budget is spent) keep what
  // is stored: nothing of theirs is planned, so nothing of theirs is removed, and the window does not move on.
  const deferred = new Set(got.deferred.flatMap((d) => s.accounts.get(d.accountId) ?? []));
  if (deferred.size > 0 && deferred.size >= s.accounts.size) {
    // None could be read: the step waits for the provider's budget (provider_budgets says when), the balances already stored are fresh.
    s.flags.partialData = true;
    return { kind: 'skipped', resultCode: 'rate_limited' };
  }
  const stored = (preread ?? await loadStoredWindow(core.db, connection.id, from)).filter((t) => !deferred.has(t.accountId));
  const incoming = toIncoming(s, got.transactions).filter((t) => !deferred.has(t.accountId));
  const plan = planTransactions(stored, incoming, { from, to: today });
  if (deferred.size > 0) s.flags.partialData = true;
  const outcome = ok(deferred.size > 0 ? 'partial' : 'ok');
  const applied = await endingWrite(s, outcome, (run) => applyTransactionPlan(core.db, {
    applicationId: connection.applicationId, userId: connection.userId, connectionId: connection.id, now: s.clock.now(),
    syncedThrough: deferred.size > 0 ? connection.transactionsSyncedThrough : today, run,
  }, plan));
  if (!applied) throw new SupersededRunError(s.job.id);
  return outcome;
}

/** Times a cursor sync starts its pagination again after the provider's data changed under it, before it resyncs from the start. */
export const PAGINATION_RESTARTS = 3;

/**
 * A provider with a cursor (Plaid's /transactions/sync). Pages are read until the provider says
 * there are no more, and only then applied, with the new cursor, in one statement: a crash or an
 * error half way leaves the stored cursor where the run began, and the next run reads the same pages
 * again. When the data changes during pagination the run starts again from the cursor it began with;
 * after PAGINATION_RESTARTS such restarts, or when the connection has no cursor but has synced before
 * (the cursor was lost, or the data purged), it reads everything from the start and reconciles:
 * whatever the provider no longer returns is removed.
 */
async function syncByCursor(s: RunState): Promise<StepOutcome> {
  const { core, connection } = s;
  let start = connection.providerCursor;
  let restarts = 0;
  let pages: { added: ProviderTransaction[]; modified: ProviderTransaction[]; removed: string[]; accounts: ProviderAccount[]; cursor: string };
  for (;;) {
    try {
      pages = await readPages(s, start);
      break;
    } catch (err) {
      if (!(err instanceof ProviderError) || !err.restartPagination) throw err;
      restarts += 1;
      if (restarts > PAGINATION_RESTARTS) {
        if (start === null) throw err; // even a full read keeps changing under us: a transient failure, retried later
        core.log.warn({ connectionId: connection.id }, 'cursor sync kept changing under pagination: resyncing from the start');
        start = null;
        restarts = 0;
      }
    }
  }
  const fullResync = start === null && connection.firstSyncedAt !== null;
  if (pages.accounts.length > 0) await storeAccounts(s, pages.accounts, false);
  const incoming = toIncoming(s, [...pages.added, ...pages.modified]);
  const named = [...incoming.map((t) => t.providerId), ...incoming.flatMap((t) => (t.pendingProviderId ? [t.pendingProviderId] : [])), ...pages.removed];
  const stored = fullResync ? await loadStoredWindow(core.db, connection.id, '0001-01-01') : await loadStoredByProviderIds(core.db, connection.id, named);
  // A full resync reconciles everything stored; an incremental one removes only what the provider said it removed.
  const window = fullResync ? { from: '0001-01-01', to: '9999-12-31' } : { from: '9999-12-31', to: '0001-01-01' };
  const plan = planTransactions(stored, incoming, window);
  const taken = new Set(plan.updates.map((u) => u.id));
  const removedIds = new Set(pages.removed);
  for (const row of stored) {
    if (removedIds.has(row.providerId) && !row.removed && !taken.has(row.id) && !plan.removals.includes(row.id)) plan.removals.push(row.id);
  }
  const today = isoDay(s.clock.now());
  const outcome = ok(fullResync ? 'resynced' : 'ok');
  const applied = await endingWrite(s, outcome, (run) => applyTransactionPlan(core.db, {
    applicationId: connection.applicationId, userId: connection.userId, connectionId: connection.id, now: s.clock.now(),
    syncedThrough: today, providerCursor: pages.cursor, run,
  }, plan));
  if (!applied) throw new SupersededRunError(s.job.id);
  s.connection = { ...s.connection, providerCursor: pages.cursor, transactionsSyncedThrough: today };
  return outcome;
}

/** Every page after `cursor`, in memory: the provider's own later changes win over earlier ones in the same set. */
async function readPages(s: RunState, cursor: string | null) {
  const added = new Map<string, ProviderTransaction>();
  const modified = new Map<string, ProviderTransaction>();
  const removed = new Set<string>();
  const accounts = new Map<string, ProviderAccount>();
  let next = cursor;
  for (;;) {
    const at = next;
    const page = await call(s, 'syncTransactions', (p, ctx) => p.syncTransactions!(s.link, at, ctx));
    for (const t of page.added) { added.set(t.id, t); removed.delete(t.id); }
    for (const t of page.modified) { if (added.has(t.id)) added.set(t.id, t); else modified.set(t.id, t); removed.delete(t.id); }
    for (const id of page.removed) { added.delete(id); modified.delete(id); removed.add(id); }
    for (const a of page.accounts) accounts.set(a.id, a);
    next = page.nextCursor;
    if (!page.hasMore) break;
    await s.permit.renewIfAging();
  }
  return { added: [...added.values()], modified: [...modified.values()], removed: [...removed], accounts: [...accounts.values()], cursor: next ?? '' };
}

async function retrieveIdentity(s: RunState): Promise<StepOutcome> {
  const { core, connection } = s;
  const identity = await call(s, 'fetchIdentity', (p, ctx) => p.fetchIdentity(s.link, ctx));
  const profile = JSON.stringify(identity);
  const digest = core.cipher.fingerprint(profile);
  // The same profile as the one stored (most refreshes): nothing to write.
  if (digest === s.identityDigest) return ok('unchanged');
  const outcome = ok();
  await endingWrite(s, outcome, (run) => upsertIdentity(core.db, {
    connectionId: connection.id, applicationId: connection.applicationId, userId: connection.userId,
    dataEnc: core.cipher.encrypt(profile), digest, updatedAt: s.clock.now(),
  }, run));
  s.identityDigest = digest;
  return outcome;
}

/**
 * Webhooks from providers (POST /v1/providers/{provider}/webhooks), verified by the provider's own
 * scheme (Plaid's signed JWT), then turned into what Causeway does about them:
 *
 *   sync_available  ─► one refresh, coalesced with any in flight (a burst of webhooks is one job)
 *   login_required  ─► reconnect_required with the mapped reason
 *   expiring        ─► active + access_expiring_soon (consent.expiring), with the end date when given
 *   revoked         ─► the consent-revoked path (keep or purge, as the application says)
 *   new_accounts    ─► active + new_accounts_available
 *   repaired        ─► active, and a refresh
 *
 * Missed webhooks are survived: the scheduler keeps refreshing in the background.
 */
import { AppError } from '../domain/errors.js';
import { InvalidTransitionError, isUserFailure, transition, type FailureCode } from '../domain/status.js';
import { STATUS_REASONS, type StatusReason } from '../domain/types.js';
import { findApplication } from '../db/repos/applications.js';
import { findConnection, findConnectionByItem, stateOf, updateConnection, type ConnectionRow } from '../db/repos/connections.js';
import { connectionEvent, insertEvent } from '../db/repos/events.js';
import { withTransaction } from '../db/transaction.js';
import { ProviderError, ProviderWebhookRefused, type ProviderWebhook } from '../providers/types.js';
import { applyConsentChange } from './consent.js';
import { refreshConnection } from './connections.js';
import { tenantClock, type Core } from './core.js';
import { providerById, settingsFor } from './providers.js';

export interface WebhookReceipt { type: string; connectionId: string | null; action: string }

export async function receiveProviderWebhook(core: Core, providerId: string, headers: Record<string, string | undefined>, rawBody: string): Promise<WebhookReceipt> {
  const provider = providerById(core, providerId);
  if (!provider.parseWebhook) throw new AppError('not_found', `The ${provider.name} provider sends no webhooks.`);
  let hook: ProviderWebhook;
  try {
    hook = await provider.parseWebhook({
      headers, rawBody, now: core.clock.now(),
      settingsFor: async (itemId) => {
        const c = await findConnectionByItem(core.db, provider.id, itemId);
        const application = c ? await findApplication(core.db, c.applicationId) : null;
        return application ? settingsFor(core, application, provider) : null;
      },
    });
  } catch (err) {
    if (err instanceof ProviderWebhookRefused) throw new AppError('invalid_webhook_signature', err.message);
    // The key could not be fetched: an error status makes the provider send it again later.
    if (err instanceof ProviderError) throw new AppError('provider_unavailable', `${provider.name}'s webhook could not be checked now (${err.providerCode}); send it again.`);
    throw err;
  }
  if (hook.meaning.kind === 'ignored' && hook.itemId === '') return { type: hook.type, connectionId: null, action: `ignored: ${hook.meaning.why}` };
  const found = await findConnectionByItem(core.db, provider.id, hook.itemId);
  if (!found) return { type: hook.type, connectionId: null, action: 'ignored: no connection has this link' };
  const application = await findApplication(core.db, found.applicationId);
  if (!application) return { type: hook.type, connectionId: null, action: 'ignored: no connection has this link' };
  const tenant = { application, actor: `provider:${provider.id}` };
  const m = hook.meaning;
  if (m.kind === 'ignored') return { type: hook.type, connectionId: found.id, action: `ignored: ${m.why}` };
  if (m.kind === 'sync_available' || m.kind === 'repaired') {
    if (m.kind === 'repaired') await changeStatus(core, found, hook, (c) => (c.status === 'reconnect_required' || c.status === 'degraded' ? { status: 'active', reason: null } : null));
    return { type: hook.type, connectionId: found.id, action: await refreshFromWebhook(core, tenant, found) };
  }
  const action = await withTransaction(core.db, async (tx) => {
    const c = await findConnection(tx, found.applicationId, found.id, { forUpdate: true });
    if (!c) return 'ignored: the connection is gone';
    const now = tenantClock(core, application).now();
    await insertEvent(tx, connectionEvent(c, 'provider.webhook', { provider: provider.id, type: hook.type }, tenant.actor, now));
    try {
      switch (m.kind) {
        case 'login_required': {
          const next = loginRequired(c, m.code);
          if (!next) return `ignored: the connection is ${c.status}`;
          // Consent that ended (an OAuth consent expired or withdrawn at the bank) takes the consent path, as a job
          // that met it does: the consent event, and the application's keep-or-purge setting.
          if (next.reason === 'consent_expired' || next.reason === 'consent_revoked') {
            if (c.statusReason === next.reason) return `ignored: the connection is ${c.status} (${c.statusReason}) already`;
            await applyConsentChange(tx, application, c, next.reason, now, tenant.actor);
            return `status reconnect_required (${next.reason})`;
          }
          await updateConnection(tx, c.id, { status: next.status, statusReason: next.reason, updatedAt: now });
          return `status ${next.status} (${next.reason})`;
        }
        case 'expiring':
          if (c.status !== 'active') return `ignored: the connection is ${c.status}`;
          await applyConsentChange(tx, application, c, 'consent_expiring', now, tenant.actor, m.expiresAt ?? undefined);
          return 'status active (access_expiring_soon)';
        case 'revoked':
          await applyConsentChange(tx, application, c, 'consent_revoked', now, tenant.actor);
          return 'status reconnect_required (consent_revoked)';
        case 'new_accounts': {
          const next = transition(stateOf(c), { type: 'new_accounts_detected' });
          await updateConnection(tx, c.id, { status: next.status, statusReason: next.reason, updatedAt: now });
          return 'status active (new_accounts_available)';
        }
      }
    } catch (err) {
      if (!(err instanceof InvalidTransitionError)) throw err;
      return `ignored: the connection is ${c.status}`;
    }
  });
  return { type: hook.type, connectionId: found.id, action };
}

/** A login the bank wants again: reconnect_required with the reason the provider's code maps to. */
function loginRequired(c: ConnectionRow, code: string) {
  const st = stateOf(c);
  if (!['active', 'degraded', 'reconnect_required'].includes(st.status)) return null;
  const reason: StatusReason = isUserFailure(code as FailureCode) && (STATUS_REASONS as readonly string[]).includes(code) ? code as StatusReason : 'user_action_required';
  return { status: 'reconnect_required' as const, reason };
}

async function changeStatus(core: Core, found: ConnectionRow, hook: ProviderWebhook, next: (c: ConnectionRow) => { status: 'active'; reason: null } | null) {
  await withTransaction(core.db, async (tx) => {
    const c = await findConnection(tx, found.applicationId, found.id, { forUpdate: true });
    const to = c ? next(c) : null;
    if (!c || !to) return;
    const application = await findApplication(tx, c.applicationId);
    const now = tenantClock(core, application!).now();
    await insertEvent(tx, connectionEvent(c, 'provider.webhook', { provider: c.provider, type: hook.type }, `provider:${c.provider}`, now));
    await updateConnection(tx, c.id, { status: to.status, statusReason: to.reason, updatedAt: now });
  });
}

async function refreshFromWebhook(core: Core, tenant: { application: NonNullable<Awaited<ReturnType<typeof findApplication>>>; actor: string }, c: ConnectionRow): Promise<string> {
  try {
    const r = await refreshConnection(core, tenant, c.userId, c.id, undefined, 'system');
    return r.created ? `refresh ${r.job.id}` : `coalesced with ${r.job.id}`;
  } catch (err) {
    if (err instanceof AppError) return `ignored: ${err.code}`;
    throw err;
  }
}

/**
 * Sandbox controls (PRODUCT.md §5): make a connection live through an event now, instead of
 * waiting for a bank to do it. The status machine decides, exactly as for a real event.
 */
import { DAY_MS } from '../domain/clock.js';
import { AppError, notFound } from '../domain/errors.js';
import { allowedActions, InvalidTransitionError, transition, type ConnectionEvent } from '../domain/status.js';
import { findConnection, stateOf, updateConnection } from '../db/repos/connections.js';
import { presentConnection } from './connections.js';
import { tenantClock, type Core, type Tenant } from './core.js';

export const SIMULATED_EVENTS = ['login_required', 'consent_expiring', 'consent_expired', 'consent_revoked', 'new_accounts'] as const;
export type SimulatedEvent = (typeof SIMULATED_EVENTS)[number];

/** How many days before expiry consent_expiring leaves (the institution's notice). */
const EXPIRING_NOTICE_DAYS = 3;

export async function simulateEvent(core: Core, tenant: Tenant, connectionId: string, event: SimulatedEvent) {
  const now = tenantClock(core, tenant.application).now();
  const connection = await core.db.transaction(async (tx) => {
    const c = await findConnection(tx, tenant.application.id, connectionId, { forUpdate: true });
    if (!c) throw notFound('connection', connectionId);
    if (event.startsWith('consent_') && c.method !== 'openbanking') {
      throw new AppError('validation_failed', `${event} applies to openbanking connections; this one is ${c.method}.`,
        { errors: [{ field: 'body.event', message: 'consent events need an openbanking connection' }] });
    }
    const st = stateOf(c);
    const e: ConnectionEvent = { type: event === 'new_accounts' ? 'new_accounts_detected' : event };
    let next;
    try {
      next = transition(st, e);
    } catch (err) {
      if (!(err instanceof InvalidTransitionError)) throw err;
      throw new AppError('invalid_state', `A connection that is ${st.status} cannot take the event ${event}.`,
        { connectionStatus: st.status, allowedActions: allowedActions(st) });
    }
    const consent = event === 'consent_expiring' ? { consentExpiresAt: new Date(now.getTime() + EXPIRING_NOTICE_DAYS * DAY_MS) }
      : event === 'consent_expired' ? { consentExpiresAt: now }
        : {};
    return updateConnection(tx, c.id, { status: next.status, statusReason: next.reason, ...consent, updatedAt: now });
  });
  return presentConnection(core, tenant, connection);
}

/**
 * Sandbox controls (PRODUCT.md §5): make a connection live through an event now, instead of
 * waiting for a bank to do it; put an institution in an outage; issue a token to import. The
 * status machine decides, exactly as for a real event. Every control acts for the calling
 * application only.
 */
import { DAY_MS } from '../domain/clock.js';
import { AppError, notFound } from '../domain/errors.js';
import { allowedActions, InvalidTransitionError, transition } from '../domain/status.js';
import { setSandboxOutage, setSandboxRateLimit } from '../db/repos/applications.js';
import { findConnection, stateOf, updateConnection } from '../db/repos/connections.js';
import { issueSandboxToken, OPENBANKING_PERSONAS } from '../providers/sandbox/provider.js';
import { ProviderError } from '../providers/types.js';
import { applyConsentChange } from './consent.js';
import { presentConnection } from './connections.js';
import { findInstitution, tenantClock, type Core, type Tenant } from './core.js';

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
    try {
      if (event === 'login_required' || event === 'new_accounts') {
        const next = transition(st, { type: event === 'new_accounts' ? 'new_accounts_detected' : event });
        return await updateConnection(tx, c.id, { status: next.status, statusReason: next.reason, updatedAt: now });
      }
      const expiresAt = event === 'consent_expiring' ? new Date(now.getTime() + EXPIRING_NOTICE_DAYS * DAY_MS) : event === 'consent_expired' ? now : undefined;
      return await applyConsentChange(tx, tenant.application, c, event, now, tenant.actor ?? null, expiresAt);
    } catch (err) {
      if (!(err instanceof InvalidTransitionError)) throw err;
      throw new AppError('invalid_state', `A connection that is ${st.status} cannot take the event ${event}.`,
        { connectionStatus: st.status, allowedActions: allowedActions(st) });
    }
  });
  return presentConnection(core, tenant, connection);
}

/** Switches a simulated outage of one institution on or off for the calling application. */
export async function setInstitutionOutage(core: Core, tenant: Tenant, institutionId: string, enabled: boolean) {
  if (!findInstitution(core, institutionId)) throw notFound('institution', institutionId);
  const outages = await setSandboxOutage(core.db, tenant.application.id, institutionId, enabled);
  return { institutionId, outage: outages.includes(institutionId) };
}

/** Has one institution answer the calling application's calls with 429 and this Retry-After, or stops it (null). */
export async function setInstitutionRateLimit(core: Core, tenant: Tenant, institutionId: string, retryAfterSeconds: number | null) {
  if (!findInstitution(core, institutionId)) throw notFound('institution', institutionId);
  const limits = await setSandboxRateLimit(core.db, tenant.application.id, institutionId, retryAfterSeconds);
  return { institutionId, rateLimited: limits[institutionId] !== undefined, retryAfterSeconds: limits[institutionId] ?? null };
}

/** A token as the sandbox bank's consent would issue it, to try import with (as Plaid's sandbox public tokens). */
export function createSandboxToken(core: Core, tenant: Tenant, institutionId: string, persona: string) {
  const institution = findInstitution(core, institutionId);
  if (!institution) throw notFound('institution', institutionId);
  if (!institution.methods.includes('openbanking')) {
    throw new AppError('unsupported_method', `${institution.name} offers ${institution.methods.join(' and ')} only; sandbox tokens are openbanking access.`,
      { errors: [{ field: 'body.institutionId', message: 'must be an institution that offers openbanking' }] });
  }
  try {
    const { token, expiresAt } = issueSandboxToken(institutionId, persona, tenantClock(core, tenant.application).now());
    return { accessToken: token, institutionId, persona, expiresAt: expiresAt.toISOString() };
  } catch (err) {
    if (!(err instanceof ProviderError)) throw err;
    throw new AppError('validation_failed', err.message, { errors: [{ field: 'body.persona', message: `one of: ${OPENBANKING_PERSONAS.join(', ')}` }] });
  }
}

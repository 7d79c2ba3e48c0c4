/**
 * Sandbox controls (PRODUCT.md §5): make a connection live through an event now, instead of
 * waiting for a bank to do it; put an institution in an outage; issue a token to import. The
 * status machine decides, exactly as for a real event. Every control acts for the calling
 * application only.
 */
import { linksAway } from '../domain/types.js';
import { DAY_MS, MAX_CLOCK_OFFSET_MS } from '../domain/clock.js';
import { parseDuration } from '../domain/duration.js';
import { AppError, notFound } from '../domain/errors.js';
import { allowedActions, InvalidTransitionError, transition } from '../domain/status.js';
import { addClockOffset, setSandboxOutage, setSandboxRateLimit } from '../db/repos/applications.js';
import { findConnection, stateOf, updateConnection } from '../db/repos/connections.js';
import { wakeWebhookWorkers } from '../db/repos/webhooks.js';
import { withTransaction } from '../db/transaction.js';
import { issueSandboxToken, OPENBANKING_PERSONAS, SANDBOX_PROVIDER_ID } from '../providers/sandbox/provider.js';
import { ProviderError } from '../providers/types.js';
import { applyConsentChange } from './consent.js';
import { presentConnection } from './connections.js';
import { tenantClock, type Core, type Tenant } from './core.js';
import { findInstitution } from './catalogue.js';
import { applyDueRules } from './due.js';
import { runSchedulerTick } from './scheduler.js';

export const SIMULATED_EVENTS = ['login_required', 'consent_expiring', 'consent_expired', 'consent_revoked', 'new_accounts'] as const;
export type SimulatedEvent = (typeof SIMULATED_EVENTS)[number];

/** How many days before expiry consent_expiring leaves (the institution's notice). */
const EXPIRING_NOTICE_DAYS = 3;

export async function simulateEvent(core: Core, tenant: Tenant, connectionId: string, event: SimulatedEvent) {
  const now = tenantClock(core, tenant.application).now();
  const connection = await withTransaction(core.db, async (tx) => {
    const c = await findConnection(tx, tenant.application.id, connectionId, { forUpdate: true });
    if (!c) throw notFound('connection', connectionId);
    if (event.startsWith('consent_') && !linksAway(c.method)) {
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

/** `P3650D`, `P12DT3H`, `PT0S`: a span of milliseconds as the ISO 8601 duration the clock takes. */
function isoDuration(ms: number): string {
  const s = Math.floor(ms / 1000);
  const [d, h, m, sec] = [Math.floor(s / 86_400), Math.floor((s % 86_400) / 3600), Math.floor((s % 3600) / 60), s % 60];
  const time = `${h ? `${h}H` : ''}${m ? `${m}M` : ''}${sec ? `${sec}S` : ''}`;
  return d === 0 && !time ? 'PT0S' : `P${d ? `${d}D` : ''}${time ? `T${time}` : ''}`;
}

const clockRefused = (message: string, field: string) => new AppError('validation_failed', message, { errors: [{ field: 'body.advanceBy', message: field }] });

/**
 * Moves the calling application's test clock forward, never past MAX_CLOCK_OFFSET_MS ahead of real
 * time: the duration is checked, and the new total with it, before anything is stored, so a refused
 * call changes nothing. What the new time made due then happens before the answer: the due rules,
 * background refreshes and webhook retries, each for this application only.
 */
export async function advanceClock(core: Core, tenant: Tenant, advanceBy: string) {
  const ms = parseDuration(advanceBy);
  if (ms === null || ms <= 0) {
    throw clockRefused(`advanceBy must be a positive ISO 8601 duration in weeks, days, hours, minutes or seconds, such as P30D or PT6H; a sandbox clock runs at most ${MAX_CLOCK_OFFSET_MS / DAY_MS} days (10 years) ahead of real time.`,
      `must be a positive duration like P30D, the clock at most ${MAX_CLOCK_OFFSET_MS / DAY_MS} days (10 years) ahead in all`);
  }
  const current = tenant.application.clockOffsetMs;
  const maxDays = MAX_CLOCK_OFFSET_MS / DAY_MS;
  // Checked as a subtraction: current + ms could pass the largest safe integer before the comparison.
  if (ms > MAX_CLOCK_OFFSET_MS - current) {
    const room = Math.max(0, MAX_CLOCK_OFFSET_MS - current);
    throw clockRefused(`A sandbox clock runs at most ${maxDays} days (10 years) ahead of real time; this one is ${isoDuration(current)} ahead, so it can move at most ${isoDuration(room)} more.`,
      `the clock may run at most ${maxDays} days (10 years) ahead of real time: at most ${isoDuration(room)} more`);
  }
  const offsetMs = await addClockOffset(core.db, tenant.application.id, ms, MAX_CLOCK_OFFSET_MS);
  if (offsetMs === null) { // another move landed first and left less room
    throw clockRefused(`A sandbox clock runs at most ${maxDays} days (10 years) ahead of real time; another move just took the room this one needed. Read GET /v1/sandbox/clock and move by less.`,
      `the clock may run at most ${maxDays} days (10 years) ahead of real time`);
  }
  await applyDueRules(core, tenant.application.id); // what the new time made due happens now, not at the next sweep
  await runSchedulerTick(core, tenant.application.id); // background refreshes that fell due start
  await wakeWebhookWorkers(core.db); // and webhook retries that fell due go out
  return { now: tenantClock(core, { clockOffsetMs: offsetMs }).now().toISOString(), offsetMs };
}

/** Switches a simulated outage of one institution on or off for the calling application. */
/** Sandbox controls act on the sandbox's own institutions only. */
async function sandboxInstitution(core: Core, institutionId: string) {
  const found = await findInstitution(core, institutionId);
  if (!found || found.provider !== SANDBOX_PROVIDER_ID) throw notFound('institution', institutionId);
  return found;
}

export async function setInstitutionOutage(core: Core, tenant: Tenant, institutionId: string, enabled: boolean) {
  await sandboxInstitution(core, institutionId);
  const outages = await setSandboxOutage(core.db, tenant.application.id, institutionId, enabled);
  return { institutionId, outage: outages.includes(institutionId) };
}

/** Has one institution answer the calling application's calls with 429 and this Retry-After, or stops it (null). */
export async function setInstitutionRateLimit(core: Core, tenant: Tenant, institutionId: string, retryAfterSeconds: number | null) {
  await sandboxInstitution(core, institutionId);
  const limits = await setSandboxRateLimit(core.db, tenant.application.id, institutionId, retryAfterSeconds);
  return { institutionId, rateLimited: limits[institutionId] !== undefined, retryAfterSeconds: limits[institutionId] ?? null };
}

/** A token as the sandbox bank's consent would issue it, to try import with (as Plaid's sandbox public tokens). */
export async function createSandboxToken(core: Core, tenant: Tenant, institutionId: string, persona: string) {
  const institution = await sandboxInstitution(core, institutionId);
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

/**
 * Institutions with their health (domain/health.ts), derived from the calling application's recent
 * provider calls on its own clock: what its connections meet, and nothing of other applications'.
 * The scheduler's circuit breaker reads the same (services/scheduler.ts).
 */
import { and, eq, gt, sql } from 'drizzle-orm';
import { notFound } from '../domain/errors.js';
import { HEALTH_WINDOW_MS, healthOf, INSTITUTION_ERRORS } from '../domain/health.js';
import { connections, providerCalls } from '../db/schema.js';
import type { ProviderInstitution } from '../providers/types.js';
import { liveHolders, OPEN_THROTTLE, rateFactorAt, type ThrottleState } from '../domain/throttle.js';
import { listThrottles } from '../db/repos/throttles.js';
import { tenantClock, type Core, type Tenant } from './core.js';
import { capacityFor, refreshIntervalMs } from './limits.js';

type Health = { status: 'operational' | 'degraded' | 'outage'; since: string | null };

async function healthByInstitution(core: Core, tenant: Tenant): Promise<Map<string, Health>> {
  const since = new Date(tenantClock(core, tenant.application).now().getTime() - HEALTH_WINDOW_MS);
  const rows = await core.db.select({
    institutionId: connections.institutionId,
    total: sql<number>`count(*)`.mapWith(Number),
    unavailable: sql<number>`count(*) filter (where ${providerCalls.errorCode} = any(${sql.param([...INSTITUTION_ERRORS])}::text[]))`.mapWith(Number),
    firstFailure: sql<string | null>`min(${providerCalls.createdAt}) filter (where ${providerCalls.errorCode} = any(${sql.param([...INSTITUTION_ERRORS])}::text[]))`,
  }).from(providerCalls).innerJoin(connections, eq(connections.id, providerCalls.connectionId))
    .where(and(eq(providerCalls.applicationId, tenant.application.id), gt(providerCalls.createdAt, since))).groupBy(connections.institutionId);
  const out = new Map<string, Health>();
  for (const r of rows) {
    const status = healthOf(r.total, r.unavailable);
    if (status !== 'operational') out.set(r.institutionId, { status, since: r.firstFailure ? new Date(r.firstFailure).toISOString() : null });
  }
  return out;
}

/** The limits as they apply to this application (its own settings can only be stricter), and where its refreshes there stand now. */
function view(core: Core, tenant: Tenant, i: ProviderInstitution, health: Health | undefined, throttle: ThrottleState | undefined) {
  const now = core.clock.now();
  const state = throttle ?? OPEN_THROTTLE;
  return {
    id: i.id, name: i.name, country: i.country, methods: i.methods, products: i.products, mfa: i.alwaysMfa,
    limits: {
      refreshesPerDay: i.limits.refreshesPerDay, minIntervalSeconds: i.limits.minIntervalSeconds,
      ...capacityFor(core, tenant.application, i.id),
      refreshIntervalHours: refreshIntervalMs(core, tenant.application, i.id) / 3_600_000,
    },
    health: health ?? { status: 'operational' as const, since: null },
    throttle: {
      runningRefreshes: liveHolders(state, now).length,
      slowedUntil: state.slowedUntil > now ? state.slowedUntil.toISOString() : null,
      rateFactor: rateFactorAt(state, now),
    },
  };
}

export async function listInstitutions(core: Core, tenant: Tenant) {
  const [health, throttles] = await Promise.all([healthByInstitution(core, tenant), listThrottles(core.db, tenant.application.id)]);
  return core.provider.institutions().map((i) => view(core, tenant, i, health.get(i.id), throttles.get(i.id)));
}

export async function getInstitution(core: Core, tenant: Tenant, id: string) {
  const institution = core.provider.institutions().find((i) => i.id === id);
  if (!institution) throw notFound('institution', id);
  const [health, throttles] = await Promise.all([healthByInstitution(core, tenant), listThrottles(core.db, tenant.application.id)]);
  return view(core, tenant, institution, health.get(id), throttles.get(id));
}

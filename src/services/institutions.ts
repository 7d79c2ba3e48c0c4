/**
 * Institutions with their health (domain/health.ts), derived from the calling application's recent
 * provider calls on its own clock: what its connections meet, and nothing of other applications'.
 * The scheduler's circuit breaker reads the same (services/scheduler.ts).
 */
import { HEALTH_LOOKBACK_CALLS, HEALTH_WINDOW_MS, healthOf, INSTITUTION_ERRORS, type Health as InstitutionHealth, type RecentCall } from '../domain/health.js';
import type { ApplicationRow } from '../db/repos/applications.js';
import { recentCallsAt, recentCallsByInstitution, type HealthQuery } from '../db/repos/health.js';
import { requireInstitution, searchCatalogue, type CatalogueInstitution, type CatalogueQuery } from './catalogue.js';
import { liveHolders, OPEN_THROTTLE, rateFactorAt, type ThrottleState } from '../domain/throttle.js';
import { listThrottles } from '../db/repos/throttles.js';
import { tenantClock, type Core, type Tenant } from './core.js';
import { capacityFor, refreshIntervalMs } from './limits.js';

type Health = { status: 'operational' | 'degraded' | 'outage'; since: string | null };

/** The application's latest calls in the health window, on its own clock. */
function healthQuery(core: Core, application: ApplicationRow): HealthQuery {
  const since = new Date(tenantClock(core, application).now().getTime() - HEALTH_WINDOW_MS);
  return { applicationId: application.id, since, failingCodes: INSTITUTION_ERRORS, limit: HEALTH_LOOKBACK_CALLS };
}

/** One institution's health for one application: GET /v1/institutions/{id} and the scheduler's circuit breaker. */
export async function institutionHealth(core: Core, application: ApplicationRow, institutionId: string): Promise<InstitutionHealth> {
  return healthOf(await recentCallsAt(core.db, institutionId, healthQuery(core, application)));
}

function present(health: InstitutionHealth): Health {
  return { status: health.status, since: health.since?.toISOString() ?? null };
}

const NO_CALLS: readonly RecentCall[] = [];

/** The limits as they apply to this application (its own settings can only be stricter), and where its refreshes there stand now. */
async function view(core: Core, tenant: Tenant, i: CatalogueInstitution, health: Health, throttle: ThrottleState | undefined) {
  const now = core.clock.now();
  const state = throttle ?? OPEN_THROTTLE;
  return {
    id: i.id, provider: i.provider, name: i.name, country: i.country, methods: i.methods, products: i.products, mfa: i.alwaysMfa,
    logo: i.logo ?? null, primaryColor: i.primaryColor ?? null, url: i.url ?? null,
    historyDays: i.historyDays ?? null, maxAccessDays: i.maxAccessDays ?? null,
    limits: {
      refreshesPerDay: i.limits.refreshesPerDay, minIntervalSeconds: i.limits.minIntervalSeconds,
      ...(await capacityFor(core, tenant.application, i.id)),
      refreshIntervalHours: (await refreshIntervalMs(core, tenant.application, i.id)) / 3_600_000,
    },
    health,
    throttle: {
      runningRefreshes: liveHolders(state, now).length,
      slowedUntil: state.slowedUntil > now ? state.slowedUntil.toISOString() : null,
      rateFactor: rateFactorAt(state, now),
    },
  };
}

/** GET /v1/institutions: a page of the catalogue (the providers this application can use), each with its health here. */
export async function listInstitutions(core: Core, tenant: Tenant, q: CatalogueQuery) {
  const [page, calls, throttles] = await Promise.all([
    searchCatalogue(core, tenant, q), recentCallsByInstitution(core.db, healthQuery(core, tenant.application)), listThrottles(core.db, tenant.application.id),
  ]);
  const data = await Promise.all(page.data.map((i) => view(core, tenant, i, present(healthOf(calls.get(i.id) ?? NO_CALLS)), throttles.get(i.id))));
  return { data, nextCursor: page.nextCursor, hasMore: page.hasMore };
}

export async function getInstitution(core: Core, tenant: Tenant, id: string) {
  const institution = await requireInstitution(core, tenant, id);
  const [health, throttles] = await Promise.all([institutionHealth(core, tenant.application, id), listThrottles(core.db, tenant.application.id)]);
  return view(core, tenant, institution, present(health), throttles.get(id));
}

/**
 * Institutions with their health, derived from recent provider calls across all connections:
 * mostly failing with institution_unavailable is an outage, often failing is degraded.
 */
import { and, eq, gt, sql } from 'drizzle-orm';
import { notFound } from '../domain/errors.js';
import { connections, providerCalls } from '../db/schema.js';
import type { ProviderInstitution } from '../providers/types.js';
import type { Core } from './core.js';

/** Health looks at this much recent history. */
const HEALTH_WINDOW_MS = 15 * 60_000;
/** Too few calls say nothing; below this an institution counts as operational. */
const MIN_CALLS = 3;

type Health = { status: 'operational' | 'degraded' | 'outage'; since: string | null };

async function healthByInstitution(core: Core): Promise<Map<string, Health>> {
  const since = new Date(core.clock.now().getTime() - HEALTH_WINDOW_MS);
  const rows = await core.db.select({
    institutionId: connections.institutionId,
    total: sql<number>`count(*)`.mapWith(Number),
    unavailable: sql<number>`count(*) filter (where ${providerCalls.errorCode} in ('institution_unavailable', 'provider_error', 'rate_limited'))`.mapWith(Number),
    firstFailure: sql<string | null>`min(${providerCalls.createdAt}) filter (where ${providerCalls.errorCode} in ('institution_unavailable', 'provider_error', 'rate_limited'))`,
  }).from(providerCalls).innerJoin(connections, eq(connections.id, providerCalls.connectionId))
    .where(and(gt(providerCalls.createdAt, since))).groupBy(connections.institutionId);
  const out = new Map<string, Health>();
  for (const r of rows) {
    if (r.total < MIN_CALLS) continue;
    const ratio = r.unavailable / r.total;
    const sinceIso = r.firstFailure ? new Date(r.firstFailure).toISOString() : null;
    if (ratio >= 0.8) out.set(r.institutionId, { status: 'outage', since: sinceIso });
    else if (ratio >= 0.2) out.set(r.institutionId, { status: 'degraded', since: sinceIso });
  }
  return out;
}

function view(i: ProviderInstitution, health: Health | undefined) {
  return {
    id: i.id, name: i.name, country: i.country, methods: i.methods, products: i.products, mfa: i.alwaysMfa,
    limits: { ...i.limits }, health: health ?? { status: 'operational' as const, since: null },
  };
}

export async function listInstitutions(core: Core) {
  const health = await healthByInstitution(core);
  return core.provider.institutions().map((i) => view(i, health.get(i.id)));
}

export async function getInstitution(core: Core, id: string) {
  const institution = core.provider.institutions().find((i) => i.id === id);
  if (!institution) throw notFound('institution', id);
  return view(institution, (await healthByInstitution(core)).get(id));
}

/** The operator dashboard's reads across the application: every connection by filter, and the overview. */
import { HOUR_MS } from '../domain/clock.js';
import { listApplicationConnections, overviewCounts, usersByIds, type ConnectionFilter } from '../db/repos/overview.js';
import { presentConnections } from './connections.js';
import { tenantClock, type Core, type Tenant } from './core.js';
import { idPage, readIdCursor } from './cursor.js';

/** Newest first, each with its user (id, external id, name, email) so an operator sees whose it is. */
export async function listAllConnections(core: Core, tenant: Tenant, filter: ConnectionFilter, cursor: string | null, limit: number) {
  const rows = await listApplicationConnections(core.db, tenant.application.id, filter, readIdCursor(core, tenant, 'connections_newest', cursor), limit + 1);
  const page = idPage(core, tenant, 'connections_newest', rows, limit, (c) => c);
  const [data, people] = await Promise.all([
    presentConnections(core, tenant, page.data), usersByIds(core.db, tenant.application.id, page.data.map((c) => c.userId)),
  ]);
  const byId = new Map(people.map((u) => [u.id, u]));
  return { ...page, data: data.map((c) => ({ ...c, user: byId.get(c.userId) ?? { id: c.userId, externalId: null, email: null, name: null } })) };
}

/** The last 24 hours on the application's clock. */
export async function getOverview(core: Core, tenant: Tenant) {
  const now = tenantClock(core, tenant.application).now();
  const since = new Date(now.getTime() - 24 * HOUR_MS);
  const counts = await overviewCounts(core.db, tenant.application.id, since);
  return {
    since: since.toISOString(), until: now.toISOString(),
    connectionsByStatus: Object.fromEntries(counts.byStatus.map((r) => [r.status, r.count])),
    jobsPerHour: counts.perHour,
    failuresByReason: counts.failures,
  };
}

/** The operator dashboard's reads across the application (issue 6): every connection by filter, and the overview. */
import { HOUR_MS } from '../domain/clock.js';
import { listApplicationConnections, overviewCounts, type ConnectionFilter } from '../db/repos/overview.js';
import { presentConnections } from './connections.js';
import { tenantClock, type Core, type Tenant } from './core.js';
import { idPage, readIdCursor } from './cursor.js';

export async function listAllConnections(core: Core, tenant: Tenant, filter: ConnectionFilter, cursor: string | null, limit: number) {
  const rows = await listApplicationConnections(core.db, tenant.application.id, filter, readIdCursor(core, tenant, 'connections', cursor), limit + 1);
  const page = idPage(core, tenant, 'connections', rows, limit, (c) => c);
  return { ...page, data: await presentConnections(core, tenant, page.data) };
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

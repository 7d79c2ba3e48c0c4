/** API read latency: GET /v1/users/{id}/transactions?limit=50 through Fastify's inject (no socket). */
import { buildApp } from '../src/http/app.js';
import { createApiKey } from '../src/services/applications.js';
import type { Core } from '../src/services/core.js';
import type { ApplicationRow } from '../src/db/repos/applications.js';
import { percentile, round } from './measure.js';

export interface ReadLatency { requests: number; p50Ms: number; p99Ms: number; meanMs: number; requestsPerSec: number }

export async function readLatency(core: Core, application: ApplicationRow, userIds: string[], requests: number): Promise<ReadLatency> {
  const app = await buildApp(core, { logger: false });
  await app.ready();
  try {
    const { key } = await createApiKey(core.db, core.clock, application, 'bench');
    const get = async (i: number) => {
      const res = await app.inject({ method: 'GET', url: `/v1/users/${userIds[i % userIds.length]}/transactions?limit=50`, headers: { authorization: `Bearer ${key}` } });
      if (res.statusCode !== 200) throw new Error(`GET transactions answered ${res.statusCode}: ${res.body.slice(0, 200)}`);
      if ((JSON.parse(res.body) as { data: unknown[] }).data.length !== 50) throw new Error('GET transactions answered fewer than 50 rows');
    };
    for (let i = 0; i < 50; i++) await get(i); // warm-up: JIT, plans, pool
    const times: number[] = [];
    const t0 = performance.now();
    for (let i = 0; i < requests; i++) {
      const t = performance.now();
      await get(i);
      times.push(performance.now() - t);
    }
    const total = performance.now() - t0;
    times.sort((a, b) => a - b);
    return {
      requests, p50Ms: round(percentile(times, 50), 2), p99Ms: round(percentile(times, 99), 2),
      meanMs: round(total / requests, 2), requestsPerSec: round(requests / (total / 1000)),
    };
  } finally {
    await app.close();
  }
}

/**
 * A whole Causeway in-process for HTTP tests through `app.inject`: database, queue, worker,
 * sandbox with zero latency, the default application and an API key.
 */
import { randomBytes } from 'node:crypto';
import assert from 'node:assert/strict';
import type { FastifyInstance, InjectOptions } from 'fastify';
import { loadConfig, type Config } from '../../src/config.js';
import { buildApp } from '../../src/http/app.js';
import { createCore, startWorker, stopJobs } from '../../src/runtime.js';
import { createApiKey, ensureDefaultApplication } from '../../src/services/applications.js';
import type { Core } from '../../src/services/core.js';
import type { Provider } from '../../src/providers/types.js';
import { systemClock } from '../../src/domain/clock.js';
import { createTestDatabase } from './db.js';

export interface ApiResponse { status: number; body: any; headers: Record<string, unknown> }

export interface TestApp {
  core: Core;
  app: FastifyInstance;
  key: string;
  /** Request with the API key; JSON bodies. */
  api(method: InjectOptions['method'], url: string, body?: unknown, headers?: Record<string, string>): Promise<ApiResponse>;
  /** Polls a job until `until` holds (default: no longer queued or running). */
  waitForJob(jobId: string, until?: (job: any) => boolean, timeoutMs?: number): Promise<any>;
  createUser(): Promise<string>;
  close(): Promise<void>;
}

export function testConfig(overrides: Partial<Config> = {}): Config {
  return {
    ...loadConfig({}),
    sandboxLatencyMs: 0, retryDelaySeconds: 0, retryLimit: 3, jobHeartbeatSeconds: 10, jobConcurrency: 4,
    encryptionKey: randomBytes(32).toString('base64'), logLevel: 'silent',
    apiRateLimit: 0, // suites fire thousands of requests with one key; test/hardening-access.test.ts sets a limit
    ...overrides,
  };
}

export async function startTestApp(opts: { config?: Partial<Config>; worker?: boolean; provider?: Provider } = {}): Promise<TestApp> {
  const { database, drop } = await createTestDatabase();
  const config = testConfig(opts.config);
  const core = await createCore(config, { database, logLevel: 'silent', provider: opts.provider });
  const stopWorker = opts.worker === false ? null : await startWorker(core);
  const app = await buildApp(core, { logger: false });
  await app.ready();
  const { application } = await ensureDefaultApplication(core.db, systemClock);
  const { key } = await createApiKey(core.db, systemClock, application, 'test');
  const api: TestApp['api'] = async (method, url, body, headers = {}) => {
    const res = await app.inject({
      method, url,
      headers: { authorization: `Bearer ${key}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...headers },
      ...(body !== undefined ? { payload: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
    });
    let parsed: unknown = res.body;
    try { parsed = res.body ? JSON.parse(res.body) : null; } catch { /* not JSON */ }
    return { status: res.statusCode, body: parsed, headers: res.headers };
  };
  return {
    core, app, key, api,
    async waitForJob(jobId, until = (j) => !['queued', 'running'].includes(j.status), timeoutMs = 20_000) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const res = await api('GET', `/v1/jobs/${jobId}`);
        assert.equal(res.status, 200, JSON.stringify(res.body));
        if (until(res.body)) return res.body;
        if (Date.now() > deadline) throw new Error(`job ${jobId} still ${res.body.status} after ${timeoutMs} ms: ${JSON.stringify(res.body.steps)}`);
        await new Promise((r) => setTimeout(r, 20));
      }
    },
    async createUser() {
      const res = await api('POST', '/v1/users', { email: 'jo@example.com' });
      assert.equal(res.status, 201, JSON.stringify(res.body));
      return res.body.id as string;
    },
    async close() {
      await app.close();
      if (stopWorker) await stopWorker();
      await stopJobs(core);
      await core.database.close();
      await drop();
    },
  };
}

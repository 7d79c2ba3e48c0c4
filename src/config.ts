/**
 * The environment, parsed once against a schema. A bad value stops start-up with a message that
 * names the variable and says what it should be.
 */
import path from 'node:path';
import { z } from 'zod';

const bool = z.enum(['true', 'false', '1', '0']).transform((v) => v === 'true' || v === '1');
const int = (min: number) => z.coerce.number().int().min(min);

const schema = z.object({
  DATABASE_URL: z.string().regex(/^postgres(ql)?:\/\//, 'must be a postgres:// or postgresql:// URL').optional(),
  CAUSEWAY_DATA_DIR: z.string().min(1).default('./data'),
  PORT: int(0).max(65535).default(3000),
  HOST: z.string().min(1).default('127.0.0.1'),
  /** The address users' browsers reach Causeway at (consent pages, links). Defaults to http://HOST:PORT. */
  CAUSEWAY_PUBLIC_URL: z.string().url().optional(),
  /** 32 bytes, base64: the AES-256-GCM key for secrets at rest. Generated into the data directory when embedded. */
  CAUSEWAY_ENCRYPTION_KEY: z.string().optional(),
  /** true: user-supplied URLs (webhook endpoints, SimpleFIN claim and access URLs) may reach loopback, private and link-local addresses. */
  CAUSEWAY_ALLOW_PRIVATE_ADDRESSES: bool.optional(),
  /** The switch's earlier name, when it covered webhooks only: still read when the new name is unset. */
  CAUSEWAY_ALLOW_PRIVATE_WEBHOOKS: bool.optional(),
  /** Webhook attempts one worker process makes at once (one endpoint holds at most 8 of them). */
  CAUSEWAY_WEBHOOK_CONCURRENCY: int(1).max(1000).default(64),
  /** Seconds a receiver has to answer a webhook; slower counts as a failed attempt. */
  CAUSEWAY_WEBHOOK_TIMEOUT_SECONDS: int(1).max(60).default(15),
  /** Milliseconds each sandbox provider call takes (the slow institution takes ten times this). */
  CAUSEWAY_SANDBOX_LATENCY_MS: int(0).default(300),
  /** Worker slots for connection jobs in one process. */
  CAUSEWAY_JOB_CONCURRENCY: int(1).max(2000).default(100),
  /** Seconds before a transient provider failure is retried (doubling each time). */
  CAUSEWAY_RETRY_DELAY_SECONDS: int(0).default(5),
  CAUSEWAY_RETRY_LIMIT: int(0).max(20).default(3),
  /** Seconds a job may go without a worker heartbeat before it is handed to another worker. */
  CAUSEWAY_JOB_HEARTBEAT_SECONDS: int(10).default(30),
  /** false: this worker runs no background refresh scheduler (others may; the bench measures refresh without it). */
  CAUSEWAY_BACKGROUND_REFRESH: bool.default(true),
  /** Seconds a user has to answer an MFA prompt. */
  CAUSEWAY_MFA_TIMEOUT_SECONDS: int(1).default(300),
  /**
   * Requests a second each API credential (API key, client token, operator) may make, refilled
   * continuously; 0 switches the limit off. 100/s is far above what an app's server or a page
   * needs, and low enough that one runaway client cannot take a process's capacity from the rest.
   */
  CAUSEWAY_API_RATE_LIMIT: int(0).max(1_000_000).default(100),
  /**
   * Behind a reverse proxy: whose X-Forwarded-For to believe, so the sign-in throttle counts the
   * client's address, not the proxy's. The proxies' addresses or CIDRs, comma-separated, or `true`
   * (every hop: only when nothing can reach Causeway but the proxy). No hop counts: a count cannot
   * tell the proxy from a client that sends the header itself.
   */
  CAUSEWAY_TRUST_PROXY: z.string().regex(/^(true|false|[0-9a-fA-F.:/]*[.:][0-9a-fA-F.:/]*(,\s*[0-9a-fA-F.:/]*[.:][0-9a-fA-F.:/]*)*)$/, 'must be true, false, or the proxies\' addresses/CIDRs separated by commas').optional(),
  /** Requests a credential may make at once before the rate applies. Defaults to twice the rate. */
  CAUSEWAY_API_RATE_BURST: int(1).max(10_000_000).optional(),
  /** Plaid for every application without settings of its own (PUT /v1/application/providers/plaid). */
  CAUSEWAY_PLAID_CLIENT_ID: z.string().min(1).optional(),
  CAUSEWAY_PLAID_SECRET: z.string().min(1).optional(),
  CAUSEWAY_PLAID_ENV: z.enum(['sandbox', 'production']).default('sandbox'),
  /** Any Plaid-compatible host (a proxy, a test fake) instead of Plaid's own, for every application. */
  CAUSEWAY_PLAID_URL: z.string().url().optional(),
  /** How often the worker syncs the institutions catalogue from each provider (hours; 0: only on demand). */
  CAUSEWAY_CATALOGUE_SYNC_HOURS: int(0).max(24 * 365).default(24),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  /** `on`: /metrics in Prometheus format (README, "Metrics, readiness and request ids"); `off`: not served. */
  CAUSEWAY_METRICS: z.enum(['on', 'off']).default('on'),
  /** When set, a scrape must send `Authorization: Bearer <this>` (Prometheus: `authorization: { credentials: … }`). */
  CAUSEWAY_METRICS_TOKEN: z.string().min(16, 'must be at least 16 characters').optional(),
  /** When set, /metrics (with /health and /ready) is served on this port instead of the API port, by every role: how worker processes are scraped. */
  CAUSEWAY_METRICS_PORT: int(0).max(65535).optional(),
});

export type Env = z.infer<typeof schema>;

export interface Config {
  databaseUrl: string | null;
  dataDir: string;
  port: number;
  host: string;
  publicUrl: string | null;
  encryptionKey: string | null;
  /** User-supplied URLs may reach private, loopback and link-local addresses (net/guard.ts). */
  allowPrivateAddresses: boolean;
  webhookConcurrency: number;
  webhookTimeoutSeconds: number;
  backgroundRefresh: boolean;
  sandboxLatencyMs: number;
  jobConcurrency: number;
  retryDelaySeconds: number;
  retryLimit: number;
  jobHeartbeatSeconds: number;
  mfaTimeoutSeconds: number;
  /** Requests a second per API credential, per API process (http/rate-limit.ts); 0: no limit. */
  apiRateLimit: number;
  /** Requests a credential may make in a burst before apiRateLimit applies. */
  apiRateBurst: number;
  /** Fastify's trustProxy: which forwarded client addresses to believe (false: none). */
  trustProxy: boolean | string[];
  logLevel: Env['LOG_LEVEL'];
  /** The providers' variables (CAUSEWAY_PLAID_* and the like), checked above, read by each provider's settingsFromEnv. */
  providerEnv: Record<string, string>;
  catalogueSyncHours: number;
  /** /metrics: served or not, the bearer token a scrape needs (null: none), and its own port (null: the API port; workers serve none). */
  metrics: { enabled: boolean; token: string | null; port: number | null };
}

/** Variables that belong to a provider adapter (providers/<name>/). */
const PROVIDER_ENV = /^CAUSEWAY_(PLAID|GOCARDLESS|SIMPLEFIN|BASIQ)_/;

export class ConfigError extends Error {}

function parseTrustProxy(v: string | undefined): Config['trustProxy'] {
  if (v === undefined || v === 'false') return false;
  if (v === 'true') return true;
  return v.split(',').map((a) => a.trim());
}

export function loadConfig(env: NodeJS.ProcessEnv = process.env): Config {
  const parsed = schema.safeParse(Object.fromEntries(Object.entries(env).filter(([, v]) => v !== '')));
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message}`);
    throw new ConfigError(`Invalid environment:\n${lines.join('\n')}`);
  }
  const e = parsed.data;
  return {
    databaseUrl: e.DATABASE_URL ?? null,
    dataDir: path.resolve(e.CAUSEWAY_DATA_DIR),
    port: e.PORT,
    host: e.HOST,
    publicUrl: e.CAUSEWAY_PUBLIC_URL?.replace(/\/$/, '') ?? null,
    encryptionKey: e.CAUSEWAY_ENCRYPTION_KEY ?? null,
    allowPrivateAddresses: e.CAUSEWAY_ALLOW_PRIVATE_ADDRESSES ?? e.CAUSEWAY_ALLOW_PRIVATE_WEBHOOKS ?? false,
    webhookConcurrency: e.CAUSEWAY_WEBHOOK_CONCURRENCY,
    webhookTimeoutSeconds: e.CAUSEWAY_WEBHOOK_TIMEOUT_SECONDS,
    backgroundRefresh: e.CAUSEWAY_BACKGROUND_REFRESH,
    sandboxLatencyMs: e.CAUSEWAY_SANDBOX_LATENCY_MS,
    jobConcurrency: e.CAUSEWAY_JOB_CONCURRENCY,
    retryDelaySeconds: e.CAUSEWAY_RETRY_DELAY_SECONDS,
    retryLimit: e.CAUSEWAY_RETRY_LIMIT,
    jobHeartbeatSeconds: e.CAUSEWAY_JOB_HEARTBEAT_SECONDS,
    mfaTimeoutSeconds: e.CAUSEWAY_MFA_TIMEOUT_SECONDS,
    apiRateLimit: e.CAUSEWAY_API_RATE_LIMIT,
    apiRateBurst: e.CAUSEWAY_API_RATE_BURST ?? Math.max(1, 2 * e.CAUSEWAY_API_RATE_LIMIT),
    trustProxy: parseTrustProxy(e.CAUSEWAY_TRUST_PROXY),
    logLevel: e.LOG_LEVEL,
    providerEnv: Object.fromEntries(Object.entries({ ...env, CAUSEWAY_PLAID_ENV: e.CAUSEWAY_PLAID_ENV } as Record<string, string | undefined>)
      .filter((kv): kv is [string, string] => PROVIDER_ENV.test(kv[0]) && typeof kv[1] === 'string' && kv[1] !== '')),
    catalogueSyncHours: e.CAUSEWAY_CATALOGUE_SYNC_HOURS,
    metrics: { enabled: e.CAUSEWAY_METRICS === 'on', token: e.CAUSEWAY_METRICS_TOKEN ?? null, port: e.CAUSEWAY_METRICS_PORT ?? null },
  };
}

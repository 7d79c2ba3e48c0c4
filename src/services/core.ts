/**
 * The services' shared dependencies, built once per process. Services are plain functions of
 * (core, tenant, input); they never import HTTP.
 */
import type { Logger } from 'pino';
import type { Config } from '../config.js';
import { offsetClock, type Clock } from '../domain/clock.js';
import type { Database, Db } from '../db/open.js';
import type { ApplicationRow } from '../db/repos/applications.js';
import type { JobQueue } from '../jobs/queue.js';
import type { ProviderRegistry } from '../providers/registry.js';
import type { Cipher } from './crypto.js';

export interface Core {
  config: Config;
  database: Database;
  db: Db;
  cipher: Cipher;
  /** Every provider this server can use; a connection is served by its own (services/providers.ts providerFor). */
  providers: ProviderRegistry;
  clock: Clock;
  queue: JobQueue;
  log: Logger;
  /** The address the HTTP server listens on, once it does. */
  listeningUrl: string | null;
  /** Where browsers reach this server (consent pages): CAUSEWAY_PUBLIC_URL, else the listening address. */
  publicUrl(): string;
}

export type ClientScope = 'connect' | 'manage';

/** The calling application, as authenticated. */
export interface Tenant {
  application: ApplicationRow;
  /** Who is asking, for records such as deletions: `api_key:<id>`, `operator:<id>`, `client_token:<id>`. Absent for the system itself. */
  actor?: string;
  /** A client token (issue 6): the one user it may act for, and what for. Absent for API keys and operators. */
  client?: { userId: string; scopes: ClientScope[]; redirectUri: string | null; expiresAt: Date };
}

/** The application's clock: the wall clock plus its sandbox test-clock offset. */
export function tenantClock(core: Core, application: Pick<ApplicationRow, 'clockOffsetMs'>): Clock {
  return offsetClock(core.clock, application.clockOffsetMs);
}

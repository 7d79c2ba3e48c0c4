/** Applications and API keys: the default sandbox application, key creation, authentication, settings. */
import { newId } from '../domain/ids.js';
import {
  findActiveKeyByHash, findDefaultApplication, insertApiKey, insertApplication, lockDefaultApplication, updateApplicationSettings as updateApplicationSettingsRow, type ApplicationRow,
} from '../db/repos/applications.js';
import type { Db } from '../db/open.js';
import { withTransaction } from '../db/transaction.js';
import type { Clock } from '../domain/clock.js';
import { AppError } from '../domain/errors.js';
import type { InstitutionSetting } from '../domain/types.js';
import type { Core, Tenant } from './core.js';
import { findInstitutions } from './catalogue.js';
import { randomToken, sha256 } from './crypto.js';

/** The shown part of a key: enough to recognise it in a list, far too little to use it. */
const PREFIX_LENGTH = 15;

/** The default sandbox application, made by the first process to start on a fresh database (and only by it). */
export async function ensureDefaultApplication(db: Db, clock: Clock): Promise<{ application: ApplicationRow; created: boolean }> {
  const existing = await findDefaultApplication(db);
  if (existing) return { application: existing, created: false };
  return withTransaction(db, async (tx) => {
    await lockDefaultApplication(tx);
    const made = await findDefaultApplication(tx); // another process may have made it while this one waited
    if (made) return { application: made, created: false };
    const application = await insertApplication(tx, {
      id: newId('app'), name: 'Default sandbox application', environment: 'sandbox', isDefault: true, createdAt: clock.now(),
    });
    return { application, created: true };
  });
}

export type Environment = 'sandbox' | 'live';

/**
 * A new application (tenant): its own users, connections, keys and settings. A sandbox application
 * uses the sandbox provider and may call /v1/sandbox/*; a live one may not (PRODUCT.md §5, §6).
 */
export async function createApplication(db: Db, clock: Clock, input: { name: string; environment: Environment }): Promise<ApplicationRow> {
  const name = input.name.trim();
  if (name.length === 0 || name.length > 200) throw new AppError('validation_failed', 'An application name is 1 to 200 characters.', { errors: [{ field: 'name', message: 'must be 1 to 200 characters' }] });
  return insertApplication(db, { id: newId('app'), name, environment: input.environment, isDefault: false, createdAt: clock.now() });
}

/** Creates a key and answers it in full: this is the only time it is ever shown. */
export async function createApiKey(db: Db, clock: Clock, application: ApplicationRow, name: string): Promise<{ id: string; key: string; prefix: string }> {
  const key = `sk_${application.environment === 'sandbox' ? 'sandbox' : 'live'}_${randomToken(24)}`;
  const row = await insertApiKey(db, {
    id: newId('key'), applicationId: application.id, name, prefix: key.slice(0, PREFIX_LENGTH), hash: sha256(key), createdAt: clock.now(),
  });
  return { id: row.id, key, prefix: row.prefix };
}

/** The application (and the key's id, as the actor) an API key belongs to, or null. */
export async function authenticate(db: Db, presented: string): Promise<{ application: ApplicationRow; actor: string } | null> {
  if (!/^sk_(sandbox|live)_[A-Za-z0-9_-]{20,}$/.test(presented)) return null;
  const found = await findActiveKeyByHash(db, sha256(presented));
  return found ? { application: found.application, actor: `api_key:${found.key.id}` } : null;
}


function applicationView(a: ApplicationRow) {
  return {
    id: a.id, name: a.name, environment: a.environment as 'sandbox' | 'live', consentEndData: a.consentEndData,
    refreshIntervalHours: a.refreshIntervalHours, institutions: a.institutionSettings, createdAt: a.createdAt.toISOString(),
  };
}

export async function getApplicationSettings(_core: Core, tenant: Tenant) {
  return applicationView(tenant.application);
}

export async function updateApplicationSettings(core: Core, tenant: Tenant, patch: {
  consentEndData?: 'keep' | 'purge'; refreshIntervalHours?: number; institutions?: Record<string, InstitutionSetting | null>;
}) {
  const { institutions, ...rest } = patch;
  if (Object.values(patch).every((v) => v === undefined)) return applicationView(tenant.application); // nothing to change
  const known = await findInstitutions(core, Object.keys(institutions ?? {}));
  const unknown = Object.keys(institutions ?? {}).filter((id) => !known.has(id));
  if (unknown.length > 0) {
    throw new AppError('validation_failed', `No institution ${unknown.join(', ')}; GET /v1/institutions lists them.`,
      { errors: unknown.map((id) => ({ field: `body.institutions.${id}`, message: 'unknown institution' })) });
  }
  // The institutions merged in one statement (no lost update between two PATCHes): set per institution, null removes.
  const updated = await updateApplicationSettingsRow(core.db, tenant.application.id, rest, institutions);
  return applicationView(updated);
}

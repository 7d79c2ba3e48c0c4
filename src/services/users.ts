/** End users of an application. */
import { newId } from '../domain/ids.js';
import { AppError, notFound } from '../domain/errors.js';
import { insertEvent } from '../db/repos/events.js';
import { findUser, insertUser, listUsers, updateUser as updateUserRow } from '../db/repos/users.js';
import type { Db } from '../db/open.js';
import { withTransaction } from '../db/transaction.js';
import { sqlErrorOf, UNIQUE_VIOLATION } from '../db/errors.js';
import { tenantClock, type Core, type Tenant } from './core.js';
import { userView } from './views.js';
import { idPage, readIdCursor } from './cursor.js';

/** The user, or 404. `db` is the transaction when there is one: on PGlite a query outside it would wait for it forever. */
export async function requireUser(core: Core, tenant: Tenant, userId: string, db: Db = core.db) {
  const user = await findUser(db, tenant.application.id, userId);
  if (!user) throw notFound('user', userId);
  return user;
}

export interface UserInput { externalId?: string | null; email?: string | null; name?: string | null; metadata?: Record<string, string> }

export async function createUser(core: Core, tenant: Tenant, input: UserInput) {
  const now = tenantClock(core, tenant.application).now();
  try {
    const user = await withTransaction(core.db, async (tx) => {
      const user = await insertUser(tx, {
        id: newId('usr', now.getTime()), applicationId: tenant.application.id, externalId: input.externalId ?? null,
        email: input.email ?? null, name: input.name ?? null, metadata: input.metadata ?? {}, createdAt: now, updatedAt: now,
      });
      // No PII in events: they go to webhook receivers and stay after the user is deleted.
      await insertEvent(tx, {
        applicationId: user.applicationId, userId: user.id, connectionId: null, type: 'user.created', data: { externalId: user.externalId },
        actor: tenant.actor ?? null, at: now,
      });
      return user;
    });
    return userView(user);
  } catch (err) {
    if (isUniqueViolation(err)) throw externalIdTaken(input.externalId);
    throw err;
  }
}

export async function getUser(core: Core, tenant: Tenant, userId: string) {
  return userView(await requireUser(core, tenant, userId));
}

/** PostgreSQL's unique_violation, as both drivers report it (db/errors.ts). */
function isUniqueViolation(err: unknown): boolean {
  return sqlErrorOf(err, [UNIQUE_VIOLATION]) !== null;
}

function externalIdTaken(externalId: string | null | undefined) {
  return new AppError('external_id_taken', `Another user of this application already has externalId ${externalId}. Fetch that user instead, or use another externalId.`,
    { errors: [{ field: 'body.externalId', message: 'already used by another user' }] });
}

export async function listAllUsers(core: Core, tenant: Tenant, cursor: string | null, limit: number, search?: string) {
  const rows = await listUsers(core.db, tenant.application.id, readIdCursor(core, tenant, 'users', cursor), limit + 1, search);
  return idPage(core, tenant, 'users', rows, limit, userView);
}

export async function updateUser(core: Core, tenant: Tenant, userId: string, patch: UserInput) {
  const now = tenantClock(core, tenant.application).now();
  try {
    const user = await updateUserRow(core.db, tenant.application.id, userId, { ...patch, updatedAt: now });
    if (!user) throw notFound('user', userId);
    return userView(user);
  } catch (err) {
    if (isUniqueViolation(err)) throw externalIdTaken(patch.externalId);
    throw err;
  }
}

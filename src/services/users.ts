/** End users of an application. */
import { newId } from '../domain/ids.js';
import { notFound } from '../domain/errors.js';
import { deleteUser as deleteUserRow, findUser, insertUser, listUsers, updateUser as updateUserRow } from '../db/repos/users.js';
import { tenantClock, type Core, type Tenant } from './core.js';
import { userView } from './views.js';

export interface UserInput { externalId?: string | null; email?: string | null; name?: string | null; metadata?: Record<string, string> }

export async function createUser(core: Core, tenant: Tenant, input: UserInput) {
  const now = tenantClock(core, tenant.application).now();
  const user = await insertUser(core.db, {
    id: newId('usr', now.getTime()), applicationId: tenant.application.id, externalId: input.externalId ?? null,
    email: input.email ?? null, name: input.name ?? null, metadata: input.metadata ?? {}, createdAt: now, updatedAt: now,
  });
  return userView(user);
}

export async function getUser(core: Core, tenant: Tenant, userId: string) {
  const user = await findUser(core.db, tenant.application.id, userId);
  if (!user) throw notFound('user', userId);
  return userView(user);
}

export async function listAllUsers(core: Core, tenant: Tenant, cursor: string | null, limit: number) {
  const rows = await listUsers(core.db, tenant.application.id, cursor, limit + 1);
  return { data: rows.slice(0, limit).map(userView), nextCursor: rows.length > limit ? rows[limit - 1]!.id : null };
}

export async function updateUser(core: Core, tenant: Tenant, userId: string, patch: UserInput) {
  const now = tenantClock(core, tenant.application).now();
  const user = await updateUserRow(core.db, tenant.application.id, userId, { ...patch, updatedAt: now });
  if (!user) throw notFound('user', userId);
  return userView(user);
}

/** Deletes the user and, by cascade, every connection, job, account, transaction and profile. */
export async function deleteUser(core: Core, tenant: Tenant, userId: string) {
  if (!(await deleteUserRow(core.db, tenant.application.id, userId))) throw notFound('user', userId);
}

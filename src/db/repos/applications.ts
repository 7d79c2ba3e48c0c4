/** Applications (tenants) and their API keys. */
import { and, asc, eq, isNull, sql } from 'drizzle-orm';
import type { PgUpdateSetSource } from 'drizzle-orm/pg-core';
import type { InstitutionSetting } from '../../domain/types.js';
import type { Db } from '../open.js';
import { apiKeys, applications } from '../schema.js';
import { forgetCachedKeys } from './access.js';

export type ApplicationRow = typeof applications.$inferSelect;
export type ApiKeyRow = typeof apiKeys.$inferSelect;

/** Every write to a key or an application row: the remembered keys (access.ts) are forgotten before and after it. */
async function writing<T>(statement: () => Promise<T>): Promise<T> {
  forgetCachedKeys();
  try { return await statement(); } finally { forgetCachedKeys(); }
}

export async function insertApplication(db: Db, row: typeof applications.$inferInsert): Promise<ApplicationRow> {
  const [created] = await db.insert(applications).values(row).returning();
  return created!;
}

export async function findDefaultApplication(db: Db): Promise<ApplicationRow | null> {
  const [row] = await db.select().from(applications).where(eq(applications.isDefault, true)).orderBy(asc(applications.createdAt), asc(applications.id)).limit(1);
  return row ?? null;
}

/**
 * Serialises the creation of the default application (in the caller's transaction): processes
 * starting together on a fresh database (compose's two APIs and two workers) make one, not one each.
 */
export async function lockDefaultApplication(tx: Db): Promise<void> {
  await tx.execute(sql`select pg_advisory_xact_lock(hashtextextended('causeway default application', 0))`);
}

/** Every application, oldest first (the CLI's list). */
export async function listApplications(db: Db): Promise<ApplicationRow[]> {
  return db.select().from(applications).orderBy(asc(applications.createdAt), asc(applications.id));
}

export async function findApplication(db: Db, id: string): Promise<ApplicationRow | null> {
  const [row] = await db.select().from(applications).where(eq(applications.id, id));
  return row ?? null;
}

export async function updateApplication(db: Db, id: string, patch: PgUpdateSetSource<typeof applications>): Promise<ApplicationRow> {
  const [row] = await writing(() => db.update(applications).set(patch).where(eq(applications.id, id)).returning());
  return row!;
}

/**
 * Writes an application's settings in one statement: `rest` as given, and `institutionsPatch` merged
 * into the stored per-institution settings (set per institution, null removes), so two PATCHes at
 * once lose neither's institutions.
 */
export async function updateApplicationSettings(
  db: Db, id: string, rest: PgUpdateSetSource<typeof applications>, institutionsPatch?: Record<string, InstitutionSetting | null>,
): Promise<ApplicationRow> {
  return updateApplication(db, id, { ...rest, ...(institutionsPatch ? { institutionSettings: mergeInstitutionSettings(institutionsPatch) } : {}) });
}

function mergeInstitutionSettings(patch: Record<string, InstitutionSetting | null>) {
  const set = Object.fromEntries(Object.entries(patch).filter(([, v]) => v !== null));
  const removed = Object.keys(patch).filter((id) => patch[id] === null);
  return sql`(${applications.institutionSettings} - ${sql.param(removed)}::text[]) || ${JSON.stringify(set)}::jsonb`;
}

/**
 * Moves the application's clock by `byMs` in one statement, only while the total stays within `maxMs`:
 * two moves at once both count, and neither can pass the bound. Null when it would pass (nothing changed).
 */
export async function addClockOffset(db: Db, applicationId: string, byMs: number, maxMs: number): Promise<number | null> {
  const [row] = await writing(() => db.update(applications).set({ clockOffsetMs: sql`${applications.clockOffsetMs} + ${byMs}` })
    .where(and(eq(applications.id, applicationId), sql`${applications.clockOffsetMs} <= ${maxMs - byMs}`))
    .returning({ offsetMs: applications.clockOffsetMs }));
  return row ? row.offsetMs : null;
}

export async function setClockOffset(db: Db, applicationId: string, offsetMs: number): Promise<void> {
  await writing(() => db.update(applications).set({ clockOffsetMs: offsetMs }).where(eq(applications.id, applicationId)));
}

export async function insertApiKey(db: Db, row: typeof apiKeys.$inferInsert): Promise<ApiKeyRow> {
  const [created] = await db.insert(apiKeys).values(row).returning();
  return created!;
}

/** The live key with this hash, with its application, for authentication. */
export async function findActiveKeyByHash(db: Db, hash: string): Promise<{ key: ApiKeyRow; application: ApplicationRow } | null> {
  const [row] = await db.select({ key: apiKeys, application: applications }).from(apiKeys)
    .innerJoin(applications, eq(applications.id, apiKeys.applicationId))
    .where(and(eq(apiKeys.hash, hash), isNull(apiKeys.revokedAt)));
  return row ?? null;
}

export async function listApiKeys(db: Db, applicationId?: string): Promise<ApiKeyRow[]> {
  const q = db.select().from(apiKeys);
  return (applicationId ? q.where(eq(apiKeys.applicationId, applicationId)) : q).orderBy(asc(apiKeys.id));
}

/** Revokes by id or by the key's shown prefix; answers how many keys were revoked. */
export async function revokeApiKey(db: Db, idOrPrefix: string, at: Date): Promise<number> {
  const rows = await writing(() => db.update(apiKeys).set({ revokedAt: at })
    .where(and(isNull(apiKeys.revokedAt), sql`(${apiKeys.id} = ${idOrPrefix} or ${apiKeys.prefix} = ${idOrPrefix})`))
    .returning({ id: apiKeys.id }));
  return rows.length;
}

/** Adds or removes an institution from the application's simulated outages, in one statement; answers the list. */
export async function setSandboxOutage(db: Db, applicationId: string, institutionId: string, enabled: boolean): Promise<string[]> {
  const list = enabled
    ? sql`case when ${institutionId} = any(${applications.sandboxOutages}) then ${applications.sandboxOutages} else array_append(${applications.sandboxOutages}, ${institutionId}::text) end`
    : sql`array_remove(${applications.sandboxOutages}, ${institutionId}::text)`;
  const [row] = await writing(() => db.update(applications).set({ sandboxOutages: list }).where(eq(applications.id, applicationId))
    .returning({ outages: applications.sandboxOutages }));
  return row?.outages ?? [];
}

/** Sets or clears an institution's simulated 429 for the application, in one statement; answers the map. */
export async function setSandboxRateLimit(db: Db, applicationId: string, institutionId: string, retryAfterSeconds: number | null): Promise<Record<string, number>> {
  const next = retryAfterSeconds === null
    ? sql`${applications.sandboxRateLimits} - ${institutionId}::text`
    : sql`${applications.sandboxRateLimits} || jsonb_build_object(${institutionId}::text, ${retryAfterSeconds}::int)`;
  const [row] = await writing(() => db.update(applications).set({ sandboxRateLimits: next }).where(eq(applications.id, applicationId))
    .returning({ limits: applications.sandboxRateLimits }));
  return row?.limits ?? {};
}

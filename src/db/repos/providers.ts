/** Provider settings per application, and the institutions catalogue. */
import { and, asc, eq, gt, ilike, inArray, or, sql, type SQL } from 'drizzle-orm';
import type { Db } from '../open.js';
import { withTransaction } from '../transaction.js';
import { opaqueColumns } from '../predicates.js';
import { institutions, providerBudgets, providerSettings, providerState } from '../tables/providers.js';

export type ProviderSettingsRow = typeof providerSettings.$inferSelect;
export type InstitutionRow = typeof institutions.$inferSelect;
export type InstitutionInsert = typeof institutions.$inferInsert;

export async function findProviderSettings(db: Db, applicationId: string, provider: string): Promise<ProviderSettingsRow | null> {
  const [row] = await db.select().from(providerSettings)
    .where(and(eq(providerSettings.applicationId, applicationId), eq(providerSettings.provider, provider)));
  return row ?? null;
}

export async function listProviderSettings(db: Db, applicationId: string): Promise<ProviderSettingsRow[]> {
  return db.select().from(providerSettings).where(eq(providerSettings.applicationId, applicationId)).orderBy(asc(providerSettings.provider));
}

/** Any application's settings for the provider (the catalogue sync needs one set of credentials when the deployment has none). */
export async function anyProviderSettings(db: Db, provider: string): Promise<ProviderSettingsRow | null> {
  const [row] = await db.select().from(providerSettings).where(eq(providerSettings.provider, provider))
    .orderBy(asc(providerSettings.updatedAt)).limit(1);
  return row ?? null;
}

export async function upsertProviderSettings(db: Db, row: ProviderSettingsRow): Promise<ProviderSettingsRow> {
  const [saved] = await db.insert(providerSettings).values(row).onConflictDoUpdate({
    target: [providerSettings.applicationId, providerSettings.provider],
    set: { settingsEnc: row.settingsEnc, shown: row.shown, updatedAt: row.updatedAt },
  }).returning();
  return saved!;
}

export async function deleteProviderSettings(db: Db, applicationId: string, provider: string): Promise<boolean> {
  const rows = await db.delete(providerSettings)
    .where(and(eq(providerSettings.applicationId, applicationId), eq(providerSettings.provider, provider))).returning({ p: providerSettings.provider });
  return rows.length > 0;
}

/**
 * Inserts or refreshes catalogue rows in one statement (a page of a provider's catalogue). Writers
 * take turns (a transaction-scoped advisory lock): processes starting together on a fresh database
 * (compose's two APIs and two workers) write the same new rows at once, and ON CONFLICT (id)
 * settles that race on the primary key only. The other unique index, (provider,
 * provider_institution_id), waits for the other writer's row and then fails with a unique
 * violation, which stopped a process at start.
 */
export async function upsertInstitutions(db: Db, rows: InstitutionInsert[]): Promise<void> {
  if (rows.length === 0) return;
  const excluded = (c: string) => sql.raw(`excluded.${c}`);
  await withTransaction(db, async (tx) => {
    await tx.execute(sql`select pg_advisory_xact_lock(hashtextextended('causeway institutions catalogue', 0))`);
    await tx.insert(institutions).values(rows).onConflictDoUpdate({
      target: institutions.id,
      set: {
        name: excluded('name'), country: excluded('country'), methods: excluded('methods'), products: excluded('products'),
        logo: excluded('logo'), primaryColor: excluded('primary_color'), url: excluded('url'), alwaysMfa: excluded('always_mfa'),
        linksPendingTransactions: excluded('links_pending_transactions'), limits: excluded('limits'), syncedAt: excluded('synced_at'),
        historyDays: excluded('history_days'), maxAccessDays: excluded('max_access_days'),
      },
    });
  });
}

export async function findInstitutionRow(db: Db, id: string): Promise<InstitutionRow | null> {
  const [row] = await db.select().from(institutions).where(eq(institutions.id, id));
  return row ?? null;
}

export async function findInstitutionRows(db: Db, ids: string[]): Promise<InstitutionRow[]> {
  if (ids.length === 0) return [];
  return db.select().from(institutions).where(inArray(institutions.id, ids));
}

export async function countInstitutions(db: Db, provider: string): Promise<number> {
  const [row] = await db.select({ n: sql<number>`count(*)`.mapWith(Number) }).from(institutions).where(eq(institutions.provider, provider));
  return row!.n;
}

export interface InstitutionSearch {
  /** Providers the caller may use: only their institutions are listed. */
  providers: string[];
  search?: string;
  country?: string;
  /** Keyset position: strictly after (lower(name), id). */
  after?: { name: string; id: string };
  limit: number;
}

/** A page of the catalogue, by name then id. `search` matches any part of the name, case-insensitively. */
export async function searchInstitutions(db: Db, q: InstitutionSearch): Promise<(InstitutionRow & { sortName: string })[]> {
  if (q.providers.length === 0) return [];
  const lname = sql`lower(${institutions.name})`;
  const conditions: (SQL | undefined)[] = [
    inArray(institutions.provider, q.providers),
    q.country ? eq(institutions.country, q.country) : undefined,
    q.search ? ilike(institutions.name, `%${q.search.replace(/[\\%_]/g, (c) => `\\${c}`)}%`) : undefined,
    q.after ? or(gt(lname, q.after.name), and(eq(lname, q.after.name), gt(institutions.id, q.after.id))) : undefined,
  ];
  // The position is the database's own lower(name), so the next page starts where its ordering left off.
  const rows = await db.select({ row: institutions, sortName: sql<string>`lower(${institutions.name})` }).from(institutions)
    .where(and(...conditions)).orderBy(asc(lname), asc(institutions.id)).limit(q.limit);
  return rows.map((r) => ({ ...r.row, sortName: r.sortName }));
}

/** A provider-wide state value (encrypted), or null when absent or past its expiry. */
export async function readProviderState(db: Db, provider: string, key: string, now: Date): Promise<string | null> {
  const [row] = await db.select({ valueEnc: providerState.valueEnc }).from(providerState)
    .where(and(eq(providerState.provider, provider), eq(providerState.key, key), gt(providerState.expiresAt, now)));
  return row?.valueEnc ?? null;
}

export async function writeProviderState(db: Db, row: typeof providerState.$inferInsert): Promise<void> {
  await db.insert(providerState).values(row).onConflictDoUpdate({
    target: [providerState.provider, providerState.key],
    set: { valueEnc: row.valueEnc, expiresAt: row.expiresAt, updatedAt: row.updatedAt },
  });
}

export async function deleteProviderState(db: Db, provider: string, key: string): Promise<void> {
  await db.delete(providerState).where(and(eq(providerState.provider, provider), eq(providerState.key, key)));
}

export type ProviderBudgetRow = typeof providerBudgets.$inferSelect;

export async function listProviderBudgets(db: Db, connectionId: string): Promise<ProviderBudgetRow[]> {
  return db.select().from(providerBudgets).where(eq(providerBudgets.connectionId, connectionId));
}

/** Budgets of many connections at once (a page of connections shown with their refresh budget). */
export async function listProviderBudgetsOf(db: Db, connectionIds: string[]): Promise<ProviderBudgetRow[]> {
  if (connectionIds.length === 0) return [];
  return db.select().from(providerBudgets).where(inArray(providerBudgets.connectionId, connectionIds));
}

/** Keeps what the provider's answers said, the latest per account and scope. A connection deleted meanwhile keeps nothing. */
export async function upsertProviderBudgets(db: Db, rows: ProviderBudgetRow[]): Promise<void> {
  if (rows.length === 0) return;
  await db.execute(sql`
    insert into provider_budgets (connection_id, account_key, scope, "limit", remaining, reset_at, updated_at)
    select v.c, v.a, v.s, v.l, v.r, v.reset, v.at
    from unnest(${opaqueColumns(rows, [
      [(r) => r.connectionId, 'text[]'], [(r) => r.accountKey, 'text[]'], [(r) => r.scope, 'text[]'], [(r) => r.limit, 'int4[]'],
      [(r) => r.remaining, 'int4[]'], [(r) => r.resetAt.toISOString(), 'timestamptz[]'], [(r) => r.updatedAt.toISOString(), 'timestamptz[]'],
    ])}) as v(c, a, s, l, r, reset, at)
    where exists (select 1 from connections where id = v.c)
    on conflict (connection_id, account_key, scope) do update set "limit" = excluded."limit", remaining = excluded.remaining,
      reset_at = excluded.reset_at, updated_at = excluded.updated_at
      where provider_budgets.updated_at <= excluded.updated_at`);
}

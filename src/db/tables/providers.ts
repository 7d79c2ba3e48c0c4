/** Providers' side of things: each application's settings for a provider, and the institutions catalogue. */
import { sql } from 'drizzle-orm';
import { boolean, index, integer, jsonb, pgTable, primaryKey, text, uniqueIndex } from 'drizzle-orm/pg-core';
import type { InstitutionLimits } from '../../providers/types.js';
import { ts } from '../columns.js';
import { applications, connections } from '../schema.js';

/**
 * An application's settings for one provider (PUT /v1/application/providers/{provider}): the whole
 * JSON encrypted at rest like credentials, since it holds the provider's secret. `shown` keeps the
 * fields that are not secret (Plaid's clientId, environment), for GET.
 */
export const providerSettings = pgTable('provider_settings', {
  applicationId: text('application_id').notNull().references(() => applications.id, { onDelete: 'cascade' }),
  provider: text('provider').notNull(),
  settingsEnc: text('settings_enc').notNull(),
  shown: jsonb('shown').$type<Record<string, string>>().notNull(),
  updatedAt: ts('updated_at').notNull(),
}, (t) => [primaryKey({ columns: [t.applicationId, t.provider] })]);

/**
 * The institutions catalogue: every provider's institutions, synced from the provider in the
 * background and on demand (`causeway institutions sync`), and fetched by id when a link or an
 * import meets one not yet here. `id` is Causeway's (`ins_plaid_109508`); the provider's own is
 * `provider_institution_id`. Shared by every application; which ones an application sees depends
 * on the providers it can use (services/providers.ts).
 */
export const institutions = pgTable('institutions', {
  id: text('id').primaryKey(),
  provider: text('provider').notNull(),
  providerInstitutionId: text('provider_institution_id').notNull(),
  name: text('name').notNull(),
  country: text('country').notNull(),
  methods: text('methods').array().notNull(),
  products: text('products').array().notNull(),
  logo: text('logo'),
  primaryColor: text('primary_color'),
  url: text('url'),
  alwaysMfa: boolean('always_mfa').notNull().default(false),
  linksPendingTransactions: boolean('links_pending_transactions').notNull().default(false),
  limits: jsonb('limits').$type<InstitutionLimits>().notNull(),
  /** Days of transaction history the institution gives (GoCardless's transaction_total_days); null: the provider does not say. */
  historyDays: integer('history_days'),
  /** The longest consent it grants, in days (GoCardless's max_access_valid_for_days); null: no limit said. */
  maxAccessDays: integer('max_access_days'),
  /** When the last catalogue sync (or lookup by id) saw it. */
  syncedAt: ts('synced_at').notNull(),
}, (t) => [
  uniqueIndex('institutions_provider_ref_idx').on(t.provider, t.providerInstitutionId),
  // Search and paging: by name (case-insensitive) then id, within a provider or across all.
  index('institutions_name_idx').on(sql`lower(${t.name})`, t.id),
  index('institutions_country_name_idx').on(t.country, sql`lower(${t.name})`, t.id),
]);

/**
 * Provider-wide state every worker process shares (ProviderCallContext.state): a GoCardless access
 * token, kept and renewed once for all jobs rather than one per job. The value is encrypted at rest;
 * a row past `expires_at` reads as absent.
 */
export const providerState = pgTable('provider_state', {
  provider: text('provider').notNull(),
  key: text('key').notNull(),
  valueEnc: text('value_enc').notNull(),
  expiresAt: ts('expires_at').notNull(),
  updatedAt: ts('updated_at').notNull(),
}, (t) => [primaryKey({ columns: [t.provider, t.key] })]);

/**
 * What the provider allows each of a connection's accounts per scope (GoCardless: about four
 * successful calls a day per account for details, balances and transactions), as its last answer
 * said (ProviderBudget). The scheduler and the refresh budget read it; adapters skip a spent scope.
 */
export const providerBudgets = pgTable('provider_budgets', {
  connectionId: text('connection_id').notNull().references(() => connections.id, { onDelete: 'cascade' }),
  accountKey: text('account_key').notNull(),
  scope: text('scope').notNull(),
  limit: integer('limit'),
  remaining: integer('remaining').notNull(),
  resetAt: ts('reset_at').notNull(),
  updatedAt: ts('updated_at').notNull(),
}, (t) => [primaryKey({ columns: [t.connectionId, t.accountKey, t.scope] })]);

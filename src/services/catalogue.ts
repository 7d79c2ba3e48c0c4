/**
 * The institutions catalogue (db/tables/providers.ts): every provider's institutions, in the
 * database. Synced from each provider a page at a time (in the background by the worker, on demand
 * by `causeway institutions sync`), and fetched by id when a link or an import meets one not yet here.
 *
 *   Causeway id   ins_plaid_109508  ◄─►  provider plaid, provider id ins_109508
 *                 ins_sandbox_web   ◄─►  provider sandbox, provider id ins_sandbox_web (the sandbox's own)
 */
import { AppError, notFound } from '../domain/errors.js';
import type { Method, Product } from '../domain/types.js';
import {
  countInstitutions, findInstitutionRow, findInstitutionRows, searchInstitutions, upsertInstitutions, type InstitutionRow,
} from '../db/repos/providers.js';
import type { Provider, ProviderInstitution, ProviderSettings } from '../providers/types.js';
import type { Core, Tenant } from './core.js';
import type { Db } from '../db/open.js';
import { readCursor, writeCursor } from './cursor.js';
import { anySettings, providerById, usableProviders } from './providers.js';
import { z } from 'zod';
import { callContext } from './provider-state.js';

/** An institution as Causeway knows it: the provider's fields, Causeway's id, and who serves it. */
export type CatalogueInstitution = Omit<ProviderInstitution, 'id'> & { id: string; provider: string; providerInstitutionId: string };

/** Causeway's id for a provider's institution. The sandbox's ids are Causeway's already. */
export function catalogueId(provider: string, providerInstitutionId: string): string {
  if (provider === 'sandbox') return providerInstitutionId;
  const slug = providerInstitutionId.replace(/^ins_/, '').replace(/[^A-Za-z0-9_-]/g, '_');
  return `ins_${provider}_${slug}`;
}

function fromRow(r: InstitutionRow): CatalogueInstitution {
  return {
    id: r.id, provider: r.provider, providerInstitutionId: r.providerInstitutionId, name: r.name, country: r.country,
    methods: r.methods as Method[], products: r.products as Product[], logo: r.logo, primaryColor: r.primaryColor, url: r.url,
    alwaysMfa: r.alwaysMfa, linksPendingTransactions: r.linksPendingTransactions, limits: r.limits,
    historyDays: r.historyDays, maxAccessDays: r.maxAccessDays,
  };
}

function toRow(provider: string, i: ProviderInstitution, now: Date) {
  return {
    id: catalogueId(provider, i.id), provider, providerInstitutionId: i.id, name: i.name, country: i.country,
    methods: i.methods, products: i.products, logo: i.logo ?? null, primaryColor: i.primaryColor ?? null, url: i.url ?? null,
    alwaysMfa: i.alwaysMfa, linksPendingTransactions: i.linksPendingTransactions, limits: i.limits,
    historyDays: i.historyDays ?? null, maxAccessDays: i.maxAccessDays ?? null, syncedAt: now,
  };
}

/** `db`: the transaction, when called inside one (PGlite has one connection: a read on another would wait for ever). */
export async function findInstitution(core: Core, id: string, db: Db = core.db): Promise<CatalogueInstitution | null> {
  const row = await findInstitutionRow(db, id);
  return row ? fromRow(row) : null;
}

export async function findInstitutions(core: Core, ids: readonly string[], db: Db = core.db): Promise<Map<string, CatalogueInstitution>> {
  const rows = await findInstitutionRows(db, [...new Set(ids)]);
  return new Map(rows.map((r) => [r.id, fromRow(r)]));
}

/** An institution a link or an import met: from the catalogue, else fetched by id from the provider and stored. */
export async function findOrFetchInstitution(core: Core, provider: Provider, providerInstitutionId: string, settings: ProviderSettings): Promise<CatalogueInstitution | null> {
  const known = await findInstitution(core, catalogueId(provider.id, providerInstitutionId));
  if (known) return known;
  const fetched = await provider.getInstitution(providerInstitutionId, callContext(core, provider.id, settings, core.clock.now(), `institution:${providerInstitutionId}`));
  if (!fetched) return null;
  await upsertInstitutions(core.db, [toRow(provider.id, fetched, core.clock.now())]);
  return findInstitution(core, catalogueId(provider.id, fetched.id));
}

export interface SyncProgress { provider: string; done: number; total: number | null }

/**
 * Copies a provider's catalogue into the database, a page at a time. Institutions the provider
 * stopped listing are kept: connections may still name them.
 */
export async function syncCatalogue(core: Core, providerId: string, onProgress: (p: SyncProgress) => void = () => {}): Promise<{ provider: string; synced: number }> {
  const provider = providerById(core, providerId);
  const settings = await anySettings(core, provider);
  if (settings === null) {
    throw new AppError('provider_not_configured', `No ${provider.name} settings to read its catalogue with: set the deployment's (CAUSEWAY_${provider.id.toUpperCase()}_*) or an application's.`);
  }
  let cursor: string | null = null;
  let done = 0;
  do {
    const page = await provider.listInstitutions(callContext(core, provider.id, settings, core.clock.now(), `catalogue:${provider.id}`), cursor);
    await upsertInstitutions(core.db, page.institutions.map((i) => toRow(provider.id, i, core.clock.now())));
    done += page.institutions.length;
    onProgress({ provider: provider.id, done, total: page.total });
    cursor = page.next;
  } while (cursor !== null);
  return { provider: provider.id, synced: done };
}

/** Syncs each provider that can be read and whose catalogue is empty (start-up), or all of them (`all`). */
export async function syncCatalogues(core: Core, opts: { all: boolean; only?: string }, onProgress?: (p: SyncProgress) => void) {
  const results: { provider: string; synced: number }[] = [];
  for (const provider of core.providers.list()) {
    if (opts.only && provider.id !== opts.only) continue;
    if (!opts.all && (await countInstitutions(core.db, provider.id)) > 0) continue;
    if ((await anySettings(core, provider)) === null) continue;
    results.push(await syncCatalogue(core, provider.id, onProgress));
  }
  return results;
}

const Position = z.object({ n: z.string().max(1000), i: z.string().min(1).max(200) });

export interface CatalogueQuery { search?: string; country?: string; provider?: string; cursor?: string | null; limit: number }

/** GET /v1/institutions: the institutions of the providers this application can use, by name, with a cursor. */
export async function searchCatalogue(core: Core, tenant: Tenant, q: CatalogueQuery) {
  const usable = (await usableProviders(core, tenant.application)).map((p) => p.id);
  if (q.provider && !core.providers.get(q.provider)) {
    throw new AppError('validation_failed', `No provider ${q.provider}. This server has: ${core.providers.list().map((p) => p.id).join(', ')}.`,
      { errors: [{ field: 'querystring.provider', message: 'unknown provider' }] });
  }
  const providers = q.provider ? usable.filter((p) => p === q.provider) : usable;
  const after = q.cursor ? readCursor(core, tenant, 'institutions', q.cursor, Position) : null;
  const rows = await searchInstitutions(core.db, {
    providers, search: q.search?.trim() || undefined, country: q.country?.toUpperCase(), limit: q.limit + 1,
    after: after ? { name: after.n, id: after.i } : undefined,
  });
  const page = rows.slice(0, q.limit);
  const last = page[page.length - 1];
  const hasMore = rows.length > q.limit;
  return {
    data: page.map(fromRow),
    hasMore,
    nextCursor: hasMore && last ? writeCursor(core, tenant, 'institutions', { n: last.sortName, i: last.id }) : null,
  };
}

/** One institution, if the application can use its provider; otherwise it does not exist for it. */
export async function requireInstitution(core: Core, tenant: Tenant, id: string): Promise<CatalogueInstitution> {
  const found = await findInstitution(core, id);
  if (!found) throw notFound('institution', id);
  const usable = await usableProviders(core, tenant.application);
  if (!usable.some((p) => p.id === found.provider)) throw notFound('institution', id);
  return found;
}

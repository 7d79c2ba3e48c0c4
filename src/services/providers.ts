/**
 * Which provider serves what, and with whose settings.
 *
 *   providerFor(core, connection)      the provider the connection was created with
 *   settingsFor(core, app, provider)   the application's own settings, else the deployment's (env)
 *   usableProviders(core, app)         the sandbox for sandbox applications; a real provider once it has settings
 *
 * Settings are kept encrypted whole (they hold the provider's secret); GET shows the fields that
 * are not secret and, for secret ones, only that they are set.
 */
import { AppError } from '../domain/errors.js';
import type { ApplicationRow } from '../db/repos/applications.js';
import { deleteProviderSettings, findProviderSettings, listProviderSettings, upsertProviderSettings, anyProviderSettings, type ProviderSettingsRow } from '../db/repos/providers.js';
import type { Provider, ProviderSettings } from '../providers/types.js';
import { tenantClock, type Core, type Tenant } from './core.js';
import { syncCatalogues } from './catalogue.js';

export function providerById(core: Core, id: string): Provider {
  const provider = core.providers.get(id);
  if (!provider) throw new AppError('not_found', `No provider ${id}. This server has: ${core.providers.list().map((p) => p.id).join(', ')}.`);
  return provider;
}

/** The provider that serves a connection: the one it was created with. */
export function providerFor(core: Core, connection: { provider: string }): Provider {
  const provider = core.providers.get(connection.provider);
  // A connection of a provider this server no longer has: its calls fail as a provider error the connection shows.
  if (!provider) throw new Error(`connection served by unknown provider ${connection.provider}`);
  return provider;
}

/** The deployment's settings for a provider, from the environment (CAUSEWAY_<PROVIDER>_*), or null. */
function deploymentSettings(core: Core, provider: Provider): ProviderSettings | null {
  return provider.settingsFromEnv?.(core.config.providerEnv) ?? null;
}

/**
 * The deployment's host for a provider (CAUSEWAY_<PROVIDER>_URL): a proxy or a test fake, for every
 * application. Only the operator sets it: an application cannot point Causeway's calls (with its
 * secrets) at an address of its choosing.
 */
function deploymentHost(core: Core, provider: Provider): string | null {
  return core.config.providerEnv[`CAUSEWAY_${provider.id.toUpperCase()}_URL`] ?? null;
}

/** Fields an application may set: every field but the deployment's host. */
function applicationFields(provider: Provider) {
  return (provider.settingFields ?? []).filter((f) => f.name !== 'baseUrl');
}

/** The settings a call for this application uses: its own, else the deployment's; {} for a provider that takes none. */
export async function settingsFor(core: Core, application: Pick<ApplicationRow, 'id'>, provider: Provider): Promise<ProviderSettings | null> {
  if (!provider.settingFields) return {};
  const own = await findProviderSettings(core.db, application.id, provider.id);
  return own ? unseal(core, provider, own) : deploymentSettings(core, provider);
}

/** An application's stored settings, decrypted, with the deployment's host (CAUSEWAY_<PROVIDER>_URL) when set. */
function unseal(core: Core, provider: Provider, row: ProviderSettingsRow): ProviderSettings {
  const settings = JSON.parse(core.cipher.decrypt(row.settingsEnc)) as Record<string, string>;
  const host = deploymentHost(core, provider);
  return host ? { ...settings, baseUrl: host } : settings;
}

/** Settings for calls made for no one application (the catalogue sync): the deployment's, else the first application's. */
export async function anySettings(core: Core, provider: Provider): Promise<ProviderSettings | null> {
  if (!provider.settingFields) return {};
  const fromEnv = deploymentSettings(core, provider);
  if (fromEnv) return fromEnv;
  const row = await anyProviderSettings(core.db, provider.id);
  return row ? unseal(core, provider, row) : null;
}

/** May this application use this provider? The sandbox serves sandbox applications; a real provider needs settings. */
export async function canUse(core: Core, application: ApplicationRow, provider: Provider): Promise<boolean> {
  if (provider.sandboxOnly) return application.environment === 'sandbox';
  return (await settingsFor(core, application, provider)) !== null;
}

export async function usableProviders(core: Core, application: ApplicationRow): Promise<Provider[]> {
  const all = core.providers.list();
  const usable = await Promise.all(all.map((p) => canUse(core, application, p)));
  return all.filter((_, i) => usable[i]);
}

/** The provider and its settings for a new connection, or a 400 that says what to configure. */
export async function requireUsable(core: Core, application: ApplicationRow, provider: Provider): Promise<ProviderSettings> {
  if (provider.sandboxOnly && application.environment !== 'sandbox') {
    throw new AppError('no_provider', `The ${provider.name} provider is a simulator that serves sandbox applications only; this is a live application. Use a sandbox application's API key to try it, or a real provider's institutions.`);
  }
  const settings = await settingsFor(core, application, provider);
  if (settings === null) {
    throw new AppError('provider_not_configured',
      `This application has no ${provider.name} settings. PUT /v1/application/providers/${provider.id} with ${provider.settingFields!.filter((f) => f.required).map((f) => f.name).join(', ')}, or set the deployment's defaults in the environment.`);
  }
  return settings;
}

function settingsView(core: Core, provider: Provider, shown: Record<string, string> | null, source: 'application' | 'deployment' | null) {
  return {
    provider: provider.id, name: provider.name, methods: [...provider.methods], configured: source !== null || !provider.settingFields, source,
    fields: applicationFields(provider).map((f) => ({
      name: f.name, secret: f.secret, required: f.required, description: f.description, ...(f.values ? { values: [...f.values] } : {}),
      value: f.secret ? null : (shown?.[f.name] ?? null),
      set: shown ? f.name in shown : false,
    })),
  };
}

/** GET /v1/application/providers: every provider, whether this application can use it, and its settings without secrets. */
export async function listProviderSettingsViews(core: Core, tenant: Tenant) {
  const own = new Map((await listProviderSettings(core.db, tenant.application.id)).map((r) => [r.provider, r.shown]));
  return core.providers.list().filter((p) => !p.sandboxOnly || tenant.application.environment === 'sandbox').map((p) => {
    if (own.has(p.id)) return settingsView(core, p, own.get(p.id)!, 'application');
    const env = p.settingFields ? deploymentSettings(core, p) : null;
    return settingsView(core, p, env ? shownOf(p, env) : null, env ? 'deployment' : null);
  });
}

/** What GET may show: not-secret fields with their values, secret ones as set (value withheld). */
function shownOf(provider: Provider, settings: ProviderSettings): Record<string, string> {
  const shown: Record<string, string> = {};
  for (const f of applicationFields(provider)) if (settings[f.name] !== undefined) shown[f.name] = f.secret ? '' : settings[f.name]!;
  return shown;
}

/** PUT /v1/application/providers/{provider}: checked against the provider's fields, stored encrypted. */
export async function putProviderSettings(core: Core, tenant: Tenant, providerId: string, body: Record<string, unknown>) {
  const provider = providerById(core, providerId);
  if (!provider.settingFields) throw new AppError('validation_failed', `The ${provider.name} provider takes no settings.`, { errors: [{ field: 'params.provider', message: 'takes no settings' }] });
  const fields = applicationFields(provider);
  const errors: { field: string; message: string }[] = [];
  const settings: Record<string, string> = {};
  for (const key of Object.keys(body)) if (!fields.some((f) => f.name === key)) errors.push({ field: `body.${key}`, message: `unknown setting; ${provider.name} takes ${fields.map((f) => f.name).join(', ')}` });
  for (const f of fields) {
    const v = body[f.name];
    if (v === undefined || v === null || v === '') {
      if (f.required) errors.push({ field: `body.${f.name}`, message: 'required' });
      continue;
    }
    if (typeof v !== 'string' || v.length > 2000) { errors.push({ field: `body.${f.name}`, message: 'must be a string of at most 2000 characters' }); continue; }
    if (f.values && !f.values.includes(v)) { errors.push({ field: `body.${f.name}`, message: `must be one of: ${f.values.join(', ')}` }); continue; }
    settings[f.name] = v;
  }
  if (errors.length > 0) throw new AppError('validation_failed', `These ${provider.name} settings are not valid: ${errors.map((e) => e.field).join(', ')}.`, { errors });
  const now = tenantClock(core, tenant.application).now();
  const saved = await upsertProviderSettings(core.db, {
    applicationId: tenant.application.id, provider: provider.id, settingsEnc: core.cipher.encrypt(JSON.stringify(settings)),
    shown: shownOf(provider, settings), updatedAt: now,
  });
  // The first settings for a provider whose catalogue is empty: fill it now, not at the next daily sync.
  void fillEmptyCatalogue(core, provider.id);
  return settingsView(core, provider, saved.shown, 'application');
}

async function fillEmptyCatalogue(core: Core, providerId: string): Promise<void> {
  try {
    await syncCatalogues(core, { all: false, only: providerId });
  } catch (err) {
    core.log.warn({ err, provider: providerId }, 'institutions catalogue sync after new settings failed; the next one tries again');
  }
}

export async function deleteProviderSettingsOf(core: Core, tenant: Tenant, providerId: string): Promise<void> {
  const provider = providerById(core, providerId);
  if (!(await deleteProviderSettings(core.db, tenant.application.id, provider.id))) {
    throw new AppError('not_found', `This application has no ${provider.name} settings of its own.`);
  }
}

/**
 * GoCardless Bank Account Data's settings for one application (PUT /v1/application/providers/gocardless)
 * or the deployment's default from CAUSEWAY_GOCARDLESS_*: the user secret (id and key) from the Bank
 * Account Data portal, the countries whose banks go in the catalogue, and which host to call.
 */
import { ProviderError, type ProviderSettingField, type ProviderSettings } from '../types.js';
import { baseUrlOf, settingsFromVariables } from '../env.js';

export const GOCARDLESS_HOST = 'https://bankaccountdata.gocardless.com';

/**
 * Every country GoCardless Bank Account Data serves (the EEA and the UK). The catalogue lists them
 * all unless the application narrows it: one institutions call per country, 31 in all.
 */
export const GOCARDLESS_COUNTRIES: readonly string[] = [
  'AT', 'BE', 'BG', 'HR', 'CY', 'CZ', 'DK', 'EE', 'FI', 'FR', 'DE', 'GR', 'HU', 'IS', 'IE', 'IT', 'LV', 'LI', 'LT', 'LU',
  'MT', 'NL', 'NO', 'PL', 'PT', 'RO', 'SK', 'SI', 'ES', 'SE', 'GB',
];

export const GOCARDLESS_SETTING_FIELDS: readonly ProviderSettingField[] = [
  { name: 'secretId', secret: false, required: true, description: 'The secret_id of a user secret (Bank Account Data portal, Developers → User secrets).' },
  { name: 'secretKey', secret: true, required: true, description: 'The secret_key of the same user secret.' },
  {
    name: 'countries', secret: false, required: false,
    description: `Comma-separated ISO 3166 country codes whose banks go in the catalogue. Default: every country GoCardless serves (${GOCARDLESS_COUNTRIES.join(', ')}).`,
  },
  {
    name: 'baseUrl', secret: false, required: false,
    description: `Another GoCardless-compatible host to call (a test double, a proxy). Default: ${GOCARDLESS_HOST}.`,
  },
];

export function gocardlessSettingsFromEnv(env: NodeJS.ProcessEnv): ProviderSettings | null {
  return settingsFromVariables(env, { secretId: 'CAUSEWAY_GOCARDLESS_SECRET_ID', secretKey: 'CAUSEWAY_GOCARDLESS_SECRET_KEY' },
    { baseUrl: 'CAUSEWAY_GOCARDLESS_URL', countries: 'CAUSEWAY_GOCARDLESS_COUNTRIES' });
}

/** What a call needs: the secret, the host and the catalogue's countries, checked. */
export interface GoCardlessCredentials {
  secretId: string;
  secretKey: string;
  baseUrl: string;
  countries: readonly string[];
}

export function notConfigured(why: string): ProviderError {
  return new ProviderError('provider_error', `GoCardless is not configured for this application: ${why}.`, false, 'NOT_CONFIGURED');
}

export function parseCountries(text: string | undefined): string[] {
  if (text === undefined || text.trim() === '') return [...GOCARDLESS_COUNTRIES];
  const out: string[] = [];
  for (const part of text.split(',')) {
    const code = part.trim().toUpperCase();
    if (code === '') continue;
    if (!/^[A-Z]{2}$/.test(code)) throw notConfigured(`countries must be two-letter country codes separated by commas (got ${JSON.stringify(part.trim())})`);
    if (!out.includes(code)) out.push(code);
  }
  if (out.length === 0) throw notConfigured('countries names no country');
  return out;
}

export function resolveCredentials(settings: ProviderSettings | undefined): GoCardlessCredentials {
  if (!settings) throw notConfigured('no settings');
  const secretId = settings.secretId?.trim();
  const secretKey = settings.secretKey?.trim();
  if (!secretId) throw notConfigured('no secretId');
  if (!secretKey) throw notConfigured('no secretKey');
  return { secretId, secretKey, baseUrl: baseUrlOf(settings.baseUrl, GOCARDLESS_HOST, notConfigured), countries: parseCountries(settings.countries) };
}

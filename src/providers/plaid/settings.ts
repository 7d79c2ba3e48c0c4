/**
 * Plaid's settings for one application (PUT /v1/application/providers/plaid) or the deployment's
 * default from CAUSEWAY_PLAID_*: the API keys and which Plaid host to call.
 */
import { ProviderError, type ProviderSettingField, type ProviderSettings } from '../types.js';
import { baseUrlOf, settingsFromVariables } from '../env.js';

export const PLAID_ENVIRONMENTS = ['sandbox', 'production'] as const;
export type PlaidEnvironment = (typeof PLAID_ENVIRONMENTS)[number];

const HOSTS: Record<PlaidEnvironment, string> = {
  sandbox: 'https://sandbox.plaid.com',
  production: 'https://production.plaid.com',
};

export const PLAID_SETTING_FIELDS: readonly ProviderSettingField[] = [
  { name: 'clientId', secret: false, required: true, description: 'Your Plaid client_id (Plaid Dashboard, Developers → Keys).' },
  { name: 'secret', secret: true, required: true, description: 'The Plaid secret of the chosen environment.' },
  {
    name: 'environment', secret: false, required: false, values: PLAID_ENVIRONMENTS,
    description: 'Which Plaid environment the keys belong to: sandbox (the default) or production.',
  },
  {
    name: 'baseUrl', secret: false, required: false,
    description: 'Another Plaid-compatible host to call (a test double, a proxy). Default: the environment\'s Plaid host.',
  },
];

export function plaidSettingsFromEnv(env: NodeJS.ProcessEnv): ProviderSettings | null {
  const settings = settingsFromVariables(env, { clientId: 'CAUSEWAY_PLAID_CLIENT_ID', secret: 'CAUSEWAY_PLAID_SECRET' },
    { environment: 'CAUSEWAY_PLAID_ENV', baseUrl: 'CAUSEWAY_PLAID_URL' });
  return settings && { environment: 'sandbox', ...settings };
}

/** What a call needs: the keys and the host, checked. */
export interface PlaidCredentials {
  clientId: string;
  secret: string;
  baseUrl: string;
}

function notConfigured(why: string): ProviderError {
  return new ProviderError('provider_error', `Plaid is not configured for this application: ${why}.`, false, 'NOT_CONFIGURED');
}

export function resolveCredentials(settings: ProviderSettings | undefined): PlaidCredentials {
  if (!settings) throw notConfigured('no settings');
  const clientId = settings.clientId?.trim();
  const secret = settings.secret?.trim();
  if (!clientId) throw notConfigured('no clientId');
  if (!secret) throw notConfigured('no secret');
  const environment = settings.environment?.trim() || 'sandbox';
  if (!(PLAID_ENVIRONMENTS as readonly string[]).includes(environment)) {
    throw notConfigured(`environment must be one of ${PLAID_ENVIRONMENTS.join(', ')}`);
  }
  return { clientId, secret, baseUrl: baseUrlOf(settings.baseUrl, HOSTS[environment as PlaidEnvironment], notConfigured) };
}

/** A provider's deployment default from the environment (Provider.settingsFromEnv), and its host, read one way for all. */
import type { ProviderSettings } from './types.js';

/**
 * The settings named by CAUSEWAY_<PROVIDER>_* variables, trimmed: null unless every `required` one is
 * set; `optional` ones only when set. Both map a setting's name to its variable.
 */
export function settingsFromVariables(env: NodeJS.ProcessEnv, required: Record<string, string>, optional: Record<string, string> = {}): ProviderSettings | null {
  const settings: Record<string, string> = {};
  for (const [name, variable] of Object.entries(required)) {
    const value = env[variable]?.trim();
    if (!value) return null;
    settings[name] = value;
  }
  for (const [name, variable] of Object.entries(optional)) {
    const value = env[variable]?.trim();
    if (value) settings[name] = value;
  }
  return settings;
}

/**
 * The host a provider's calls go to: the settings' `baseUrl`, else the provider's own, as an http(s)
 * URL without a trailing slash. `refuse` makes the provider's own not-configured error.
 */
export function baseUrlOf(configured: string | undefined, fallback: string, refuse: (why: string) => Error): string {
  const baseUrl = configured?.trim() || fallback;
  let url: URL;
  try {
    url = new URL(baseUrl);
  } catch {
    throw refuse('baseUrl is not a URL');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw refuse('baseUrl must be an http(s) URL');
  return baseUrl.replace(/\/+$/, '');
}

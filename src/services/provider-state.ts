/**
 * Provider-wide state every worker process shares (ProviderCallContext.state), kept in the database
 * and encrypted at rest: a GoCardless access token is fetched once and renewed once for all jobs and
 * processes, rather than one per job (GoCardless limits how many it issues). Each provider sees only
 * its own keys.
 */
import { deleteProviderState, readProviderState, writeProviderState } from '../db/repos/providers.js';
import type { ProviderCallContext, ProviderSettings, ProviderStateStore } from '../providers/types.js';
import type { Core } from './core.js';

export function providerStateStore(core: Core, provider: string): ProviderStateStore {
  return {
    async get(key) {
      const enc = await readProviderState(core.db, provider, key, new Date());
      return enc === null ? null : core.cipher.decrypt(enc);
    },
    async put(key, value, expiresAt) {
      await writeProviderState(core.db, { provider, key, valueEnc: core.cipher.encrypt(value), expiresAt, updatedAt: new Date() });
    },
    delete: (key) => deleteProviderState(core.db, provider, key),
  };
}

/** The context of a call made outside a sync run's journal (the catalogue, an import's first look): settings, clock, the shared state, the address switch. */
export function callContext(core: Core, provider: string, settings: ProviderSettings | undefined, now: Date, runKey: string): ProviderCallContext {
  return {
    now, runKey, ...(settings ? { settings } : {}),
    state: providerStateStore(core, provider), allowPrivateAddresses: core.config.allowPrivateAddresses,
  };
}

/**
 * The providers this server can use, by id. A connection is served by the provider it was created
 * with (`connections.provider`), never by a global one. A new adapter is a folder beside this file
 * and one line in `builtInProviders`.
 */
import type { Provider } from './types.js';
import { createSandboxProvider } from './sandbox/index.js';
import { createPlaidProvider } from './plaid/index.js';
import { createSimpleFinProvider } from './simplefin/index.js';
import { createGoCardlessProvider } from './gocardless/index.js';

export interface ProviderRegistry {
  get(id: string): Provider | null;
  list(): readonly Provider[];
}

export function createRegistry(providers: readonly Provider[]): ProviderRegistry {
  const byId = new Map(providers.map((p) => [p.id, p]));
  if (byId.size !== providers.length) throw new Error('two providers share an id');
  return { get: (id) => byId.get(id) ?? null, list: () => [...byId.values()] };
}

/** The built-in adapters, with `overrides` replacing the one of the same id (tests pass a scripted sandbox) or adding one. */
export function builtInProviders(opts: { sandboxLatencyMs: number }, overrides: readonly Provider[] = []): Provider[] {
  const builtIn: Provider[] = [createSandboxProvider({ latencyMs: opts.sandboxLatencyMs }), createPlaidProvider(), createGoCardlessProvider(), createSimpleFinProvider()];
  const replaced = new Set(overrides.map((p) => p.id));
  return [...builtIn.filter((p) => !replaced.has(p.id)), ...overrides];
}

/**
 * Driving the GoCardless adapter directly against the fake, as the engine would: a call context on
 * the fake's clock with an in-memory shared state store, budgets and a reportBudget collector, and
 * the user's visit to the requisition page (approve, deny, bank error) ending on the return URL.
 */
import assert from 'node:assert/strict';
import type { Product } from '../../../src/domain/types.js';
import type {
  LinkResult, LinkSession, Provider, ProviderBudget, ProviderCallContext, ProviderLink, ProviderStateStore,
} from '../../../src/providers/types.js';
import type { GoCardlessFake } from './index.js';

/** ProviderCallContext.state as the engine provides it (services/provider-state.ts), in memory, expiring on the fake's clock. */
export class MemoryState implements ProviderStateStore {
  readonly values = new Map<string, { value: string; expiresAt: Date }>();
  reads = 0;
  writes = 0;
  constructor(private readonly now: () => Date) {}
  async get(key: string) {
    this.reads += 1;
    const v = this.values.get(key);
    return v && v.expiresAt.getTime() > this.now().getTime() ? v.value : null;
  }
  async put(key: string, value: string, expiresAt: Date) {
    this.writes += 1;
    this.values.set(key, { value, expiresAt });
  }
  async delete(key: string) {
    this.values.delete(key);
  }
}

export interface Harness {
  fake: GoCardlessFake;
  state: MemoryState;
  reported: ProviderBudget[];
  /** A fresh context at the fake's current time. */
  ctx(extra?: Partial<ProviderCallContext>): ProviderCallContext;
}

export function harness(fake: GoCardlessFake, settings: Record<string, string> = {}): Harness {
  const state = new MemoryState(() => fake.now());
  const reported: ProviderBudget[] = [];
  let run = 0;
  return {
    fake, state, reported,
    ctx: (extra = {}) => ({
      now: fake.now(), runKey: `test:${++run}`, settings: { ...fake.settings, ...settings }, state,
      reportBudget: (b: ProviderBudget) => { reported.push(b); }, ...extra,
    }),
  };
}

let states = 0;

export interface Linked { session: LinkSession; result: LinkResult; params: Record<string, string>; requisitionId: string; state: string }

/** startLink, the user at the requisition page (`action`, `login`), back on the return URL, completeLink. */
export async function linkThrough(
  provider: Provider, h: Harness,
  opts: { institutionId: string; action?: 'approve' | 'deny' | 'error' | 'none'; login?: string; products?: Product[]; update?: ProviderLink | null },
): Promise<Linked> {
  const state = `state-${++states}-${Math.random().toString(36).slice(2)}`;
  const session = await provider.startLink!({
    institutionId: opts.institutionId, products: opts.products ?? ['accounts', 'balances', 'transactions', 'identity'], state,
    returnUrl: `https://causeway.example/link/return?state=${state}`, webhookUrl: null, userId: 'usr_test', update: opts.update ?? null,
  }, h.ctx());
  const requisitionId = session.reference.split(':')[0]!;
  let params: Record<string, string> = {};
  const action = opts.action ?? 'approve';
  const page = await fetch(session.url);
  assert.equal(page.status, 200, await page.text());
  if (action !== 'none') {
    const res = await fetch(session.url, {
      method: 'POST', redirect: 'manual', headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ action, login: opts.login ?? 'default' }).toString(),
    });
    assert.equal(res.status, 303, await res.text());
    const back = new URL(res.headers.get('location')!);
    assert.equal(back.origin + back.pathname, 'https://causeway.example/link/return');
    assert.equal(back.searchParams.get('state'), state, 'the return URL keeps its own parameters');
    params = Object.fromEntries(back.searchParams);
  }
  const result = await provider.completeLink!({ institutionId: opts.institutionId, params, reference: session.reference, update: opts.update ?? null }, h.ctx());
  return { session, result, params, requisitionId, state };
}

export function linkOf(result: LinkResult, institutionId: string): ProviderLink {
  assert.equal(result.kind, 'granted', JSON.stringify(result));
  if (result.kind !== 'granted') throw new Error('not granted');
  return { institutionId, access: { kind: 'token', token: result.grant.token, ...(result.grant.itemId ? { itemId: result.grant.itemId } : {}) }, firstSyncedAt: null };
}

/** The error a promise rejects with. */
export async function rejection(p: Promise<unknown>): Promise<any> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  assert.fail('expected a rejection');
}

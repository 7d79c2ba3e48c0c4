/**
 * The sandbox institution catalogue. Each institution exists to exercise one behaviour of
 * Causeway (a method mix, MFA, slowness, an outage, unlinked pending transactions).
 */
import type { ProviderInstitution } from '../types.js';

/** Sandbox-only behaviour that is not part of the provider contract, kept off `institutions()`. */
export interface SandboxBehaviour {
  /** Multiplies the provider's per-call latency. */
  latencyFactor: number;
  /** Every verification, authorisation and data call fails with institution_unavailable. */
  outage: boolean;
}

export interface SandboxInstitution extends ProviderInstitution {
  behaviour: SandboxBehaviour;
  /** Account product names, so each bank's accounts read like its own. */
  productNames: { everyday: string; savings: string; card: string; mortgage: string; loan: string; goal: string };
}

const PRODUCTS: ProviderInstitution['products'] = ['accounts', 'balances', 'transactions', 'identity'];
/**
 * The spec's default refresh budget (20 a day); only the slow institution is stricter. A simulated
 * bank takes many refreshes at once and quickly (the benchmarks keep hundreds in flight); an
 * application can set lower limits for itself (PATCH /v1/application `institutions`).
 */
const DEFAULT_LIMITS = { refreshesPerDay: 20, minIntervalSeconds: 0, maxConcurrentRefreshes: 256, refreshesPerMinute: 60_000 };
const NORMAL: SandboxBehaviour = { latencyFactor: 1, outage: false };

export const SANDBOX_INSTITUTIONS: readonly SandboxInstitution[] = [
  {
    id: 'ins_sandbox_web', name: 'Sandbox Web Bank', country: 'AU', methods: ['web'], products: PRODUCTS,
    alwaysMfa: false, linksPendingTransactions: true, limits: DEFAULT_LIMITS, behaviour: NORMAL,
    productNames: {
      everyday: 'Everyday Access', savings: 'Bonus Saver', card: 'Low Rate Visa',
      mortgage: 'Standard Variable Home Loan', loan: 'Secured Car Loan', goal: 'Goal Saver',
    },
  },
  {
    id: 'ins_sandbox_openbank', name: 'Sandbox Open Bank', country: 'AU', methods: ['openbanking'], products: PRODUCTS,
    alwaysMfa: false, linksPendingTransactions: true, limits: DEFAULT_LIMITS, behaviour: NORMAL,
    productNames: {
      everyday: 'Smart Access', savings: 'NetBank Saver', card: 'Platinum Mastercard',
      mortgage: 'Extra Home Loan', loan: 'Personal Loan', goal: 'GoalSaver',
    },
  },
  {
    id: 'ins_sandbox_universal', name: 'Sandbox Universal Bank', country: 'AU', methods: ['web', 'openbanking'],
    products: PRODUCTS, alwaysMfa: false, linksPendingTransactions: true, limits: DEFAULT_LIMITS, behaviour: NORMAL,
    productNames: {
      everyday: 'Complete Freedom', savings: 'Online Saver', card: 'Rewards Visa Signature',
      mortgage: 'Basic Home Loan', loan: 'Car Loan', goal: 'Reward Saver',
    },
  },
  {
    id: 'ins_sandbox_mfa', name: 'Sandbox Secure Credit Union', country: 'AU', methods: ['web'], products: PRODUCTS,
    alwaysMfa: true, linksPendingTransactions: true, limits: DEFAULT_LIMITS, behaviour: NORMAL,
    productNames: {
      everyday: 'Everyday Transaction', savings: 'Member Saver', card: 'Member Visa Credit',
      mortgage: 'Member Home Loan', loan: 'Member Personal Loan', goal: 'Christmas Club',
    },
  },
  {
    id: 'ins_sandbox_slow', name: 'Sandbox Slow Building Society', country: 'AU', methods: ['web', 'openbanking'],
    products: PRODUCTS, alwaysMfa: false, linksPendingTransactions: true,
    // A slow, old-fashioned core: few refreshes allowed, an hour apart.
    limits: { refreshesPerDay: 4, minIntervalSeconds: 3600, maxConcurrentRefreshes: 2, refreshesPerMinute: 30 }, behaviour: { latencyFactor: 10, outage: false },
    productNames: {
      everyday: 'Cheque Account', savings: 'Passbook Savings', card: 'Classic Mastercard',
      mortgage: 'Fixed Rate Home Loan', loan: 'Personal Loan', goal: 'Term Saver',
    },
  },
  {
    id: 'ins_sandbox_outage', name: 'Sandbox Outage Bank', country: 'AU', methods: ['web', 'openbanking'],
    products: PRODUCTS, alwaysMfa: false, linksPendingTransactions: true, limits: DEFAULT_LIMITS,
    behaviour: { latencyFactor: 1, outage: true },
    productNames: {
      everyday: 'Everyday Account', savings: 'High Interest Savings', card: 'Visa Credit Card',
      mortgage: 'Home Loan', loan: 'Personal Loan', goal: 'Goal Account',
    },
  },
  {
    id: 'ins_sandbox_nolink', name: 'Sandbox Unlinked Mutual', country: 'AU', methods: ['web', 'openbanking'],
    products: PRODUCTS, alwaysMfa: false,
    // Posted transactions arrive with new ids and no link: Causeway must reconcile on its own.
    linksPendingTransactions: false, limits: DEFAULT_LIMITS, behaviour: NORMAL,
    productNames: {
      everyday: 'Everyday Plus', savings: 'Mutual Saver', card: 'Mutual Visa',
      mortgage: 'Owner Occupier Home Loan', loan: 'Car Loan', goal: 'Goal Saver',
    },
  },
];

const BY_ID = new Map(SANDBOX_INSTITUTIONS.map((i) => [i.id, i]));

/** How long an openbanking consent at a sandbox bank lasts (user_expiring's runs out sooner). */
export const SANDBOX_CONSENT_DAYS = 365;

/** Each sandbox bank's brand colour, so the pages show them as they show a real catalogue's. */
const BRAND_COLOURS: Record<string, string> = {
  ins_sandbox_web: '#c2410c', ins_sandbox_openbank: '#047857', ins_sandbox_universal: '#1d4ed8', ins_sandbox_mfa: '#7e22ce',
  ins_sandbox_slow: '#92400e', ins_sandbox_outage: '#475569', ins_sandbox_nolink: '#0e7490',
};

export function findSandboxInstitution(id: string): SandboxInstitution | undefined {
  return BY_ID.get(id);
}

/** The public view (only the contract's fields), as fresh objects so callers cannot mutate the catalogue. */
export function toProviderInstitution(i: SandboxInstitution): ProviderInstitution {
  return {
    id: i.id,
    name: i.name,
    country: i.country,
    methods: [...i.methods],
    products: [...i.products],
    alwaysMfa: i.alwaysMfa,
    linksPendingTransactions: i.linksPendingTransactions,
    limits: { ...i.limits },
    primaryColor: BRAND_COLOURS[i.id] ?? null,
    maxAccessDays: i.methods.includes('openbanking') ? SANDBOX_CONSENT_DAYS : null,
  };
}

/** Every sandbox institution in the contract's shape. */
export function sandboxInstitutions(): ProviderInstitution[] {
  return SANDBOX_INSTITUTIONS.map(toProviderInstitution);
}

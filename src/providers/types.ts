/**
 * The Provider interface: everything Causeway asks of an aggregator or bank adapter.
 * Providers are stateless: every call receives the link's access (decrypted by the caller) and the
 * current time from Causeway's clock, so tests and the sandbox test clock move time without sleeping.
 * Providers normalise their failures into ProviderError at this boundary (ENGINEERING.md habit 3).
 */
import type { AccountType, Method, Product, TransactionStatus } from '../domain/types.js';

export interface ProviderInstitution {
  id: string;
  name: string;
  country: string;
  methods: Method[];
  products: Product[];
  /** Always asks for a one-time code during verify-credentials. */
  alwaysMfa: boolean;
  /** Posted transactions carry the id of the pending transaction they replace. */
  linksPendingTransactions: boolean;
  /**
   * Refresh limits the institution imposes: per connection (calls per day, minimum seconds between
   * refreshes) and per client (refreshes running at once, refreshes started per minute).
   */
  limits: InstitutionLimits;
}

export interface InstitutionLimits {
  refreshesPerDay: number;
  minIntervalSeconds: number;
  maxConcurrentRefreshes: number;
  refreshesPerMinute: number;
}

/** What the provider needs to reach the data: web credentials or a token it issued. */
export type ProviderAccess =
  | { kind: 'web'; login: string; password: string }
  | { kind: 'token'; token: string };

export interface ProviderLink {
  institutionId: string;
  access: ProviderAccess;
  /** When the connection first completed a sync; null on the first retrieval. */
  firstSyncedAt: Date | null;
}

export interface ProviderCallContext {
  now: Date;
  /** Identifies the run (job id + attempt) so simulated intermittent failures are reproducible. */
  runKey: string;
  /**
   * Sandbox control: the calling application has switched on an outage of this institution
   * (POST /v1/sandbox/institutions/{id}/outage). The sandbox then answers institution_unavailable;
   * real providers ignore it.
   */
  simulatedOutage?: boolean;
  /**
   * Sandbox control: the calling application has the institution answer 429 with this Retry-After
   * (seconds) (POST /v1/sandbox/institutions/{id}/rate-limit); real providers ignore it.
   */
  simulatedRateLimitSeconds?: number | null;
}

export type VerifyOutcome =
  | { kind: 'verified'; accessExpiresAt: Date | null }
  | { kind: 'mfa_required'; prompt: string };

export interface AuthorizationGrant {
  token: string;
  grantedAt: Date;
  expiresAt: Date;
}

export interface ProviderAccount {
  id: string;
  name: string;
  type: AccountType;
  /** Last four digits of the account number. */
  mask: string;
  currency: string;
  /** Minor units. `current` is the ledger balance (posted only); credit/loan balances are negative (owed). */
  balances: { current: number; available: number | null; limit: number | null };
}

export interface ProviderTransaction {
  id: string;
  accountId: string;
  status: TransactionStatus;
  /** Minor units; negative is money out of the account. */
  amount: number;
  currency: string;
  /** YYYY-MM-DD: the posting date, or the authorisation date while pending. */
  date: string;
  authorizedDate: string | null;
  description: string;
  merchantName: string | null;
  category: string | null;
  /** For posted transactions: the id of the pending transaction it replaces, when the institution links them. */
  pendingTransactionId: string | null;
}

export interface ProviderIdentity {
  names: string[];
  emails: { address: string; primary: boolean }[];
  phones: { number: string; type: 'mobile' | 'home' | 'work'; primary: boolean }[];
  addresses: { line1: string; city: string; region: string; postalCode: string; country: string; primary: boolean }[];
}

export const PROVIDER_ERROR_CODES = [
  'invalid_credentials', 'account_locked', 'mfa_failed', 'institution_unavailable', 'provider_error',
  'rate_limited', 'consent_expired', 'consent_revoked', 'user_action_required', 'authorization_denied',
  // Raised by Causeway itself when an institution wants a one-time code and nobody is there to give it.
  'mfa_required',
] as const;
export type ProviderErrorCode = (typeof PROVIDER_ERROR_CODES)[number];

/** A provider failure, normalised. `transient` errors are retried with backoff; others are final. */
export class ProviderError extends Error {
  constructor(
    readonly code: ProviderErrorCode,
    message: string,
    readonly transient: boolean,
    /** The provider's own code, kept for the journal. */
    readonly providerCode: string,
    readonly retryAfterSeconds: number | null = null,
  ) {
    super(message);
    this.name = 'ProviderError';
  }
}

export interface Provider {
  readonly id: string;
  institutions(): ProviderInstitution[];
  /**
   * Web (optional): a login that is no one person's bank login, such as the sandbox's documented test
   * personas every user may sign in with. The duplicate-credentials pause (services/connections.ts)
   * then compares it with the user's own connections only, not the whole application's. Absent: none.
   */
  sharedLogin?(login: string): boolean;
  /** Web: check the credentials; ask for a one-time code when the institution wants one. */
  verifyCredentials(link: ProviderLink, mfaCode: string | null, ctx: ProviderCallContext): Promise<VerifyOutcome>;
  /** Openbanking: where to send the user to authorise. `state` comes back on completion. */
  authorizationUrl(input: { institutionId: string; state: string; publicUrl: string }): string;
  /** Openbanking: exchange what the institution sent back for an access token and consent dates. */
  completeAuthorization(
    input: { institutionId: string; params: Record<string, string> },
    ctx: ProviderCallContext,
  ): Promise<AuthorizationGrant>;
  fetchAccounts(link: ProviderLink, ctx: ProviderCallContext): Promise<ProviderAccount[]>;
  /** Every transaction dated in [from, to] (inclusive days), pending ones included. */
  fetchTransactions(link: ProviderLink, range: { from: string; to: string }, ctx: ProviderCallContext): Promise<ProviderTransaction[]>;
  fetchIdentity(link: ProviderLink, ctx: ProviderCallContext): Promise<ProviderIdentity>;
  /** Revoke access at the provider (unlink/delete). */
  revoke(link: ProviderLink, ctx: ProviderCallContext): Promise<void>;
  /**
   * Import (optional: only providers that can take over an existing link): check an access token
   * issued outside Causeway's flow (a Plaid access token, say) and answer it with its consent dates.
   * Throws invalid_credentials for a token the provider does not recognise.
   */
  importAccess?(input: { institutionId: string; token: string }, ctx: ProviderCallContext): Promise<AuthorizationGrant>;
}

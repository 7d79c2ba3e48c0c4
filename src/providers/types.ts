/**
 * The Provider interface: everything Causeway asks of an aggregator or bank adapter.
 * Providers are stateless: every call receives the link's access (decrypted by the caller) and the
 * current time from Causeway's clock, so tests and the sandbox test clock move time without sleeping.
 * Providers normalise their failures into ProviderError at this boundary (ENGINEERING.md habit 3).
 */
import type { AccountType, Method, Product, TransactionStatus } from '../domain/types.js';

export interface ProviderInstitution {
  /** The provider's own id for the institution (Plaid's `ins_109508`); the catalogue gives Causeway's. */
  id: string;
  name: string;
  country: string;
  methods: Method[];
  products: Product[];
  /** A logo the pages can show: an https URL or a `data:image/png;base64,…` URI. */
  logo?: string | null;
  /** The institution's brand colour, `#rrggbb`. */
  primaryColor?: string | null;
  /** The institution's own site. */
  url?: string | null;
  /** Always asks for a one-time code during verify-credentials. */
  alwaysMfa: boolean;
  /** Days of transaction history the institution gives (GoCardless's transaction_total_days), when the provider says. */
  historyDays?: number | null;
  /** The longest consent the institution grants, in days (GoCardless's max_access_valid_for_days), when the provider says. */
  maxAccessDays?: number | null;
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
  /** `itemId`: the provider's own id for the link (Plaid's item_id), which its webhooks name. */
  | { kind: 'token'; token: string; itemId?: string };

export interface ProviderLink {
  institutionId: string;
  access: ProviderAccess;
  /** When the connection first completed a sync; null on the first retrieval. */
  firstSyncedAt: Date | null;
}

/**
 * A provider's settings for one application (decrypted), or the deployment default from the
 * environment: Plaid's `clientId`, `secret`, `environment` and `baseUrl`, say. Empty for the sandbox.
 */
export type ProviderSettings = Readonly<Record<string, string>>;

export interface ProviderCallContext {
  now: Date;
  /** Identifies the run (job id + attempt) so simulated intermittent failures are reproducible. */
  runKey: string;
  /** The calling application's settings for this provider (services/providers.ts settingsFor); absent for a provider that takes none. */
  settings?: ProviderSettings;
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
  /**
   * Provider-wide state shared by every worker process, encrypted at rest (services/provider-state.ts):
   * a GoCardless access token kept and renewed once for all jobs, say. Absent outside the engine (unit tests).
   */
  state?: ProviderStateStore;
  /** The link's call budgets per account and scope as the provider last reported them (sync runs only). */
  budgets?: readonly ProviderBudget[];
  /** Report a budget a provider's answer carried (GoCardless's HTTP_X_RATELIMIT_ACCOUNT_SUCCESS_*); the engine keeps it with the connection. */
  reportBudget?(budget: ProviderBudget): void;
  /**
   * The operator allows user-supplied URLs (a SimpleFIN claim or access URL) to reach private,
   * loopback and link-local addresses (CAUSEWAY_ALLOW_PRIVATE_ADDRESSES): for self-hosted set-ups and tests.
   */
  allowPrivateAddresses?: boolean;
}

/** Provider-wide key/value state shared by every worker (see ProviderCallContext.state). Keys are the adapter's own; values are encrypted at rest. */
export interface ProviderStateStore {
  get(key: string): Promise<string | null>;
  /** Kept until `expiresAt`, then read as absent. */
  put(key: string, value: string, expiresAt: Date): Promise<void>;
  delete(key: string): Promise<void>;
}

/**
 * What a provider allows a link's account for one scope (GoCardless: `details`, `balances`,
 * `transactions`, about four successful calls a day each), as its last answer said.
 */
export interface ProviderBudget {
  /** ProviderAccount.id of the account. */
  accountId: string;
  scope: string;
  /** Calls allowed per period, when the provider says. */
  limit: number | null;
  remaining: number;
  /** When `remaining` is back to `limit`. */
  resetAt: Date;
}

export type VerifyOutcome =
  | { kind: 'verified'; accessExpiresAt: Date | null }
  | { kind: 'mfa_required'; prompt: string };

export interface AuthorizationGrant {
  token: string;
  grantedAt: Date;
  /** When the consent ends; null where the provider sets no end (a Plaid Item outside the EU and UK). */
  expiresAt: Date | null;
  /** The provider's id for the link (Plaid's item_id), which its webhooks name. */
  itemId?: string;
  /** The provider's institution id, when the provider tells it (an import, a link where the user chose). */
  institutionId?: string;
  /** The accounts the user shared, as far as the provider tells before any data call: for the duplicate check. */
  accounts?: { name: string; mask: string | null }[];
}

/**
 * Starting a link at the provider: where to send the user and what to keep until they come back.
 * `returnUrl` is Causeway's one return route with the `state` that ties it to the connection.
 */
export interface LinkStart {
  institutionId: string;
  products: Product[];
  /** The connection's state token (also in returnUrl): a reference the provider may carry. */
  state: string;
  returnUrl: string;
  /** Where the provider should send webhooks for this link, when Causeway has a public address. */
  webhookUrl: string | null;
  /** Causeway's user id (Plaid's client_user_id). */
  userId: string;
  /** Update mode (repair, new products): the link's current access. */
  update: ProviderLink | null;
}

export interface LinkSession {
  /** Where the user goes to link. */
  url: string;
  /** The provider's reference for this session (Plaid's link_token, a GoCardless requisition id). */
  reference: string;
  expiresAt: Date;
}

/** How the user's visit to the provider ended. */
export type LinkResult =
  | { kind: 'granted'; grant: AuthorizationGrant }
  /** The user left, or the provider refused the link: the code says which (authorization_denied, institution_unavailable…). */
  | { kind: 'denied'; code: ProviderErrorCode; message: string; providerCode: string }
  /** Not finished yet (a requisition still being authorised): the link stays pre_init and times out if abandoned. */
  | { kind: 'pending' };

/** One page of changes from a provider that syncs by cursor (Plaid's /transactions/sync). */
export interface TransactionsPage {
  added: ProviderTransaction[];
  modified: ProviderTransaction[];
  removed: string[];
  /** Accounts the page names, upserted with it (a new account can appear in a sync). */
  accounts: ProviderAccount[];
  nextCursor: string;
  hasMore: boolean;
}

/** What a provider's webhook means for Causeway, once verified (provider.webhooks.parse). */
export type ProviderWebhookKind =
  | { kind: 'sync_available' }
  | { kind: 'login_required'; code: ProviderErrorCode; providerCode: string; message: string }
  | { kind: 'expiring'; expiresAt: Date | null }
  | { kind: 'revoked' }
  | { kind: 'new_accounts' }
  | { kind: 'repaired' }
  | { kind: 'ignored'; why: string };

export interface ProviderWebhook {
  /** The provider's id for the link (ProviderAccess.itemId). */
  itemId: string;
  /** The provider's own name for it (`TRANSACTIONS:SYNC_UPDATES_AVAILABLE`), kept in the event. */
  type: string;
  meaning: ProviderWebhookKind;
}

export interface ProviderAccount {
  id: string;
  name: string;
  type: AccountType;
  /** Last four digits of the account number. */
  mask: string;
  currency: string;
  /**
   * Minor units. `current` is the ledger balance (posted only); credit/loan balances are negative (owed).
   * null: not read this time (the provider's budget for balances is spent): the stored balances stay.
   */
  balances: { current: number; available: number | null; limit: number | null } | null;
}

/**
 * A window provider's answer when some accounts' transactions could not be read this time (the
 * provider's budget for them is spent until `until`): their stored transactions stay as they are,
 * and the connection's window is not moved on, so the next run reads what this one missed.
 */
export interface TransactionsWindow {
  transactions: ProviderTransaction[];
  deferred: { accountId: string; until: Date }[];
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
    /** The provider's id for the failed request (Plaid's request_id), kept for the journal. */
    readonly requestId: string | null = null,
    /** A cursor sync must start again from the beginning of its pagination (Plaid's mutation during pagination). */
    readonly restartPagination = false,
    /**
     * What a rate_limited refusal limits: the whole institution for this application (Plaid's client
     * limits: every connection there waits), or this link only (a GoCardless account's four calls a
     * day, a SimpleFIN access URL's daily allowance: other users' connections are not slowed).
     */
    readonly limitScope: 'institution' | 'link' = 'institution',
  ) {
    super(message);
    this.name = 'ProviderError';
  }
}

/** A setting a provider takes through PUT /v1/application/providers/{provider}. */
export interface ProviderSettingField {
  name: string;
  /** Encrypted at rest and never shown again. */
  secret: boolean;
  required: boolean;
  /** The allowed values, when there is a fixed set. */
  values?: readonly string[];
  description: string;
}

/**
 * One aggregator or bank adapter. Everything in `src/providers/<name>/` plus one line in
 * `registry.ts`; the sync engine (services/sync/) drives it and journals every call.
 */
export interface Provider {
  readonly id: string;
  readonly name: string;
  /** How a user links: Causeway's credentials form (`web`), the bank's consent page (`openbanking`), the provider's own page (`hosted`). */
  readonly methods: readonly Method[];
  /** The sandbox serves sandbox applications only; real providers serve both, once configured. */
  readonly sandboxOnly: boolean;
  /** The provider limits calls per account and scope and says so in its answers (ProviderCallContext.reportBudget): each run reads the budgets kept. */
  readonly reportsBudgets?: boolean;
  /** What PUT /v1/application/providers/{id} takes. Absent: nothing to configure. */
  readonly settingFields?: readonly ProviderSettingField[];
  /** The deployment default (CAUSEWAY_<PROVIDER>_*), or null when the environment sets none. */
  settingsFromEnv?(env: NodeJS.ProcessEnv): ProviderSettings | null;

  /** The catalogue, a page at a time (`cursor` null: the first page). */
  listInstitutions(ctx: ProviderCallContext, cursor: string | null): Promise<{ institutions: ProviderInstitution[]; next: string | null; total: number | null }>;
  /** One institution by the provider's id (met in a link or an import), or null when the provider has none. */
  getInstitution(id: string, ctx: ProviderCallContext): Promise<ProviderInstitution | null>;
  /**
   * Web (optional): a login that is no one person's bank login, such as the sandbox's documented test
   * personas every user may sign in with. The duplicate-credentials pause (services/connections.ts)
   * then compares it with the user's own connections only, not the whole application's. Absent: none.
   */
  sharedLogin?(login: string): boolean;
  /** Web: check the credentials; ask for a one-time code when the institution wants one. */
  verifyCredentials?(link: ProviderLink, mfaCode: string | null, ctx: ProviderCallContext): Promise<VerifyOutcome>;
  /** Openbanking and hosted: start a link (or, with `update`, a repair or new products) at the provider. */
  startLink?(input: LinkStart, ctx: ProviderCallContext): Promise<LinkSession>;
  /**
   * Openbanking and hosted: the user came back to Causeway's return route. `params` is what the
   * provider put on the return address; `reference` is LinkSession.reference. A granted link is
   * exchanged here for the access that data calls take.
   */
  completeLink?(input: { institutionId: string; params: Record<string, string>; reference: string; update: ProviderLink | null }, ctx: ProviderCallContext): Promise<LinkResult>;
  fetchAccounts(link: ProviderLink, ctx: ProviderCallContext): Promise<ProviderAccount[]>;
  /** Providers without a cursor: every transaction dated in [from, to] (inclusive days), pending ones included. */
  fetchTransactions?(link: ProviderLink, range: { from: string; to: string }, ctx: ProviderCallContext): Promise<ProviderTransaction[] | TransactionsWindow>;
  /** Providers with a cursor: one page of changes after `cursor` (null: everything from the start). */
  syncTransactions?(link: ProviderLink, cursor: string | null, ctx: ProviderCallContext): Promise<TransactionsPage>;
  fetchIdentity(link: ProviderLink, ctx: ProviderCallContext): Promise<ProviderIdentity>;
  /** Revoke access at the provider (unlink, delete, a duplicate link). */
  revoke(link: ProviderLink, ctx: ProviderCallContext): Promise<void>;
  /**
   * Import (optional: only providers that can take over an existing link): check an access token
   * issued outside Causeway's flow (a Plaid access token, say) and answer it with its consent dates
   * and, where the provider tells, its institution. Throws invalid_credentials for a token it does not recognise.
   */
  importAccess?(input: { institutionId: string | null; token: string }, ctx: ProviderCallContext): Promise<AuthorizationGrant>;
  /**
   * Token method (optional): exchange what the user pasted (a SimpleFIN setup token) for lasting
   * access, once. Throws invalid_credentials for a token that is not the provider's or was already used.
   */
  claimToken?(pasted: string, ctx: ProviderCallContext): Promise<AuthorizationGrant>;
  /**
   * Revoke is local only (SimpleFIN has no revoke call): the API and the manage page tell the user
   * what to remove at the provider themselves. The sentence says it.
   */
  readonly revokeNotice?: string;
  /** Point the provider's webhooks for this link at Causeway (an import). */
  setWebhook?(link: ProviderLink, url: string, ctx: ProviderCallContext): Promise<void>;
  /** Verify a webhook by the provider's own scheme and say what it means; throws ProviderWebhookRefused when it does not verify. */
  parseWebhook?(input: {
    headers: Record<string, string | undefined>;
    rawBody: string;
    now: Date;
    /** The settings of the application whose link the webhook names (null: no such link). */
    settingsFor(itemId: string): Promise<ProviderSettings | null>;
  }): Promise<ProviderWebhook>;
}

/** A webhook that did not verify (a bad signature, an old timestamp, a changed body). */
export class ProviderWebhookRefused extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ProviderWebhookRefused';
  }
}

/** A window provider's answer in one shape, whichever it gave. */
export function windowOf(got: ProviderTransaction[] | TransactionsWindow): TransactionsWindow {
  return Array.isArray(got) ? { transactions: got, deferred: [] } : got;
}

/**
 * The fake's state: Items (an access token, an institution, accounts, transactions and their
 * change log, an error) and public tokens. Routes and the control surface both work through
 * this class, so a test's `setItemError` is exactly what a real request would see.
 */
import { buildAccount, buildHistory, freshTransactions, postedFrom, type PlaidAccount, type PlaidTransaction } from './data.js';
import { fail, plaidError, type ErrorSpec, type PlaidErrorBody } from './errors.js';
import { institutionCatalogue, type AccountTemplate, type FakeInstitution, type ProductHealth } from './institutions.js';
import type { IdSource } from './random.js';
import type { WebhookEvent } from './shapes.js';
import { append, newChangeLog, type ChangeLog } from './sync.js';

export type TransactionsUpdateStatus = 'TRANSACTIONS_UPDATE_STATUS_UNKNOWN' | 'NOT_READY' | 'INITIAL_UPDATE_COMPLETE' | 'HISTORICAL_UPDATE_COMPLETE';

export interface FakeItem {
  itemId: string;
  accessToken: string;
  institution: FakeInstitution;
  webhook: string | null;
  error: PlaidErrorBody | null;
  /** Billed products (what the Item was created with, plus any added by calling their endpoints). */
  products: string[];
  createdAt: string;
  consentExpirationTime: string | null;
  /** Accounts the user shared. */
  accounts: PlaidAccount[];
  /** Accounts opened at the bank but not shared yet; update mode with account selection shares them. */
  pendingAccounts: PlaidAccount[];
  /** Current transactions by id. */
  transactions: Map<string, PlaidTransaction>;
  log: ChangeLog;
  updateStatus: TransactionsUpdateStatus;
  removed: boolean;
  clientUserId: string | null;
  /** Plaid only sends SYNC_UPDATES_AVAILABLE once the client has called /transactions/sync. */
  syncedOnce: boolean;
  lastSuccessfulUpdate: string | null;
  lastFailedUpdate: string | null;
  lastWebhook: { sent_at: string; code_sent: string } | null;
}

export interface CreateItemOptions {
  /** Default ins_109508 (First Platypus Bank). */
  institutionId?: string;
  webhook?: string | null;
  /** Billed products; default ['transactions'] (only those the institution supports). */
  products?: string[];
  /** How many transactions the Item starts with (default: the fake's `initialTransactions`, 180). */
  transactions?: number;
  /** Days of history they span (default 180). */
  historyDays?: number;
  /** How many of them are pending (default 3). */
  pending?: number;
  /** Start in this error state, e.g. 'ITEM_LOGIN_REQUIRED'. */
  error?: string | null;
  clientUserId?: string | null;
  updateStatus?: TransactionsUpdateStatus;
  /** Overrides the institution's default (UK/EU OAuth: now + 90 days; else null). */
  consentExpirationTime?: string | null;
}

export interface WorldOptions {
  now: () => Date;
  ids: IdSource;
  seed: string;
  initialTransactions: number;
  autoWebhooks: boolean;
  /** Sends a webhook to the Item's URL, if it has one (fire and forget). */
  emit: (item: FakeItem, event: WebhookEvent) => void;
}

const PUBLIC_TOKEN_TTL_MS = 30 * 60_000; // Plaid: a public_token expires after 30 minutes

export class PlaidWorld {
  readonly items = new Map<string, FakeItem>();
  private readonly byAccessToken = new Map<string, FakeItem>();
  private readonly publicTokens = new Map<string, { itemId: string; expiresAt: number; used: boolean }>();
  private readonly institutionsById = new Map<string, FakeInstitution>();
  readonly institutionHealth = new Map<string, { health: ProductHealth; since: string }>();
  private ordinal = 0;

  constructor(private readonly o: WorldOptions) {
    for (const inst of institutionCatalogue()) this.institutionsById.set(inst.institution_id, inst);
  }

  institution(id: string): FakeInstitution | undefined {
    return this.institutionsById.get(id);
  }

  createItem(opts: CreateItemOptions = {}): FakeItem {
    const institution = this.institution(opts.institutionId ?? 'ins_109508');
    if (!institution) throw new Error(`plaid fake: unknown institution ${opts.institutionId}`);
    const now = this.o.now();
    this.ordinal += 1;
    const accounts = institution.accounts.map((t) => buildAccount(t, this.o.ids.alnum('account')));
    const requested = opts.products ?? ['transactions'];
    const item: FakeItem = {
      itemId: this.o.ids.alnum('item'),
      accessToken: `access-sandbox-${this.o.ids.uuid('access')}`,
      institution,
      webhook: opts.webhook ?? null,
      error: null,
      products: requested.filter((p) => institution.products.includes(p)),
      createdAt: now.toISOString(),
      consentExpirationTime: opts.consentExpirationTime !== undefined ? opts.consentExpirationTime
        : institution.consentDays ? new Date(now.getTime() + institution.consentDays * 86_400_000).toISOString() : null,
      accounts,
      pendingAccounts: [],
      transactions: new Map(),
      log: newChangeLog(),
      updateStatus: opts.updateStatus ?? 'HISTORICAL_UPDATE_COMPLETE',
      removed: false,
      clientUserId: opts.clientUserId ?? null,
      syncedOnce: false,
      lastSuccessfulUpdate: now.toISOString(),
      lastFailedUpdate: null,
      lastWebhook: null,
    };
    const history = buildHistory(accounts, {
      ids: this.o.ids, seed: `${this.o.seed}:history:${this.ordinal}`, count: opts.transactions ?? this.o.initialTransactions,
      days: opts.historyDays ?? 180, pending: opts.pending ?? 3, today: now, country: institution.country_codes[0]!,
    });
    for (const tx of history.reverse()) this.record(item, { kind: 'added', tx });
    if (opts.error) this.setError(item, { error_code: opts.error });
    this.items.set(item.itemId, item);
    this.byAccessToken.set(item.accessToken, item);
    return item;
  }

  /** The Item behind an access token, as a request sees it. */
  byToken(accessToken: string): FakeItem {
    const item = this.byAccessToken.get(accessToken);
    if (!item) return fail('INVALID_ACCESS_TOKEN');
    if (item.removed) return fail('ITEM_NOT_FOUND');
    return item;
  }

  /** For the control surface: throws a plain Error on a bad id (a test bug, not a Plaid answer). */
  get(itemId: string): FakeItem {
    const item = this.items.get(itemId);
    if (!item) throw new Error(`plaid fake: no item ${itemId}`);
    return item;
  }

  issuePublicToken(item: FakeItem): string {
    const token = `public-sandbox-${this.o.ids.uuid('public')}`;
    this.publicTokens.set(token, { itemId: item.itemId, expiresAt: this.o.now().getTime() + PUBLIC_TOKEN_TTL_MS, used: false });
    return token;
  }

  /** A public token works once and for 30 minutes. */
  exchange(publicToken: string): FakeItem {
    const entry = this.publicTokens.get(publicToken);
    if (!entry || entry.used || entry.expiresAt < this.o.now().getTime()) return fail('INVALID_PUBLIC_TOKEN');
    entry.used = true;
    const item = this.get(entry.itemId);
    if (item.removed) return fail('INVALID_PUBLIC_TOKEN');
    return item;
  }

  setError(item: FakeItem, spec: ErrorSpec | null): void {
    item.error = spec ? plaidError(spec, this.o.ids.alnum('request', 15)) : null;
    if (spec) item.lastFailedUpdate = this.o.now().toISOString();
    else item.lastSuccessfulUpdate = this.o.now().toISOString();
  }

  /** Update mode succeeded: the error clears, consent renews, newly opened accounts may be shared. */
  repair(item: FakeItem, opts: { shareNewAccounts: boolean }): void {
    this.setError(item, null);
    if (item.institution.consentDays) {
      item.consentExpirationTime = new Date(this.o.now().getTime() + item.institution.consentDays * 86_400_000).toISOString();
    }
    if (opts.shareNewAccounts && item.pendingAccounts.length) {
      const shared = item.pendingAccounts.splice(0);
      item.accounts.push(...shared);
      this.insert(item, freshTransactions(shared, 5 * shared.length, { ids: this.o.ids, seed: `${this.o.seed}:shared:${item.log.entries.length}`, today: this.o.now(), country: item.institution.country_codes[0]! }));
    }
  }

  private record(item: FakeItem, entry: { kind: 'added' | 'modified'; tx: PlaidTransaction } | { kind: 'removed'; txId: string; accountId: string }): void {
    if (entry.kind === 'removed') item.transactions.delete(entry.txId);
    else {
      // Frozen: the log keeps this very object as history; change a transaction with modifyTransaction.
      Object.freeze(entry.tx);
      item.transactions.set(entry.tx.transaction_id, entry.tx);
    }
    append(item.log, entry);
  }

  /** Tell a client that has synced before that there is more, as Plaid does (when enabled). */
  private changed(item: FakeItem): void {
    item.lastSuccessfulUpdate = this.o.now().toISOString();
    if (this.o.autoWebhooks && item.syncedOnce && item.webhook) {
      this.o.emit(item, { webhook_code: 'SYNC_UPDATES_AVAILABLE' });
    }
  }

  addTransactions(item: FakeItem, what: number | Array<Partial<PlaidTransaction>>, opts: { pending?: boolean } = {}): PlaidTransaction[] {
    const country = item.institution.country_codes[0]!;
    const today = this.o.now();
    const made = typeof what === 'number'
      ? freshTransactions(item.accounts, what, { ids: this.o.ids, seed: `${this.o.seed}:fresh:${item.itemId}:${item.log.entries.length}`, today, country, ...(opts.pending !== undefined ? { pending: opts.pending } : {}) })
      : what.map((partial) => {
        const [base] = freshTransactions(item.accounts, 1, { ids: this.o.ids, seed: `${this.o.seed}:fresh:${item.itemId}:${item.log.entries.length}`, today, country, ...(opts.pending !== undefined ? { pending: opts.pending } : {}) });
        return { ...base!, ...partial, transaction_id: partial.transaction_id ?? base!.transaction_id };
      });
    return this.insert(item, made);
  }

  private insert(item: FakeItem, txs: PlaidTransaction[]): PlaidTransaction[] {
    if (!item.accounts.length) throw new Error(`plaid fake: item ${item.itemId} has no accounts`);
    for (const tx of txs) {
      if (!item.accounts.some((a) => a.account_id === tx.account_id)) throw new Error(`plaid fake: no account ${tx.account_id} on item ${item.itemId}`);
      if (item.log.addedAt.has(tx.transaction_id)) throw new Error(`plaid fake: transaction id ${tx.transaction_id} already used`);
      this.record(item, { kind: 'added', tx });
    }
    if (txs.length) this.changed(item);
    return txs;
  }

  modifyTransaction(item: FakeItem, txId: string, patch: Partial<PlaidTransaction>): PlaidTransaction {
    const current = item.transactions.get(txId);
    if (!current) throw new Error(`plaid fake: no current transaction ${txId} on item ${item.itemId}`);
    const tx = { ...current, ...patch, transaction_id: txId };
    this.record(item, { kind: 'modified', tx });
    this.changed(item);
    return tx;
  }

  removeTransaction(item: FakeItem, txId: string): void {
    const current = item.transactions.get(txId);
    if (!current) throw new Error(`plaid fake: no current transaction ${txId} on item ${item.itemId}`);
    this.record(item, { kind: 'removed', txId, accountId: current.account_id });
    this.changed(item);
  }

  /** Pending transactions post: each gets a posted twin with a new id pointing back at it, and goes away. */
  postPending(item: FakeItem, txId?: string): Array<{ pending: PlaidTransaction; posted: PlaidTransaction }> {
    const pending = [...item.transactions.values()].filter((t) => t.pending && (!txId || t.transaction_id === txId));
    if (txId && !pending.length) throw new Error(`plaid fake: ${txId} is not a current pending transaction`);
    const out = pending.map((p) => {
      const posted = postedFrom(p, this.o.ids.alnum('tx'), this.o.now());
      this.record(item, { kind: 'removed', txId: p.transaction_id, accountId: p.account_id });
      this.record(item, { kind: 'added', tx: posted });
      return { pending: p, posted };
    });
    if (out.length) this.changed(item);
    return out;
  }

  /** A new account at the bank. Hidden until update mode with account selection, unless `visible`. */
  addAccount(item: FakeItem, opts: { visible?: boolean; template?: Partial<AccountTemplate> } = {}): PlaidAccount {
    const n = item.accounts.length + item.pendingAccounts.length;
    const currency = item.accounts[0]?.balances.iso_currency_code ?? 'USD';
    const account = buildAccount({ kind: 'savings', name: `New Savings ${n}`, officialName: null, mask: String(4000 + n).slice(-4), currency, ...opts.template }, this.o.ids.alnum('account'));
    if (opts.visible) item.accounts.push(account);
    else item.pendingAccounts.push(account);
    if (this.o.autoWebhooks && item.webhook) {
      this.o.emit(item, { webhook_code: 'NEW_ACCOUNTS_AVAILABLE' });
    }
    return account;
  }

  /** The Item's current transactions, newest first. */
  currentTransactions(item: FakeItem): PlaidTransaction[] {
    return [...item.transactions.values()].sort((a, b) => b.date.localeCompare(a.date) || a.transaction_id.localeCompare(b.transaction_id));
  }
}

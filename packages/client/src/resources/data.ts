import { callInit, unwrap, type Api } from '../call.js';
import { List } from '../pagination.js';
import type {
  Account, ListAccountsParams, ListTransactionsParams, RequestOptions, SyncTransactionsParams, Transaction, TransactionChanges,
} from '../types.js';

/** The accounts a user's connections brought, with their balances (minor units). */
export class Accounts {
  constructor(private readonly api: Api) {}

  list(userId: string, params: ListAccountsParams = {}, opts?: RequestOptions): List<Account> {
    // The API answers every account in one page (it takes no cursor).
    return new List(async () => {
      const page = await unwrap(this.api.GET('/v1/users/{userId}/accounts', { params: { path: { userId }, query: params }, ...callInit(opts) }));
      return { data: page.data, nextCursor: null };
    });
  }

  get(userId: string, accountId: string, opts?: RequestOptions): Promise<Account> {
    return unwrap(this.api.GET('/v1/users/{userId}/accounts/{accountId}', { params: { path: { userId, accountId } }, ...callInit(opts) }));
  }
}

/** A user's transactions (amounts in minor units, negative is money out). */
export class Transactions {
  constructor(private readonly api: Api) {}

  /** Newest first, filtered by account, dates and status; `limit` is the page size. */
  list(userId: string, params: ListTransactionsParams = {}, opts?: RequestOptions): List<Transaction> {
    return new List((cursor) => unwrap(this.api.GET('/v1/users/{userId}/transactions', {
      params: { path: { userId }, query: { ...params, cursor } }, ...callInit(opts),
    })));
  }

  /**
   * Changes since a cursor: added, modified, removed. Start without one, keep `nextCursor`, and
   * call again while `hasMore` is true.
   */
  sync(userId: string, params: SyncTransactionsParams = {}, opts?: RequestOptions): Promise<TransactionChanges> {
    return unwrap(this.api.GET('/v1/users/{userId}/transactions/sync', { params: { path: { userId }, query: params }, ...callInit(opts) }));
  }
}

/**
 * Wire shapes shared by several endpoints: the Item object and webhook bodies (Plaid's
 * ItemErrorWebhook, SyncUpdatesAvailableWebhook, PendingExpirationWebhook and friends).
 */
import type { PlaidErrorBody } from './errors.js';
import type { FakeItem } from './items.js';

/** `withCreatedAt`: /item/get's ItemWithConsentFields carries created_at; the plain Item elsewhere does not. */
export function itemJson(item: FakeItem, withCreatedAt = false): Record<string, unknown> {
  return {
    item_id: item.itemId,
    institution_id: item.institution.institution_id,
    institution_name: item.institution.name,
    webhook: item.webhook,
    auth_method: null,
    error: item.error,
    available_products: item.institution.products.filter((p) => !item.products.includes(p)),
    billed_products: item.products,
    products: item.products,
    consented_products: item.products,
    consent_expiration_time: item.consentExpirationTime,
    update_type: 'background',
    ...(withCreatedAt ? { created_at: item.createdAt } : {}),
  };
}

/** webhook_type for each webhook_code the fake sends. */
export const WEBHOOK_TYPE: Record<string, string> = {
  SYNC_UPDATES_AVAILABLE: 'TRANSACTIONS',
  DEFAULT_UPDATE: 'TRANSACTIONS',
  INITIAL_UPDATE: 'TRANSACTIONS',
  HISTORICAL_UPDATE: 'TRANSACTIONS',
  TRANSACTIONS_REMOVED: 'TRANSACTIONS',
  RECURRING_TRANSACTIONS_UPDATE: 'TRANSACTIONS',
  ERROR: 'ITEM',
  LOGIN_REPAIRED: 'ITEM',
  NEW_ACCOUNTS_AVAILABLE: 'ITEM',
  PENDING_EXPIRATION: 'ITEM',
  PENDING_DISCONNECT: 'ITEM',
  USER_PERMISSION_REVOKED: 'ITEM',
  USER_ACCOUNT_REVOKED: 'ITEM',
  WEBHOOK_UPDATE_ACKNOWLEDGED: 'ITEM',
  AUTHORIZATION_GRANTED: 'ITEM',
  SMS_MICRODEPOSITS_VERIFICATION: 'AUTH',
  PRODUCT_READY: 'INCOME',
};

export interface WebhookEvent {
  webhook_type?: string;
  webhook_code: string;
  /** For ERROR and USER_PERMISSION_REVOKED; defaults to the Item's error (or ITEM_LOGIN_REQUIRED / USER_PERMISSION_REVOKED). */
  error?: PlaidErrorBody | null;
  /** Merged last: override or add fields. */
  extra?: Record<string, unknown>;
}

const DAY_MS = 86_400_000;

/** A webhook body for `item`, with the fields Plaid's schema for that code requires. */
export function webhookPayload(item: FakeItem, e: WebhookEvent, now: Date, makeError: (code: string) => PlaidErrorBody): Record<string, unknown> {
  const type = e.webhook_type ?? WEBHOOK_TYPE[e.webhook_code] ?? 'ITEM';
  const body: Record<string, unknown> = { webhook_type: type, webhook_code: e.webhook_code, item_id: item.itemId };
  switch (e.webhook_code) {
    case 'SYNC_UPDATES_AVAILABLE':
      body.initial_update_complete = item.updateStatus !== 'NOT_READY';
      body.historical_update_complete = item.updateStatus === 'HISTORICAL_UPDATE_COMPLETE';
      break;
    case 'DEFAULT_UPDATE': case 'INITIAL_UPDATE': case 'HISTORICAL_UPDATE':
      body.error = null;
      body.new_transactions = 0;
      break;
    case 'ERROR':
      body.error = e.error !== undefined ? e.error : (item.error ?? makeError('ITEM_LOGIN_REQUIRED'));
      break;
    case 'USER_PERMISSION_REVOKED':
      body.error = e.error !== undefined ? e.error : makeError('USER_PERMISSION_REVOKED');
      break;
    case 'NEW_ACCOUNTS_AVAILABLE':
      body.error = e.error ?? null;
      break;
    case 'PENDING_EXPIRATION':
      body.consent_expiration_time = item.consentExpirationTime ?? new Date(now.getTime() + 7 * DAY_MS).toISOString();
      break;
    case 'PENDING_DISCONNECT':
      body.reason = 'INSTITUTION_TOKEN_EXPIRATION';
      body.disconnect_time = new Date(now.getTime() + 7 * DAY_MS).toISOString();
      break;
    case 'USER_ACCOUNT_REVOKED':
      body.account_id = item.accounts[0]?.account_id ?? '';
      break;
    case 'WEBHOOK_UPDATE_ACKNOWLEDGED':
      body.new_webhook_url = item.webhook;
      body.error = null;
      break;
    default:
      if (e.error !== undefined) body.error = e.error;
  }
  body.environment = 'sandbox';
  return { ...body, ...e.extra };
}

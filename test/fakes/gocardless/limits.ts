/**
 * GoCardless's rate limits under the fake's clock.
 *
 * Per account and scope (details, balances, transactions): `limit` successful calls (4 since
 * 2025-03) in a window of 24 h that starts with the first success; HTTP_X_RATELIMIT_ACCOUNT_SUCCESS_*
 * on every answer of those endpoints; the next call past the limit is a 429 "try again in N seconds".
 *
 * Per company, per endpoint group (GoCardless's table: 100 account calls a minute, 300 institution
 * reads a minute, 100 token/new an hour…): every request counts, HTTP_X_RATELIMIT_* on every answer.
 * RESET is the number of seconds until the window ends.
 */
import { rateLimitExceeded, type GcErrorAnswer } from './errors.js';

export const DAY_MS = 86_400_000;

interface Window { start: number; count: number }

export interface AccountWindow { limit: number; remaining: number; resetSeconds: number }

export class AccountLimits {
  private readonly windows = new Map<string, Window>();
  constructor(public limit: number, private readonly now: () => number) {}

  private live(key: string): Window | undefined {
    const w = this.windows.get(key);
    if (w && this.now() >= w.start + DAY_MS) {
      this.windows.delete(key);
      return undefined;
    }
    return w;
  }

  state(accountId: string, scope: string): AccountWindow {
    const w = this.live(`${accountId}|${scope}`);
    const resetSeconds = w ? Math.ceil((w.start + DAY_MS - this.now()) / 1000) : DAY_MS / 1000;
    return { limit: this.limit, remaining: Math.max(0, this.limit - (w?.count ?? 0)), resetSeconds };
  }

  /** A 429 when the window's successes are spent, else null. */
  refuse(accountId: string, scope: string): GcErrorAnswer | null {
    const s = this.state(accountId, scope);
    return s.remaining > 0 ? null : rateLimitExceeded(this.limit, 'day', s.resetSeconds);
  }

  success(accountId: string, scope: string): void {
    const key = `${accountId}|${scope}`;
    const w = this.live(key);
    if (w) w.count += 1;
    else this.windows.set(key, { start: this.now(), count: 1 });
  }

  /** Every window spent, or every window cleared (a test's shortcut). */
  set(accountId: string, scope: string, used: number): void {
    this.windows.set(`${accountId}|${scope}`, { start: this.now(), count: used });
  }

  clear(): void {
    this.windows.clear();
  }

  headers(accountId: string, scope: string): Record<string, string> {
    const s = this.state(accountId, scope);
    return {
      HTTP_X_RATELIMIT_ACCOUNT_SUCCESS_LIMIT: String(s.limit),
      HTTP_X_RATELIMIT_ACCOUNT_SUCCESS_REMAINING: String(s.remaining),
      HTTP_X_RATELIMIT_ACCOUNT_SUCCESS_RESET: String(s.resetSeconds),
    };
  }
}

interface Group { name: string; limit: number; periodMs: number; period: string }

const MINUTE = 60_000;
const g = (name: string, limit: number, periodMs = MINUTE, period = 'minute'): Group => ({ name, limit, periodMs, period });

/** GoCardless's published per-company limits, by endpoint. */
export function groupOf(method: string, path: string): Group {
  if (path.startsWith('/api/v2/accounts/')) return g('accounts', 100);
  if (path.startsWith('/api/v2/institutions/')) return g('institutions', 300);
  if (path === '/api/v2/token/new/') return g('token-new', 100, 60 * MINUTE, 'hour');
  if (path === '/api/v2/token/refresh/') return g('token-refresh', 100);
  if (method === 'DELETE') return g('delete', 100);
  if (method === 'PUT') return g('accept', 100);
  if (method === 'POST') return g('create', 100);
  return g('read', 300);
}

export class GeneralLimits {
  private readonly counts = new Map<string, { window: number; count: number }>();
  /** Limits a test lowered, by group name. */
  readonly overrides = new Map<string, number>();
  constructor(private readonly now: () => number) {}

  /** Counts the request; answers its headers, and a 429 when the group's window is spent. */
  take(method: string, path: string): { headers: Record<string, string>; refused: GcErrorAnswer | null } {
    const group = groupOf(method, path);
    const limit = this.overrides.get(group.name) ?? group.limit;
    const window = Math.floor(this.now() / group.periodMs);
    const c = this.counts.get(group.name);
    const entry = c && c.window === window ? c : { window, count: 0 };
    entry.count += 1;
    this.counts.set(group.name, entry);
    const reset = Math.ceil(((window + 1) * group.periodMs - this.now()) / 1000);
    const remaining = Math.max(0, limit - entry.count);
    const headers = { HTTP_X_RATELIMIT_LIMIT: String(limit), HTTP_X_RATELIMIT_REMAINING: String(remaining), HTTP_X_RATELIMIT_RESET: String(reset) };
    return { headers, refused: entry.count > limit ? rateLimitExceeded(limit, group.period, reset) : null };
  }
}

/**
 * What a SimpleFIN bridge's answer says went wrong, normalised once (ENGINEERING.md habit 3).
 *
 * HTTP statuses (protocol: 402 payment required, 403 access revoked or wrong credentials):
 *   401/403 consent_revoked · 402 user_action_required · 429 rate_limited · 5xx, timeout institution_unavailable
 *   A 403 page from the bridge's CDN (a burst of requests blocked, actual#7785) is rate_limited, not a revocation.
 *
 * The answer's own error list: v2's `errlist` ({code, msg, conn_id, account_id}) when present, else
 * v1's `errors` strings, which only have words, so they are read by pattern:
 *   gen.auth                                   revoked    → consent_revoked
 *   con.auth, "Connection to X may need attention", re-authenticate, MFA answers not given
 *                                              attention  → user_action_required (BRIDGE_ATTENTION)
 *   "make fewer requests", daily limit         quota      → rate_limited
 *   "upgrading this connection", temporary     unavailable→ institution_unavailable
 *   act.failed, act.missingdata (one account)  account    → that account's data is deferred this run
 *   gen.api, "date range … was capped"         notice     → for developers; ignored
 *   anything else                              other      → provider_error, with the bridge's words
 */
import { ProviderError } from '../types.js';
import { cleanText, type SfinAccountSet } from './wire.js';

export type IssueKind = 'revoked' | 'attention' | 'quota' | 'unavailable' | 'account' | 'notice' | 'other';

export interface Issue {
  kind: IssueKind;
  /** The bridge's words, sanitised. */
  message: string;
  /** v2's code, or `text` for a v1 string. */
  code: string;
  /** For `account`: the bridge's account id. */
  accountId?: string;
}

const QUOTA = /make fewer requests|once every 24 hours|rate.?limit|quota|too many requests|request limit|daily limit/i;
const NOTICE = /was capped|exceeds (the )?limit of \d+ days/i;
const ATTENTION = /need(s)? (your )?attention|re-?authenticat|re-?auth\b|authenticat|credential|password|log ?in\b|sign ?in\b|two.factor|2fa|\bmfa\b|security (question|code)|answers? (was|were) not provided|one.time (code|passcode)|verif/i;
const UNAVAILABLE = /upgrading|temporar|try again later|unavailable|maintenance|timed? ?out/i;

function byWords(message: string, fallback: IssueKind): IssueKind {
  if (QUOTA.test(message)) return 'quota';
  if (NOTICE.test(message)) return 'notice';
  if (ATTENTION.test(message)) return 'attention';
  if (UNAVAILABLE.test(message)) return 'unavailable';
  return fallback;
}

/** Every issue the answer reports. */
export function issuesOf(answer: SfinAccountSet): Issue[] {
  if (answer.errlist && answer.errlist.length > 0) {
    return answer.errlist.map((e) => {
      const message = cleanText(e.msg ?? e.message ?? e.code);
      const code = e.code.trim().toLowerCase();
      const prefix = code.split('.')[0];
      let kind: IssueKind;
      if (code === 'gen.auth') kind = 'revoked';
      else if (code === 'gen.api') kind = 'notice';
      else if (code === 'con.auth') kind = 'attention';
      else if (prefix === 'act' && e.account_id) kind = 'account';
      else if (prefix === 'con') kind = byWords(message, 'attention');
      else kind = byWords(message, 'other');
      return { kind, message, code, ...(kind === 'account' ? { accountId: e.account_id! } : {}) };
    });
  }
  return (answer.errors ?? []).map((text) => {
    const message = cleanText(text);
    return { kind: byWords(message, 'other'), message, code: 'text' };
  }).filter((i) => i.message !== '');
}

/** Seconds to wait after the bridge's daily allowance is spent, when it sends no Retry-After: until the next UTC day, at least an hour. */
export function quotaWaitSeconds(now: Date): number {
  const next = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + 1);
  return Math.max(3600, Math.ceil((next - now.getTime()) / 1000));
}

/** The bridge's words, each once, each ending as a sentence does. */
const quote = (issues: Issue[]) => issues.map((i) => (/[.!?]$/.test(i.message) ? i.message : `${i.message}.`)).filter((m, n, all) => all.indexOf(m) === n).join(' ');

/**
 * The failure the issues amount to, or null when the data can be used (notices, and account-level
 * issues, which defer only those accounts). The one that needs the user soonest wins.
 */
export function failureOf(issues: Issue[], now: Date, retryAfterSeconds: number | null): ProviderError | null {
  const of = (kind: IssueKind) => issues.filter((i) => i.kind === kind);
  const revoked = of('revoked');
  if (revoked.length > 0) {
    return new ProviderError('consent_revoked', `The SimpleFIN bridge no longer accepts Causeway's access: ${quote(revoked)} Connect again with a new setup token.`, false, 'BRIDGE_AUTH');
  }
  // Attention fails the run even when accounts came with it: Causeway's provider answer is data or a
  // failure, not both, and a green status over stale data is what SimpleFIN users report most
  // (actual#5732, #7333: six weeks unnoticed). The data already stored stays.
  const attention = of('attention');
  if (attention.length > 0) {
    return new ProviderError('user_action_required', `SimpleFIN Bridge: ${quote(attention)} Fix the connection at your SimpleFIN bridge, then reconnect here with a new setup token.`, false, 'BRIDGE_ATTENTION');
  }
  const quota = of('quota');
  if (quota.length > 0) {
    return new ProviderError('rate_limited', `SimpleFIN Bridge: ${quote(quota)} Causeway waits before asking again.`, false, 'BRIDGE_QUOTA', retryAfterSeconds ?? quotaWaitSeconds(now), null, false, 'link');
  }
  const unavailable = of('unavailable');
  if (unavailable.length > 0) {
    return new ProviderError('institution_unavailable', `SimpleFIN Bridge: ${quote(unavailable)}`, false, 'BRIDGE_UNAVAILABLE');
  }
  const other = of('other');
  if (other.length > 0) return new ProviderError('provider_error', `SimpleFIN Bridge: ${quote(other)}`, false, 'BRIDGE_ERROR');
  return null;
}

/** An HTTP answer other than 200 from GET /accounts, normalised. */
export function accountsStatusError(status: number, opts: { cdnBlock: boolean; retryAfterSeconds: number | null; now: Date }): ProviderError {
  if ((status === 403 || status === 429) && opts.cdnBlock) {
    return new ProviderError('rate_limited', 'The SimpleFIN bridge is refusing requests from this server for a while (too many at once); Causeway waits before asking again.', false, 'BRIDGE_BLOCKED', opts.retryAfterSeconds ?? 3600);
  }
  if (status === 401 || status === 403) {
    return new ProviderError('consent_revoked', 'Access was revoked at the SimpleFIN bridge, or its credentials no longer work: connect again with a new setup token.', false, `HTTP_${status}`);
  }
  if (status === 402) {
    return new ProviderError('user_action_required', 'The SimpleFIN bridge asks for payment: renew your subscription at your bridge, then reconnect here with a new setup token.', false, 'HTTP_402');
  }
  if (status === 429) {
    return new ProviderError('rate_limited', 'The SimpleFIN bridge says Causeway made too many requests today; Causeway waits before asking again.', false, 'HTTP_429', opts.retryAfterSeconds ?? quotaWaitSeconds(opts.now), null, false, 'link');
  }
  if (status >= 500) return new ProviderError('institution_unavailable', `The SimpleFIN bridge answered ${status}; Causeway will try again.`, true, `HTTP_${status}`, opts.retryAfterSeconds);
  if (status >= 300 && status < 400) return new ProviderError('provider_error', `The SimpleFIN bridge answered with a redirect (${status}), which Causeway does not follow.`, false, `HTTP_${status}`);
  return new ProviderError('provider_error', `The SimpleFIN bridge answered ${status}.`, false, `HTTP_${status}`);
}

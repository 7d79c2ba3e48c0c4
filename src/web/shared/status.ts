/** Statuses and reasons in plain words, with what the person can do about it (PRODUCT.md §2). */

export interface Plain { title: string; detail: string; tone: 'ok' | 'busy' | 'warn' | 'bad' | 'off' }

const REASONS: Record<string, string> = {
  invalid_credentials: 'The bank did not accept the login or password.',
  account_locked: 'The bank has locked this login. Unlock it with the bank, then fix the connection.',
  mfa_failed: 'The one-time code was not right.',
  mfa_required: 'The bank needs a one-time code from you to keep updating.',
  mfa_timeout: 'Nobody entered the one-time code in time.',
  consent_expired: 'Your permission to share data has ended.',
  consent_revoked: 'Permission to share data was withdrawn at the bank.',
  authorization_denied: 'Access was not allowed at the bank.',
  authorization_abandoned: 'The bank sign-in was not finished.',
  duplicate_connection: 'This bank was already connected; that connection is being updated instead.',
  user_action_required: 'The bank needs you to do something in its app or website first.',
  institution_unavailable: 'The bank is not answering right now.',
  provider_error: 'Something went wrong while talking to the bank.',
  rate_limited: 'The bank asked us to slow down.',
  continued_failures: 'Updates have failed several times in a row.',
  duplicate_credentials: 'Another connection with the same login is being set up; this one waits a few minutes.',
  access_expiring_soon: 'Your permission to share data ends soon.',
  new_accounts_available: 'The bank has accounts you have not shared yet.',
  partial_data: 'Some information could not be fetched this time.',
};

export function reasonText(reason: string | null): string {
  return reason ? (REASONS[reason] ?? reason.replace(/_/g, ' ')) : '';
}

export function plainStatus(status: string, reason: string | null): Plain {
  const why = reasonText(reason);
  switch (status) {
    case 'active':
      if (reason === 'access_expiring_soon') return { title: 'Connected, permission ending soon', detail: `${why} Renew it to keep your data up to date.`, tone: 'warn' };
      if (reason === 'new_accounts_available') return { title: 'Connected, new accounts found', detail: `${why} Update the connection to add them.`, tone: 'ok' };
      if (reason === 'partial_data') return { title: 'Connected', detail: `${why} It will be tried again at the next update.`, tone: 'ok' };
      return { title: 'Connected', detail: 'Your data is kept up to date automatically.', tone: 'ok' };
    case 'pending': return { title: 'Setting up', detail: why || 'The first update is running.', tone: 'busy' };
    case 'pre_init': return { title: 'Waiting for the bank', detail: 'Finish signing in at your bank to continue.', tone: 'busy' };
    case 'init': return { title: 'Setting up', detail: 'Getting your data for the first time.', tone: 'busy' };
    case 'degraded': return { title: 'Updates delayed', detail: `${why} Nothing to do: it will be tried again automatically.`, tone: 'warn' };
    case 'reconnect_required': return { title: 'Needs your attention', detail: `${why} Fix the connection to start updating again.`, tone: 'bad' };
    case 'failed': return { title: 'Not connected', detail: `${why} Try again with the right details.`, tone: 'bad' };
    case 'unlinked': return { title: 'Disconnected', detail: 'No longer updated. The data already shared is kept.', tone: 'off' };
    case 'deleted': return { title: 'Deleted', detail: 'This connection has been removed.', tone: 'off' };
    default: return { title: status, detail: why, tone: 'off' };
  }
}

const STEP_NAMES: Record<string, string> = {
  'verify-credentials': 'Signing in to your bank',
  authorize: 'Confirming your permission',
  'retrieve-accounts': 'Fetching your accounts',
  'retrieve-transactions': 'Fetching your transactions',
  'retrieve-identity': 'Fetching your details',
  'retrieve-investments': 'Fetching your investments',
};

export const stepText = (name: string) => STEP_NAMES[name] ?? name;

export function formatMoney(minor: number | null, currency: string): string {
  if (minor === null) return '—';
  try {
    return new Intl.NumberFormat(undefined, { style: 'currency', currency }).format(minor / 100);
  } catch {
    return `${(minor / 100).toFixed(2)} ${currency}`;
  }
}

export function formatDate(iso: string | null, withTime = true): string {
  if (!iso) return '—';
  const d = new Date(iso);
  return withTime
    ? d.toLocaleString(undefined, { year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' })
    : d.toLocaleDateString(undefined, { year: 'numeric', month: 'short', day: 'numeric' });
}

export function initials(name: string): string {
  return name.replace(/^Sandbox\s+/, '').split(/\s+/).filter(Boolean).slice(0, 2).map((w) => w[0]!.toUpperCase()).join('');
}

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

/**
 * The same reasons for a connection linked through a provider's own page (method `hosted`): the
 * person signed in there, not in Causeway's form, and leaving it is not the bank saying no.
 */
const VIA_REASONS: Record<string, (via: string) => string> = {
  invalid_credentials: (via) => `Your bank needs you to sign in again through ${via}.`,
  authorization_denied: (via) => `Nothing was shared: the sign-in at ${via} was not finished.`,
  authorization_abandoned: (via) => `The sign-in at ${via} was not finished.`,
  duplicate_connection: () => 'You had already connected this bank, so that connection is being updated instead. Nothing else to do.',
};

/** `via`: the provider's name (e.g. Plaid) when the connection is linked through its own page. */
export function reasonText(reason: string | null, via?: string | null): string {
  if (!reason) return '';
  const special = via ? VIA_REASONS[reason] : undefined;
  return special ? special(via!) : (REASONS[reason] ?? reason.replace(/_/g, ' '));
}

const PROVIDER_NAMES: Record<string, string> = { plaid: 'Plaid', sandbox: 'Sandbox', gocardless: 'GoCardless', simplefin: 'SimpleFIN', basiq: 'Basiq' };

/** A provider's name as people know it. */
export function providerName(provider: string): string {
  return PROVIDER_NAMES[provider] ?? provider.charAt(0).toUpperCase() + provider.slice(1);
}

/** The provider's name where a connection is linked through the provider's own page (hosted), else null. */
export function viaOf(c: { method: string; provider?: string }): string | null {
  return c.method === 'hosted' ? providerName(c.provider ?? 'the provider') : null;
}

export function plainStatus(status: string, reason: string | null, via?: string | null): Plain {
  const why = reasonText(reason, via);
  switch (status) {
    case 'active':
      if (reason === 'access_expiring_soon') return { title: 'Connected, permission ending soon', detail: `${why} Renew it to keep your data up to date.`, tone: 'warn' };
      if (reason === 'new_accounts_available') return { title: 'Connected, new accounts found', detail: `${why} Update the connection to add them.`, tone: 'ok' };
      if (reason === 'partial_data') return { title: 'Connected', detail: `${why} It will be tried again at the next update.`, tone: 'ok' };
      return { title: 'Connected', detail: 'Your data is kept up to date automatically.', tone: 'ok' };
    case 'pending': return { title: 'Setting up', detail: why || 'The first update is running.', tone: 'busy' };
    case 'pre_init': return { title: 'Waiting for the bank', detail: `Finish signing in at ${via ?? 'your bank'} to continue.`, tone: 'busy' };
    case 'init': return { title: 'Setting up', detail: 'Getting your data for the first time.', tone: 'busy' };
    case 'degraded': return { title: 'Updates delayed', detail: `${why} Nothing to do: it will be tried again automatically.`, tone: 'warn' };
    case 'reconnect_required': return { title: 'Needs your attention', detail: `${why} Fix the connection to start updating again.`, tone: 'bad' };
    case 'failed':
      if (reason === 'duplicate_connection') return { title: 'Already connected', detail: why, tone: 'warn' };
      return { title: 'Not connected', detail: `${why} ${via ? 'Try again when you are ready.' : 'Try again with the right details.'}`, tone: 'bad' };
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

/** Text that reads on a background of this #rrggbb colour: dark on light colours, white on dark ones (WCAG relative luminance). */
export function textOn(hex: string): string {
  const m = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(hex);
  if (!m) return '#1b1f24';
  const [r, g, b] = m.slice(1).map((h) => {
    const c = parseInt(h, 16) / 255;
    return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
  }) as [number, number, number];
  const l = 0.2126 * r + 0.7152 * g + 0.0722 * b;
  // Contrast with white (1.05 / (l + 0.05)) against contrast with near-black: the larger wins.
  return 1.05 / (l + 0.05) >= (l + 0.05) / 0.0634 ? '#ffffff' : '#1b1f24';
}

export function initials(name: string): string {
  return name.replace(/^Sandbox\s+/, '').split(/\s+/).filter(Boolean).slice(0, 2).map((w) => w[0]!.toUpperCase()).join('');
}

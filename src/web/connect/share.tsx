/**
 * The consent pane, before any credentials or redirect: who asks (the application, as its operator
 * named it), through whom (Causeway), what will be shared in plain words, for how long, how to stop
 * sharing, and how the login is handled. Continue or go back.
 */
import { useEffect, useRef } from 'react';
import type { Institution, Method } from '../shared/api';
import { providerName } from '../shared/status';
import { BankHeader, requestedProducts, type BodyProps, type Screen } from './screens';

/** Each product in the words of the person whose data it is. */
export function productWords(product: string, institution: Institution): { title: string; detail: string } {
  switch (product) {
    case 'accounts': return { title: 'Accounts', detail: 'Names, types and the last digits of the account numbers' };
    case 'balances': return { title: 'Balances', detail: 'Current and available balances, and credit limits' };
    case 'transactions': return {
      title: 'Transactions',
      detail: institution.historyDays ? `Up to ${institution.historyDays} days of history, then new ones as they happen` : 'Your history, then new ones as they happen',
    };
    case 'identity': return { title: 'Identity', detail: 'Your name, email addresses, phone numbers and addresses as the bank holds them' };
    case 'investments': return { title: 'Investments', detail: 'Holdings and their values' };
    default: return { title: product, detail: '' };
  }
}

/** For how long access lasts, as far as it is known. */
function durationWords(institution: Institution, method: Method): string {
  if ((method === 'openbanking' || method === 'hosted') && institution.maxAccessDays) {
    return `Up to ${institution.maxAccessDays} days, the longest ${institution.name} allows; then you are asked to renew it. Or until you stop it sooner.`;
  }
  if (method === 'token') return `Until you disconnect it, or remove the access in your ${providerName(institution.provider)} account.`;
  if (method === 'openbanking') return `Until you disconnect it, or until the access you approve at ${institution.name} ends (your bank may ask you to renew it).`;
  return 'Until you disconnect it.';
}

/** How the login is really handled, for each way of connecting (services/crypto.ts: AES-256-GCM at rest; the API never returns it). */
function securityWords(institution: Institution, method: Method, app: string): string {
  const via = providerName(institution.provider);
  switch (method) {
    case 'web': return `Your login is sent only to Causeway, stored encrypted, and used only to fetch your data from ${institution.name}. It is never shared with ${app}.`;
    case 'openbanking': return `You sign in at ${institution.name} itself: neither Causeway nor ${app} ever sees your password.`;
    case 'hosted': return `You sign in to your bank on ${via}’s page: neither Causeway nor ${app} ever sees your password.`;
    case 'token': return `The setup token works once: Causeway keeps the access it gives encrypted and never shares it with ${app}. Your bank password is never asked for.`;
  }
}

export function Share({ who, screen, setScreen }: BodyProps & { screen: Extract<Screen, { kind: 'share' }> }) {
  const { institution, method } = screen;
  const app = who.application.name;
  const products = requestedProducts(institution);
  const continueRef = useRef<HTMLButtonElement>(null);
  useEffect(() => { continueRef.current?.focus(); }, []);
  const manage = who.scopes.includes('manage');
  return (
    <section aria-labelledby="share-title" className="share">
      <BankHeader institution={institution} />
      <h2 id="share-title">{app} uses Causeway to connect your {institution.name} account</h2>
      <dl className="share-facts">
        <div>
          <dt>What {app} will see</dt>
          <dd>
            <ul className="share-products" aria-label="Data shared">
              {products.map((p) => {
                const w = productWords(p, institution);
                return <li key={p}><strong>{w.title}</strong>{w.detail && <span className="muted small">{w.detail}</span>}</li>;
              })}
            </ul>
          </dd>
        </div>
        <div>
          <dt>For how long</dt>
          <dd>{durationWords(institution, method)}</dd>
        </div>
        <div>
          <dt>How to stop sharing</dt>
          <dd>
            At any time: disconnect or delete the connection on {manage
              ? <a href="/manage" target="_blank" rel="noreferrer" onClick={(e) => openManage(e)}>the page to manage your connections</a>
              : `the page to manage your connections that ${app} gives you`}. {app} then stops receiving new data.
          </dd>
        </div>
      </dl>
      <p className="share-security"><LockIcon /> <span>{securityWords(institution, method, app)}</span></p>
      <div className="share-actions">
        <button type="button" className="primary" ref={continueRef} onClick={() => setScreen(screen.next)}>Continue</button>
        <button type="button" onClick={() => setScreen(screen.back)}>Back</button>
      </div>
    </section>
  );
}

/** The manage page needs this tab's token in its address (it is kept for the tab, not in the link). */
function openManage(e: React.MouseEvent<HTMLAnchorElement>) {
  e.preventDefault();
  let token: string | null = null;
  try { token = window.sessionStorage.getItem('causeway.connect.token'); } catch { /* storage refused */ }
  token ??= new URLSearchParams(window.location.search).get('token');
  window.open(token ? `/manage?${new URLSearchParams({ token })}` : '/manage', '_blank', 'noreferrer');
}

function LockIcon() {
  return (
    <svg className="lock" width="18" height="18" viewBox="0 0 24 24" aria-hidden="true" focusable="false">
      <path fill="currentColor" d="M12 2a5 5 0 0 0-5 5v3H6a2 2 0 0 0-2 2v8a2 2 0 0 0 2 2h12a2 2 0 0 0 2-2v-8a2 2 0 0 0-2-2h-1V7a5 5 0 0 0-5-5Zm-3 8V7a3 3 0 1 1 6 0v3H9Zm3 4a2 2 0 0 1 1 3.73V19h-2v-1.27A2 2 0 0 1 12 14Z" />
    </svg>
  );
}

/**
 * What frames every screen of the widget: the application's name at the top, the exit control, and
 * the two ways the widget tells the app it is over (finish: linked; exit: the user left).
 *
 *   done  ─► postMessage({ type: 'causeway.connect', state, connectionId, jobId, status }) to the
 *            window that embeds or opened the widget; with a redirectUri, then back there with
 *            ?state&connectionId&jobId&status
 *   exit  ─► postMessage({ type: 'causeway.exit', state, reason, institutionId, connectionId, status })
 *            the same way; with a redirectUri, back there with ?state&exit=true[&connectionId&status];
 *            otherwise the window closes if the browser allows it, or says it may be closed
 */
import { useState } from 'react';
import { ConfirmDialog } from '../shared/ui';
import type { Screen, Who } from './screens';

const APP_STATE = new URLSearchParams(window.location.search).get('state');

/** The window the widget reports to: the page that embeds it (iframe), or the one that opened it. */
function appWindow(): Window | null {
  return window.parent !== window ? window.parent : (window.opener as Window | null);
}

export function finish(who: Who, result: { connectionId: string; jobId: string | null; status: string }) {
  appWindow()?.postMessage({ type: 'causeway.connect', state: APP_STATE, ...result }, '*');
  if (who.redirectUri) {
    const url = new URL(who.redirectUri);
    if (APP_STATE) url.searchParams.set('state', APP_STATE);
    url.searchParams.set('connectionId', result.connectionId);
    if (result.jobId) url.searchParams.set('jobId', result.jobId);
    url.searchParams.set('status', result.status);
    window.location.assign(url.toString());
  }
}

export type ExitReason = 'user_exit' | 'link_expired';

/** Tells the app the user left; answers whether the page went elsewhere (a redirect) or closed. */
export function exitWidget(who: Who | null, screen: Screen | null, reason: ExitReason): void {
  const institution = screen && 'institution' in screen ? screen.institution : null;
  const connection = screen && 'connection' in screen ? screen.connection : null;
  const message = {
    type: 'causeway.exit', state: APP_STATE, reason,
    institutionId: institution?.id ?? null, connectionId: connection?.id ?? null, status: connection?.status ?? null,
  };
  const target = appWindow();
  target?.postMessage(message, '*');
  if (who?.redirectUri) {
    const url = new URL(who.redirectUri);
    if (APP_STATE) url.searchParams.set('state', APP_STATE);
    url.searchParams.set('exit', 'true');
    if (connection) { url.searchParams.set('connectionId', connection.id); url.searchParams.set('status', connection.status); }
    window.location.assign(url.toString());
    return;
  }
  // Opened as a pop-up by the app: it may close itself. Embedded: the app removes the frame.
  if (window.opener && window.parent === window) window.close();
}

/** Mid-link: a bank is chosen and the link is not finished. Leaving then is confirmed first. */
const midLink = (screen: Screen | null) => screen !== null && screen.kind !== 'pick' && screen.kind !== 'done';

/** The bar at the top of every screen: the application's name and the exit control. */
export function TopBar({ who, screen, onExited }: { who: Who | null; screen: Screen | null; onExited: () => void }) {
  const [confirm, setConfirm] = useState(false);
  const app = who?.application.name ?? null;
  const leave = () => { setConfirm(false); exitWidget(who, screen, 'user_exit'); onExited(); };
  const bank = screen && 'institution' in screen ? screen.institution.name : null;
  return (
    <header className="widget-top">
      <span className="widget-app">{app ?? 'Connect your bank'}</span>
      <button type="button" className="widget-exit" onClick={() => (midLink(screen) ? setConfirm(true) : leave())}>
        <span aria-hidden="true">✕</span> {screen?.kind === 'done' ? 'Close' : 'Exit'}
      </button>
      <ConfirmDialog open={confirm} title={bank ? `Exit without connecting ${bank}?` : 'Exit without connecting?'} confirmLabel="Exit"
        onConfirm={leave} onCancel={() => setConfirm(false)}>
        <p>Your bank is not connected yet. {app ? `You can start again from ${app}` : 'You can start again from the app'} at any time.</p>
      </ConfirmDialog>
    </header>
  );
}

/** A link that no longer works (bogus, expired or revoked token): what happened and what to do. */
export function Expired({ app }: { app: string | null }) {
  return (
    <section aria-labelledby="expired-title" className="widget-message">
      <h1 id="expired-title">This link has expired</h1>
      <p>Links to connect a bank work for a short time, and only for the person they were made for.</p>
      <p><strong>Go back to {app ?? 'the app'} and ask for a new link</strong> (start connecting your bank again there).</p>
    </section>
  );
}

/** After Exit, where the window could not close itself. */
export function Exited({ app }: { app: string | null }) {
  return (
    <section aria-labelledby="exited-title" className="widget-message">
      <h1 id="exited-title">You left without connecting a bank</h1>
      <p>You can close this window{app ? ` and go back to ${app}` : ''}.</p>
    </section>
  );
}

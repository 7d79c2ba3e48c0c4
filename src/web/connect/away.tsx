/**
 * Linked away from Causeway: the bank's consent page (openbanking) or the provider's link page
 * (hosted) in a new window, followed through the API until the user is sent back.
 */
import { useEffect, useRef, useState } from 'react';
import { linkUrl, type Api, type Connection, type ConnectionStart, type Institution } from '../shared/api';
import { latestJob, openLinkWindow, sendTo, watchLink } from '../shared/link';
import { providerName, reasonText } from '../shared/status';
import { Notice, Spinner } from '../shared/ui';
import { BankHeader, createBody, Failure, LinkError, otherBank, type AwayMethod, type BodyProps, type Screen, type Who } from './screens';

export const methodOf = (c: Connection): AwayMethod => (c.method === 'hosted' ? 'hosted' : 'openbanking');

/** A new link for a connection linked away (repair: the same connection), then the screen that sends the user there. */
export async function startConsent(api: Api, who: Who, institution: Institution, connection: Connection, setScreen: (s: Screen) => void) {
  const r = await api.post<ConnectionStart>(`/users/${who.userId}/connections/${connection.id}/repair`, {});
  setScreen({ kind: 'consent', institution, method: methodOf(connection), connection: r.connection, url: linkUrl(r), failure: null });
}

/**
 * The bank's consent page (openbanking) or the provider's link page (hosted) in a new window; this
 * page follows the connection until the user is sent back (services/link.ts finishes the link).
 */
export function Consent({ api, who, screen, setScreen, mode }: BodyProps & { screen: Extract<Screen, { kind: 'consent' }> }) {
  const hosted = screen.method === 'hosted';
  const via = hosted ? providerName(screen.institution.provider) : null;
  /** The window, and the connection's last job before it opened (the baseline to notice a new one). */
  const [handoff, setHandoff] = useState<{ win: Window | null; before: string | null } | null>(null);
  const [closed, setClosed] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const continueRef = useRef<HTMLButtonElement>(null);
  const againRef = useRef<HTMLButtonElement>(null);

  // Focus follows the way forward: "Try again" after a failure, the button to continue otherwise.
  useEffect(() => { (screen.failure ? againRef : continueRef).current?.focus(); }, [screen.failure, screen.url]);

  useEffect(() => {
    if (!handoff || !screen.connection) return;
    let stop = false;
    watchLink(api, { userId: who.userId, connection: screen.connection, before: handoff.before, win: handoff.win, stopped: () => stop }).then((out) => {
      if (!out) return;
      setHandoff(null);
      if (out.kind === 'job') setScreen({ kind: 'progress', institution: screen.institution, connection: out.connection, job: out.job });
      else if (out.kind === 'failed' && out.connection.statusReason === 'duplicate_connection') setScreen({ kind: 'done', institution: screen.institution, connection: out.connection, job: null });
      else if (out.kind === 'failed') setScreen({ ...screen, connection: out.connection, failure: reasonText(out.connection.statusReason, via) || 'The bank did not give access.' });
      else setClosed(true);
    }).catch(setError);
    return () => { stop = true; };
  }, [handoff]);

  const open = async () => {
    if (handoff?.win && !handoff.win.closed) { handoff.win.focus(); return; }
    // The last window is gone: its link may be spent (a finished session), so a new one is made.
    const fresh = closed || handoff !== null;
    setClosed(false);
    setError(null);
    // The window opens now, while the click still counts (pop-up blockers), and goes to the link
    // once the baseline is read: an approval cannot come before it.
    const win = openLinkWindow();
    setBusy(true);
    try {
      let { connection, url } = screen;
      const before = connection ? (await latestJob(api, who.userId, connection.id))?.id ?? null : null;
      if (!connection) {
        const started = await api.post<ConnectionStart>(`/users/${who.userId}/connections`, createBody(screen.institution, screen.method));
        connection = started.connection;
        url = linkUrl(started);
      } else if (fresh || !url) {
        const r = await api.post<ConnectionStart>(`/users/${who.userId}/connections/${connection.id}/repair`, {});
        connection = r.connection;
        url = linkUrl(r);
      }
      sendTo(win, url!);
      setScreen({ ...screen, connection, url, failure: null });
      setHandoff({ win, before });
    } catch (err) {
      win?.close();
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  const again = () => {
    setError(null);
    setClosed(false);
    startConsent(api, who, screen.institution, screen.connection!, setScreen).catch(setError);
  };
  const where = via ?? 'your bank';
  return (
    <section aria-labelledby="consent-title">
      <BankHeader institution={screen.institution} onBack={screen.connection || busy || mode !== 'connect' ? undefined : () => setScreen({ kind: 'pick' })} />
      <h2 id="consent-title">{hosted ? `Connect ${screen.institution.name} through ${via}` : `Approve access at ${screen.institution.name}`}</h2>
      {screen.failure && (
        <Failure title="Not connected" onOtherBank={otherBank({ mode, setScreen })}
          action={<button type="button" className="primary" ref={againRef} onClick={again}>Try again</button>}>
          <p>{screen.failure}</p>
          <p className="small">{hosted ? `You can try again and finish at ${via}, or choose another bank.` : 'You can try again and approve at your bank, or choose another bank.'}</p>
        </Failure>
      )}
      {closed && (
        <Notice tone="warn">{hosted
          ? `${via}’s window was closed before your bank was connected. If you left on purpose, nothing changed. Continue to ${via} to try again.`
          : 'The bank’s window was closed before you finished. Continue to your bank to try again.'}</Notice>
      )}
      {!screen.failure && (
          <>
            <p>{hosted
              ? `${via}’s page opens in a new window. Choose your bank there and sign in; then come back here.`
              : 'Your bank’s page opens in a new window. Sign in there and approve sharing; then come back here.'}</p>
            <button type="button" className="primary" ref={continueRef} onClick={() => void open()} disabled={busy}>
              {handoff ? (hosted ? `Open ${via}’s page again` : 'Open the bank’s page again') : hosted ? `Continue to ${via}` : 'Continue to your bank'}
            </button>
            {busy && <p><Spinner label={`Preparing ${hosted ? `${via}’s` : 'your bank’s'} page…`} /></p>}
            {handoff && !handoff.win && screen.url && (
              <p className="small">The window did not open. <a href={screen.url} target="_blank" rel="noreferrer">Open {hosted ? `${via}’s page` : 'your bank’s page'}</a> yourself.</p>
            )}
            {handoff && <p><Spinner label={`Waiting for ${where}…`} /></p>}
          </>
      )}
      <LinkError error={error} mode={mode} setScreen={setScreen} />
    </section>
  );
}

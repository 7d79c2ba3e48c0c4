/**
 * The connect widget (/connect?token=ct_…): link a bank, or (mode=repair, mode=products) fix or
 * extend an existing connection, with the same screens.
 *
 *   pick institution (searched on the server, a page at a time) ─► method
 *     ─► web: credentials ─► progress (job steps) ─► MFA code? ─► done
 *     ─► openbanking: the bank's consent page in a new window ─► progress ─► done
 *     ─► hosted: the provider's link page (Plaid Hosted Link) in a new window ─► progress ─► done
 *     ─► token: paste a setup token made at the provider (SimpleFIN), claimed at once ─► progress ─► done
 *   failure ─► the reason in plain words and the form again: "try again" repairs the same connection
 *   done ─► redirect to the token's redirectUri with state, connectionId and jobId, or
 *           postMessage({ type: 'causeway.connect', … }) to the window that embeds or opened it
 */
import { StrictMode, useEffect, useMemo, useRef, useState } from 'react';
import { createRoot } from 'react-dom/client';
import {
  ApiError, createApi, followJob, linkUrl, takeToken, type Api, type Connection, type ConnectionStart, type Institution, type Job,
} from '../shared/api';
import { latestJob, openLinkWindow, sendTo, watchLink } from '../shared/link';
import { plainStatus, providerName, reasonText, stepText, viaOf } from '../shared/status';
import { ErrorBox, Notice, Spinner, useAction } from '../shared/ui';
import '../shared/styles.css';
import { PickInstitution } from './pick';
import { BankHeader, type AwayMethod, type BodyProps, type Mode, type Screen, type Who } from './screens';
import { Products } from './products';
import { PasteToken } from './token';

const params = new URLSearchParams(window.location.search);
const MODE = (params.get('mode') as Mode | null) ?? 'connect';
const APP_STATE = params.get('state');

function finish(who: Who, result: { connectionId: string; jobId: string | null; status: string }) {
  const message = { type: 'causeway.connect', state: APP_STATE, ...result };
  const target = window.parent !== window ? window.parent : window.opener as Window | null;
  if (target) target.postMessage(message, '*');
  if (who.redirectUri) {
    const url = new URL(who.redirectUri);
    if (APP_STATE) url.searchParams.set('state', APP_STATE);
    url.searchParams.set('connectionId', result.connectionId);
    if (result.jobId) url.searchParams.set('jobId', result.jobId);
    url.searchParams.set('status', result.status);
    window.location.assign(url.toString());
  }
}

/** The connection's institution from the catalogue (logo, methods, products), or what the connection itself says of it. */
async function institutionOf(api: Api, c: Connection): Promise<Institution> {
  try {
    return await api.get<Institution>(`/institutions/${encodeURIComponent(c.institution.id)}`);
  } catch (err) {
    if (!(err instanceof ApiError) || err.status !== 404) throw err;
    return {
      id: c.institution.id, name: c.institution.name, provider: c.provider, country: '', methods: [c.method as Institution['methods'][number]],
      products: c.products, mfa: false, logo: null, primaryColor: null, health: { status: 'operational', since: null },
    };
  }
}

const methodOf = (c: Connection): AwayMethod => (c.method === 'hosted' ? 'hosted' : 'openbanking');

function App() {
  const token = useMemo(() => takeToken('causeway.connect.token'), []);
  const api = useMemo(() => (token ? createApi(token) : null), [token]);
  const [who, setWho] = useState<Who | null>(null);
  const [screen, setScreen] = useState<Screen | null>(MODE === 'connect' ? { kind: 'pick' } : null);
  const [fatal, setFatal] = useState<unknown>(null);

  useEffect(() => {
    if (!api) return;
    (async () => {
      const me = await api.get<Who>('/client-token');
      setWho(me);
      if (MODE === 'connect') return;
      const connectionId = params.get('connectionId');
      if (!connectionId) throw new Error('This link is missing the connection to fix (connectionId). Open it again from the app.');
      const c = await api.get<Connection>(`/users/${me.userId}/connections/${connectionId}`);
      const institution = await institutionOf(api, c);
      if (MODE === 'products') setScreen({ kind: 'products', connection: c, institution });
      else if (c.method === 'web') setScreen({ kind: 'credentials', institution, connection: c, failure: reasonText(c.statusReason) || null });
      else if (c.method === 'token') setScreen({ kind: 'token', institution, connection: c, failure: reasonText(c.statusReason) || null });
      else await startConsent(api, me, institution, c, setScreen);
    })().catch(setFatal);
  }, [api]);

  if (!token || !api) {
    return <main className="narrow"><h1>Connect your bank</h1><ErrorBox error={new Error('This page needs a link from the app (it carries a token). Go back to the app and start again.')} /></main>;
  }
  if (fatal) {
    const expired = fatal instanceof ApiError && fatal.status === 401;
    return <main className="narrow"><h1>Connect your bank</h1><ErrorBox error={expired ? new Error('This link has expired. Go back to the app and start again.') : fatal} /></main>;
  }
  if (!who || !screen) return <main className="narrow"><h1>Connect your bank</h1><Spinner label="Loading…" /></main>;

  return (
    <main className="narrow">
      <h1>{MODE === 'repair' ? 'Fix your connection' : MODE === 'products' ? 'Share more data' : 'Connect your bank'}</h1>
      <Body api={api} who={who} screen={screen} setScreen={setScreen} />
    </main>
  );
}

function Body(p: BodyProps) {
  const s = p.screen;
  switch (s.kind) {
    case 'pick': return <PickInstitution {...p} />;
    case 'method': return <PickMethod {...p} institution={s.institution} />;
    case 'credentials': return <Credentials {...p} screen={s} />;
    case 'token': return <PasteToken {...p} screen={s} />;
    case 'consent': return <Consent {...p} screen={s} />;
    case 'products': return <Products {...p} screen={s} />;
    case 'progress': return <Progress {...p} screen={s} />;
    case 'done': return <Done {...p} screen={s} />;
  }
}

function PickMethod({ api, who, institution, setScreen }: BodyProps & { institution: Institution }) {
  const action = useAction();
  const openbanking = () => action.run(async () => {
    const started = await api.post<ConnectionStart>(`/users/${who.userId}/connections`, { institutionId: institution.id, method: 'openbanking' });
    setScreen({ kind: 'consent', institution, method: 'openbanking', connection: started.connection, url: linkUrl(started), failure: null });
  });
  const via = providerName(institution.provider);
  return (
    <section aria-labelledby="method-title">
      <BankHeader institution={institution} onBack={() => setScreen({ kind: 'pick' })} />
      <h2 id="method-title">How would you like to connect?</h2>
      <div className="stack">
        {institution.methods.includes('hosted') && (
          <button type="button" className="choice" onClick={() => setScreen({ kind: 'consent', institution, method: 'hosted', connection: null, url: null, failure: null })} disabled={action.busy}>
            <span><strong>Through {via}</strong><br /><span className="muted small">Sign in to your bank on {via}’s page. Causeway never sees your password.</span></span>
          </button>
        )}
        {institution.methods.includes('openbanking') && (
          <button type="button" className="choice" onClick={openbanking} disabled={action.busy}>
            <span><strong>Open banking</strong><br /><span className="muted small">Approve access at your bank. Causeway never sees your password.</span></span>
          </button>
        )}
        {institution.methods.includes('token') && (
          <button type="button" className="choice" onClick={() => setScreen({ kind: 'token', institution, connection: null, failure: null })} disabled={action.busy}>
            <span><strong>Paste a {via} setup token</strong><br /><span className="muted small">Made in your {via} account. Causeway never sees your bank password.</span></span>
          </button>
        )}
        {institution.methods.includes('web') && (
          <button type="button" className="choice" onClick={() => setScreen({ kind: 'credentials', institution, connection: null, failure: null })} disabled={action.busy}>
            <span><strong>Sign in with your bank login</strong><br /><span className="muted small">Your login is encrypted and used only to fetch your data.</span></span>
          </button>
        )}
      </div>
      {action.busy && <Spinner label="Preparing your bank’s page…" />}
      <ErrorBox error={action.error} />
    </section>
  );
}

function Credentials({ api, who, screen, setScreen }: BodyProps & { screen: Extract<Screen, { kind: 'credentials' }> }) {
  const [login, setLogin] = useState('');
  const [password, setPassword] = useState('');
  const action = useAction();
  const submit = (e: React.FormEvent) => {
    e.preventDefault();
    void action.run(async () => {
      const credentials = { login, password };
      const started = screen.connection
        // Trying again, or fixing: the same connection (same accounts), new credentials.
        ? await api.post<ConnectionStart>(`/users/${who.userId}/connections/${screen.connection.id}/repair`, { credentials })
        : await api.post<ConnectionStart>(`/users/${who.userId}/connections`, { institutionId: screen.institution.id, method: 'web', credentials });
      setPassword('');
      if (!started.job) throw new Error('The connection did not start a job; try again.');
      setScreen({ kind: 'progress', institution: screen.institution, connection: started.connection, job: started.job });
    });
  };
  return (
    <section aria-labelledby="cred-title">
      <BankHeader institution={screen.institution} onBack={screen.connection ? undefined : () => setScreen({ kind: 'pick' })} />
      <h2 id="cred-title">Sign in to {screen.institution.name}</h2>
      {screen.failure && <div className="alert alert-bad" role="alert"><p>{screen.failure}</p><p className="small">Check your details and try again.</p></div>}
      <form onSubmit={submit} aria-describedby="cred-help">
        <p id="cred-help" className="muted small">Use the login you use for your bank’s website.</p>
        <label htmlFor="login">Login</label>
        <input id="login" type="text" autoComplete="username" value={login} onChange={(e) => setLogin(e.target.value)} required autoFocus />
        <label htmlFor="password">Password</label>
        <input id="password" type="password" autoComplete="current-password" value={password} onChange={(e) => setPassword(e.target.value)} required />
        <div className="row gap" style={{ marginTop: 14 }}>
          <button type="submit" className="primary" disabled={action.busy}>{screen.connection ? 'Try again' : 'Connect'}</button>
          {action.busy && <Spinner label="Sending…" />}
        </div>
      </form>
      <ErrorBox error={action.error} />
    </section>
  );
}

/** A new link for a connection linked away (repair: the same connection), then the screen that sends the user there. */
async function startConsent(api: Api, who: Who, institution: Institution, connection: Connection, setScreen: (s: Screen) => void) {
  const r = await api.post<ConnectionStart>(`/users/${who.userId}/connections/${connection.id}/repair`, {});
  setScreen({ kind: 'consent', institution, method: methodOf(connection), connection: r.connection, url: linkUrl(r), failure: null });
}

/**
 * The bank's consent page (openbanking) or the provider's link page (hosted) in a new window; this
 * page follows the connection until the user is sent back (services/link.ts finishes the link).
 */
function Consent({ api, who, screen, setScreen }: BodyProps & { screen: Extract<Screen, { kind: 'consent' }> }) {
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
        const started = await api.post<ConnectionStart>(`/users/${who.userId}/connections`, { institutionId: screen.institution.id, method: screen.method });
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
      <BankHeader institution={screen.institution} onBack={screen.connection || busy ? undefined : () => setScreen({ kind: 'pick' })} />
      <h2 id="consent-title">{hosted ? `Connect ${screen.institution.name} through ${via}` : `Approve access at ${screen.institution.name}`}</h2>
      {screen.failure && (
        <div className="alert alert-bad" role="alert">
          <p><strong>Not connected</strong></p>
          <p>{screen.failure}</p>
          <p className="small">{hosted ? `You can try again and finish at ${via}.` : 'You can try again and approve at your bank.'}</p>
        </div>
      )}
      {closed && (
        <Notice tone="warn">{hosted
          ? `${via}’s window was closed before your bank was connected. If you left on purpose, nothing changed. Continue to ${via} to try again.`
          : 'The bank’s window was closed before you finished. Continue to your bank to try again.'}</Notice>
      )}
      {screen.failure
        ? <button type="button" className="primary" ref={againRef} onClick={again}>Try again</button>
        : <>
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
          </>}
      <ErrorBox error={error} />
    </section>
  );
}

function Progress({ api, who, screen, setScreen }: BodyProps & { screen: Extract<Screen, { kind: 'progress' }> }) {
  const [job, setJob] = useState<Job>(screen.job);
  const [error, setError] = useState<unknown>(null);
  const [code, setCode] = useState('');
  const mfa = useAction();
  useEffect(() => {
    if (job.status === 'awaiting_input') return;
    let stop = false;
    (async () => {
      const ended = await followJob<Job>(api, job.id, (j) => { if (!stop) setJob(j); }, (j) => stop || !['queued', 'running'].includes(j.status));
      if (stop || ended.status === 'awaiting_input') return;
      const c = await api.get<Connection>(`/users/${who.userId}/connections/${screen.connection.id}`);
      if (ended.status === 'succeeded') setScreen({ kind: 'done', institution: screen.institution, connection: c, job: ended });
      else if (c.method === 'token' && c.allowedActions.includes('repair')) {
        setScreen({ kind: 'token', institution: screen.institution, connection: c, failure: reasonText(ended.error?.code ?? c.statusReason) || plainStatus(c.status, c.statusReason).detail });
      } else if (c.method === 'web' && c.allowedActions.includes('repair')) {
        setScreen({ kind: 'credentials', institution: screen.institution, connection: c, failure: reasonText(ended.error?.code ?? c.statusReason) || plainStatus(c.status, c.statusReason).detail });
      } else if (c.method !== 'web' && c.method !== 'token' && c.allowedActions.includes('repair') && ['failed', 'reconnect_required'].includes(c.status)) {
        // Linked away: "Try again" is a new link on the same connection.
        const via = viaOf(c);
        setScreen({ kind: 'consent', institution: screen.institution, method: methodOf(c), connection: c, url: null,
          failure: reasonText(c.statusReason ?? ended.error?.code ?? null, via) || plainStatus(c.status, c.statusReason, via).detail });
      } else setError(new Error(`${plainStatus(c.status, c.statusReason, viaOf(c)).title}. ${reasonText(ended.error?.code ?? c.statusReason, viaOf(c))}`));
    })().catch(setError);
    return () => { stop = true; };
  }, [job.id, job.status === 'awaiting_input']);
  const sendCode = (e: React.FormEvent) => {
    e.preventDefault();
    void mfa.run(async () => {
      const j = await api.post<Job>(`/jobs/${job.id}/mfa`, { code });
      setCode('');
      setJob(j);
    });
  };
  return (
    <section aria-labelledby="progress-title">
      <BankHeader institution={screen.institution} />
      <h2 id="progress-title">{job.status === 'awaiting_input' ? 'Enter your code' : 'Connecting…'}</h2>
      <ol className="steps" aria-label="Progress">
        {job.steps.map((s) => (
          <li key={s.name} aria-current={s.status === 'in_progress' ? 'step' : undefined}>
            <span className="step-mark" aria-hidden="true">{s.status === 'success' ? '✓' : s.status === 'failed' ? '✕' : s.status === 'in_progress' ? '…' : s.status === 'awaiting_input' ? '?' : '○'}</span>
            <span>{stepText(s.name)}</span>
            <span className="sr-only">: {s.status.replace('_', ' ')}</span>
          </li>
        ))}
      </ol>
      {job.status === 'awaiting_input' ? (
        <form onSubmit={sendCode}>
          <p>{job.mfa?.prompt || 'Your bank sent you a one-time code.'}</p>
          <label htmlFor="code">One-time code</label>
          <input id="code" type="text" inputMode="numeric" autoComplete="one-time-code" value={code} onChange={(e) => setCode(e.target.value)} required autoFocus />
          <div className="row gap" style={{ marginTop: 12 }}>
            <button type="submit" className="primary" disabled={mfa.busy}>Continue</button>
            {mfa.busy && <Spinner label="Checking…" />}
          </div>
          <ErrorBox error={mfa.error} />
        </form>
      ) : <Spinner label="Working with your bank. This can take a moment." />}
      <ErrorBox error={error} onRetry={() => setScreen({ kind: 'pick' })} />
    </section>
  );
}

function Done({ who, screen }: BodyProps & { screen: Extract<Screen, { kind: 'done' }> }) {
  const plain = plainStatus(screen.connection.status, screen.connection.statusReason, viaOf(screen.connection));
  // A bank linked again at the provider: the connection the app already has is updated, this one ends.
  const duplicate = screen.connection.statusReason === 'duplicate_connection';
  const result = { connectionId: screen.connection.id, jobId: screen.job?.id ?? null, status: screen.connection.status };
  useEffect(() => {
    if (!who.redirectUri) finish(who, result); // embedded: tell the app at once; a redirect waits for the button
  }, []);
  return (
    <section aria-labelledby="done-title">
      <BankHeader institution={screen.institution} />
      <h2 id="done-title">{screen.connection.status === 'active' ? `${screen.institution.name} is connected` : duplicate ? `${screen.institution.name} was already connected` : plain.title}</h2>
      <Notice tone={duplicate ? 'info' : 'ok'}>{plain.detail}</Notice>
      {who.redirectUri
        ? <button type="button" className="primary" onClick={() => finish(who, result)} autoFocus>Continue</button>
        : <p className="muted">You can close this window.</p>}
    </section>
  );
}

createRoot(document.getElementById('root')!).render(<StrictMode><App /></StrictMode>);

/**
 * The connect widget (/connect?token=ct_…): link a bank, or (mode=repair, mode=products) fix or
 * extend an existing connection, with the same screens.
 *
 *   pick institution ─► method ─► web: credentials ─► progress (job steps) ─► MFA code? ─► done
 *                              └► openbanking: consent page in a new window ─► progress ─► done
 *   failure ─► the reason in plain words and the form again: "try again" repairs the same connection
 *   done ─► redirect to the token's redirectUri with state, connectionId and jobId, or
 *           postMessage({ type: 'causeway.connect', … }) to the window that embeds or opened it
 */
import { StrictMode, useEffect, useMemo, useState } from 'react';
import { createRoot } from 'react-dom/client';
import { ApiError, createApi, followJob, takeToken, type Api, type Connection, type ConnectionStart, type Institution, type Job, type Page } from '../shared/api';
import { plainStatus, reasonText, stepText } from '../shared/status';
import { ErrorBox, Logo, Notice, Spinner, useAction } from '../shared/ui';
import '../shared/styles.css';

interface Who { userId: string; scopes: string[]; redirectUri: string | null }
type Mode = 'connect' | 'repair' | 'products';

type Screen =
  | { kind: 'pick' }
  | { kind: 'method'; institution: Institution }
  | { kind: 'credentials'; institution: Institution; connection: Connection | null; failure: string | null }
  | { kind: 'consent'; institution: Institution; connection: Connection; url: string; failure: string | null }
  | { kind: 'products'; connection: Connection; institution: Institution }
  | { kind: 'progress'; institution: Institution; connection: Connection; job: Job }
  | { kind: 'done'; institution: Institution; connection: Connection; job: Job | null };

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

function App() {
  const token = useMemo(() => takeToken('causeway.connect.token'), []);
  const api = useMemo(() => (token ? createApi(token) : null), [token]);
  const [who, setWho] = useState<Who | null>(null);
  const [institutions, setInstitutions] = useState<Institution[] | null>(null);
  const [screen, setScreen] = useState<Screen>({ kind: 'pick' });
  const [fatal, setFatal] = useState<unknown>(null);

  useEffect(() => {
    if (!api) return;
    (async () => {
      const me = await api.get<Who>('/client-token');
      setWho(me);
      const list = (await api.get<{ data: Institution[] }>('/institutions')).data;
      setInstitutions(list);
      const connectionId = params.get('connectionId');
      if (MODE !== 'connect') {
        if (!connectionId) throw new Error('This link is missing the connection to fix (connectionId). Open it again from the app.');
        const c = await api.get<Connection>(`/users/${me.userId}/connections/${connectionId}`);
        const institution = list.find((i) => i.id === c.institution.id)!;
        if (MODE === 'products') setScreen({ kind: 'products', connection: c, institution });
        else if (c.method === 'web') setScreen({ kind: 'credentials', institution, connection: c, failure: reasonText(c.statusReason) || null });
        else await startConsent(api, me, institution, c, setScreen);
      }
    })().catch(setFatal);
  }, [api]);

  if (!token || !api) {
    return <main className="narrow"><h1>Connect your bank</h1><ErrorBox error={new Error('This page needs a link from the app (it carries a token). Go back to the app and start again.')} /></main>;
  }
  if (fatal) {
    const expired = fatal instanceof ApiError && fatal.status === 401;
    return <main className="narrow"><h1>Connect your bank</h1><ErrorBox error={expired ? new Error('This link has expired. Go back to the app and start again.') : fatal} /></main>;
  }
  if (!who || !institutions) return <main className="narrow"><h1>Connect your bank</h1><Spinner label="Loading…" /></main>;

  return (
    <main className="narrow">
      <h1>{MODE === 'repair' ? 'Fix your connection' : MODE === 'products' ? 'Share more data' : 'Connect your bank'}</h1>
      <Body api={api} who={who} institutions={institutions} screen={screen} setScreen={setScreen} />
    </main>
  );
}

interface BodyProps { api: Api; who: Who; institutions: Institution[]; screen: Screen; setScreen: (s: Screen) => void }

function Body(p: BodyProps) {
  const s = p.screen;
  switch (s.kind) {
    case 'pick': return <PickInstitution {...p} />;
    case 'method': return <PickMethod {...p} institution={s.institution} />;
    case 'credentials': return <Credentials {...p} screen={s} />;
    case 'consent': return <Consent {...p} screen={s} />;
    case 'products': return <Products {...p} screen={s} />;
    case 'progress': return <Progress {...p} screen={s} />;
    case 'done': return <Done {...p} screen={s} />;
  }
}

function PickInstitution({ institutions, setScreen }: BodyProps) {
  const [query, setQuery] = useState('');
  const shown = institutions.filter((i) => i.name.toLowerCase().includes(query.trim().toLowerCase()));
  const choose = (i: Institution) => setScreen(i.methods.length > 1 ? { kind: 'method', institution: i } : i.methods[0] === 'web'
    ? { kind: 'credentials', institution: i, connection: null, failure: null } : { kind: 'method', institution: i });
  return (
    <section aria-labelledby="pick-title">
      <h2 id="pick-title">Choose your bank</h2>
      <label htmlFor="search">Search</label>
      <input id="search" type="search" value={query} onChange={(e) => setQuery(e.target.value)} placeholder="Bank name" autoFocus />
      <ul className="list" aria-label="Banks" style={{ marginTop: 12 }}>
        {shown.map((i) => (
          <li key={i.id}>
            <button type="button" className="choice" onClick={() => choose(i)}>
              <Logo name={i.name} />
              <span>
                <strong>{i.name}</strong><br />
                <span className="muted small">
                  {i.methods.map((m) => (m === 'web' ? 'Sign in' : 'Open banking')).join(' or ')}
                  {i.health.status !== 'operational' && <> · <span className="badge badge-warn">{i.health.status === 'outage' ? 'Not available right now' : 'Slow right now'}</span></>}
                </span>
              </span>
            </button>
          </li>
        ))}
      </ul>
      {shown.length === 0 && <p className="muted">No bank matches “{query}”.</p>}
    </section>
  );
}

function PickMethod({ api, who, institution, setScreen }: BodyProps & { institution: Institution }) {
  const action = useAction();
  const openbanking = () => action.run(async () => {
    const started = await api.post<ConnectionStart>(`/users/${who.userId}/connections`, { institutionId: institution.id, method: 'openbanking' });
    setScreen({ kind: 'consent', institution, connection: started.connection, url: started.authorizationUrl!, failure: null });
  });
  return (
    <section aria-labelledby="method-title">
      <BankHeader institution={institution} onBack={() => setScreen({ kind: 'pick' })} />
      <h2 id="method-title">How would you like to connect?</h2>
      <div className="stack">
        {institution.methods.includes('openbanking') && (
          <button type="button" className="choice" onClick={openbanking} disabled={action.busy}>
            <span><strong>Open banking</strong><br /><span className="muted small">Approve access at your bank. Causeway never sees your password.</span></span>
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

function BankHeader({ institution, onBack }: { institution: Institution; onBack?: () => void }) {
  return (
    <div className="row gap between">
      <div className="row gap"><Logo name={institution.name} /><strong>{institution.name}</strong></div>
      {onBack && <button type="button" className="link" onClick={onBack}>Choose another bank</button>}
    </div>
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

/** Opens the bank's consent page in a new window and follows the connection until the bank sends the user back. */
async function startConsent(api: Api, who: Who, institution: Institution, connection: Connection, setScreen: (s: Screen) => void) {
  const r = await api.post<ConnectionStart>(`/users/${who.userId}/connections/${connection.id}/repair`, {});
  setScreen({ kind: 'consent', institution, connection: r.connection, url: r.authorizationUrl!, failure: null });
}

function Consent({ api, who, screen, setScreen }: BodyProps & { screen: Extract<Screen, { kind: 'consent' }> }) {
  /** The bank's window, and the connection's last job before it opened (the baseline to notice a new one). */
  const [handoff, setHandoff] = useState<{ win: Window | null; before: string | null } | null>(null);
  const [closed, setClosed] = useState(false);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    if (!handoff) return;
    let stop = false;
    (async () => {
      // The bank's answer shows on the connection: approval starts a new job; denial fails it.
      const was = `${screen.connection.status}/${screen.connection.statusReason}`;
      let closedPolls = 0;
      while (!stop) {
        const job = await latestJob(api, who, screen.connection.id);
        const c = await api.get<Connection>(`/users/${who.userId}/connections/${screen.connection.id}`);
        if (stop) return;
        if (job && job.id !== handoff.before) { setScreen({ kind: 'progress', institution: screen.institution, connection: c, job }); return; }
        if (`${c.status}/${c.statusReason}` !== was && (c.status === 'failed' || c.statusReason === 'authorization_denied')) {
          setHandoff(null);
          setScreen({ ...screen, connection: c, failure: reasonText(c.statusReason) || 'The bank did not give access.' });
          return;
        }
        // The bank's window was closed without an answer: stop asking, and offer to open it again.
        if (handoff.win?.closed && ++closedPolls >= 3) { setHandoff(null); setClosed(true); return; }
        await new Promise((r) => setTimeout(r, 400));
      }
    })().catch(setError);
    return () => { stop = true; };
  }, [handoff]);
  const open = async () => {
    setClosed(false);
    // The window opens now, while the click still counts (pop-up blockers), and goes to the bank
    // once the baseline is read: an approval cannot come before it.
    const win = window.open('about:blank', `causeway-consent-${Date.now()}`, 'width=520,height=720'); // a new window each time
    try {
      const before = (await latestJob(api, who, screen.connection.id))?.id ?? null;
      if (win) win.location.href = screen.url; else window.open(screen.url, '_blank');
      setHandoff({ win, before });
    } catch (err) {
      setError(err);
    }
  };
  const again = () => startConsent(api, who, screen.institution, screen.connection, setScreen).catch(setError);
  return (
    <section aria-labelledby="consent-title">
      <BankHeader institution={screen.institution} />
      <h2 id="consent-title">Approve access at {screen.institution.name}</h2>
      {screen.failure && <div className="alert alert-bad" role="alert"><p>{screen.failure}</p><p className="small">You can try again and approve at your bank.</p></div>}
      {closed && <Notice tone="warn">The bank’s window was closed before you finished. Continue to your bank to try again.</Notice>}
      {screen.failure
        ? <button type="button" className="primary" onClick={again}>Try again</button>
        : <>
            <p>Your bank’s page opens in a new window. Sign in there and approve sharing; then come back here.</p>
            <button type="button" className="primary" onClick={() => void open()}>{handoff ? 'Open the bank’s page again' : 'Continue to your bank'}</button>
            {handoff && <p><Spinner label="Waiting for your bank…" /></p>}
          </>}
      <ErrorBox error={error} />
    </section>
  );
}

async function latestJob(api: Api, who: Who, connectionId: string): Promise<Job | null> {
  return (await api.get<Page<Job>>(`/users/${who.userId}/connections/${connectionId}/jobs?limit=1`)).data[0] ?? null;
}

function Products({ api, who, screen, setScreen }: BodyProps & { screen: Extract<Screen, { kind: 'products' }> }) {
  const missing = screen.institution.products.filter((p) => !screen.connection.products.includes(p));
  const [chosen, setChosen] = useState<string[]>(missing);
  const action = useAction();
  const submit = (e: React.FormEvent) => {
    e.preventDefault();
    void action.run(async () => {
      const r = await api.post<ConnectionStart>(`/users/${who.userId}/connections/${screen.connection.id}/products`, { products: chosen });
      if (r.job) setScreen({ kind: 'progress', institution: screen.institution, connection: r.connection, job: r.job });
      else setScreen({ kind: 'done', institution: screen.institution, connection: r.connection, job: null });
    });
  };
  return (
    <section aria-labelledby="products-title">
      <BankHeader institution={screen.institution} />
      <h2 id="products-title">Choose what else to share</h2>
      {missing.length === 0 ? <Notice>This connection already shares everything {screen.institution.name} offers.</Notice> : (
        <form onSubmit={submit}>
          <fieldset>
            <legend>Data to add</legend>
            {missing.map((p) => (
              <label key={p} className="radio">
                <input type="checkbox" checked={chosen.includes(p)} onChange={(e) => setChosen(e.target.checked ? [...chosen, p] : chosen.filter((x) => x !== p))} />
                {p}
              </label>
            ))}
          </fieldset>
          <button type="submit" className="primary" disabled={action.busy || chosen.length === 0}>Share</button>
        </form>
      )}
      <ErrorBox error={action.error} />
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
      else if (c.method === 'web' && c.allowedActions.includes('repair')) {
        setScreen({ kind: 'credentials', institution: screen.institution, connection: c, failure: reasonText(ended.error?.code ?? c.statusReason) || plainStatus(c.status, c.statusReason).detail });
      } else setError(new Error(`${plainStatus(c.status, c.statusReason).title}. ${reasonText(ended.error?.code ?? c.statusReason)}`));
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
  const plain = plainStatus(screen.connection.status, screen.connection.statusReason);
  const result = { connectionId: screen.connection.id, jobId: screen.job?.id ?? null, status: screen.connection.status };
  useEffect(() => {
    if (!who.redirectUri) finish(who, result); // embedded: tell the app at once; a redirect waits for the button
  }, []);
  return (
    <section aria-labelledby="done-title">
      <BankHeader institution={screen.institution} />
      <h2 id="done-title">{screen.connection.status === 'active' ? `${screen.institution.name} is connected` : plain.title}</h2>
      <Notice tone="ok">{plain.detail}</Notice>
      {who.redirectUri
        ? <button type="button" className="primary" onClick={() => finish(who, result)} autoFocus>Continue</button>
        : <p className="muted">You can close this window.</p>}
    </section>
  );
}

createRoot(document.getElementById('root')!).render(<StrictMode><App /></StrictMode>);

/**
 * The connect widget (/connect?token=ct_…[&state=…][&products=accounts,transactions]): link a bank,
 * or (mode=repair, mode=products) fix or extend an existing connection, with the same screens.
 *
 *   pick institution (searched on the server, a page at a time, with logos) ─► method
 *     ─► consent pane (what is shared, for how long, how to stop; Continue or Back) ─►
 *     ─► web: credentials ─► progress (job steps) ─► MFA code? ─► done
 *     ─► openbanking: the bank's consent page in a new window ─► progress ─► done
 *     ─► hosted: the provider's link page (Plaid Hosted Link) in a new window ─► progress ─► done
 *     ─► token: paste a setup token made at the provider (SimpleFIN), claimed at once ─► progress ─► done
 *   failure ─► the reason in plain words: "try again" (the same connection) or "choose another bank"
 *   every screen: the application's name and Exit (confirmed mid-link), which tells the app (chrome.tsx)
 *   a token the API refuses (bogus, expired, revoked) ─► "this link has expired": ask the app for a new one
 *   done ─► redirect to the token's redirectUri with state, connectionId and jobId, or
 *           postMessage({ type: 'causeway.connect', … }) to the window that embeds or opened it
 */
import { StrictMode, useEffect, useMemo, useState } from 'react';
import { createRoot } from 'react-dom/client';
import { ApiError, createApi, takeToken, type Api, type Connection, type ConnectionStart, type Institution, type Method } from '../shared/api';
import { providerName, reasonText } from '../shared/status';
import { ErrorBox, Spinner, useAction } from '../shared/ui';
import '../shared/styles.css';
import './widget.css';
import { Consent, startConsent } from './away';
import { Expired, Exited, TopBar } from './chrome';
import { PickInstitution } from './pick';
import { Products } from './products';
import { Done, Progress } from './progress';
import { BankHeader, createBody, Failure, LinkError, otherBank, shareThen, type BodyProps, type Mode, type Screen, type Who } from './screens';
import { Share } from './share';
import { PasteToken } from './token';

const params = new URLSearchParams(window.location.search);
const MODE = (params.get('mode') as Mode | null) ?? 'connect';

/** The connection's institution from the catalogue (logo, methods, products), or what the connection itself says of it. */
async function institutionOf(api: Api, c: Connection): Promise<Institution> {
  try {
    return await api.get<Institution>(`/institutions/${encodeURIComponent(c.institution.id)}`);
  } catch (err) {
    if (!(err instanceof ApiError) || err.status !== 404) throw err;
    return {
      id: c.institution.id, name: c.institution.name, provider: c.provider, country: '', methods: [c.method as Method],
      products: c.products, mfa: false, logo: null, primaryColor: null, historyDays: null, maxAccessDays: null,
      health: { status: 'operational', since: null },
    };
  }
}

/** The API, where a refused token (401: bogus, expired or revoked) turns the whole widget into "this link has expired". */
function watchedApi(token: string, onExpired: () => void): Api {
  const api = createApi(token);
  const watch = <T,>(p: Promise<T>) => p.catch((err: unknown) => {
    if (err instanceof ApiError && err.status === 401) onExpired();
    throw err;
  });
  return {
    get: (p) => watch(api.get(p)), post: (p, b) => watch(api.post(p, b)), patch: (p, b) => watch(api.patch(p, b)), del: (p) => watch(api.del(p)),
  };
}

function App() {
  const token = useMemo(() => takeToken('causeway.connect.token'), []);
  const [expired, setExpired] = useState(false);
  const [exited, setExited] = useState(false);
  const api = useMemo(() => (token ? watchedApi(token, () => setExpired(true)) : null), [token]);
  const [who, setWho] = useState<Who | null>(null);
  const [screen, setScreen] = useState<Screen | null>(MODE === 'connect' ? { kind: 'pick' } : null);
  const [fatal, setFatal] = useState<unknown>(null);

  useEffect(() => {
    if (!api) return;
    (async () => {
      const me = await api.get<Who>('/client-token');
      setWho(me);
      if (MODE === 'connect') {
        if (!me.scopes.includes('connect')) throw new Error(`This link is for managing your connections, not for connecting a bank. Go back to ${me.application.name} and start connecting there.`);
        return;
      }
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

  const app = who?.application.name ?? null;
  const title = MODE === 'repair' ? 'Fix your connection' : MODE === 'products' ? 'Share more data' : 'Connect your bank';
  const frame = (body: React.ReactNode) => (
    <div className="widget">
      <TopBar who={who} screen={expired || exited ? null : screen} onExited={() => setExited(true)} />
      <main className="narrow widget-body">{body}</main>
    </div>
  );
  if (!token || !api || expired) return frame(<Expired app={app} />);
  if (exited) return frame(<Exited app={app} />);
  if (fatal) return frame(<><h1>{title}</h1><ErrorBox error={fatal} /></>);
  if (!who || !screen) return frame(<><h1>{title}</h1><Spinner label="Loading…" /></>);
  return frame(<><h1 className="widget-title">{title}</h1><Body api={api} who={who} screen={screen} setScreen={setScreen} mode={MODE} /></>);
}

function Body(p: BodyProps) {
  const s = p.screen;
  switch (s.kind) {
    case 'pick': return <PickInstitution {...p} />;
    case 'method': return <PickMethod {...p} institution={s.institution} />;
    case 'share': return <Share {...p} screen={s} />;
    case 'credentials': return <Credentials {...p} screen={s} />;
    case 'token': return <PasteToken {...p} screen={s} />;
    case 'consent': return <Consent {...p} screen={s} />;
    case 'products': return <Products {...p} screen={s} />;
    case 'progress': return <Progress {...p} screen={s} />;
    case 'done': return <Done {...p} screen={s} />;
  }
}

/** The ways this bank can be connected, each in a word and a line; each leads to the consent pane first. */
function PickMethod({ institution, setScreen }: BodyProps & { institution: Institution }) {
  const via = providerName(institution.provider);
  const choose = (m: Method) => () => setScreen(shareThen(institution, m, { kind: 'method', institution }));
  return (
    <section aria-labelledby="method-title">
      <BankHeader institution={institution} onBack={() => setScreen({ kind: 'pick' })} />
      <h2 id="method-title">How would you like to connect?</h2>
      <div className="stack">
        {institution.methods.includes('hosted') && (
          <button type="button" className="choice" onClick={choose('hosted')}>
            <span><strong>Through {via}</strong><br /><span className="muted small">Sign in to your bank on {via}’s page. Causeway never sees your password.</span></span>
          </button>
        )}
        {institution.methods.includes('openbanking') && (
          <button type="button" className="choice" onClick={choose('openbanking')}>
            <span><strong>Open banking</strong><br /><span className="muted small">Approve access at your bank. Causeway never sees your password.</span></span>
          </button>
        )}
        {institution.methods.includes('token') && (
          <button type="button" className="choice" onClick={choose('token')}>
            <span><strong>Paste a {via} setup token</strong><br /><span className="muted small">Made in your {via} account. Causeway never sees your bank password.</span></span>
          </button>
        )}
        {institution.methods.includes('web') && (
          <button type="button" className="choice" onClick={choose('web')}>
            <span><strong>Sign in with your bank login</strong><br /><span className="muted small">Your login is encrypted and used only to fetch your data.</span></span>
          </button>
        )}
      </div>
    </section>
  );
}

function Credentials({ api, who, screen, setScreen, mode }: BodyProps & { screen: Extract<Screen, { kind: 'credentials' }> }) {
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
        : await api.post<ConnectionStart>(`/users/${who.userId}/connections`, createBody(screen.institution, 'web', { credentials }));
      setPassword('');
      if (!started.job) throw new Error('The connection did not start a job; try again.');
      setScreen({ kind: 'progress', institution: screen.institution, connection: started.connection, job: started.job });
    });
  };
  const fresh = !screen.connection && mode === 'connect';
  return (
    <section aria-labelledby="cred-title">
      <BankHeader institution={screen.institution} onBack={fresh && !screen.failure ? () => setScreen({ kind: 'pick' }) : undefined} />
      <h2 id="cred-title">Sign in to {screen.institution.name}</h2>
      {screen.failure && (
        <Failure onOtherBank={otherBank({ mode, setScreen })}>
          <p>{screen.failure}</p><p className="small">Check your details and try again, or choose another bank.</p>
        </Failure>
      )}
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
      <LinkError error={action.error} mode={mode} setScreen={setScreen} />
    </section>
  );
}

createRoot(document.getElementById('root')!).render(<StrictMode><App /></StrictMode>);

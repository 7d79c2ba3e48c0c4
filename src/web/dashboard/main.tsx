/**
 * The operator dashboard (/dashboard): sign in with an API key or an operator account, then the
 * overview, users, connections (with a connection's profile, jobs, timeline and actions), webhook
 * endpoints with their delivery log, and institutions with health.
 */
import { StrictMode, useEffect, useMemo, useState } from 'react';
import { createRoot } from 'react-dom/client';
import { createApi } from '../shared/api';
import { ErrorBox, Spinner, useAction } from '../shared/ui';
import { Connections } from './connections';
import { TABS, type Nav, type SectionProps } from './nav';
import { Institutions } from './institutions';
import { Overview } from './overview';
import { Users } from './users';
import { Webhooks } from './webhooks';
import '../shared/styles.css';
import './dashboard.css';

const KEY = 'causeway.dashboard.credential';

function SignIn({ onSignedIn }: { onSignedIn: (credential: string) => void }) {
  const [apiKey, setApiKey] = useState('');
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const action = useAction();
  const withKey = (e: React.FormEvent) => {
    e.preventDefault();
    void action.run(async () => {
      await createApi(apiKey.trim()).get('/application'); // checks the key
      onSignedIn(apiKey.trim());
    });
  };
  const withAccount = (e: React.FormEvent) => {
    e.preventDefault();
    void action.run(async () => {
      const session = await createApi(null).post<{ token: string }>('/operator-sessions', { email, password });
      onSignedIn(session.token);
    });
  };
  return (
    <main className="narrow">
      <h1>Causeway dashboard</h1>
      <form onSubmit={withAccount} className="card" aria-labelledby="op-title">
        <h2 id="op-title">Sign in as an operator</h2>
        <label htmlFor="email">Email</label>
        <input id="email" type="email" autoComplete="username" value={email} onChange={(e) => setEmail(e.target.value)} required />
        <label htmlFor="pw">Password</label>
        <input id="pw" type="password" autoComplete="current-password" value={password} onChange={(e) => setPassword(e.target.value)} required />
        <p className="muted small">No account? Create one with <code>npx causeway operators create --email you@example.com</code>.</p>
        <button type="submit" className="primary" disabled={action.busy}>Sign in</button>
      </form>
      <form onSubmit={withKey} className="card" style={{ marginTop: 12 }} aria-labelledby="key-title">
        <h2 id="key-title">Or use an API key</h2>
        <label htmlFor="apikey">API key</label>
        <input id="apikey" type="password" autoComplete="off" placeholder="sk_sandbox_…" value={apiKey} onChange={(e) => setApiKey(e.target.value)} required />
        <button type="submit" className="primary" disabled={action.busy} style={{ marginTop: 10 }}>Sign in with the key</button>
      </form>
      {action.busy && <Spinner label="Signing in…" />}
      <ErrorBox error={action.error} />
    </main>
  );
}

function App() {
  const [credential, setCredential] = useState<string | null>(() => sessionStorage.getItem(KEY));
  const api = useMemo(() => (credential ? createApi(credential) : null), [credential]);
  const [nav, setNav] = useState<Nav>({ tab: 'Overview' });
  const [appName, setAppName] = useState<string | null>(null);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    if (!api) return;
    api.get<{ name: string; environment: string }>('/application').then((a) => setAppName(`${a.name} (${a.environment})`), (err) => {
      sessionStorage.removeItem(KEY);
      setCredential(null);
      setError(err);
    });
  }, [api]);
  if (!api) {
    return <><SignIn onSignedIn={(c) => { sessionStorage.setItem(KEY, c); setError(null); setCredential(c); }} />{error ? <main className="narrow"><ErrorBox error={error} /></main> : null}</>;
  }
  return (
    <main className="dashboard">
      <div className="row between gap">
        <h1>Causeway dashboard</h1>
        <div className="row gap">
          <span className="muted small">{appName}</span>
          <button type="button" onClick={() => { sessionStorage.removeItem(KEY); setCredential(null); }}>Sign out</button>
        </div>
      </div>
      <nav className="tabs" role="tablist" aria-label="Sections">
        {TABS.map((t) => (
          <button key={t} type="button" role="tab" aria-selected={nav.tab === t} onClick={() => setNav({ tab: t })}>{t}</button>
        ))}
      </nav>
      <section role="tabpanel" aria-label={nav.tab}>
        <Section api={api} nav={nav} setNav={setNav} />
      </section>
    </main>
  );
}

function Section(p: SectionProps) {
  switch (p.nav.tab) {
    case 'Overview': return <Overview {...p} />;
    case 'Users': return <Users {...p} />;
    case 'Connections': return <Connections {...p} />;
    case 'Webhooks': return <Webhooks {...p} />;
    case 'Institutions': return <Institutions {...p} />;
  }
}

createRoot(document.getElementById('root')!).render(<StrictMode><App /></StrictMode>);

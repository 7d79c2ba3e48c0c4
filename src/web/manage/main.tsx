/**
 * "Manage my connections" (/manage?token=ct_…, embeddable in an iframe): the user's connections
 * in plain words with what to do, their accounts and balances, a detail view with sync history,
 * products and consent, and the actions the connection allows (refresh, fix, disconnect, delete).
 * A connection linked through a provider's own page (hosted, e.g. Plaid) is fixed right here: the
 * provider's page opens in a new window (update mode) and the card follows the repair.
 */
import { StrictMode, useCallback, useEffect, useMemo, useRef, useState } from 'react';
import { createRoot } from 'react-dom/client';
import {
  ApiError, createApi, followJob, linkUrl, takeToken, type Account, type Api, type Connection, type ConnectionStart, type Institution, type Job, type Page,
} from '../shared/api';
import { latestJob, openLinkWindow, sendTo, watchLink } from '../shared/link';
import { formatDate, formatMoney, plainStatus, reasonText, stepText, viaOf } from '../shared/status';
import { ConfirmDialog, ErrorBox, Logo, Notice, Spinner, StatusBadge, useAction } from '../shared/ui';
import '../shared/styles.css';
import './manage.css';

interface Who { userId: string; scopes: string[]; application: { name: string } }

function App() {
  const token = useMemo(() => takeToken('causeway.manage.token'), []);
  const api = useMemo(() => (token ? createApi(token) : null), [token]);
  const [who, setWho] = useState<Who | null>(null);
  const [connections, setConnections] = useState<Connection[] | null>(null);
  const [accounts, setAccounts] = useState<Account[]>([]);
  /** The connections' institutions from the catalogue (logos); null where it has none. */
  const [institutions, setInstitutions] = useState<Record<string, Institution | null>>({});
  const [error, setError] = useState<unknown>(null);

  const load = useCallback(async () => {
    if (!api) return;
    try {
      const me = who ?? await api.get<Who>('/client-token');
      setWho(me);
      const [list, accs] = await Promise.all([
        api.get<Page<Connection>>(`/users/${me.userId}/connections?limit=100`),
        api.get<Page<Account>>(`/users/${me.userId}/accounts?limit=500`),
      ]);
      setConnections(list.data.filter((c) => c.status !== 'deleted'));
      setAccounts(accs.data);
      setError(null);
    } catch (err) {
      setError(err);
    }
  }, [api, who]);
  useEffect(() => { void load(); }, [api]);
  useEffect(() => {
    if (!api || !connections) return;
    const missing = [...new Set(connections.map((c) => c.institution.id))].filter((id) => !(id in institutions));
    if (missing.length === 0) return;
    void Promise.all(missing.map((id) => api.get<Institution>(`/institutions/${encodeURIComponent(id)}`).then((i) => [id, i] as const, () => [id, null] as const)))
      .then((found) => setInstitutions((known) => ({ ...known, ...Object.fromEntries(found) })));
  }, [api, connections]);

  if (!token || !api) return <main><h1>Your bank connections</h1><ErrorBox error={new Error('This page needs a link from the app (it carries a token). Go back to the app and open it again.')} /></main>;
  if (error && !connections) {
    const expired = error instanceof ApiError && error.status === 401;
    return <main><h1>Your bank connections</h1><ErrorBox error={expired ? new Error('This link has expired. Go back to the app and open it again.') : error} onRetry={() => void load()} /></main>;
  }
  if (!connections || !who) return <main><h1>Your bank connections</h1><Spinner label="Loading your connections…" /></main>;
  return (
    <main className="manage">
      <h1>Your bank connections</h1>
      <p className="muted manage-sub">Shared with {who.application.name} through Causeway. Disconnect or delete a connection to stop sharing it.</p>
      {connections.length === 0 && <Notice>You have not connected a bank yet.</Notice>}
      <ul className="list" aria-label="Connections">
        {connections.map((c) => (
          <li key={c.id}>
            <ConnectionCard api={api} who={who} token={token} connection={c} institution={institutions[c.institution.id] ?? null}
              accounts={accounts.filter((a) => a.connectionId === c.id)} reload={load} />
          </li>
        ))}
      </ul>
      <ErrorBox error={error} />
    </main>
  );
}

function ConnectionCard({ api, who, token, connection: c, institution, accounts, reload }: {
  api: Api; who: Who; token: string; connection: Connection; institution: Institution | null; accounts: Account[]; reload: () => Promise<void>;
}) {
  const via = viaOf(c);
  const plain = plainStatus(c.status, c.statusReason, via);
  const [open, setOpen] = useState(false);
  const [syncing, setSyncing] = useState(false);
  const [budget, setBudget] = useState<string | null>(null);
  const [dialog, setDialog] = useState<'unlink' | 'delete' | null>(null);
  const [erase, setErase] = useState(false);
  const action = useAction();
  const can = (a: string) => c.allowedActions.includes(a);
  const base = `/users/${who.userId}/connections/${c.id}`;
  /** Fixing at the provider: its window, while the card waits for the user to finish there. */
  const [linking, setLinking] = useState<{ win: Window | null; url: string } | null>(null);
  const [linkNote, setLinkNote] = useState<{ tone: 'warn' | 'bad'; text: string } | null>(null);
  const gone = useRef(false);
  const titleRef = useRef<HTMLHeadingElement>(null);
  useEffect(() => () => { gone.current = true; }, []);

  const refresh = () => action.run(async () => {
    setBudget(null);
    try {
      const r = await api.post<ConnectionStart>(`${base}/refresh`);
      setSyncing(true);
      await followJob<Job>(api, r.job!.id, () => {}, (j) => !['queued', 'running'].includes(j.status));
    } catch (err) {
      if (err instanceof ApiError && err.code === 'refresh_budget_exhausted') {
        const b = (err.body.refreshBudget ?? {}) as { remainingToday?: number; nextRefreshAllowedAt?: string };
        setBudget(`You can refresh again ${formatDate(b.nextRefreshAllowedAt ?? null)} (${b.remainingToday ?? 0} left today). Your data is also updated automatically.`);
        return;
      }
      throw err;
    } finally {
      setSyncing(false);
    }
    await reload();
  });
  /** hosted: a repair is a new link in update mode, at the provider, in a new window; then the repair job. */
  const relink = () => {
    if (linking) { linking.win?.focus(); return; } // already waiting: a closed window is noticed in a moment
    const win = openLinkWindow(); // now, while the click counts for pop-up blockers
    let sent = false;
    void action.run(async () => {
      setLinkNote(null);
      setBudget(null);
      try {
        const before = (await latestJob(api, who.userId, c.id))?.id ?? null;
        const r = await api.post<ConnectionStart>(`${base}/repair`);
        const url = linkUrl(r);
        sendTo(win, url);
        sent = true;
        setLinking({ win, url });
        const out = await watchLink(api, { userId: who.userId, connection: r.connection, before, win, stopped: () => gone.current });
        setLinking(null);
        if (!out) return;
        if (out.kind === 'job') {
          setSyncing(true);
          try {
            await followJob<Job>(api, out.job.id, () => {}, (j) => gone.current || !['queued', 'running'].includes(j.status));
          } finally {
            setSyncing(false);
          }
        } else if (out.kind === 'failed') {
          setLinkNote({ tone: 'bad', text: reasonText(out.connection.statusReason, via) || plainStatus(out.connection.status, out.connection.statusReason, via).detail });
        } else {
          setLinkNote({ tone: 'warn', text: `${via}’s window was closed before the connection was fixed. If you left on purpose, nothing changed. Use ${fixLabel} to try again.` });
        }
        await reload();
        titleRef.current?.focus(); // the Fix button is gone once fixed: focus stays on this connection
      } catch (err) {
        if (!sent) win?.close();
        setLinking(null);
        throw err;
      }
    });
  };
  const unlink = () => action.run(async () => { await api.post(`${base}/unlink`); setDialog(null); await reload(); });
  const remove = () => action.run(async () => { await api.del(`${base}?data=${erase ? 'purge' : 'keep'}`); setDialog(null); await reload(); });
  const fixHref = `/connect?${new URLSearchParams({ token, mode: 'repair', connectionId: c.id })}`;
  const fixLabel = c.status === 'unlinked' ? 'Reconnect' : c.statusReason === 'access_expiring_soon' ? 'Renew' : 'Fix';
  const fixable = can('repair') && (['reconnect_required', 'failed', 'unlinked'].includes(c.status) || c.statusReason === 'access_expiring_soon');
  const titleId = `conn-${c.id}`;

  return (
    <article className="card" aria-labelledby={titleId}>
      <div className="row gap between">
        <div className="row gap">
          <Logo name={c.institution.name} logo={institution?.logo} color={institution?.primaryColor} />
          <div>
            <h2 id={titleId} ref={titleRef} tabIndex={-1} style={{ margin: 0 }}>{c.institution.name}</h2>
            <StatusBadge status={c.status} reason={c.statusReason} via={via} />
          </div>
        </div>
        {syncing && <Spinner label="Syncing…" />}
      </div>
      <p>{plain.detail}</p>
      {linking && (
        <div className="panel row gap between" style={{ marginBottom: 10 }}>
          <Spinner label={`Waiting for ${via}… Finish in the new window.`} />
          {linking.win
            ? <button type="button" onClick={relink}>Open {via}’s page again</button>
            : <a className="btn" href={linking.url} target="_blank" rel="noreferrer">Open {via}’s page</a>}
        </div>
      )}
      {linkNote && <Notice tone={linkNote.tone === 'bad' ? 'warn' : linkNote.tone}>{linkNote.text}</Notice>}
      <dl className="kv small">
        {via && <><dt>Linked through</dt><dd>{via}</dd></>}
        <dt>First synced</dt><dd>{formatDate(c.firstSyncedAt)}</dd>
        <dt>Last synced</dt><dd>{formatDate(c.lastSuccessfulSyncAt)}</dd>
        <dt>Next update</dt><dd>{c.nextScheduledRefreshAt ? formatDate(c.nextScheduledRefreshAt) : 'Not scheduled'}</dd>
      </dl>
      {accounts.length > 0 && (
        <div className="table-wrap">
          <table className="accounts" aria-label={`Accounts at ${c.institution.name}`}>
            <thead><tr><th scope="col">Account</th><th scope="col" className="balance">Balance</th></tr></thead>
            <tbody>
              {accounts.map((a) => (
                <tr key={a.id}>
                  <td>{a.name}{a.mask ? <> <span className="muted mask">···{a.mask}</span></> : null}<br /><span className="muted small">{a.type.replace('_', ' ')}</span></td>
                  <td className="balance">{formatMoney(a.balances.current, a.currency)}<br /><span className="muted small">{a.currency}</span></td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {budget && <Notice tone="warn">{budget}</Notice>}
      <ErrorBox error={action.error} />
      <div className="row gap" style={{ marginTop: 10 }}>
        {can('refresh') && <button type="button" className="primary" onClick={() => void refresh()} disabled={action.busy || syncing}>Refresh</button>}
        {fixable && (c.method === 'hosted'
          ? <button type="button" className="primary" onClick={relink} disabled={action.busy || syncing}
              aria-describedby={`${titleId}-fix-help`}>{fixLabel}</button>
          : <a className="btn" href={fixHref}>{fixLabel}</a>)}
        {can('unlink') && <button type="button" onClick={() => setDialog('unlink')} disabled={action.busy}>Disconnect</button>}
        {can('delete') && <button type="button" className="danger" onClick={() => setDialog('delete')} disabled={action.busy}>Delete</button>}
        {fixable && c.method === 'hosted' && <span id={`${titleId}-fix-help`} className="sr-only">Opens {via}’s page in a new window</span>}
        <button type="button" className="link" aria-expanded={open} aria-controls={`${titleId}-detail`} onClick={() => setOpen(!open)}>
          {open ? 'Hide details' : 'Details'}
        </button>
      </div>
      {open && <Detail api={api} base={base} connection={c} id={`${titleId}-detail`} />}
      <ConfirmDialog open={dialog === 'unlink'} title={`Disconnect ${c.institution.name}?`} confirmLabel="Disconnect" busy={action.busy}
        onConfirm={() => void unlink()} onCancel={() => setDialog(null)}>
        <p>Causeway stops updating this connection and {c.revokeNotice ? 'deletes the access it holds.' : 'gives up its access at the bank.'}</p>
        {c.revokeNotice && <p className="alert alert-warn">{c.revokeNotice}</p>}
        <p><strong>The data already shared stays</strong>; you can delete it later.</p>
      </ConfirmDialog>
      <ConfirmDialog open={dialog === 'delete'} title={`Delete ${c.institution.name}?`} confirmLabel="Delete" danger busy={action.busy}
        onConfirm={() => void remove()} onCancel={() => setDialog(null)}>
        <p>The connection is removed for good and {c.revokeNotice ? 'the access Causeway holds is deleted.' : 'its access at the bank is revoked.'}</p>
        {c.revokeNotice && <p className="alert alert-warn">{c.revokeNotice}</p>}
        <fieldset>
          <legend>And the data it shared?</legend>
          <label className="radio"><input type="radio" name={`erase-${c.id}`} checked={!erase} onChange={() => setErase(false)} />Keep the accounts and transactions</label>
          <label className="radio"><input type="radio" name={`erase-${c.id}`} checked={erase} onChange={() => setErase(true)} />Erase them too</label>
        </fieldset>
      </ConfirmDialog>
    </article>
  );
}

function Detail({ api, base, connection: c, id }: { api: Api; base: string; connection: Connection; id: string }) {
  const [jobs, setJobs] = useState<Job[] | null>(null);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => { api.get<Page<Job>>(`${base}/jobs?limit=10`).then((p) => setJobs(p.data), setError); }, [base]);
  return (
    <section id={id} className="panel" style={{ marginTop: 10 }} aria-label="Connection details">
      <h3>Shared data</h3>
      <p>{c.products.join(', ')}</p>
      {c.consent && (
        <>
          <h3>Permission</h3>
          <dl className="kv small">
            <dt>Given</dt><dd>{formatDate(c.consent.grantedAt)}</dd>
            <dt>Ends</dt><dd>{formatDate(c.consent.expiresAt)}</dd>
          </dl>
        </>
      )}
      {!c.consent && c.accessExpiresAt && <p className="small">Access ends {formatDate(c.accessExpiresAt)}.</p>}
      <h3>Sync history</h3>
      <ErrorBox error={error} />
      {!jobs && !error && <Spinner label="Loading history…" />}
      {jobs && jobs.length === 0 && <p className="muted">No syncs yet.</p>}
      {jobs && (
        <ul className="list small">
          {jobs.map((j) => (
            <li key={j.id}>
              <strong>{formatDate(j.createdAt)}</strong> · {j.type} · {j.status === 'succeeded' ? 'done' : j.status}{j.error ? `: ${reasonText(j.error.code)}` : ''}
              <ul className="steps">
                {j.steps.map((s) => <li key={s.name}>{s.status === 'success' ? '✓' : s.status === 'failed' ? '✕' : '–'} {stepText(s.name)}</li>)}
              </ul>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}

createRoot(document.getElementById('root')!).render(<StrictMode><App /></StrictMode>);

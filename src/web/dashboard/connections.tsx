/** Connections: filter by status, institution and user; a connection's profile, status, accounts, jobs, timeline and actions. */
import { useEffect, useState } from 'react';
import { ApiError, followJob, type Account, type Connection, type ConnectionStart, type Institution, type Job, type Page } from '../shared/api';
import { formatDate, formatMoney, plainStatus, reasonText, stepText } from '../shared/status';
import { ConfirmDialog, ErrorBox, Notice, Spinner, StatusBadge, useAction } from '../shared/ui';
import type { SectionProps } from './nav';
import { DataTable, Pager, Stamp, useCursorPages, type Column } from './table';

const STATUSES = ['pre_init', 'init', 'pending', 'active', 'degraded', 'reconnect_required', 'failed', 'unlinked', 'deleted'];

export function Connections(p: SectionProps) {
  if (p.nav.connectionId && p.nav.connectionUserId) return <ConnectionDetail {...p} userId={p.nav.connectionUserId} connectionId={p.nav.connectionId} />;
  return <ConnectionList {...p} />;
}

/** A connection in the application-wide list: with the user it belongs to. */
interface ListedConnection extends Connection { user: { id: string; externalId: string | null; name: string | null; email: string | null } }

const PAGE_SIZE = 20;

function ConnectionList({ api, nav, setNav }: SectionProps) {
  const [status, setStatus] = useState(nav.status ?? '');
  const [institutionId, setInstitutionId] = useState('');
  const [userId, setUserId] = useState(nav.userId ?? '');
  const [institutions, setInstitutions] = useState<Institution[]>([]);
  const [page, setPage] = useState<Page<ListedConnection> | null>(null);
  const pages = useCursorPages();
  const list = useAction();
  const load = () => list.run(async () => {
    const q = new URLSearchParams({
      limit: String(PAGE_SIZE), ...(pages.cursor ? { cursor: pages.cursor } : {}),
      ...(status ? { status } : {}), ...(institutionId ? { institutionId } : {}), ...(userId.trim() ? { userId: userId.trim() } : {}),
    });
    setPage(await api.get<Page<ListedConnection>>(`/connections?${q}`));
  });
  useEffect(() => { api.get<{ data: Institution[] }>('/institutions').then((r) => setInstitutions(r.data), () => {}); }, []);
  useEffect(() => { void load(); }, [status, institutionId, pages.cursor]);
  const rows = page?.data ?? null;
  const open = (c: ListedConnection) => setNav({ tab: 'Connections', connectionId: c.id, connectionUserId: c.userId });
  const columns: Column<ListedConnection>[] = [
    {
      label: 'Connection',
      cell: (c) => <><button type="button" className="link" onClick={() => open(c)} aria-label={`${c.institution.name} ${c.id}`}>{c.institution.name}</button><code className="sub">{c.id}</code></>,
    },
    {
      label: 'User',
      cell: (c) => <>
        <span className="user-name">{c.user.name ?? c.user.email ?? c.user.externalId ?? 'No name or email'}</span>
        {c.user.name && c.user.email && <span className="sub">{c.user.email}</span>}
        <code className="sub">{c.user.id}</code>
      </>,
    },
    { label: 'Status', cell: (c) => <><StatusBadge status={c.status} reason={c.statusReason} /><span className="sub"><code>{c.status}</code>{c.statusReason && <> · <code>{c.statusReason}</code></>}</span></> },
    { label: 'Created', className: 'half', cell: (c) => <Stamp iso={c.createdAt} /> },
    { label: 'Last sync', className: 'half', cell: (c) => <Stamp iso={c.lastSuccessfulSyncAt} /> },
  ];
  return (
    <div className="stack">
      <form className="filters" onSubmit={(e) => { e.preventDefault(); if (pages.page === 1) void load(); else pages.reset(); }} aria-label="Filter connections">
        <div>
          <label htmlFor="f-status">Status</label>
          <select id="f-status" value={status} onChange={(e) => { pages.reset(); setStatus(e.target.value); }}>
            <option value="">Any</option>
            {STATUSES.map((s) => <option key={s} value={s}>{s}</option>)}
          </select>
        </div>
        <div>
          <label htmlFor="f-inst">Institution</label>
          <select id="f-inst" value={institutionId} onChange={(e) => { pages.reset(); setInstitutionId(e.target.value); }}>
            <option value="">Any</option>
            {institutions.map((i) => <option key={i.id} value={i.id}>{i.name}</option>)}
          </select>
        </div>
        <div>
          <label htmlFor="f-user">User id</label>
          <input id="f-user" type="search" placeholder="usr_…" value={userId} onChange={(e) => setUserId(e.target.value)} />
        </div>
        <button type="submit">Apply</button>
      </form>
      <ErrorBox error={list.error} onRetry={() => void load()} />
      {list.busy && <Spinner label="Loading connections…" />}
      {rows && rows.length === 0 && <p className="muted">No connections match.</p>}
      {rows && rows.length > 0 && (
        <>
          <p className="small muted">Newest first.</p>
          <DataTable label="Connections" columns={columns} rows={rows} rowKey={(c) => c.id} />
        </>
      )}
      <Pager label="Connection pages" page={pages.page} nextCursor={page?.nextCursor ?? null} busy={list.busy} onPrevious={pages.previous} onNext={pages.next} />
    </div>
  );
}

interface Profile { masked: boolean; names: string[]; emails: { address: string }[]; phones: { number: string }[]; addresses: { line1: string; city: string; region: string; postalCode: string }[] }
interface TimelineEntry { id: string; at: string; kind: string; type: string; actor: string | null; from?: string | null; to?: string; reason?: string | null; job?: Job; delivery?: { status: string; endpointId: string } }

function ConnectionDetail({ api, setNav, userId, connectionId }: SectionProps & { userId: string; connectionId: string }) {
  const base = `/users/${userId}/connections/${connectionId}`;
  const [c, setC] = useState<Connection | null>(null);
  const [profile, setProfile] = useState<Profile | null | 'none'>(null);
  const [accounts, setAccounts] = useState<Account[]>([]);
  const [jobs, setJobs] = useState<Job[]>([]);
  const [owner, setOwner] = useState<{ name: string | null; email: string | null } | null>(null);
  const [timeline, setTimeline] = useState<TimelineEntry[]>([]);
  const [dialog, setDialog] = useState<'purge' | 'delete' | null>(null);
  const [erase, setErase] = useState(false);
  const [running, setRunning] = useState<Job | null>(null);
  const [said, setSaid] = useState<string | null>(null);
  const load = useAction();
  const act = useAction();
  const reload = () => load.run(async () => {
    const [conn, accs, js, tl] = await Promise.all([
      api.get<Connection>(base), api.get<Page<Account>>(`/users/${userId}/accounts?limit=500`),
      api.get<Page<Job>>(`${base}/jobs?limit=20`), api.get<Page<TimelineEntry>>(`${base}/timeline?limit=50`),
    ]);
    setC(conn);
    setAccounts(accs.data.filter((a) => a.connectionId === connectionId));
    setJobs(js.data);
    setTimeline(tl.data);
    api.get<{ name: string | null; email: string | null }>(`/users/${userId}`).then(setOwner, () => setOwner(null));
    try {
      setProfile(await api.get<Profile>(`${base}/profile`));
    } catch (err) {
      if (err instanceof ApiError && err.status === 404) setProfile('none'); else throw err;
    }
  });
  useEffect(() => { void reload(); }, [connectionId]);
  const refresh = () => act.run(async () => {
    const r = await api.post<ConnectionStart>(`${base}/refresh`);
    await followJob<Job>(api, r.job!.id, setRunning, (j) => !['queued', 'running'].includes(j.status));
    setRunning(null);
    await reload();
  });
  const purge = () => act.run(async () => { await api.post(`${base}/purge`); setDialog(null); setSaid('Purged: the connection’s accounts, transactions and profile are erased.'); await reload(); });
  const remove = () => act.run(async () => { await api.del(`${base}?data=${erase ? 'purge' : 'keep'}`); setDialog(null); setSaid('Deleted.'); await reload(); });
  if (!c) return <div>{load.busy ? <Spinner label="Loading the connection…" /> : <ErrorBox error={load.error} onRetry={() => void reload()} />}</div>;
  const can = (a: string) => c.allowedActions.includes(a);
  const plain = plainStatus(c.status, c.statusReason);
  return (
    <div className="stack">
      <button type="button" className="link" onClick={() => setNav({ tab: 'Connections' })}>← All connections</button>
      <h2>{c.institution.name} <span className="muted small"><code>{c.id}</code></span></h2>
      <div className="card">
        <div className="row gap"><StatusBadge status={c.status} reason={c.statusReason} /><code>{c.status}</code>{c.statusReason && <code>{c.statusReason}</code>}</div>
        <p>{plain.detail}</p>
        <dl className="kv small">
          <dt>User</dt><dd>{owner && (owner.name || owner.email) && <>{[owner.name, owner.email].filter(Boolean).join(' · ')} </>}<code className="muted">{c.userId}</code></dd>
          <dt>Method</dt><dd>{c.method}</dd>
          <dt>Products</dt><dd>{c.products.join(', ')}</dd>
          <dt>Allowed actions</dt><dd>{c.allowedActions.join(', ') || 'none'}</dd>
          <dt>User action</dt><dd>{c.userAction}</dd>
          <dt>First sync</dt><dd><span className="nowrap">{formatDate(c.firstSyncedAt)}</span></dd>
          <dt>Last sync</dt><dd><span className="nowrap">{formatDate(c.lastSuccessfulSyncAt)}</span></dd>
          <dt>Next scheduled refresh</dt><dd><span className="nowrap">{formatDate(c.nextScheduledRefreshAt)}</span></dd>
          <dt>Refresh budget</dt><dd>{c.refreshBudget.remainingToday} left today; next allowed <span className="nowrap">{formatDate(c.refreshBudget.nextRefreshAllowedAt)}</span></dd>
          {c.consent && <><dt>Consent</dt><dd>granted <span className="nowrap">{formatDate(c.consent.grantedAt)}</span>, expires <span className="nowrap">{formatDate(c.consent.expiresAt)}</span></dd></>}
        </dl>
        <div className="row gap" style={{ marginTop: 10 }}>
          {can('refresh') && <button type="button" className="primary" onClick={() => void refresh()} disabled={act.busy}>Refresh</button>}
          {can('purge') && <button type="button" onClick={() => setDialog('purge')} disabled={act.busy}>Purge data</button>}
          {can('delete') && <button type="button" className="danger" onClick={() => setDialog('delete')} disabled={act.busy}>Revoke and delete</button>}
        </div>
        {running && <Spinner label={`Refreshing: ${running.steps.find((s) => s.status === 'in_progress')?.name ?? running.status}`} />}
        {said && <Notice tone="ok">{said}</Notice>}
        <ErrorBox error={act.error ?? load.error} />
      </div>

      <h3>Profile</h3>
      {profile === null && <Spinner label="Loading the profile…" />}
      {profile === 'none' && <p className="muted">No identity profile (not fetched, or purged).</p>}
      {profile && profile !== 'none' && (
        <dl className="kv card" aria-label="Identity profile (masked)">
          <dt>Names</dt><dd>{profile.names.join(', ')}</dd>
          <dt>Emails</dt><dd>{profile.emails.map((e) => e.address).join(', ')}</dd>
          <dt>Phones</dt><dd>{profile.phones.map((ph) => ph.number).join(', ')}</dd>
          <dt>Addresses</dt><dd>{profile.addresses.map((a) => `${a.line1}, ${a.city} ${a.region} ${a.postalCode}`).join('; ')}</dd>
        </dl>
      )}

      <h3>Accounts</h3>
      {accounts.length === 0 ? <p className="muted">No accounts.</p> : <DataTable label="Accounts" columns={ACCOUNT_COLUMNS} rows={accounts} rowKey={(a) => a.id} />}

      <h3>Jobs</h3>
      <DataTable label="Job history" columns={JOB_COLUMNS} rows={jobs} rowKey={(j) => j.id} />

      <h3>Timeline</h3>
      <ul className="list small" aria-label="Timeline">
        {timeline.map((e) => (
          <li key={e.id}>
            <strong>{formatDate(e.at)}</strong> · {e.type}
            {e.kind === 'status_change' && <> · {e.from ?? '∅'} → {e.to}{e.reason ? ` (${e.reason})` : ''}</>}
            {e.kind === 'job' && e.job && <> · {e.job.type} {e.job.status}</>}
            {e.kind === 'webhook_delivery' && e.delivery && <> · delivery {e.delivery.status}</>}
            {e.actor && <span className="muted"> · {e.actor}</span>}
          </li>
        ))}
      </ul>

      <ConfirmDialog open={dialog === 'purge'} title="Purge this connection’s data?" confirmLabel="Purge" danger busy={act.busy} onConfirm={() => void purge()} onCancel={() => setDialog(null)}>
        <p>Its accounts, transactions and identity profile are erased now. The connection stays and the next sync fetches them again.</p>
      </ConfirmDialog>
      <ConfirmDialog open={dialog === 'delete'} title="Revoke access and delete?" confirmLabel="Delete" danger busy={act.busy} onConfirm={() => void remove()} onCancel={() => setDialog(null)}>
        <p>Access at the bank is revoked and the connection is deleted for good.</p>
        <fieldset>
          <legend>Its data</legend>
          <label className="radio"><input type="radio" name="erase" checked={!erase} onChange={() => setErase(false)} />Keep it</label>
          <label className="radio"><input type="radio" name="erase" checked={erase} onChange={() => setErase(true)} />Erase it too</label>
        </fieldset>
      </ConfirmDialog>
    </div>
  );
}

const ACCOUNT_COLUMNS: Column<Account>[] = [
  { label: 'Name', cell: (a) => <>{a.name}{a.mask && <span className="nowrap"> ···{a.mask}</span>}</> },
  { label: 'Type', cell: (a) => a.type },
  { label: 'Balance', className: 'num half', cell: (a) => formatMoney(a.balances.current, a.currency) },
  { label: 'Available', className: 'num half', cell: (a) => formatMoney(a.balances.available, a.currency) },
];

const JOB_COLUMNS: Column<Job>[] = [
  { label: 'Job', cell: (j) => <><code>{j.id}</code><span className="sub">{j.type} · {j.trigger} · <span className="nowrap">{formatDate(j.createdAt)}</span></span></> },
  { label: 'Status', cell: (j) => <><span className="nowrap">{j.status}</span>{j.error && <span className="sub">{j.error.code}: {reasonText(j.error.code)}</span>}</> },
  {
    label: 'Steps (outcome, time)',
    cell: (j) => <ul className="steps small">{j.steps.map((s) => (
      <li key={s.name}><span><strong>{stepText(s.name)}</strong>: {s.status}{s.resultCode ? ` (${s.resultCode})` : ''}<span className="nowrap">{durationOf(s)}</span></span></li>
    ))}</ul>,
  },
];

function durationOf(s: { startedAt: string | null; finishedAt: string | null }): string {
  if (!s.startedAt || !s.finishedAt) return '';
  const ms = Date.parse(s.finishedAt) - Date.parse(s.startedAt);
  return `, ${ms < 1000 ? `${ms} ms` : `${(ms / 1000).toFixed(1)} s`}`;
}

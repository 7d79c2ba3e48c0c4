/** The overview (a small chart of the last 24 hours), webhook endpoints with their delivery log, and institutions with health. */
import { useEffect, useState } from 'react';
import type { Institution, Page } from '../shared/api';
import { formatDate, plainStatus, reasonText } from '../shared/status';
import { ErrorBox, Logo, Notice, Spinner, useAction } from '../shared/ui';
import type { SectionProps } from './nav';

interface Overview {
  since: string; until: string; connectionsByStatus: Record<string, number>;
  jobsPerHour: { hour: string; succeeded: number; failed: number; total: number }[];
  failuresByReason: { reason: string; count: number }[];
}

export function Overview({ api, setNav }: SectionProps) {
  const [data, setData] = useState<Overview | null>(null);
  const load = useAction();
  useEffect(() => { void load.run(async () => setData(await api.get<Overview>('/overview'))); }, []);
  if (!data) return load.error ? <ErrorBox error={load.error} /> : <Spinner label="Loading the overview…" />;
  const statuses = Object.entries(data.connectionsByStatus).sort((a, b) => b[1] - a[1]);
  const total = statuses.reduce((n, [, c]) => n + c, 0);
  // Every hour of the window, the quiet ones too, so the bars read as a timeline.
  const byHour = new Map(data.jobsPerHour.map((h) => [h.hour, h]));
  const firstHour = Math.floor(Date.parse(data.since) / 3_600_000) + 1;
  const hours = Array.from({ length: 24 }, (_, i) => {
    const hour = new Date((firstHour + i) * 3_600_000).toISOString().replace('.000Z', 'Z');
    return byHour.get(hour) ?? { hour, succeeded: 0, failed: 0, total: 0 };
  });
  const maxHour = Math.max(1, ...hours.map((h) => h.total));
  return (
    <div className="stack">
      <section className="card" aria-labelledby="by-status">
        <h2 id="by-status">Connections by status ({total})</h2>
        {total === 0 ? <p className="muted">No connections yet.</p> : (
          <ul className="list">
            {statuses.map(([s, n]) => (
              <li key={s}>
                <button type="button" className="link" onClick={() => setNav({ tab: 'Connections' })}>{plainStatus(s, null).title}</button> <code>{s}</code>: {n}
                <div aria-hidden="true" style={{ height: 8, background: 'var(--accent)', width: `${(100 * n) / total}%`, borderRadius: 4 }} />
              </li>
            ))}
          </ul>
        )}
      </section>
      <section className="card" aria-labelledby="per-hour">
        <h2 id="per-hour">Jobs per hour, last 24 hours</h2>
        {data.jobsPerHour.length === 0 ? <p className="muted">No jobs in the last 24 hours.</p> : (
          <>
            <div className="bars" role="img" aria-label={data.jobsPerHour.map((h) => `${h.hour}: ${h.succeeded} succeeded, ${h.failed} failed`).join('; ')}>
              {hours.map((h) => (
                <div key={h.hour} style={{ display: 'flex', flexDirection: 'column', justifyContent: 'flex-end', flex: 1, height: '100%' }} title={`${h.hour}: ${h.total} jobs, ${h.failed} failed`}>
                  <div className="bar failed" style={{ flex: 'none', height: `${(100 * h.failed) / maxHour}%` }} />
                  <div className="bar" style={{ flex: 'none', height: `${(100 * (h.total - h.failed)) / maxHour}%` }} />
                </div>
              ))}
            </div>
            <p className="small muted">{formatDate(data.since)} – {formatDate(data.until)}; red: failed</p>
          </>
        )}
      </section>
      <section className="card" aria-labelledby="failures">
        <h2 id="failures">Failures by reason, last 24 hours</h2>
        {data.failuresByReason.length === 0 ? <p className="muted">No failed jobs.</p> : (
          <table aria-label="Failures by reason">
            <thead><tr><th scope="col">Reason</th><th scope="col">Jobs</th></tr></thead>
            <tbody>{data.failuresByReason.map((f) => <tr key={f.reason}><td><code>{f.reason}</code> <span className="muted small">{reasonText(f.reason)}</span></td><td>{f.count}</td></tr>)}</tbody>
          </table>
        )}
      </section>
    </div>
  );
}

interface Endpoint { id: string; url: string; enabled: boolean; disabledReason: string | null; eventTypes: string[]; secret?: string }
interface Delivery { id: string; eventId: string; eventType: string | null; status: string; trigger: string; attemptCount: number; lastStatusCode: number | null; createdAt: string; nextAttemptAt: string | null }

export function Webhooks({ api }: SectionProps) {
  const [endpoints, setEndpoints] = useState<Endpoint[] | null>(null);
  const [selected, setSelected] = useState<Endpoint | null>(null);
  const [deliveries, setDeliveries] = useState<Delivery[] | null>(null);
  const [url, setUrl] = useState('');
  const [secret, setSecret] = useState<string | null>(null);
  const [from, setFrom] = useState(() => new Date(Date.now() - 3_600_000).toISOString().slice(0, 16));
  const [to, setTo] = useState(() => new Date().toISOString().slice(0, 16));
  const [said, setSaid] = useState<string | null>(null);
  const act = useAction();
  const loadEndpoints = () => act.run(async () => setEndpoints((await api.get<Page<Endpoint>>('/webhook-endpoints?limit=100')).data));
  const loadDeliveries = (e: Endpoint) => act.run(async () => setDeliveries((await api.get<Page<Delivery>>(`/webhook-endpoints/${e.id}/deliveries?limit=50`)).data));
  useEffect(() => { void loadEndpoints(); }, []);
  useEffect(() => { if (selected) void loadDeliveries(selected); }, [selected?.id]);
  const create = (e: React.FormEvent) => {
    e.preventDefault();
    void act.run(async () => {
      const ep = await api.post<Endpoint>('/webhook-endpoints', { url });
      setSecret(ep.secret ?? null);
      setUrl('');
      await loadEndpoints();
    });
  };
  const resend = (d: Delivery) => act.run(async () => { await api.post(`/webhook-deliveries/${d.id}/resend`); setSaid(`Sent ${d.eventId} again.`); await loadDeliveries(selected!); });
  const replay = (e: React.FormEvent) => {
    e.preventDefault();
    void act.run(async () => {
      const r = await api.post<{ deliveries: number }>(`/webhook-endpoints/${selected!.id}/replay`, { from: new Date(from).toISOString(), to: new Date(to).toISOString() });
      setSaid(`Replaying ${r.deliveries} events.`);
      await loadDeliveries(selected!);
    });
  };
  return (
    <div className="stack">
      <details className="card">
        <summary>Add an endpoint</summary>
        <form onSubmit={create}>
          <label htmlFor="wh-url">URL</label>
          <input id="wh-url" type="text" inputMode="url" placeholder="https://example.com/webhooks/causeway" value={url} onChange={(e) => setUrl(e.target.value)} required />
          <button type="submit" className="primary" style={{ marginTop: 10 }} disabled={act.busy}>Add endpoint</button>
        </form>
      </details>
      {secret && <Notice tone="warn">Signing secret (shown only now): <code>{secret}</code></Notice>}
      {said && <Notice tone="ok">{said}</Notice>}
      <ErrorBox error={act.error} />
      {!endpoints && <Spinner label="Loading endpoints…" />}
      {endpoints && endpoints.length === 0 && <p className="muted">No webhook endpoints yet.</p>}
      {endpoints && endpoints.length > 0 && (
        <ul className="list" aria-label="Webhook endpoints">
          {endpoints.map((e) => (
            <li key={e.id}>
              <button type="button" className="choice" aria-pressed={selected?.id === e.id} onClick={() => setSelected(e)}>
                <span><strong>{e.url}</strong><br /><span className="small muted">{e.enabled ? 'enabled' : `disabled (${e.disabledReason})`} · {e.eventTypes.length ? e.eventTypes.join(', ') : 'all events'}</span></span>
              </button>
            </li>
          ))}
        </ul>
      )}
      {selected && (
        <section className="card" aria-labelledby="log-title">
          <h2 id="log-title">Delivery log: {selected.url}</h2>
          <form className="row gap" onSubmit={replay} aria-label="Replay a time range">
            <div><label htmlFor="rp-from">From</label><input id="rp-from" type="datetime-local" value={from} onChange={(e) => setFrom(e.target.value)} /></div>
            <div><label htmlFor="rp-to">To</label><input id="rp-to" type="datetime-local" value={to} onChange={(e) => setTo(e.target.value)} /></div>
            <button type="submit" style={{ alignSelf: 'flex-end' }} disabled={act.busy}>Replay</button>
          </form>
          {!deliveries ? <Spinner label="Loading deliveries…" /> : deliveries.length === 0 ? <p className="muted">No deliveries yet.</p> : (
            <div className="table-wrap"><table aria-label="Deliveries">
              <thead><tr><th scope="col">Event</th><th scope="col">Status</th><th scope="col">Attempts</th><th scope="col"><span className="sr-only">Actions</span></th></tr></thead>
              <tbody>{deliveries.map((d) => (
                <tr key={d.id}>
                  <td>{d.eventType}<br /><span className="small muted">{d.eventId} · {formatDate(d.createdAt)} · {d.trigger}</span></td>
                  <td>{d.status}{d.lastStatusCode !== null ? ` (HTTP ${d.lastStatusCode})` : ''}{d.nextAttemptAt && <><br /><span className="small muted">next {formatDate(d.nextAttemptAt)}</span></>}</td>
                  <td>{d.attemptCount}</td>
                  <td><button type="button" onClick={() => void resend(d)} disabled={act.busy}>Resend</button></td>
                </tr>
              ))}</tbody>
            </table></div>
          )}
        </section>
      )}
    </div>
  );
}

interface InstitutionRow extends Institution {
  limits: { refreshesPerDay: number; maxConcurrentRefreshes: number; refreshesPerMinute: number; refreshIntervalHours: number };
  throttle: { runningRefreshes: number; slowedUntil: string | null };
}

export function Institutions({ api }: SectionProps) {
  const [rows, setRows] = useState<InstitutionRow[] | null>(null);
  const load = useAction();
  useEffect(() => { void load.run(async () => setRows((await api.get<{ data: InstitutionRow[] }>('/institutions')).data)); }, []);
  if (!rows) return load.error ? <ErrorBox error={load.error} /> : <Spinner label="Loading institutions…" />;
  return (
    <div className="table-wrap">
      <table aria-label="Institutions">
        <thead><tr><th scope="col">Institution</th><th scope="col">Health</th><th scope="col">Methods</th><th scope="col">Limits</th></tr></thead>
        <tbody>{rows.map((i) => (
          <tr key={i.id}>
            <td className="row gap"><Logo name={i.name} /><span>{i.name}<br /><code className="small">{i.id}</code></span></td>
            <td><span className={`badge badge-${i.health.status === 'operational' ? 'ok' : i.health.status === 'degraded' ? 'warn' : 'bad'}`}>{i.health.status}</span>
              {i.health.since && <><br /><span className="small muted">since {formatDate(i.health.since)}</span></>}
              {i.throttle.slowedUntil && <><br /><span className="small">rate-limited until {formatDate(i.throttle.slowedUntil)}</span></>}</td>
            <td>{i.methods.join(', ')}{i.mfa ? ' (always MFA)' : ''}</td>
            <td className="small">{i.limits.refreshesPerDay}/day · every {i.limits.refreshIntervalHours} h · {i.limits.maxConcurrentRefreshes} at once · {i.limits.refreshesPerMinute}/min · {i.throttle.runningRefreshes} running</td>
          </tr>
        ))}</tbody>
      </table>
    </div>
  );
}

/**
 * Webhook endpoints and each one's delivery log: filtered by outcome and event type, a page at a
 * time, each delivery opening onto its attempts and the event it carried (the JSON body sent,
 * as the API gives it: masked where the API masks), with resend and replay.
 */
import { useEffect, useState } from 'react';
import { EVENT_TYPES } from '../../domain/webhooks';
import type { Page } from '../shared/api';
import { formatDate } from '../shared/status';
import { ErrorBox, Notice, Spinner, useAction } from '../shared/ui';
import type { SectionProps } from './nav';
import { DataTable, Pager, Stamp, useCursorPages, type Column } from './table';

interface Endpoint { id: string; url: string; enabled: boolean; disabledReason: string | null; eventTypes: string[]; secret?: string }
interface Attempt { id: string; attemptedAt: string; statusCode: number | null; durationMs: number | null; error: string | null; responseBody: string | null }
interface Delivery {
  id: string; eventId: string; eventType: string | null; status: string; trigger: string; attemptCount: number;
  lastStatusCode: number | null; createdAt: string; nextAttemptAt: string | null; attempts: Attempt[];
}

const PAGE_SIZE = 20;
const OUTCOMES = ['succeeded', 'failed', 'pending'] as const;
const OUTCOME_TONE: Record<string, string> = { succeeded: 'ok', failed: 'bad', pending: 'busy' };

export function Webhooks({ api }: SectionProps) {
  const [endpoints, setEndpoints] = useState<Endpoint[] | null>(null);
  const [selected, setSelected] = useState<Endpoint | null>(null);
  const [url, setUrl] = useState('');
  const [secret, setSecret] = useState<string | null>(null);
  const [said, setSaid] = useState<string | null>(null);
  const act = useAction();
  const loadEndpoints = () => act.run(async () => setEndpoints((await api.get<Page<Endpoint>>('/webhook-endpoints?limit=100')).data));
  useEffect(() => { void loadEndpoints(); }, []);
  const create = (e: React.FormEvent) => {
    e.preventDefault();
    void act.run(async () => {
      const ep = await api.post<Endpoint>('/webhook-endpoints', { url });
      setSecret(ep.secret ?? null);
      setUrl('');
      await loadEndpoints();
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
        <ul className="list endpoints" aria-label="Webhook endpoints">
          {endpoints.map((e) => (
            <li key={e.id}>
              <button type="button" className="choice" aria-pressed={selected?.id === e.id} onClick={() => setSelected(e)}>
                <span><strong>{e.url}</strong><br /><span className="small muted">{e.enabled ? 'enabled' : `disabled (${e.disabledReason})`} · {e.eventTypes.length ? e.eventTypes.join(', ') : 'all events'}</span></span>
              </button>
            </li>
          ))}
        </ul>
      )}
      {selected && <DeliveryLog key={selected.id} api={api} endpoint={selected} onSaid={setSaid} />}
    </div>
  );
}

function DeliveryLog({ api, endpoint, onSaid }: { api: SectionProps['api']; endpoint: Endpoint; onSaid: (s: string) => void }) {
  const [status, setStatus] = useState('');
  const [eventType, setEventType] = useState('');
  const [page, setPage] = useState<Page<Delivery> | null>(null);
  const [open, setOpen] = useState<string | null>(null);
  const [from, setFrom] = useState(() => new Date(Date.now() - 3_600_000).toISOString().slice(0, 16));
  const [to, setTo] = useState(() => new Date().toISOString().slice(0, 16));
  const pages = useCursorPages();
  const act = useAction();
  const load = () => act.run(async () => {
    const q = new URLSearchParams({
      limit: String(PAGE_SIZE), ...(pages.cursor ? { cursor: pages.cursor } : {}), ...(status ? { status } : {}), ...(eventType ? { eventType } : {}),
    });
    setPage(await api.get<Page<Delivery>>(`/webhook-endpoints/${endpoint.id}/deliveries?${q}`));
  });
  useEffect(() => { void load(); }, [status, eventType, pages.cursor]);
  const resend = (d: Delivery) => act.run(async () => { await api.post(`/webhook-deliveries/${d.id}/resend`); onSaid(`Sent ${d.eventId} again.`); await load(); });
  const replay = (e: React.FormEvent) => {
    e.preventDefault();
    void act.run(async () => {
      const r = await api.post<{ deliveries: number }>(`/webhook-endpoints/${endpoint.id}/replay`, { from: new Date(from).toISOString(), to: new Date(to).toISOString() });
      onSaid(`Replaying ${r.deliveries} events.`);
      await load();
    });
  };
  const types = endpoint.eventTypes.length ? endpoint.eventTypes : EVENT_TYPES;
  const columns: Column<Delivery>[] = [
    { label: 'Event', cell: (d) => <><span className="nowrap">{d.eventType ?? 'unknown'}</span><code className="sub">{d.eventId}</code></> },
    {
      label: 'Outcome', className: 'half',
      cell: (d) => <>
        <span className={`badge badge-${OUTCOME_TONE[d.status] ?? 'off'}`}>{d.status}</span>
        {d.lastStatusCode !== null && <span className="sub nowrap">HTTP {d.lastStatusCode}</span>}
        {d.nextAttemptAt && <span className="sub">next <span className="nowrap">{formatDate(d.nextAttemptAt)}</span></span>}
      </>,
    },
    { label: 'Attempts', className: 'num half', cell: (d) => d.attemptCount },
    { label: 'Created', className: 'half', cell: (d) => <><Stamp iso={d.createdAt} /><span className="sub">{d.trigger}</span></> },
    {
      label: 'Actions', hideLabel: true, className: 'actions',
      cell: (d) => <>
        <button type="button" aria-expanded={open === d.id} aria-controls={`payload-${d.id}`} onClick={() => setOpen(open === d.id ? null : d.id)}>
          {open === d.id ? 'Hide payload' : 'Payload'}
        </button>
        <button type="button" onClick={() => void resend(d)} disabled={act.busy}>Resend</button>
      </>,
    },
  ];
  return (
    <section className="card" aria-labelledby="log-title">
      <h2 id="log-title">Delivery log <span className="url muted small">{endpoint.url}</span></h2>
      <form className="filters" onSubmit={replay} aria-label="Replay a time range">
        <div className="wide"><label htmlFor="rp-from">From</label><input id="rp-from" type="datetime-local" value={from} onChange={(e) => setFrom(e.target.value)} /></div>
        <div className="wide"><label htmlFor="rp-to">To</label><input id="rp-to" type="datetime-local" value={to} onChange={(e) => setTo(e.target.value)} /></div>
        <button type="submit" disabled={act.busy}>Replay</button>
      </form>
      <form className="filters" aria-label="Filter deliveries" onSubmit={(e) => e.preventDefault()} style={{ marginTop: 12 }}>
        <div>
          <label htmlFor="dl-status">Outcome</label>
          <select id="dl-status" value={status} onChange={(e) => { pages.reset(); setOpen(null); setStatus(e.target.value); }}>
            <option value="">Any</option>
            {OUTCOMES.map((o) => <option key={o} value={o}>{o}</option>)}
          </select>
        </div>
        <div>
          <label htmlFor="dl-type">Event type</label>
          <select id="dl-type" value={eventType} onChange={(e) => { pages.reset(); setOpen(null); setEventType(e.target.value); }}>
            <option value="">Any</option>
            {types.map((t) => <option key={t} value={t}>{t}</option>)}
          </select>
        </div>
      </form>
      <ErrorBox error={act.error} onRetry={() => void load()} />
      {!page ? <Spinner label="Loading deliveries…" /> : page.data.length === 0 ? <p className="muted">{status || eventType ? 'No deliveries match.' : 'No deliveries yet.'}</p> : (
        <DataTable label="Deliveries" columns={columns} rows={page.data} rowKey={(d) => d.id} open={open}
          detail={(d) => <DeliveryDetail api={api} delivery={d} />} />
      )}
      <Pager label="Delivery pages" page={pages.page} nextCursor={page?.nextCursor ?? null} busy={act.busy} onPrevious={pages.previous} onNext={pages.next} />
    </section>
  );
}

/** A delivery's attempts and the event it carries, fetched when opened. */
function DeliveryDetail({ api, delivery }: { api: SectionProps['api']; delivery: Delivery }) {
  const [body, setBody] = useState<unknown>(null);
  const load = useAction();
  useEffect(() => { void load.run(async () => setBody(await api.get(`/events/${delivery.eventId}`))); }, [delivery.eventId]);
  return (
    <div id={`payload-${delivery.id}`} className="stack">
      <h3>Attempts</h3>
      {delivery.attempts.length === 0 ? <p className="small muted">Not attempted yet.</p> : (
        <ol className="attempts" aria-label="Attempts">
          {delivery.attempts.map((a) => (
            <li key={a.id}>
              <span className="nowrap">{formatDate(a.attemptedAt)}</span> · <strong className="nowrap">{a.statusCode !== null ? `HTTP ${a.statusCode}` : 'no answer'}</strong>
              {a.durationMs !== null && <span className="nowrap"> · {a.durationMs} ms</span>}
              {a.error && <span className="muted"> · {a.error}</span>}
            </li>
          ))}
        </ol>
      )}
      <h3>Payload</h3>
      <ErrorBox error={load.error} />
      {body === null ? (load.busy && <Spinner label="Loading the payload…" />) : (
        <pre className="payload" tabIndex={0} aria-label={`Payload of ${delivery.eventId}`}>{JSON.stringify(body, null, 2)}</pre>
      )}
    </div>
  );
}

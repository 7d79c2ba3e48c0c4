/** The overview: connections by status, jobs per hour and failed jobs by reason over the last 24 hours, as charts with their figures in words. */
import { lazy, Suspense, useEffect, useState } from 'react';
import { formatDate, plainStatus, reasonText } from '../shared/status';
import { ErrorBox, Spinner, useAction } from '../shared/ui';
import { reasonColour, statusColour } from './colours';
import type { SectionProps } from './nav';

// recharts is loaded with the overview only, in a chunk of its own.
const charts = () => import('./charts');
const CategoryBars = lazy(() => charts().then((m) => ({ default: m.CategoryBars })));
const JobsPerHour = lazy(() => charts().then((m) => ({ default: m.JobsPerHour })));

interface OverviewData {
  since: string; until: string; connectionsByStatus: Record<string, number>;
  jobsPerHour: { hour: string; succeeded: number; failed: number; total: number }[];
  failuresByReason: { reason: string; count: number }[];
}

const Swatch = ({ colour }: { colour: string }) => <span className="swatch" style={{ background: colour }} aria-hidden="true" />;

export function Overview({ api, setNav }: SectionProps) {
  const [data, setData] = useState<OverviewData | null>(null);
  const load = useAction();
  useEffect(() => { void load.run(async () => setData(await api.get<OverviewData>('/overview'))); }, []);
  if (!data) return load.error ? <ErrorBox error={load.error} /> : <Spinner label="Loading the overview…" />;
  const statuses = Object.entries(data.connectionsByStatus).sort((a, b) => b[1] - a[1]);
  const total = statuses.reduce((n, [, c]) => n + c, 0);
  // Every hour of the window, the quiet ones too, so the bars read as a timeline.
  const byHour = new Map(data.jobsPerHour.map((h) => [h.hour, h]));
  const firstHour = Math.floor(Date.parse(data.since) / 3_600_000) + 1;
  const hours = Array.from({ length: 24 }, (_, i) => {
    const at = new Date((firstHour + i) * 3_600_000);
    const hour = at.toISOString().replace('.000Z', 'Z');
    const h = byHour.get(hour);
    const label = at.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' });
    return { hour, label, title: `${at.toLocaleDateString(undefined, { month: 'short', day: 'numeric' })}, ${label}`, succeeded: h?.succeeded ?? 0, failed: h?.failed ?? 0 };
  });
  const jobs = hours.reduce((n, h) => n + h.succeeded + h.failed, 0);
  const failed = data.failuresByReason.reduce((n, f) => n + f.count, 0);
  const zone = Intl.DateTimeFormat().resolvedOptions().timeZone || 'local time';
  const loadingChart = <Spinner label="Drawing the chart…" />;
  return (
    <div className="stack">
      <div className="charts">
        <section className="card" aria-labelledby="by-status">
          <h2 id="by-status">Connections by status ({total})</h2>
          {total === 0 ? <p className="muted">No connections yet.</p> : (
            <>
              <Suspense fallback={loadingChart}>
                <CategoryBars title="Connections by status" unit="Connections" data={statuses.map(([s, n]) => ({ key: s, label: s, value: n, colour: statusColour(s) }))} />
              </Suspense>
              <ul className="legend" aria-label="Statuses">
                {statuses.map(([s, n]) => (
                  <li key={s}>
                    <Swatch colour={statusColour(s)} />
                    <button type="button" className="link" onClick={() => setNav({ tab: 'Connections', status: s })}>{plainStatus(s, null).title}</button>
                    <span className="muted">{s}: <span className="num">{n}</span></span>
                  </li>
                ))}
              </ul>
            </>
          )}
        </section>
        <section className="card" aria-labelledby="failures">
          <h2 id="failures">Failed jobs by reason ({failed})</h2>
          {data.failuresByReason.length === 0 ? <p className="muted">No failed jobs in the last 24 hours.</p> : (
            <>
              <Suspense fallback={loadingChart}>
                <CategoryBars title="Failed jobs by reason" unit="Failed jobs" data={data.failuresByReason.map((f, i) => ({ key: f.reason, label: f.reason, value: f.count, colour: reasonColour(i) }))} />
              </Suspense>
              <ul className="legend legend-rows" aria-label="Failure reasons">
                {data.failuresByReason.map((f, i) => (
                  <li key={f.reason}>
                    <Swatch colour={reasonColour(i)} />
                    <span><code>{f.reason}</code> <span className="num">{f.count}</span>{' '}<span className="muted">{reasonText(f.reason)}</span></span>
                  </li>
                ))}
              </ul>
            </>
          )}
        </section>
      </div>
      <section className="card" aria-labelledby="per-hour">
        <h2 id="per-hour">Jobs per hour, last 24 hours ({jobs})</h2>
        {jobs === 0 ? <p className="muted">No jobs in the last 24 hours.</p> : (
          <Suspense fallback={loadingChart}>
            <JobsPerHour data={hours} zone={zone} />
          </Suspense>
        )}
        <p className="small muted">{formatDate(data.since)} – {formatDate(data.until)}</p>
      </section>
    </div>
  );
}

/** Institutions with their health, methods and limits. */
import { useEffect, useState } from 'react';
import type { Institution } from '../shared/api';
import { formatDate } from '../shared/status';
import { ErrorBox, Logo, Spinner, useAction } from '../shared/ui';
import type { SectionProps } from './nav';
import { DataTable, type Column } from './table';

interface InstitutionRow extends Institution {
  limits: { refreshesPerDay: number; maxConcurrentRefreshes: number; refreshesPerMinute: number; refreshIntervalHours: number };
  throttle: { runningRefreshes: number; slowedUntil: string | null };
}

const HEALTH_TONE = { operational: 'ok', degraded: 'warn', outage: 'bad' } as const;

const COLUMNS: Column<InstitutionRow>[] = [
  {
    label: 'Institution',
    cell: (i) => <div className="cell-row"><Logo name={i.name} logo={i.logo} color={i.primaryColor} /><span>{i.name}<code className="sub">{i.id}</code></span></div>,
  },
  {
    label: 'Health',
    cell: (i) => <>
      <span className={`badge badge-${HEALTH_TONE[i.health.status] ?? 'bad'}`}>{i.health.status}</span>
      {i.health.since && <span className="sub">since <span className="nowrap">{formatDate(i.health.since)}</span></span>}
      {i.throttle.slowedUntil && <span className="sub">rate-limited until <span className="nowrap">{formatDate(i.throttle.slowedUntil)}</span></span>}
    </>,
  },
  { label: 'Methods', cell: (i) => <>{i.methods.join(', ')}{i.mfa && <span className="sub">always MFA</span>}</> },
  {
    label: 'Limits',
    cell: (i) => <span className="small">
      <span className="nowrap">{i.limits.refreshesPerDay}/day</span> · <span className="nowrap">every {i.limits.refreshIntervalHours} h</span> ·{' '}
      <span className="nowrap">{i.limits.maxConcurrentRefreshes} at once</span> · <span className="nowrap">{i.limits.refreshesPerMinute}/min</span> ·{' '}
      <span className="nowrap">{i.throttle.runningRefreshes} running</span>
    </span>,
  },
];

export function Institutions({ api }: SectionProps) {
  const [rows, setRows] = useState<InstitutionRow[] | null>(null);
  const load = useAction();
  useEffect(() => { void load.run(async () => setRows((await api.get<{ data: InstitutionRow[] }>('/institutions')).data)); }, []);
  if (!rows) return load.error ? <ErrorBox error={load.error} /> : <Spinner label="Loading institutions…" />;
  return <DataTable label="Institutions" columns={COLUMNS} rows={rows} rowKey={(i) => i.id} />;
}

/**
 * The dashboard's tables: a real <table> on wide screens, each row a card on narrow ones (each
 * cell then shows its column's name above its value, so nothing is squeezed into a narrow column
 * and split mid-word). Rows may open a detail row beneath them (a delivery's payload). And the
 * cursor pager the lists share: previous and next pages, the cursors kept as the user goes on.
 */
import { Fragment, useState, type ReactNode } from 'react';
import { formatDate } from '../shared/status';

export interface Column<T> {
  /** The column's name; also the label of the cell on narrow screens. */
  label: string;
  /** Said to screen readers only (an actions column). */
  hideLabel?: boolean;
  cell: (row: T) => ReactNode;
  /** `num` (right-aligned figures), `nowrap`, `actions`; `half`: half a card's width on narrow screens. */
  className?: string;
}

export function DataTable<T>(props: {
  label: string; columns: Column<T>[]; rows: T[]; rowKey: (row: T) => string;
  /** A row's detail, shown beneath it when open. */
  detail?: (row: T) => ReactNode; open?: string | null;
}) {
  const { columns, rows, rowKey, detail, open } = props;
  return (
    <div className="table-wrap">
      <table className="dtable" aria-label={props.label}>
        <thead>
          <tr>{columns.map((c) => <th key={c.label} scope="col" className={c.className}>{c.hideLabel ? <span className="sr-only">{c.label}</span> : c.label}</th>)}</tr>
        </thead>
        <tbody>
          {rows.map((r) => {
            const key = rowKey(r);
            return (
              <Fragment key={key}>
                <tr>
                  {columns.map((c) => <td key={c.label} data-label={c.hideLabel ? undefined : c.label} className={c.className}>{c.cell(r)}</td>)}
                </tr>
                {detail && open === key && <tr className="detail-row"><td colSpan={columns.length}>{detail(r)}</td></tr>}
              </Fragment>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}

/** Cursor paging: the cursor of each page seen so far, so "Previous" goes back without the API paging backwards. */
export function useCursorPages() {
  const [cursors, setCursors] = useState<(string | null)[]>([null]);
  const index = cursors.length - 1;
  return {
    cursor: cursors[index] ?? null,
    page: index + 1,
    next: (nextCursor: string) => setCursors((c) => [...c, nextCursor]),
    previous: () => setCursors((c) => (c.length > 1 ? c.slice(0, -1) : c)),
    reset: () => setCursors([null]),
  };
}

export function Pager(props: { label: string; page: number; nextCursor: string | null; busy: boolean; onPrevious: () => void; onNext: (cursor: string) => void }) {
  if (props.page === 1 && !props.nextCursor) return null;
  return (
    <nav className="pager" aria-label={props.label}>
      <button type="button" onClick={props.onPrevious} disabled={props.busy || props.page === 1}>← Previous</button>
      <span className="muted small nowrap">Page {props.page}</span>
      <button type="button" onClick={() => props.nextCursor && props.onNext(props.nextCursor)} disabled={props.busy || !props.nextCursor}>Next →</button>
    </nav>
  );
}

/** A date and time, each kept whole, the time beneath the date when the column is narrow. */
export function Stamp({ iso }: { iso: string | null }) {
  if (!iso) return <>—</>;
  const d = new Date(iso);
  return (
    <time className="stamp" dateTime={iso} title={formatDate(iso)}>
      <span>{formatDate(iso, false)}</span> <span>{d.toLocaleTimeString(undefined, { hour: '2-digit', minute: '2-digit' })}</span>
    </time>
  );
}

/** Choosing the bank: searched on the server, a page at a time, with logos. */
import { useEffect, useRef, useState } from 'react';
import type { Institution, InstitutionPage } from '../shared/api';
import { providerName } from '../shared/status';
import { ErrorBox, Logo, Spinner } from '../shared/ui';
import { shareThen, type BodyProps, type Screen } from './screens';

const PAGE_SIZE = 20;
const SEARCH_DELAY_MS = 250;

const methodWords = (i: Institution) => i.methods.map((m) => (m === 'web' ? 'Sign in' : m === 'openbanking' ? 'Open banking' : `Through ${providerName(i.provider)}`)).join(' or ');

/** What a bank leads to when chosen: the consent pane for the one way it has, or the choice of ways. */
function chosen(i: Institution): Screen {
  return i.methods.length === 1 ? shareThen(i, i.methods[0]!, { kind: 'pick' }) : { kind: 'method', institution: i };
}

interface Results { query: string; items: Institution[]; nextCursor: string | null }

/**
 * The banks, searched by name on the server as the person types (after a short pause), a page at a
 * time with "Show more banks". What is already shown narrows at once while the server answers.
 */
export function PickInstitution({ api, setScreen }: BodyProps) {
  const [query, setQuery] = useState('');
  const [results, setResults] = useState<Results | null>(null);
  const [searching, setSearching] = useState(false);
  const [loadingMore, setLoadingMore] = useState(false);
  const [error, setError] = useState<unknown>(null);
  /** The latest search: answers to older ones are dropped. */
  const seq = useRef(0);
  /** After "Show more banks": the first new bank, to move focus to. */
  const focusNext = useRef<string | null>(null);
  const listRef = useRef<HTMLUListElement>(null);

  const page = (search: string, cursor: string | null) => api.get<InstitutionPage>(`/institutions?${new URLSearchParams({
    limit: String(PAGE_SIZE), ...(search ? { search } : {}), ...(cursor ? { cursor } : {}),
  })}`);

  const search = (q: string) => {
    const mine = ++seq.current;
    setSearching(true);
    page(q, null).then((p) => {
      if (seq.current !== mine) return;
      setResults({ query: q, items: p.data, nextCursor: p.hasMore ? p.nextCursor : null });
      setError(null);
    }, (err) => { if (seq.current === mine) setError(err); })
      .finally(() => { if (seq.current === mine) setSearching(false); });
  };

  useEffect(() => {
    const q = query.trim();
    if (results === null) { search(q); return; } // the first page at once
    if (q === results.query && !searching) return;
    const timer = setTimeout(() => search(q), SEARCH_DELAY_MS);
    return () => clearTimeout(timer);
  }, [query]);

  useEffect(() => {
    if (!focusNext.current) return;
    const id = focusNext.current;
    focusNext.current = null;
    listRef.current?.querySelector<HTMLButtonElement>(`button[data-institution="${CSS.escape(id)}"]`)?.focus();
  }, [results]);

  const more = () => {
    if (!results?.nextCursor) return;
    const mine = seq.current;
    setLoadingMore(true);
    page(results.query, results.nextCursor).then((p) => {
      if (seq.current !== mine) return;
      focusNext.current = p.data[0]?.id ?? null;
      setResults({ query: results.query, items: [...results.items, ...p.data.filter((i) => !results.items.some((x) => x.id === i.id))], nextCursor: p.hasMore ? p.nextCursor : null });
    }, setError).finally(() => setLoadingMore(false));
  };

  if (!results) {
    return error ? <ErrorBox error={error} onRetry={() => search(query.trim())} /> : <Spinner label="Loading banks…" />;
  }
  const q = query.trim();
  const current = results.query === q;
  // While the server answers a new search, what is shown narrows to the names that still match.
  const shown = current ? results.items : results.items.filter((i) => i.name.toLowerCase().includes(q.toLowerCase()));
  return (
    <section aria-labelledby="pick-title">
      <h2 id="pick-title">Choose your bank</h2>
      <label htmlFor="search">Search</label>
      <input id="search" type="search" value={query} onChange={(e) => setQuery(e.target.value)} placeholder="Bank name" autoComplete="off"
        aria-describedby="search-count" autoFocus />
      <p id="search-count" className="sr-only" role="status">
        {searching ? '' : `${shown.length}${results.nextCursor ? ' or more' : ''} banks shown`}
      </p>
      <ul ref={listRef} className="list" aria-label="Banks" aria-busy={searching} style={{ marginTop: 12 }}>
        {shown.map((i) => (
          <li key={i.id}>
            <button type="button" className="choice" data-institution={i.id} onClick={() => setScreen(chosen(i))}>
              <Logo name={i.name} logo={i.logo} color={i.primaryColor} />
              <span>
                <strong>{i.name}</strong><br />
                <span className="muted small">
                  {methodWords(i)}
                  {i.health.status !== 'operational' && <> · <span className="badge badge-warn">{i.health.status === 'outage' ? 'Not available right now' : 'Slow right now'}</span></>}
                </span>
              </span>
            </button>
          </li>
        ))}
      </ul>
      {searching && <p><Spinner label="Searching…" /></p>}
      {!searching && current && shown.length === 0 && <p className="muted">No bank matches “{q}”.</p>}
      {current && results.nextCursor && (
        <button type="button" className="more" onClick={more} disabled={loadingMore}>{loadingMore ? 'Loading more banks…' : 'Show more banks'}</button>
      )}
      <ErrorBox error={error} onRetry={() => search(q)} />
    </section>
  );
}

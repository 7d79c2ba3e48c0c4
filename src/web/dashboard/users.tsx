/** Users: search, create, delete (with confirmation), and a way into each one's connections. */
import { useEffect, useState } from 'react';
import type { Page } from '../shared/api';
import { ConfirmDialog, ErrorBox, Notice, Spinner, useAction } from '../shared/ui';
import type { SectionProps } from './nav';
import { DataTable, Pager, Stamp, useCursorPages, type Column } from './table';

interface User { id: string; externalId: string | null; email: string | null; name: string | null; createdAt: string }

export function Users({ api, setNav }: SectionProps) {
  const [search, setSearch] = useState('');
  const [page, setPage] = useState<Page<User> | null>(null);
  const [query, setQuery] = useState('');
  const pages = useCursorPages();
  const [externalId, setExternalId] = useState('');
  const [email, setEmail] = useState('');
  const [doomed, setDoomed] = useState<User | null>(null);
  const [said, setSaid] = useState<string | null>(null);
  const list = useAction();
  const act = useAction();
  const load = () => list.run(async () => {
    const q = new URLSearchParams({ limit: '25', ...(query ? { search: query } : {}), ...(pages.cursor ? { cursor: pages.cursor } : {}) });
    setPage(await api.get<Page<User>>(`/users?${q}`));
  });
  useEffect(() => { void load(); }, [query, pages.cursor]);
  const users = page?.data ?? null;
  const columns: Column<User>[] = [
    { label: 'User', cell: (u) => <><span className="user-name">{u.name ?? u.externalId ?? 'No name'}</span>{u.name && u.externalId && <span className="sub">{u.externalId}</span>}<code className="sub">{u.id}</code></> },
    { label: 'Email', cell: (u) => u.email ?? '—' },
    { label: 'Created', cell: (u) => <Stamp iso={u.createdAt} /> },
    {
      label: 'Actions', hideLabel: true, className: 'actions',
      cell: (u) => <>
        <button type="button" onClick={() => setNav({ tab: 'Connections', userId: u.id })}>Connections</button>
        <button type="button" className="danger" onClick={() => setDoomed(u)}>Delete</button>
      </>,
    },
  ];
  const create = (e: React.FormEvent) => {
    e.preventDefault();
    void act.run(async () => {
      const u = await api.post<User>('/users', { ...(externalId ? { externalId } : {}), ...(email ? { email } : {}) });
      setSaid(`Created user ${u.id}.`);
      setExternalId('');
      setEmail('');
      await load();
    });
  };
  const remove = () => act.run(async () => {
    await api.del(`/users/${doomed!.id}`);
    setSaid(`Deleted user ${doomed!.id} with every connection and all their data.`);
    setDoomed(null);
    await load();
  });
  return (
    <div className="stack">
      <form className="row gap" role="search" onSubmit={(e) => { e.preventDefault(); if (search.trim() !== query) setQuery(search.trim()); else if (pages.page === 1) void load(); pages.reset(); }}>
        <label htmlFor="user-search" className="sr-only">Search users</label>
        <input id="user-search" type="search" placeholder="Name, email or id" value={search} onChange={(e) => setSearch(e.target.value)} style={{ flex: 1, minWidth: 200 }} />
        <button type="submit">Search</button>
      </form>
      <details className="card">
        <summary>Create a user</summary>
        <form onSubmit={create}>
          <label htmlFor="new-ext">External id (optional)</label>
          <input id="new-ext" type="text" value={externalId} onChange={(e) => setExternalId(e.target.value)} />
          <label htmlFor="new-email">Email (optional)</label>
          <input id="new-email" type="email" value={email} onChange={(e) => setEmail(e.target.value)} />
          <button type="submit" className="primary" style={{ marginTop: 10 }} disabled={act.busy}>Create user</button>
        </form>
      </details>
      {said && <Notice tone="ok">{said}</Notice>}
      <ErrorBox error={act.error ?? list.error} />
      {list.busy && <Spinner label="Loading users…" />}
      {users && users.length === 0 && <p className="muted">No users match.</p>}
      {users && users.length > 0 && <DataTable label="Users" columns={columns} rows={users} rowKey={(u) => u.id} />}
      <Pager label="User pages" page={pages.page} nextCursor={page?.nextCursor ?? null} busy={list.busy} onPrevious={pages.previous} onNext={pages.next} />
      <ConfirmDialog open={doomed !== null} title="Delete this user?" confirmLabel="Delete user" danger busy={act.busy} onConfirm={() => void remove()} onCancel={() => setDoomed(null)}>
        <p>User <code>{doomed?.id}</code>, every connection they have, and all their accounts and transactions are deleted, and each bank access is revoked. This cannot be undone.</p>
      </ConfirmDialog>
    </div>
  );
}

/** Users: search, create, delete (with confirmation), and a way into each one's connections. */
import { useEffect, useState } from 'react';
import type { Page } from '../shared/api';
import { formatDate } from '../shared/status';
import { ConfirmDialog, ErrorBox, Notice, Spinner, useAction } from '../shared/ui';
import type { SectionProps } from './nav';

interface User { id: string; externalId: string | null; email: string | null; name: string | null; createdAt: string }

export function Users({ api, setNav }: SectionProps) {
  const [search, setSearch] = useState('');
  const [users, setUsers] = useState<User[] | null>(null);
  const [externalId, setExternalId] = useState('');
  const [email, setEmail] = useState('');
  const [doomed, setDoomed] = useState<User | null>(null);
  const [said, setSaid] = useState<string | null>(null);
  const list = useAction();
  const act = useAction();
  const load = (q = search) => list.run(async () => {
    const page = await api.get<Page<User>>(`/users?limit=100${q.trim() ? `&search=${encodeURIComponent(q.trim())}` : ''}`);
    setUsers(page.data);
  });
  useEffect(() => { void load(''); }, []);
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
      <form className="row gap" role="search" onSubmit={(e) => { e.preventDefault(); void load(); }}>
        <label htmlFor="user-search" className="sr-only">Search users</label>
        <input id="user-search" type="search" placeholder="Search by id, external id, email or name" value={search} onChange={(e) => setSearch(e.target.value)} style={{ flex: 1, minWidth: 200 }} />
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
      {users && users.length > 0 && (
        <div className="table-wrap">
          <table aria-label="Users">
            <thead><tr><th scope="col">User</th><th scope="col">Email</th><th scope="col">Created</th><th scope="col"><span className="sr-only">Actions</span></th></tr></thead>
            <tbody>
              {users.map((u) => (
                <tr key={u.id}>
                  <td><code>{u.id}</code>{u.externalId && <><br /><span className="muted small">{u.externalId}</span></>}</td>
                  <td>{u.email ?? '—'}</td>
                  <td>{formatDate(u.createdAt)}</td>
                  <td className="row gap">
                    <button type="button" onClick={() => setNav({ tab: 'Connections', userId: u.id })}>Connections</button>
                    <button type="button" className="danger" onClick={() => setDoomed(u)}>Delete</button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <ConfirmDialog open={doomed !== null} title="Delete this user?" confirmLabel="Delete user" danger busy={act.busy} onConfirm={() => void remove()} onCancel={() => setDoomed(null)}>
        <p>User <code>{doomed?.id}</code>, every connection they have, and all their accounts and transactions are deleted, and each bank access is revoked. This cannot be undone.</p>
      </ConfirmDialog>
    </div>
  );
}

/**
 * Linking away from Causeway (openbanking: the bank's consent page; hosted: the provider's own link
 * page, e.g. Plaid Hosted Link), as the connect widget and the manage page both do it:
 *
 *   click ─► openLinkWindow() (at once, while the click still counts for pop-up blockers)
 *         ─► baseline: the connection's latest job ─► the link (create or repair) ─► sendTo(win, url)
 *         ─► watchLink: a new job (the user finished: follow it) | failed (the user left, or was
 *            refused) | the window closed without either
 *
 * The provider sends the user back to Causeway's /link/return page in that window, which finishes
 * the link; the page that opened it only watches the connection through the API.
 */
import { sleep, type Api, type Connection, type Job, type Page } from './api';

/** A new, empty window for the link (a new one each time: an old one may sit on a used link). */
export function openLinkWindow(): Window | null {
  return window.open('about:blank', `causeway-link-${Date.now()}`, 'width=520,height=720');
}

/** Sends the window opened for the link to it (or, where the browser refused the window, a new tab). */
export function sendTo(win: Window | null, url: string): void {
  if (win && !win.closed) win.location.href = url;
  else window.open(url, '_blank');
}

export async function latestJob(api: Api, userId: string, connectionId: string): Promise<Job | null> {
  return (await api.get<Page<Job>>(`/users/${userId}/connections/${connectionId}/jobs?limit=1`)).data[0] ?? null;
}

export type LinkWatch =
  | { kind: 'job'; job: Job; connection: Connection }
  | { kind: 'failed'; connection: Connection }
  | { kind: 'closed'; connection: Connection };

/**
 * Follows a connection while the user is at the bank or the provider, until the answer shows on it:
 * approval starts a new job (newer than `before`); a refusal, or leaving, fails a first link. A
 * repair the user leaves keeps the connection as it was: only the window closing tells.
 * Null when `stopped` says so first.
 */
export async function watchLink(api: Api, o: {
  userId: string; connection: Connection; before: string | null; win: Window | null; stopped: () => boolean; intervalMs?: number;
}): Promise<LinkWatch | null> {
  const was = `${o.connection.status}/${o.connection.statusReason}`;
  let closedPolls = 0;
  while (!o.stopped()) {
    const job = await latestJob(api, o.userId, o.connection.id);
    const c = await api.get<Connection>(`/users/${o.userId}/connections/${o.connection.id}`);
    if (o.stopped()) return null;
    if (job && job.id !== o.before) return { kind: 'job', job, connection: c };
    if (`${c.status}/${c.statusReason}` !== was && (c.status === 'failed' || c.statusReason === 'authorization_denied')) return { kind: 'failed', connection: c };
    // Closed: a few more looks (the answer may be on its way), then stop asking.
    if (o.win?.closed && ++closedPolls >= 3) return { kind: 'closed', connection: c };
    await sleep(o.intervalMs ?? 400);
  }
  return null;
}

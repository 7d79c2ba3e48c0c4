/**
 * The pages' one way to call Causeway: /v1 with a bearer credential (a client token for the
 * connect and manage pages, an API key or operator session for the dashboard). Errors arrive as
 * RFC 9457 problem details and become ApiError, whose message says what to do.
 */

export class ApiError extends Error {
  constructor(readonly status: number, readonly code: string, message: string, readonly body: Record<string, unknown>) {
    super(message);
  }
}

export interface Api {
  get<T>(path: string): Promise<T>;
  post<T>(path: string, body?: unknown): Promise<T>;
  patch<T>(path: string, body?: unknown): Promise<T>;
  del<T>(path: string): Promise<T>;
}

/** `credential` null: a call that takes none (signing in). */
export function createApi(credential: string | null): Api {
  async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
    let res: Response;
    try {
      res = await fetch(`/v1${path}`, {
        method,
        headers: { ...(credential ? { authorization: `Bearer ${credential}` } : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
        body: body !== undefined ? JSON.stringify(body) : undefined,
      });
    } catch {
      throw new ApiError(0, 'network_error', 'Causeway could not be reached. Check your connection and try again.', {});
    }
    const text = await res.text();
    let parsed: Record<string, unknown> = {};
    try { parsed = text ? JSON.parse(text) : {}; } catch { /* not JSON */ }
    if (!res.ok) {
      const code = typeof parsed.code === 'string' ? parsed.code : 'http_error';
      const detail = typeof parsed.detail === 'string' ? parsed.detail : `The request failed (HTTP ${res.status}).`;
      throw new ApiError(res.status, code, detail, parsed);
    }
    return parsed as T;
  }
  return {
    get: (p) => call('GET', p),
    post: (p, b) => call('POST', p, b ?? {}),
    patch: (p, b) => call('PATCH', p, b ?? {}),
    del: (p) => call('DELETE', p),
  };
}

/** This tab's storage, or null where the browser refuses it (an embedded page on another site often may not use it). */
function tabStorage(): Storage | null {
  try {
    const s = window.sessionStorage;
    s.getItem('causeway.probe');
    return s;
  } catch {
    return null;
  }
}

/**
 * The credential from ?token= (then taken out of the address bar and kept for this tab only), or
 * the one this tab kept. Where storage is refused, the token stays in the address, so a reload
 * still works.
 */
export function takeToken(storageKey: string): string | null {
  const storage = tabStorage();
  const url = new URL(window.location.href);
  const fromUrl = url.searchParams.get('token');
  if (fromUrl) {
    if (storage) {
      storage.setItem(storageKey, fromUrl);
      url.searchParams.delete('token');
      window.history.replaceState(null, '', url.toString());
    }
    return fromUrl;
  }
  return storage?.getItem(storageKey) ?? null;
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls a job until `done` says so; each answer goes to `onUpdate` (progress). */
export async function followJob<J extends { status: string }>(api: Api, jobId: string, onUpdate: (job: J) => void, done: (job: J) => boolean, intervalMs = 400): Promise<J> {
  for (;;) {
    const job = await api.get<J>(`/jobs/${jobId}`);
    onUpdate(job);
    if (done(job)) return job;
    await sleep(intervalMs);
  }
}

/** Types of what the pages read (the API's own shapes, as far as the pages use them). */
export type Method = 'web' | 'openbanking' | 'hosted' | 'token';
export interface Institution {
  id: string; provider: string; name: string; country: string; methods: Method[]; products: string[]; mfa: boolean;
  /** An https URL or a data: URI, where the provider gives one. */
  logo: string | null;
  /** #rrggbb, where the provider gives one. */
  primaryColor: string | null;
  /** Days of history, and the longest access (consent) in days, where the provider says. */
  historyDays?: number | null;
  maxAccessDays?: number | null;
  health: { status: 'operational' | 'degraded' | 'outage'; since: string | null };
}
/** GET /institutions: a page of the catalogue, searched by name on the server. */
export interface InstitutionPage { data: Institution[]; nextCursor: string | null; hasMore: boolean }
export interface JobStep { name: string; status: string; resultCode: string | null; startedAt: string | null; finishedAt: string | null }
export interface Job {
  id: string; connectionId: string; type: string; trigger: string; status: string; steps: JobStep[];
  createdAt: string; finishedAt: string | null; error?: { code: string; message: string } | null; mfa?: { prompt: string; expiresAt: string } | null;
}
export interface Connection {
  id: string; userId: string; institution: { id: string; name: string }; provider: string; method: string; status: string; statusReason: string | null;
  allowedActions: string[]; userAction: 'reconnect' | 'wait' | 'none'; products: string[]; createdAt: string; firstSyncedAt: string | null;
  lastSuccessfulSyncAt: string | null; nextScheduledRefreshAt: string | null; accessExpiresAt: string | null;
  consent: { grantedAt: string | null; expiresAt: string | null } | null;
  refreshBudget: { remainingToday: number; nextRefreshAllowedAt: string; providerScopes?: { scope: string; remaining: number; resetAt: string }[] };
  /** The provider cannot revoke access itself (SimpleFIN): what the user should remove there. */
  revokeNotice?: string | null;
}
/** openbanking and hosted: where the user finishes linking (the bank's consent page, the provider's link page). */
export interface LinkSession { url: string; reference: string; expiresAt: string }
export interface ConnectionStart { connection: Connection; job: Job | null; authorizationUrl?: string | null; link?: LinkSession | null }

/** Where to send the user to link (or relink) a connection that answered without a job. */
export function linkUrl(r: ConnectionStart): string {
  const url = r.link?.url ?? r.authorizationUrl;
  if (!url) throw new Error('Causeway did not say where to finish linking. Try again.');
  return url;
}
export interface Account {
  id: string; connectionId: string; name: string; type: string; mask: string | null; currency: string;
  balances: { current: number; available: number | null; limit: number | null; updatedAt: string };
}
export interface Page<T> { data: T[]; nextCursor: string | null }

/**
 * What a provider brings to the contract suite (contract.ts): its driver (how to start its fake and
 * Causeway against it, finish or refuse a link, break a login, expire consent, import, its errors),
 * the check that a driver leaving a step out says what replaces it, and the suite's checked reads.
 */
import assert from 'node:assert/strict';
import type { TestApp } from './app.js';

/** A connection as the suite holds it: its ids, and the provider's handle for its link (Plaid's item_id). */
export interface Conn { userId: string; id: string; base: string; ref: string | null }

/** A link session as create and repair answer it. */
export interface LinkSession { url: string; reference: string; expiresAt: string }

export interface Outcome {
  status: string;
  reason: string | null;
}

export interface ErrorCase {
  name: string;
  /** The provider's own error code the case brings about, where it is one. */
  providerCode?: string;
  /** Breaks the provider for this (active, synced) connection. */
  arrange(t: TestApp, c: Conn): Promise<void>;
  /**
   * `refresh` (default): the suite then refreshes and waits for the job. `event`: arrange itself is
   * the provider telling Causeway (a webhook, a simulated event); the suite waits for the status.
   */
  via?: 'refresh' | 'event';
  expect: Outcome & {
    /** The refresh job's ending: status, error code and how many runs it took (retries included). */
    job?: { status: 'succeeded' | 'failed' | 'queued'; errorCode?: string | null; attempts?: number; step?: { name: string; resultCode: string } };
  };
  /** What else must hold once the connection shows the status (a Retry-After kept, other connections not slowed): checked before cleanup. */
  verify?(t: TestApp, c: Conn): Promise<void>;
  /** Puts the provider right again (an outage switched off), before recovery. */
  cleanup?(t: TestApp, c: Conn): Promise<void>;
  /** The institution the case's connection is imported at (the driver's own name for it), when not the driver's default: a case that slows its institution down keeps it to itself. */
  institution?: string;
  /** Accounts the user did not share before arrive with the recovery (a repair after new accounts appeared at the bank). */
  moreAccountsAfterRecovery?: boolean;
  /** How the connection comes back: by a refresh, a repair, or not here (a job left waiting on a slowed institution). Default from the status. */
  recover?: 'refresh' | 'repair' | 'none';
}

export interface LinkFailure {
  name: string;
  /** What the user does at the provider's page (driver-specific: 'deny', 'exit', 'error:INSTITUTION_NOT_RESPONDING'). */
  action: string;
  expect: Outcome;
}

/** Token providers' link failures: a setup token the provider refuses at the claim. */
export interface ClaimRefusal {
  name: string;
  /** The token the user pastes (one claimed already, a forged one). */
  setupToken(t: TestApp): Promise<string>;
  /** What the refusal's message must tell the user. */
  message: RegExp;
}

export interface ProviderDriver {
  /** Shown in test names. */
  name: string;
  provider: string;
  method: 'openbanking' | 'hosted' | 'token';
  /** Causeway's id of the institution the lifecycle links to. */
  institutionId: string;
  /** Starts the fake and a Causeway pointed at it. */
  start(): Promise<TestApp>;
  stop(): Promise<void>;
  /** Whether the import test's institution is unknown to Causeway until the import (so the import must fetch it). */
  importFetchesInstitution: boolean;
  /** The catalogue is there for links (called after the import test). */
  catalogueReady(t: TestApp): Promise<void>;
  /**
   * The user at the provider's page for `link`: 'approve' links (or, in update mode, repairs), any
   * other action is one of `linkFailures`. Ends once the user is back on Causeway's return page.
   * Answers the provider's handle for the link (null where the driver needs none). Openbanking and hosted only.
   */
  finishLink?(t: TestApp, link: LinkSession, action: string): Promise<string | null>;
  /** Openbanking and hosted: what the user does wrong at the provider's page. Token providers have none (their claimRefusals instead). */
  linkFailures: LinkFailure[];
  /**
   * Token only: a new setup token the user made at the provider, for a new login there, or for the
   * login of `c` (a repair: the same accounts). Answers it with the provider's handle for the link.
   */
  newSetupToken?(t: TestApp, c?: Conn): Promise<{ setupToken: string; ref: string | null }>;
  /** Token only (at least one): setup tokens the provider refuses, each 400 invalid_setup_token with nothing created. */
  claimRefusals?: ClaimRefusal[];
  /**
   * The bank wants the user to sign in again: `loginBreaksVia` 'event' (default) when the provider
   * tells Causeway (a webhook, a simulated event) and breakLogin does that too; 'refresh' when the
   * suite's next refresh finds it.
   */
  breakLogin(t: TestApp, c: Conn): Promise<void>;
  loginBreaksVia?: 'event' | 'refresh';
  /** How a broken login shows (default reconnect_required / invalid_credentials). */
  loginRequired?: Outcome;
  /**
   * The consent is about to end, and the provider tells Causeway; answers how many days it has left
   * at most. Left out by a provider whose access never ends, which says why in consentNeverExpires.
   */
  expireConsent?(t: TestApp, c: Conn): Promise<{ withinDays: number }>;
  /** Why the provider's access has no end (SimpleFIN: an access URL lasts until the user removes it); the suite checks none is shown. */
  consentNeverExpires?: string;
  /** Whether the provider was asked to revoke this connection's access (providers with a revoke call). */
  revokedAtProvider?(c: Conn): boolean;
  /**
   * The provider has no revoke call (SimpleFIN): unlink must ask it nothing, and the connection
   * carries a revokeNotice telling the user to remove access at the provider. `requestsFor` counts
   * the requests that reached the provider for the link.
   */
  localRevoke?: { requestsFor(c: Conn): number };
  /** A link the app already holds at the provider: the import body, and the handle. */
  importBody(t: TestApp, institution?: string): Promise<{ body: Record<string, unknown>; ref: string | null; institutionId: string }>;
  /** An import body with a token the provider never issued (in accessToken, or the field the provider calls it: requisitionId, accessUrl). */
  badImportBody(t: TestApp): Promise<Record<string, unknown>>;
  /** What the provider holds for the link, when the fake can say: Causeway's copy must match it. */
  providerTruth?(c: Conn): { accounts: number; transactions: number };
  /** New activity at the provider; answers how many transactions were added. */
  addActivity?(c: Conn): Promise<number>;
  errors: ErrorCase[];
}

export const formHeaders = { 'content-type': 'application/x-www-form-urlencoded' };

/** The fields an import body may carry its token in (services/import.ts). */
export const IMPORT_TOKEN_FIELDS = ['accessToken', 'requisitionId', 'accessUrl'];

/** A driver that leaves a step out must say what replaces it: a wrong driver fails loudly, never by tests quietly missing. */
export function checkDriver(d: ProviderDriver): void {
  const wrong = (why: string) => { throw new Error(`contract driver ${d.name}: ${why}`); };
  if (d.method === 'token') {
    if (!d.newSetupToken) wrong('a token provider makes setup tokens (newSetupToken)');
    if (!d.claimRefusals?.length) wrong('a token provider lists the setup tokens it refuses (claimRefusals)');
    if (d.linkFailures.length > 0) wrong('a token provider has no page to refuse a link at: its link failures are claimRefusals');
  } else if (!d.finishLink) {
    wrong(`a ${d.method} link finishes at the provider's page (finishLink)`);
  }
  if (!d.expireConsent === !d.consentNeverExpires) wrong('either expireConsent, or consentNeverExpires saying why there is none');
  if (!d.revokedAtProvider === !d.localRevoke) wrong('either revokedAtProvider, or localRevoke for a provider without a revoke call');
}

/** What the suite reads of a connection through the API, each answer checked. */
export function reads(app: () => TestApp) {
  const get = async (c: Conn) => {
    const res = await app().api('GET', c.base);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return res.body;
  };
  const accountIds = async (c: Conn): Promise<string[]> => {
    const res = await app().api('GET', `/v1/users/${c.userId}/accounts?connectionId=${c.id}`);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return res.body.data.map((a: any) => a.id).sort();
  };
  const transactionCount = async (c: Conn): Promise<number> => {
    let n = 0;
    let cursor: string | null = null;
    do {
      const res = await app().api('GET', `/v1/users/${c.userId}/transactions?limit=500${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
      assert.equal(res.status, 200, JSON.stringify(res.body));
      n += res.body.data.filter((x: any) => x.connectionId === c.id).length;
      cursor = res.body.nextCursor;
    } while (cursor);
    return n;
  };
  const jobs = async (c: Conn) => (await app().api('GET', `${c.base}/jobs`)).body.data as any[];
  return { get, accountIds, transactionCount, jobs };
}

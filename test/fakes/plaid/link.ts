/**
 * Link tokens and Link sessions. A session starts when the Hosted Link page is first opened (or
 * first posted to) and ends in one of three ways: success (an Item is created, or in update mode
 * repaired, and a public_token issued), exit (the user cancelled) or error (the institution
 * failed). /link/token/get reports the sessions in Plaid's shape.
 *
 * Sandbox credentials: username `user_good`, password `pass_good`. A password of the form
 * `error_<CODE>` (Plaid's sandbox convention) ends the session with that error code.
 */
import { plaidError, type PlaidErrorBody } from './errors.js';
import type { FakeInstitution } from './institutions.js';
import type { FakeItem, PlaidWorld } from './items.js';
import type { IdSource } from './random.js';

export interface LinkTokenRequest {
  client_name: string;
  language: string;
  country_codes: string[];
  products: string[];
  webhook: string | null;
  redirect_uri: string | null;
  institution_id: string | null;
  client_user_id: string | null;
  completion_redirect_uri: string | null;
  hosted: boolean;
  account_selection_enabled: boolean;
}

export interface LinkEvent { event_name: string; timestamp: string; event_id: string; event_metadata: Record<string, string> }

export type LinkOutcome =
  | { kind: 'success'; publicToken: string; item: FakeItem; update: boolean }
  | { kind: 'exit'; error: PlaidErrorBody | null; institution: FakeInstitution | null; status: string };

export interface LinkSession {
  id: string;
  startedAt: string;
  finishedAt: string | null;
  outcome: LinkOutcome | null;
  events: LinkEvent[];
}

export interface LinkToken {
  token: string;
  createdAt: string;
  expiration: string;
  request: LinkTokenRequest;
  /** Update mode: the Item being repaired. */
  updateItem: FakeItem | null;
  sessions: LinkSession[];
}

export const SANDBOX_USERNAME = 'user_good';
export const SANDBOX_PASSWORD = 'pass_good';

export type LinkAction = 'success' | 'exit' | 'error';

export interface LinkSubmission {
  action: LinkAction;
  institutionId?: string | undefined;
  username?: string | undefined;
  password?: string | undefined;
  /** For action=error: the code the session ends with (default INSTITUTION_NOT_RESPONDING). */
  errorCode?: string | undefined;
}

export type SubmitResult =
  | { done: true; session: LinkSession }
  | { done: false; problem: string };

export class LinkTokens {
  private readonly tokens = new Map<string, LinkToken>();

  constructor(private readonly world: PlaidWorld, private readonly ids: IdSource, private readonly now: () => Date) {}

  create(request: LinkTokenRequest, updateItem: FakeItem | null, lifetimeSeconds: number): LinkToken {
    const now = this.now();
    const token: LinkToken = {
      token: `link-sandbox-${this.ids.uuid('link')}`,
      createdAt: now.toISOString(),
      expiration: new Date(now.getTime() + lifetimeSeconds * 1000).toISOString(),
      request, updateItem, sessions: [],
    };
    this.tokens.set(token.token, token);
    return token;
  }

  get(token: string): LinkToken | undefined {
    return this.tokens.get(token);
  }

  expired(t: LinkToken): boolean {
    return new Date(t.expiration).getTime() <= this.now().getTime();
  }

  /** The session a page visit belongs to: the open one, or a new one. */
  open(t: LinkToken): LinkSession {
    const open = t.sessions.find((s) => !s.finishedAt);
    if (open) return open;
    const s: LinkSession = { id: this.ids.uuid('session'), startedAt: this.now().toISOString(), finishedAt: null, outcome: null, events: [] };
    t.sessions.push(s);
    this.event(s, 'OPEN', {});
    return s;
  }

  /** Which institution the session is about: the Item's in update mode, the preselected one, or the user's pick. */
  institutionFor(t: LinkToken, chosen?: string): FakeInstitution | undefined {
    if (t.updateItem) return t.updateItem.institution;
    const id = t.request.institution_id ?? chosen;
    return id ? this.world.institution(id) : undefined;
  }

  submit(t: LinkToken, sub: LinkSubmission): SubmitResult {
    const s = this.open(t);
    const inst = this.institutionFor(t, sub.institutionId);
    const meta = (i: FakeInstitution | undefined): Record<string, string> => (i ? { institution_id: i.institution_id, institution_name: i.name } : {});
    if (sub.action === 'exit') {
      this.event(s, 'EXIT', { ...meta(inst), exit_status: 'requires_credentials' });
      return this.finish(s, { kind: 'exit', error: null, institution: inst ?? null, status: 'requires_credentials' });
    }
    if (!inst) return { done: false, problem: 'Choose an institution.' };
    if (!t.updateItem && !t.request.country_codes.some((c) => inst.country_codes.includes(c))) return { done: false, problem: `${inst.name} is not available in ${t.request.country_codes.join(', ')}.` };
    if (!t.updateItem && !t.request.products.every((p) => inst.products.includes(p))) return { done: false, problem: `${inst.name} does not support ${t.request.products.join(', ')}.` };
    this.event(s, 'SELECT_INSTITUTION', meta(inst));
    const sandboxError = sub.password?.startsWith('error_') ? sub.password.slice('error_'.length) : undefined;
    const code = sub.action === 'error' ? (sub.errorCode || 'INSTITUTION_NOT_RESPONDING') : sandboxError;
    if (code) {
      const error = plaidError({ error_code: code }, this.ids.alnum('request', 15));
      this.event(s, 'ERROR', { ...meta(inst), error_code: code, error_type: error.error_type, error_message: error.error_message });
      this.event(s, 'EXIT', { ...meta(inst), error_code: code, exit_status: 'requires_credentials' });
      return this.finish(s, { kind: 'exit', error, institution: inst, status: 'requires_credentials' });
    }
    if ((sub.username ?? SANDBOX_USERNAME) !== SANDBOX_USERNAME || (sub.password ?? SANDBOX_PASSWORD) !== SANDBOX_PASSWORD) {
      this.event(s, 'ERROR', { ...meta(inst), error_code: 'INVALID_CREDENTIALS', error_type: 'ITEM_ERROR' });
      return { done: false, problem: `The username or password is not correct (try ${SANDBOX_USERNAME} / ${SANDBOX_PASSWORD}).` };
    }
    this.event(s, 'SUBMIT_CREDENTIALS', meta(inst));
    let item: FakeItem;
    if (t.updateItem) {
      item = t.updateItem;
      this.world.repair(item, { shareNewAccounts: t.request.account_selection_enabled });
    } else {
      item = this.world.createItem({ institutionId: inst.institution_id, webhook: t.request.webhook, products: t.request.products, clientUserId: t.request.client_user_id });
    }
    this.event(s, 'HANDOFF', meta(inst));
    return this.finish(s, { kind: 'success', publicToken: this.world.issuePublicToken(item), item, update: Boolean(t.updateItem) });
  }

  private finish(s: LinkSession, outcome: LinkOutcome): SubmitResult {
    s.outcome = outcome;
    s.finishedAt = this.now().toISOString();
    return { done: true, session: s };
  }

  private event(s: LinkSession, name: string, metadata: Record<string, string>): void {
    s.events.push({ event_name: name, timestamp: this.now().toISOString(), event_id: this.ids.uuid('event'), event_metadata: { request_id: this.ids.alnum('request', 15), ...metadata } });
  }

  /** The wire shape of one entry of /link/token/get's link_sessions. */
  sessionJson(s: LinkSession): Record<string, unknown> {
    const base: Record<string, unknown> = { link_session_id: s.id, started_at: s.startedAt, finished_at: s.finishedAt, events: s.events };
    const o = s.outcome;
    if (!o) return base;
    if (o.kind === 'success') {
      const institution = { name: o.item.institution.name, institution_id: o.item.institution.institution_id };
      const accounts = o.item.accounts.map((a) => ({ id: a.account_id, name: a.name, mask: a.mask, type: a.type, subtype: a.subtype, verification_status: null, class_type: null }));
      base.on_success = { public_token: o.publicToken, metadata: { institution, accounts, link_session_id: s.id } };
      base.results = {
        item_add_results: o.update ? [] : [{ public_token: o.publicToken, accounts, institution }],
        cra_item_add_results: [], cra_update_results: [], bank_income_results: [], payroll_income_results: [], document_income_results: null,
      };
      return base;
    }
    const institution = o.institution ? { name: o.institution.name, institution_id: o.institution.institution_id } : null;
    const exit = { error: o.error, metadata: { institution, status: o.status, link_session_id: s.id, request_id: this.ids.alnum('request', 15) } };
    base.on_exit = exit;
    base.exit = exit;
    return base;
  }
}

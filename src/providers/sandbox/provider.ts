/**
 * The sandbox provider: the Provider contract over the deterministic generator, with the magic
 * credentials and personas of PRODUCT.md §5. Stateless like every provider: whatever varies
 * (persona, consent dates) travels in the access the caller passes back.
 */
import type {
  AuthorizationGrant, LinkResult, LinkSession, LinkStart, Provider, ProviderAccount, ProviderCallContext, ProviderErrorCode, ProviderIdentity,
  ProviderInstitution, ProviderLink, ProviderTransaction, VerifyOutcome,
} from '../types.js';
import { ProviderError } from '../types.js';
import { DAY_MS, isoOf, parseIsoDay } from './calendar.js';
import { generateAccounts, generateTransactions, historyStartDay, postedBalanceOn, type GenerateOptions } from './generator.js';
import { generateIdentity } from './identity.js';
import { findSandboxInstitution, SANDBOX_CONSENT_DAYS, sandboxInstitutions, type SandboxInstitution } from './institutions.js';
import { buildPersona, type Persona } from './persona.js';
import { hashHex, hashUnit } from './random.js';

export const SANDBOX_PROVIDER_ID = 'sandbox';
export const GOOD_PASSWORD = 'pass_good';
export const MFA_CODE = '1234';
export const MFA_PROMPT = 'Enter the code sent to your phone (sandbox: 1234)';
/** Personas the consent page may sign in as; user_locked and bad passwords mean nothing there. */
export const OPENBANKING_PERSONAS = ['user_good', 'user_mfa', 'user_flaky', 'user_new_accounts', 'user_expiring'] as const;
/** The magic logins (PRODUCT.md §5): test personas shared by every user, not one person's bank login. */
export const SHARED_PERSONAS: readonly string[] = [...OPENBANKING_PERSONAS, 'user_locked'];
export const CONSENT_DAYS = SANDBOX_CONSENT_DAYS;
/** user_expiring: web access and openbanking consent both run out this soon. */
export const EXPIRING_DAYS = 3;
/** user_flaky: the share of runs whose retrieval fails. */
export const FLAKY_RATE = 1 / 3;

const TOKEN_PREFIX = 'sbx_tok_';

function fail(code: ProviderErrorCode, message: string, transient: boolean): ProviderError {
  return new ProviderError(code, message, transient, `SANDBOX_${code.toUpperCase()}`);
}

function institutionOrThrow(id: string): SandboxInstitution {
  const institution = findSandboxInstitution(id);
  if (!institution) throw fail('provider_error', `Unknown sandbox institution ${id}`, false);
  return institution;
}

function checkUp(institution: SandboxInstitution, ctx: ProviderCallContext | null): void {
  if (institution.behaviour.outage || ctx?.simulatedOutage) {
    throw fail('institution_unavailable', `${institution.name} is unavailable (sandbox outage)`, true);
  }
  const retryAfter = ctx?.simulatedRateLimitSeconds;
  if (retryAfter != null) {
    throw new ProviderError('rate_limited', `${institution.name} asks to slow down (sandbox 429, Retry-After ${retryAfter} s)`, true, 'SANDBOX_HTTP_429', retryAfter);
  }
}

/** The token carries persona and grant time (so consent expiry needs no state) plus a checksum binding it to the institution. */
function tokenChecksum(institutionId: string, persona: string, grantedMs: number): string {
  return hashHex(`${institutionId}|${persona}|${grantedMs}`).slice(0, 12);
}

function encodeToken(institutionId: string, persona: string, grantedAt: Date): string {
  const ms = grantedAt.getTime();
  return `${TOKEN_PREFIX}${persona}_${ms.toString(36)}.${tokenChecksum(institutionId, persona, ms)}`;
}

function decodeToken(institutionId: string, token: string): { persona: string; grantedAt: Date } | null {
  if (!token.startsWith(TOKEN_PREFIX)) return null;
  const rest = token.slice(TOKEN_PREFIX.length);
  const cut = rest.lastIndexOf('_');
  const persona = rest.slice(0, cut);
  const [ms36, check, ...more] = rest.slice(cut + 1).split('.');
  if (cut <= 0 || !ms36 || !check || more.length > 0) return null;
  if (!(OPENBANKING_PERSONAS as readonly string[]).includes(persona)) return null;
  const ms = parseInt(ms36, 36);
  if (!Number.isSafeInteger(ms) || ms.toString(36) !== ms36) return null;
  if (check !== tokenChecksum(institutionId, persona, ms)) return null;
  return { persona, grantedAt: new Date(ms) };
}

function consentDays(persona: string): number {
  return persona === 'user_expiring' ? EXPIRING_DAYS : CONSENT_DAYS;
}

/** Whether user_flaky's retrieval fails in this run: one decision per run (job + attempt), so a failed run fails as a whole. */
export function flakyRunFails(runKey: string): boolean {
  return hashUnit(`flaky|${runKey}`) < FLAKY_RATE;
}

/** Checks web credentials the way the bank's login form would. Returns the persona (the login). */
function checkPassword(login: string, password: string): string {
  if (login === 'user_locked') throw fail('account_locked', 'The account is locked at the institution', false);
  if (login.length === 0 || password !== GOOD_PASSWORD) throw fail('invalid_credentials', 'The login or password is incorrect', false);
  return login;
}

interface Resolved {
  institution: SandboxInstitution;
  persona: string;
  /** When web access or consent runs out (null when it does not). */
  expiresAt: Date | null;
}

/**
 * Issues a token as the sandbox bank's consent would, for a persona, without the consent page: what
 * an app migrating links from elsewhere holds, to try import with (POST /v1/sandbox/tokens).
 */
export function issueSandboxToken(institutionId: string, persona: string, now: Date): { token: string; expiresAt: Date } {
  const institution = institutionOrThrow(institutionId);
  if (!institution.methods.includes('openbanking')) throw fail('provider_error', `${institution.name} does not offer openbanking`, false);
  if (!(OPENBANKING_PERSONAS as readonly string[]).includes(persona)) throw fail('invalid_credentials', `The sandbox bank has no customer ${JSON.stringify(persona)}`, false);
  return { token: encodeToken(institution.id, persona, now), expiresAt: new Date(now.getTime() + consentDays(persona) * DAY_MS) };
}

/** Authenticates a link: the institution is up, supports the access method, and the access is valid now. */
function resolveLink(link: ProviderLink, ctx: ProviderCallContext): Resolved {
  const now = ctx.now;
  const institution = institutionOrThrow(link.institutionId);
  checkUp(institution, ctx);
  const access = link.access;
  if (access.kind === 'web') {
    if (!institution.methods.includes('web')) throw fail('provider_error', `${institution.name} does not offer web login`, false);
    const persona = checkPassword(access.login, access.password);
    const expiresAt = persona === 'user_expiring' ? new Date(now.getTime() + EXPIRING_DAYS * DAY_MS) : null;
    return { institution, persona, expiresAt };
  }
  if (!institution.methods.includes('openbanking')) throw fail('provider_error', `${institution.name} does not offer openbanking`, false);
  const decoded = decodeToken(institution.id, access.token);
  if (!decoded) throw fail('invalid_credentials', 'The access token is not valid for this institution', false);
  const expiresAt = new Date(decoded.grantedAt.getTime() + consentDays(decoded.persona) * DAY_MS);
  if (now.getTime() >= expiresAt.getTime()) throw fail('consent_expired', 'The consent has expired', false);
  return { institution, persona: decoded.persona, expiresAt };
}

/**
 * For tests of Causeway itself: an account's posted balance at the end of `date` (YYYY-MM-DD), so
 * stored transactions can be checked against the balances the sandbox reports.
 */
export function sandboxPostedBalance(institutionId: string, login: string, accountId: string, date: string): number {
  return postedBalanceOn(buildPersona(institutionOrThrow(institutionId), login), accountId, date);
}

/** The sandbox offers every optional call, and its institutions without a round trip. */
export type SandboxProvider = Omit<Provider, 'fetchTransactions'> & Required<Pick<Provider, 'verifyCredentials' | 'startLink' | 'completeLink' | 'importAccess'>> & {
  institutions(): ProviderInstitution[];
  /** The sandbox has no call budgets: every account's transactions, every time. */
  fetchTransactions(link: ProviderLink, range: { from: string; to: string }, ctx: ProviderCallContext): Promise<ProviderTransaction[]>;
};

export function createSandboxProvider(opts: { latencyMs: number }): SandboxProvider {
  const latencyMs = opts.latencyMs;
  if (!Number.isFinite(latencyMs) || latencyMs < 0) throw new RangeError(`latencyMs must be a non-negative number, got ${latencyMs}`);

  /** The simulated round trip. Zero latency schedules no timer at all, so tests stay on the microtask queue. */
  async function pause(institutionId: string): Promise<void> {
    const ms = latencyMs * (findSandboxInstitution(institutionId)?.behaviour.latencyFactor ?? 1);
    if (ms > 0) await new Promise<void>((resolve) => setTimeout(resolve, ms));
  }

  /** Common path of the data calls: authenticate, then apply user_flaky. */
  async function forData(link: ProviderLink, ctx: ProviderCallContext): Promise<Resolved> {
    await pause(link.institutionId);
    const resolved = resolveLink(link, ctx);
    if (resolved.persona === 'user_flaky' && flakyRunFails(ctx.runKey)) {
      throw fail('institution_unavailable', `${resolved.institution.name} did not answer (sandbox: user_flaky)`, true);
    }
    return resolved;
  }

  function personaOf(r: Resolved): Persona {
    return buildPersona(r.institution, r.persona);
  }

  /** user_new_accounts opens an account after the first sync; everyone else's list never changes. */
  function generateOptions(link: ProviderLink): GenerateOptions {
    return { includeLateAccounts: link.firstSyncedAt !== null };
  }

  return {
    id: SANDBOX_PROVIDER_ID,
    name: 'Sandbox',
    methods: ['web', 'openbanking'],
    sandboxOnly: true,

    sharedLogin: (login) => SHARED_PERSONAS.includes(login),

    institutions: () => sandboxInstitutions(),

    async listInstitutions(): Promise<{ institutions: ProviderInstitution[]; next: string | null; total: number }> {
      const all = sandboxInstitutions();
      return { institutions: all, next: null, total: all.length };
    },

    async getInstitution(id: string): Promise<ProviderInstitution | null> {
      return sandboxInstitutions().find((i) => i.id === id) ?? null;
    },

    async verifyCredentials(link: ProviderLink, mfaCode: string | null, ctx: ProviderCallContext): Promise<VerifyOutcome> {
      await pause(link.institutionId);
      const resolved = resolveLink(link, ctx);
      const needsCode = link.access.kind === 'web' && (resolved.persona === 'user_mfa' || resolved.institution.alwaysMfa);
      if (needsCode) {
        if (mfaCode === null) return { kind: 'mfa_required', prompt: MFA_PROMPT };
        if (mfaCode.trim() !== MFA_CODE) throw fail('mfa_failed', 'The one-time code is incorrect', false);
      }
      return { kind: 'verified', accessExpiresAt: resolved.expiresAt };
    },

    /** The sandbox bank's consent page is served by Causeway itself (/sandbox/consent/{state}); no call is made. */
    async startLink(input: LinkStart, ctx: ProviderCallContext): Promise<LinkSession> {
      const institution = institutionOrThrow(input.institutionId);
      if (!institution.methods.includes('openbanking')) throw fail('provider_error', `${institution.name} does not offer openbanking`, false);
      const base = new URL(input.returnUrl);
      return {
        url: `${base.origin}${base.pathname.replace(/\/link\/return$/, '')}/sandbox/consent/${encodeURIComponent(input.state)}`,
        reference: `sbx_link_${hashHex(input.state).slice(0, 16)}`,
        expiresAt: new Date(ctx.now.getTime() + DAY_MS),
      };
    },

    /** The consent page's form: `decision` approve or deny, and the persona signed in as. */
    async completeLink(input: { institutionId: string; params: Record<string, string> }, ctx: ProviderCallContext): Promise<LinkResult> {
      await pause(input.institutionId);
      const institution = institutionOrThrow(input.institutionId);
      if (!institution.methods.includes('openbanking')) throw fail('provider_error', `${institution.name} does not offer openbanking`, false);
      if (input.params.decision !== 'approve') {
        return { kind: 'denied', code: 'authorization_denied', message: 'The customer denied access', providerCode: 'SANDBOX_AUTHORIZATION_DENIED' };
      }
      checkUp(institution, ctx);
      const persona = input.params.persona ?? 'user_good';
      if (!(OPENBANKING_PERSONAS as readonly string[]).includes(persona)) {
        return { kind: 'denied', code: 'authorization_denied', message: `The sandbox bank has no customer ${JSON.stringify(persona)}`, providerCode: 'SANDBOX_UNKNOWN_PERSONA' };
      }
      const grantedAt = new Date(ctx.now.getTime());
      const expiresAt = new Date(grantedAt.getTime() + consentDays(persona) * DAY_MS);
      return { kind: 'granted', grant: { token: encodeToken(institution.id, persona, grantedAt), grantedAt, expiresAt } };
    },

    async fetchAccounts(link: ProviderLink, ctx: ProviderCallContext): Promise<ProviderAccount[]> {
      const resolved = await forData(link, ctx);
      return generateAccounts(personaOf(resolved), ctx.now, generateOptions(link));
    },

    async fetchTransactions(link: ProviderLink, range: { from: string; to: string }, ctx: ProviderCallContext): Promise<ProviderTransaction[]> {
      const resolved = await forData(link, ctx);
      const from = parseIsoDay(range.from);
      const to = parseIsoDay(range.to);
      if (from === null || to === null || from > to) {
        throw fail('provider_error', `Invalid date range ${range.from}..${range.to} (want YYYY-MM-DD, from <= to)`, false);
      }
      // The institution only shows twelve months: older days are silently not returned.
      const visibleFrom = isoOf(Math.max(from, historyStartDay(ctx.now)));
      return generateTransactions(personaOf(resolved), { from: visibleFrom, to: range.to }, ctx.now, generateOptions(link));
    },

    async fetchIdentity(link: ProviderLink, ctx: ProviderCallContext): Promise<ProviderIdentity> {
      const resolved = await forData(link, ctx);
      return generateIdentity(resolved.persona);
    },

    async importAccess(input: { institutionId: string | null; token: string }, ctx: ProviderCallContext): Promise<AuthorizationGrant> {
      // A sandbox token is bound to its institution by its checksum: without a name, the institution it checks out for
      // is the one (PRODUCT.md §7: { provider: 'sandbox', accessToken }, as Plaid's tokens tell theirs).
      const institutionId = input.institutionId
        ?? sandboxInstitutions().find((i) => i.methods.includes('openbanking') && decodeToken(i.id, input.token) !== null)?.id;
      if (!institutionId) throw fail('invalid_credentials', 'The access token was not issued by the sandbox bank', false);
      await pause(institutionId);
      const resolved = resolveLink({ institutionId, access: { kind: 'token', token: input.token }, firstSyncedAt: null }, ctx);
      const decoded = decodeToken(resolved.institution.id, input.token)!;
      return { token: input.token, grantedAt: decoded.grantedAt, expiresAt: resolved.expiresAt!, institutionId };
    },

    async revoke(link: ProviderLink): Promise<void> {
      // Nothing is held at the sandbox bank, so revoking always succeeds (even during an outage).
      await pause(link.institutionId);
    },
  };
}

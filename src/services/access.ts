/**
 * Who may call (issue 6), beside API keys (services/applications.ts):
 *
 *   ct_…  client token: minted by the app's server for one user, scopes connect and/or manage,
 *         30 minutes by default; the hosted pages take it as ?token=. It reaches only that user's
 *         connect and manage calls (http/auth.ts lists them).
 *   os_…  operator session: an operator (created with `causeway operators create`) signed in to
 *         the dashboard; acts for the operator's application as an API key does, for 12 hours.
 *
 * Both are random secrets stored as SHA-256 hashes; expiry runs on the wall clock (a sandbox test
 * clock moving days ahead must not expire a page's token).
 */
import { randomBytes, scrypt as scryptCb, timingSafeEqual } from 'node:crypto';
import { promisify } from 'node:util';
import { AppError } from '../domain/errors.js';
import { newId } from '../domain/ids.js';
import { cachedKeyLookup, findClientToken, findOperatorByEmail, findOperatorSession, insertClientToken, insertOperator, insertOperatorSession } from '../db/repos/access.js';
import type { ApplicationRow } from '../db/repos/applications.js';
import type { Db } from '../db/open.js';
import type { Clock } from '../domain/clock.js';
import { authenticate as authenticateApiKey } from './applications.js';
import type { ClientScope, Core, Tenant } from './core.js';
import { randomToken, sha256 } from './crypto.js';
import { throttledSignIn } from './sign-in-throttle.js';
import { requireUser } from './users.js';

export const CLIENT_TOKEN_DEFAULT_SECONDS = 30 * 60;
export const CLIENT_TOKEN_MAX_SECONDS = 24 * 3600;
export const OPERATOR_SESSION_SECONDS = 12 * 3600;

export async function mintClientToken(core: Core, tenant: Tenant, userId: string, input: { scopes: ClientScope[]; expiresInSeconds?: number; redirectUri?: string }) {
  await requireUser(core, tenant, userId);
  const now = core.clock.now();
  const token = `ct_${randomToken(32)}`;
  const row = await insertClientToken(core.db, {
    id: newId('ctk'), applicationId: tenant.application.id, userId, hash: sha256(token), scopes: [...new Set(input.scopes)],
    redirectUri: input.redirectUri ?? null, expiresAt: new Date(now.getTime() + (input.expiresInSeconds ?? CLIENT_TOKEN_DEFAULT_SECONDS) * 1000), createdAt: now,
  });
  return { token, userId, scopes: row.scopes as ClientScope[], redirectUri: row.redirectUri, expiresAt: row.expiresAt.toISOString() };
}

/** What a client token may do, for the page that holds it. */
export function clientTokenView(tenant: Tenant) {
  if (!tenant.client) throw new AppError('client_token_not_allowed', 'This call answers for a client token (ct_…); an API key has no user to describe.');
  return {
    userId: tenant.client.userId, scopes: tenant.client.scopes, redirectUri: tenant.client.redirectUri,
    expiresAt: tenant.client.expiresAt.toISOString(), application: { name: tenant.application.name, environment: tenant.application.environment },
  };
}

/** The tenant a bearer credential stands for, or null when it is not valid (unknown, revoked or expired). */
export async function authenticateBearer(core: Core, presented: string): Promise<Tenant | null> {
  // API keys come with every server-to-server request: remembered for KEY_CACHE_MS (db/repos/access.ts says how fresh).
  if (presented.startsWith('sk_')) return cachedKeyLookup(core.db, sha256(presented), () => authenticateApiKey(core.db, presented));
  if (!/^(ct|os)_[A-Za-z0-9_-]{20,}$/.test(presented)) return null;
  const now = core.clock.now();
  if (presented.startsWith('ct_')) {
    const found = await findClientToken(core.db, sha256(presented), now);
    if (!found) return null;
    const t = found.token;
    return {
      application: found.application, actor: `client_token:${t.id}`,
      client: { userId: t.userId, scopes: t.scopes as ClientScope[], redirectUri: t.redirectUri, expiresAt: t.expiresAt },
    };
  }
  const found = await findOperatorSession(core.db, sha256(presented), now);
  return found ? { application: found.application, actor: `operator:${found.operator.id}` } : null;
}

const scrypt = promisify(scryptCb) as (password: string, salt: Buffer, keylen: number, opts: { N: number; r: number; p: number }) => Promise<Buffer>;
const SCRYPT = { N: 16384, r: 8, p: 1 };

async function hashPassword(password: string): Promise<string> {
  const salt = randomBytes(16);
  const hash = await scrypt(password, salt, 32, SCRYPT);
  return `scrypt$${SCRYPT.N}$${SCRYPT.r}$${SCRYPT.p}$${salt.toString('base64')}$${hash.toString('base64')}`;
}

async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const [kind, n, r, p, salt, hash] = stored.split('$');
  if (kind !== 'scrypt' || !salt || !hash) return false;
  const expected = Buffer.from(hash, 'base64');
  const actual = await scrypt(password, Buffer.from(salt, 'base64'), expected.length, { N: Number(n), r: Number(r), p: Number(p) });
  return timingSafeEqual(actual, expected);
}

/** Creates an operator for the application; answers the password, shown this once (generated unless given). */
export async function createOperator(db: Db, clock: Clock, application: ApplicationRow, email: string, password?: string) {
  const chosen = password ?? randomToken(12);
  const operator = await insertOperator(db, {
    id: newId('opr'), applicationId: application.id, email: email.trim().toLowerCase(), passwordHash: await hashPassword(chosen), createdAt: clock.now(),
  });
  return { id: operator.id, email: operator.email, password: chosen };
}

/**
 * Signs an operator in: a session token for the dashboard. The same answer for an unknown email and
 * a wrong password; failures are throttled per email and per client address (sign-in-throttle.ts).
 */
export async function loginOperator(core: Core, email: string, password: string, address: string | null = null) {
  const operator = await throttledSignIn(core, email, address, async () => {
    const found = await findOperatorByEmail(core.db, email.trim().toLowerCase());
    // A wrong email costs the same scrypt as a wrong password, so timing tells nothing.
    const ok = found ? await verifyPassword(password, found.passwordHash) : (await hashPassword(password), false);
    return found && ok ? found : null;
  });
  if (!operator) throw new AppError('invalid_login', 'The email or password is not right. An administrator can create an operator with `npx causeway operators create --email you@example.com`.');
  const now = core.clock.now();
  const token = `os_${randomToken(32)}`;
  const expiresAt = new Date(now.getTime() + OPERATOR_SESSION_SECONDS * 1000);
  await insertOperatorSession(core.db, { id: newId('ops'), operatorId: operator.id, hash: sha256(token), expiresAt, createdAt: now });
  return { token, email: operator.email, expiresAt: expiresAt.toISOString() };
}

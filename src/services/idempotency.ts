/**
 * `Idempotency-Key` (as Stripe): the first answer for a key is stored, sealed like credentials
 * (answers can carry secrets shown once: `whsec_`, `ct_`), and replayed for 24 hours; the same key
 * with a different request is refused; a retry while the first is still running is told to wait.
 *
 *   claim ──► claimed (run the request) ──► store the answer │ release (5xx, or nothing to replay)
 *         └─► replay (status, content type, body) │ AppError 409 in use │ AppError 422 reused
 *
 * The running request holds its key by a one-minute lease it renews (for at most MAX_HOLD_MS), so a
 * request that dies with its process lets its key go within a minute. Every write after the claim
 * is fenced by the claim's own time: a request whose lease lapsed and whose key was taken over by a
 * retry can no longer store into, renew or delete the retry's claim.
 */
import { AppError } from '../domain/errors.js';
import {
  claimIdempotencyKey, findIdempotencyKey, releaseIdempotencyKey, renewIdempotencyLease, storeIdempotentAnswer,
} from '../db/repos/idempotency.js';
import type { Core, Tenant } from './core.js';
import { sha256 } from './crypto.js';

/** How long an answer is replayed. */
export const IDEMPOTENCY_TTL_MS = 24 * 3600_000;
/** A running request's hold on its key; renewed every third of it, so only a dead request loses it. */
export const LEASE_MS = 60_000;
/** A request still running after this long stops renewing: a hung handler cannot hold its key for ever. */
export const MAX_HOLD_MS = 10 * 60_000;

export interface Claim { applicationId: string; key: string; requestHash: string; claimedAt: Date }
export interface StoredAnswer { statusCode: number; contentType: string; body: string }

export type ClaimResult = { claimed: Claim } | { replay: StoredAnswer };

/**
 * Keys live in namespaces, so one credential cannot claim or replay another's: the app's server
 * (API keys, operators) in `key:`, each client token's user apart in `client:<userId>:`.
 */
function scopedKey(tenant: Tenant, key: string): string {
  return tenant.client ? `client:${tenant.client.userId}:${key}` : `key:${key}`;
}

export async function claimKey(core: Core, tenant: Tenant, key: string, request: { method: string; url: string; body: unknown }): Promise<ClaimResult> {
  const applicationId = tenant.application.id;
  const scoped = scopedKey(tenant, key);
  const requestHash = sha256(`${request.method} ${request.url}\n${JSON.stringify(request.body ?? null)}`);
  const now = new Date();
  const claimed = await claimIdempotencyKey(core.db, {
    applicationId, key: scoped, requestHash, now, lockedUntil: new Date(now.getTime() + LEASE_MS), expiredBefore: new Date(now.getTime() - IDEMPOTENCY_TTL_MS),
  });
  if (claimed) return { claimed: { applicationId, key: scoped, requestHash, claimedAt: now } };
  const existing = await findIdempotencyKey(core.db, applicationId, scoped);
  if (existing && existing.requestHash !== requestHash) {
    throw new AppError('idempotency_key_reused', 'This Idempotency-Key was already used for a different request. Use a new key for a new request.');
  }
  if (!existing || existing.statusCode === null || existing.answerEnc === null) {
    const waitS = existing?.lockedUntil ? Math.ceil((existing.lockedUntil.getTime() - now.getTime()) / 1000) : 1;
    throw new AppError('idempotency_key_in_use', 'The first request with this Idempotency-Key is still running. Retry in a moment.', {},
      { 'retry-after': String(Math.min(Math.max(waitS, 1), 60)) });
  }
  const sealed = JSON.parse(core.cipher.decrypt(existing.answerEnc)) as Omit<StoredAnswer, 'statusCode'>;
  return { replay: { statusCode: existing.statusCode, ...sealed } };
}

export async function renewClaim(core: Core, claim: Claim): Promise<void> {
  await renewIdempotencyLease(core.db, claim, new Date(Date.now() + LEASE_MS));
}

export async function storeAnswer(core: Core, claim: Claim, answer: StoredAnswer): Promise<void> {
  const sealed = core.cipher.encrypt(JSON.stringify({ contentType: answer.contentType, body: answer.body }));
  await storeIdempotentAnswer(core.db, claim, answer.statusCode, sealed);
}

/** Lets the key go (nothing was decided, or nothing can be replayed): a retry runs again. */
export async function releaseClaim(core: Core, claim: Claim): Promise<void> {
  await releaseIdempotencyKey(core.db, claim);
}

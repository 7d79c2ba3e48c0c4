/**
 * Brute-force protection for operator sign-in (issue 11 item 8). Failed attempts are counted in
 * the database (table sign_in_failures), so every API process shares them, at two keys:
 *
 *   email:<keyed hash of the lowercased email>   5 failures, then blocked (one person's account)
 *   ip:<client address, IPv6 by /64>             20 failures, then blocked (one office behind a
 *                                                NAT must not be locked out by one user's typos)
 *
 *   attempt ─► count it at both keys (one statement each; refused, uncounted, when blocked) ─► 429
 *           └► check the password ─► right: forget the email's count, take back the address's
 *                                 └► wrong: the counts stand ─► 401
 *
 * An attempt is counted, and the block it would earn set, before the password is checked: so a
 * burst of concurrent guesses is cut off at the limit instead of all being checked at once. While
 * a key is blocked every attempt answers 429 with Retry-After, even with the right password, so a
 * guesser learns nothing. Sign-in runs on the process clock (core.clock), never a sandbox clock.
 */
import { isIPv4, isIPv6 } from 'node:net';
import { AppError } from '../domain/errors.js';
import { clearSignInFailures, countSignInAttempt, findSignInBlock, uncountSignInAttempt, type SignInRule } from '../db/repos/access.js';
import type { Core } from './core.js';

const MINUTE_MS = 60_000;

/**
 * Per email: five tries cover a forgotten password and a caps-lock; then a block of one minute
 * that doubles with each further failure (2, 4, 8 minutes) up to fifteen. A count starts afresh
 * once its window and its last block are both fifteen minutes over, so a steady guesser gets
 * about four tries an hour, and a person who mistyped is never held more than a minute at first.
 */
export const EMAIL_RULE: SignInRule = { freeFailures: 5, windowMs: 15 * MINUTE_MS, firstBlockMs: MINUTE_MS, maxBlockMs: 15 * MINUTE_MS };

/** Per client address: looser (twenty), since many operators can share one address; the same blocks. */
export const ADDRESS_RULE: SignInRule = { freeFailures: 20, windowMs: 15 * MINUTE_MS, firstBlockMs: MINUTE_MS, maxBlockMs: 15 * MINUTE_MS };

/**
 * The address a count is kept under: IPv4 as is (an IPv4-mapped IPv6 address as its IPv4), IPv6
 * by its /64, since one subscriber usually holds a whole /64 and could change address at will.
 */
export function addressKey(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return `ip:${mapped[1]}`;
  if (isIPv4(address) || !isIPv6(address)) return `ip:${address}`;
  const [head = '', tail = ''] = address.split('::');
  const left = head ? head.split(':') : [];
  const right = address.includes('::') && tail ? tail.split(':') : [];
  const groups = address.includes('::') ? [...left, ...Array(8 - left.length - right.length).fill('0'), ...right] : left;
  return `ip:${groups.slice(0, 4).map((g) => parseInt(g, 16).toString(16)).join(':')}::/64`;
}

export function emailKey(core: Core, email: string): string {
  return `email:${core.cipher.fingerprint(email.trim().toLowerCase())}`;
}

/**
 * Runs `check` (the password check) as one counted attempt for this email from this address.
 * Answers what `check` answers when it succeeds; throws 429 while blocked; when `check` answers
 * null (a wrong email or password) the attempt stays counted and null is answered.
 */
export async function throttledSignIn<T>(core: Core, email: string, address: string | null, check: () => Promise<T | null>): Promise<T | null> {
  const now = core.clock.now();
  const byEmail = emailKey(core, email);
  const byAddress = address ? addressKey(address) : null;
  const emailAttempt = await countSignInAttempt(core.db, byEmail, now, EMAIL_RULE);
  if (!emailAttempt) throw await blocked(core, [byEmail], now);
  const addressAttempt = byAddress ? await countSignInAttempt(core.db, byAddress, now, ADDRESS_RULE) : null;
  if (byAddress && !addressAttempt) {
    await uncountSignInAttempt(core.db, byEmail, emailAttempt.blockedUntil); // refused unchecked: not a failure of this email
    throw await blocked(core, [byAddress], now);
  }
  const result = await check();
  if (result === null) return null;
  await clearSignInFailures(core.db, byEmail);
  if (byAddress) await uncountSignInAttempt(core.db, byAddress, addressAttempt!.blockedUntil);
  return result;
}

async function blocked(core: Core, keys: string[], now: Date): Promise<AppError> {
  const until = await findSignInBlock(core.db, keys, now);
  const seconds = until ? Math.max(1, Math.ceil((until.getTime() - now.getTime()) / 1000)) : 1;
  return new AppError('too_many_sign_in_attempts',
    `Too many failed sign-ins for this email or from this address. Wait ${seconds} s before trying again; each further failure doubles the wait, up to 15 minutes.`,
    { retryAfterSeconds: seconds }, { 'retry-after': String(seconds) });
}

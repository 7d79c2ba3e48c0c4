/**
 * Client tokens and operators (issue 6): bearer credentials for the hosted pages, stored hashed.
 * Failed sign-ins (issue 11 item 8), counted per key in one statement each so every API process
 * shares the count and concurrent attempts never overwrite one another (services/sign-in-throttle.ts).
 */
import { and, eq, gt, inArray, isNull, lt, or, sql } from 'drizzle-orm';
import type { Db } from '../open.js';
import { applications } from '../schema.js';
import { clientTokens, operatorSessions, operators, signInFailures } from '../tables/access.js';

export async function insertClientToken(db: Db, row: typeof clientTokens.$inferInsert) {
  const [created] = await db.insert(clientTokens).values(row).returning();
  return created!;
}

/** The unexpired client token with this hash, with its application. */
export async function findClientToken(db: Db, hash: string, now: Date) {
  const [row] = await db.select({ token: clientTokens, application: applications }).from(clientTokens)
    .innerJoin(applications, eq(applications.id, clientTokens.applicationId))
    .where(and(eq(clientTokens.hash, hash), gt(clientTokens.expiresAt, now)));
  return row ?? null;
}

export async function insertOperator(db: Db, row: typeof operators.$inferInsert) {
  const [created] = await db.insert(operators).values(row).returning();
  return created!;
}

export async function findOperatorByEmail(db: Db, email: string) {
  const [row] = await db.select().from(operators).where(eq(operators.email, email));
  return row ?? null;
}

export async function insertOperatorSession(db: Db, row: typeof operatorSessions.$inferInsert) {
  await db.insert(operatorSessions).values(row);
}

/** The unexpired session with this hash, with its operator and application. */
export async function findOperatorSession(db: Db, hash: string, now: Date) {
  const [row] = await db.select({ session: operatorSessions, operator: operators, application: applications }).from(operatorSessions)
    .innerJoin(operators, eq(operators.id, operatorSessions.operatorId))
    .innerJoin(applications, eq(applications.id, operators.applicationId))
    .where(and(eq(operatorSessions.hash, hash), gt(operatorSessions.expiresAt, now)));
  return row ?? null;
}

/**
 * Forgets client tokens and operator sessions that expired before `before` (they can never be used
 * again), and sign-in failure counts whose window and block both ended before it (`before` is at
 * least a counting window ago, so such a count would start afresh anyway).
 */
export async function deleteExpiredAccess(db: Db, before: Date): Promise<void> {
  await db.delete(clientTokens).where(lt(clientTokens.expiresAt, before));
  await db.delete(operatorSessions).where(lt(operatorSessions.expiresAt, before));
  await db.delete(signInFailures).where(and(lt(signInFailures.windowStartedAt, before),
    or(isNull(signInFailures.blockedUntil), lt(signInFailures.blockedUntil, before))));
}

/** How failures at one key are counted and blocked (the rule and its reasons: services/sign-in-throttle.ts). */
export interface SignInRule {
  /** Failures counted together before a block starts. */
  freeFailures: number;
  /** A count starts afresh once its window and any block are both this long over. */
  windowMs: number;
  firstBlockMs: number;
  maxBlockMs: number;
}

/** The block after the `failures`th failure in a window: none below the free failures, then doubling up to the maximum. */
export function blockMs(rule: SignInRule, failures: number): number {
  if (failures < rule.freeFailures) return 0;
  return Math.min(rule.maxBlockMs, rule.firstBlockMs * 2 ** Math.min(30, failures - rule.freeFailures));
}

/**
 * Counts one sign-in attempt at `key`, in one statement, unless the key is blocked: answers the
 * count with the block that applies should this attempt fail (set now, so concurrent attempts
 * behind it are already refused), or null when the key was blocked and nothing was counted.
 * ON CONFLICT DO UPDATE locks the row and sees its latest version, so no attempt is lost.
 */
export async function countSignInAttempt(db: Db, key: string, now: Date, rule: SignInRule): Promise<{ failures: number; blockedUntil: Date | null } | null> {
  const at = sql`${now.toISOString()}::timestamptz`;
  const windowOver = sql`(${signInFailures.windowStartedAt} <= ${at} - ${rule.windowMs} * interval '1 millisecond'
    and coalesce(${signInFailures.blockedUntil}, '-infinity'::timestamptz) <= ${at} - ${rule.windowMs} * interval '1 millisecond')`;
  const count = sql`(case when ${windowOver} then 1 else ${signInFailures.failures} + 1 end)`;
  const first = blockMs(rule, 1);
  const [row] = await db.insert(signInFailures)
    .values({ key, failures: 1, windowStartedAt: now, blockedUntil: first > 0 ? new Date(now.getTime() + first) : null })
    .onConflictDoUpdate({
      target: signInFailures.key,
      set: {
        failures: count,
        windowStartedAt: sql`case when ${windowOver} then ${at} else ${signInFailures.windowStartedAt} end`,
        // blockMs in SQL: the same rule on the count this statement makes.
        blockedUntil: sql`case when ${count} >= ${rule.freeFailures}
          then ${at} + least(${rule.maxBlockMs}::float8, ${rule.firstBlockMs}::float8 * power(2, least(30, ${count} - ${rule.freeFailures}))) * interval '1 millisecond'
          else null end`,
      },
      setWhere: sql`${signInFailures.blockedUntil} is null or ${signInFailures.blockedUntil} <= ${at}`,
    })
    .returning({ failures: signInFailures.failures, blockedUntil: signInFailures.blockedUntil });
  return row ?? null;
}

/** Takes back an attempt counted by countSignInAttempt (it succeeded, or another key refused it), with the block it set. */
export async function uncountSignInAttempt(db: Db, key: string, blockedUntil: Date | null): Promise<void> {
  await db.update(signInFailures).set({
    failures: sql`greatest(${signInFailures.failures} - 1, 0)`,
    blockedUntil: blockedUntil ? sql`case when ${signInFailures.blockedUntil} = ${blockedUntil.toISOString()}::timestamptz then null else ${signInFailures.blockedUntil} end` : sql`${signInFailures.blockedUntil}`,
  }).where(eq(signInFailures.key, key));
}

/** Forgets the failures at `key` (a successful sign-in for that email). */
export async function clearSignInFailures(db: Db, key: string): Promise<void> {
  await db.delete(signInFailures).where(eq(signInFailures.key, key));
}

/** The latest block still running at any of `keys`, or null. */
export async function findSignInBlock(db: Db, keys: string[], now: Date): Promise<Date | null> {
  const rows = await db.select({ until: signInFailures.blockedUntil }).from(signInFailures)
    .where(and(inArray(signInFailures.key, keys), gt(signInFailures.blockedUntil, now)));
  const times = rows.map((r) => r.until!.getTime());
  return times.length > 0 ? new Date(Math.max(...times)) : null;
}

/**
 * Live API keys, remembered for a moment (a key is checked on every request; this spares the
 * lookup's round trip on all but the first request of each KEY_CACHE_MS).
 *
 * How stale it may be: a key revoked, or an application changed, by ANOTHER process (the CLI's
 * `keys revoke`, another API process's PATCH /v1/application or sandbox call) is seen here within
 * KEY_CACHE_MS. In THIS process every write to an API key or an application row goes through
 * db/repos/applications.ts, which calls forgetCachedKeys() before and after its statement: a lookup
 * that began before the write finished is never kept, so the next request reads the new row.
 * Only keys that were found are kept (an unknown key costs its lookup every time, as before), at
 * most KEY_CACHE_MAX of them, each under its SHA-256 hash, per database handle.
 */
export const KEY_CACHE_MS = 2_000;
const KEY_CACHE_MAX = 10_000;

interface CachedKey { at: number; generation: number; value: Promise<unknown> }
let keyGeneration = 0;
const keyCaches = new WeakMap<Db, Map<string, CachedKey>>();

/** Drops every remembered key, in every database handle of this process. */
export function forgetCachedKeys(): void {
  keyGeneration++;
}

/**
 * `load()` for this key hash, or its answer from the last KEY_CACHE_MS when it found the key and no
 * write came since. Requests arriving together while a lookup runs share it.
 */
export function cachedKeyLookup<T>(db: Db, hash: string, load: () => Promise<T | null>): Promise<T | null> {
  let cache = keyCaches.get(db);
  if (!cache) keyCaches.set(db, (cache = new Map()));
  const now = performance.now(); // monotonic: a sandbox test clock or a wall-clock step moves nothing here
  const hit = cache.get(hash);
  if (hit && hit.generation === keyGeneration && now - hit.at < KEY_CACHE_MS) return hit.value as Promise<T | null>;
  const generation = keyGeneration;
  const entry: CachedKey = { at: now, generation, value: load() };
  cache.delete(hash);
  cache.set(hash, entry);
  if (cache.size > KEY_CACHE_MAX) cache.delete(cache.keys().next().value!);
  const forget = () => { if (cache.get(hash) === entry) cache.delete(hash); };
  entry.value.then((found) => { if (found === null || generation !== keyGeneration) forget(); }, forget);
  return entry.value as Promise<T | null>;
}

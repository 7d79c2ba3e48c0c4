/**
 * Institution limits for one application (issue 5): the refresh interval and the capacity (at
 * once, per minute) it gets at an institution, and the permits every job takes before it calls the
 * bank (domain/throttle.ts, db/repos/throttles.ts). Limits are applied by every worker through the
 * database, so adding workers never adds load on a bank.
 *
 *   job ─► permit? ─► yes: run, give it back at the end (renewed while a long run goes on; written by
 *                 │          this process's next take there, or on its own RETURN_MS later)
 *                 └─► yes, from its reserved start (the next start is < 1 s away): wait for it, then run
 *                 └─► no: the job is sent again for when the institution can take it (queued, no retry spent)
 *   provider 429 ─► the institution is slowed down (Retry-After), for every worker
 */
import { DAY_MS } from '../domain/clock.js';
import { effectiveIntervalMs } from '../domain/schedule.js';
import {
  CONCURRENCY_RETRY_MS, decidePermit, effectiveCapacity, OPEN_THROTTLE, PERMIT_LEASE_MS, slowedDown, spacingMs, type InstitutionCapacity, type Permit,
} from '../domain/throttle.js';
import type { ApplicationRow } from '../db/repos/applications.js';
import { requeueJob } from '../db/repos/jobs.js';
import { readThrottle, releasePermits, renewPermit, takePermit, updateThrottle, type ThrottleKey } from '../db/repos/throttles.js';
import type { InstitutionLimits } from '../providers/types.js';
import type { Core } from './core.js';
import type { Db } from '../db/open.js';
import { findInstitutions, type CatalogueInstitution } from './catalogue.js';

type LimitsApplication = Pick<ApplicationRow, 'id' | 'refreshIntervalHours' | 'institutionSettings'>;

/** An unknown institution (gone from the provider's list) gets the strictest limits: one a day, one at a time. */
const UNKNOWN: InstitutionLimits = { refreshesPerDay: 1, minIntervalSeconds: 0, maxConcurrentRefreshes: 1, refreshesPerMinute: 1 };

/**
 * Institutions' limits, read from the catalogue and kept a minute per process: every job run,
 * scheduler tick and connection shown asks, and a catalogue sync changes them rarely.
 */
const LIMITS_TTL_MS = 60_000;
const institutionCache = new WeakMap<Core, Map<string, { institution: CatalogueInstitution | null; until: number }>>();

/** The catalogue's institution (null: not in it), kept a minute per process (see above). */
export async function cachedInstitution(core: Core, institutionId: string, db: Db = core.db): Promise<CatalogueInstitution | null> {
  return (await cachedInstitutions(core, [institutionId], db)).get(institutionId) ?? null;
}

/** Many institutions at once (a page of connections), from the same cache: the ones not in it read in one query. */
export async function cachedInstitutions(core: Core, ids: readonly string[], db: Db = core.db): Promise<Map<string, CatalogueInstitution>> {
  let cache = institutionCache.get(core);
  if (!cache) institutionCache.set(core, cache = new Map());
  const found = new Map<string, CatalogueInstitution>();
  const missing: string[] = [];
  const now = Date.now();
  for (const id of new Set(ids)) {
    const hit = cache.get(id);
    if (hit && hit.until > now) {
      if (hit.institution) found.set(id, hit.institution);
    } else missing.push(id);
  }
  if (missing.length > 0) {
    const read = await findInstitutions(core, missing, db);
    for (const id of missing) {
      const institution = read.get(id) ?? null;
      cache.set(id, { institution, until: now + LIMITS_TTL_MS });
      if (institution) found.set(id, institution);
    }
  }
  return found;
}

export async function institutionLimits(core: Core, institutionId: string, db: Db = core.db): Promise<InstitutionLimits> {
  return (await cachedInstitution(core, institutionId, db))?.limits ?? UNKNOWN;
}

/** How often the application's connections at this institution are refreshed in the background. */
export async function refreshIntervalMs(core: Core, application: LimitsApplication, institutionId: string, db: Db = core.db): Promise<number> {
  const hours = Math.max(application.refreshIntervalHours, application.institutionSettings[institutionId]?.refreshIntervalHours ?? 0);
  return effectiveIntervalMs(hours, await institutionLimits(core, institutionId, db));
}

export async function capacityFor(core: Core, application: LimitsApplication, institutionId: string, db: Db = core.db): Promise<InstitutionCapacity> {
  return effectiveCapacity(await institutionLimits(core, institutionId, db), application.institutionSettings[institutionId]);
}

/**
 * Asks for a permit for a job run (its token; on the wall clock: a bank's limits run in real time).
 * A start reserved a moment ahead (the pace's spacing, RESERVE_AHEAD_MS at most) is waited for here,
 * holding the permit, so the run calls the bank no sooner than its turn. The take writes the places
 * this process's runs gave back at the institution (permitReturns below).
 */
export async function acquirePermit(core: Core, key: ThrottleKey, capacity: InstitutionCapacity, runToken: string): Promise<Permit> {
  const returns = permitReturns(core);
  for (;;) {
    const now = core.clock.now();
    const released = returns.takeFor(key);
    let startAt: Date | null;
    try {
      startAt = await takePermit(core.db, key, runToken, capacity, now, PERMIT_LEASE_MS, released);
    } catch (err) {
      returns.add(key, released);
      throw err;
    }
    if (startAt) {
      const wait = startAt.getTime() - core.clock.now().getTime();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      return { granted: true, startAt };
    }
    returns.add(key, released); // a refused take writes nothing
    const refusal = decidePermit(await readThrottle(core.db, key), capacity, runToken, now);
    // Granted meanwhile (a holder left, or the next start came near, between the two reads): ask again at once.
    if (refusal.granted) continue;
    return refusal;
  }
}

/** A held permit for a run in progress: renewed after half a lease, given back at the end. */
export function holdPermit(core: Core, key: ThrottleKey, runToken: string) {
  let renewedAt = core.clock.now().getTime();
  return {
    key,
    async renewIfAging() {
      const now = core.clock.now().getTime();
      if (now - renewedAt < PERMIT_LEASE_MS / 2) return;
      renewedAt = now;
      await renewPermit(core.db, key, runToken, new Date(now + PERMIT_LEASE_MS));
    },
    /** Once, when the run is over (services/sync/run.ts). */
    release() {
      permitReturns(core).add(key, [runToken]);
    },
  };
}

/**
 * How long a place given back may wait for this process's next take at its institution before it
 * is written on its own. A give-back is thus no statement of its own while the institution is busy,
 * and a run's ending never touches the institution's row, on which every start and ending there
 * would queue while the ending waits for its commit to reach the disk (BENCHMARKS.md). A place is
 * held at most this much longer than its run, never shorter, so no limit is exceeded; a process
 * killed meanwhile leaves it to lapse with its lease, as one killed during the run does.
 */
export const RETURN_MS = 50;

/** The places this process's runs gave back and no statement has written yet, by institution. */
function permitReturns(core: Core) {
  let returns = returnsOf.get(core);
  if (!returns) returnsOf.set(core, returns = new PermitReturns(core));
  return returns;
}

const returnsOf = new WeakMap<Core, PermitReturns>();
const institutionOf = (k: ThrottleKey) => `${k.applicationId} ${k.institutionId}`;

class PermitReturns {
  private readonly pending = new Map<string, { key: ThrottleKey; holders: string[] }>();
  private timer: NodeJS.Timeout | null = null;
  private writing: Promise<void> = Promise.resolve();

  constructor(private readonly core: Core) {}

  add(key: ThrottleKey, holders: readonly string[]): void {
    if (holders.length === 0) return;
    const id = institutionOf(key);
    const entry = this.pending.get(id);
    if (entry) entry.holders.push(...holders);
    else this.pending.set(id, { key, holders: [...holders] });
    if (!this.timer) {
      this.timer = setTimeout(() => { this.timer = null; void this.flush(); }, RETURN_MS);
      this.timer.unref();
    }
  }

  /** The holders given back at this institution, now the caller's to write (or to add back). */
  takeFor(key: ThrottleKey): string[] {
    const id = institutionOf(key);
    const entry = this.pending.get(id);
    this.pending.delete(id);
    return entry?.holders ?? [];
  }

  /** Writes every place waiting, one statement per institution; answers when those and any earlier flush are done. */
  flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    const batch = [...this.pending.values()];
    this.pending.clear();
    const write = Promise.all(batch.map(({ key, holders }) => releasePermits(this.core.db, key, holders).catch((err) =>
      this.core.log.warn({ err, institutionId: key.institutionId }, 'institution permits not given back; they lapse with their lease'))));
    this.writing = Promise.all([this.writing, write]).then(() => undefined);
    return this.writing;
  }
}

/** Writes the places this process's runs gave back and nothing has written yet: after the job queue stopped, before the database closes. */
export function flushPermitReturns(core: Core): Promise<void> {
  return returnsOf.get(core)?.flush() ?? Promise.resolve();
}

export type HeldPermit = ReturnType<typeof holdPermit>;

/**
 * Sends a refused job again for when the institution should take it. Jitter spreads the refused
 * jobs out so they do not all return at the same instant: up to two retry periods for a full
 * institution, up to one spacing (at most 2 s) after a pace or a 429, so that a lone job, a user
 * waiting for their refresh, is not held back much past its turn.
 */
export async function deferJob(core: Core, refusal: Extract<Permit, { granted: false }>, capacity: InstitutionCapacity, jobId: string, tenantNow: Date): Promise<void> {
  const job = await requeueJob(core.db, jobId, tenantNow);
  if (!job) return; // ended meanwhile (cancelled by a purge, say)
  const window = refusal.reason === 'concurrency' ? 2 * CONCURRENCY_RETRY_MS : Math.min(2_000, spacingMs(capacity, OPEN_THROTTLE, tenantNow));
  const at = refusal.retryAt.getTime() + Math.floor(Math.random() * window);
  await core.queue.enqueue(job, new Date(Math.min(at, core.clock.now().getTime() + DAY_MS)));
}

/** The provider answered 429: every worker holds the institution back for this application. */
export async function slowInstitution(core: Core, key: ThrottleKey, retryAfterSeconds: number | null): Promise<void> {
  const now = core.clock.now();
  const state = await updateThrottle(core.db, key, (s) => slowedDown(s, retryAfterSeconds === null ? null : retryAfterSeconds * 1000, now));
  core.log.info({ institutionId: key.institutionId, applicationId: key.applicationId, slowedUntil: state.slowedUntil.toISOString(), rateFactor: state.rateFactor }, 'institution rate-limited: slowing down');
}

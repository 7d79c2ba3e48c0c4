/**
 * A bulk import's run: its pending rows in order, each through the single import
 * (services/import.ts importConnection), at a pace the provider can bear.
 *
 *   pending ──user found or created──► importConnection ──► imported (its connection)
 *      │                                  ├─ conflicting_connection naming this user's connection
 *      │                                  │   with this token ──► imported (made since the row's first
 *      │                                  │   attempt: a run killed before marking it) | skipped (there before)
 *      │                                  ├─ rate limited ──► wait its Retry-After, the same row again
 *      │                                  ├─ provider down ──► twice more, then failed
 *      │                                  └─ any other refusal ──► failed (its code and message)
 *      └── anything else (the database gone) stops the run: the row stays pending for the next one
 *
 * Crash-safe: the row's first attempt is written before the import, and the row ends in one
 * statement with its count (db/repos/imports.ts finishRow). A run killed anywhere leaves rows pending
 * or ended; the next run takes the pending ones, and a connection made just before a crash is met
 * as the clash that names it, never made twice. Two runs of one batch at once make no duplicate
 * either: the import's clash check locks the user, and a row ends once.
 *
 * Pace: rows start at most `rowsPerSecond` a second (0: no limit), `concurrency` at once; a rate
 * limit pauses every slot. The connections' import jobs then run under the institution limits
 * (services/limits.ts) like any other job.
 */
import { AppError, ERROR_CATALOGUE } from '../domain/errors.js';
import { looksLikeId } from '../domain/ids.js';
import { findApplication } from '../db/repos/applications.js';
import { findConnection } from '../db/repos/connections.js';
import {
  completeBatchIfDone, findBatchForRun, finishRow, findUserByEmail, listRows, markBatchRunning, markRowAttempted, setBatchWait,
  type BatchCounts, type ImportBatchRow, type ImportRowRow, type RowOutcome,
} from '../db/repos/imports.js';
import { findUser, findUserByExternalId } from '../db/repos/users.js';
import { ProviderError } from '../providers/types.js';
import { tenantClock, type Core, type Tenant } from './core.js';
import { importConnection, tokenLoginHash } from './import.js';
import { createUser } from './users.js';

/** Pending rows read at a time. */
const ROWS_PAGE = 200;
/** A provider that rate limits without saying how long: 2 s, doubling, at most a minute. */
const RATE_LIMIT_BACKOFF_MS = { first: 2_000, max: 60_000 };
/** Rate limits one row meets before it fails (a run again tries it afresh). */
const MAX_RATE_LIMITS_PER_ROW = 20;
/** A provider that did not answer: tried again after 1 s and 4 s, then the row fails. */
const TRANSIENT_DELAYS_MS = [1_000, 4_000];

/** Waits `ms`, or less when the run is asked to stop. */
function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.resolve();
  return new Promise<void>((resolve) => {
    const done = () => { clearTimeout(timer); signal?.removeEventListener('abort', done); resolve(); };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

export interface RowEvent { row: number; user: string; status: RowOutcome['status']; error: { code: string; message: string } | null; counts: BatchCounts }
export interface WaitEvent { ms: number; until: Date; reason: string }

export interface RunOptions {
  /** The longest Retry-After this run waits out; a longer one ends the run with `waitUntil` (the rows stay pending). */
  maxWaitMs: number;
  /** This run's pace instead of the batch's (the CLI's --rate and --concurrency on a resumed batch). */
  pace?: { rowsPerSecond: number; concurrency: number };
  /** Stop starting rows (the worker is shutting down): the rows in flight end, the rest stay pending. */
  signal?: AbortSignal;
  onRow?: (e: RowEvent) => void;
  onWait?: (e: WaitEvent) => void;
}

/** `waitUntil`: a provider's wait ended the run early. `stopped`: the signal did. Either way the pending rows wait for the next run. */
export interface RunResult { batch: ImportBatchRow; waitUntil: Date | null; stopped: boolean }

/** Rows start no faster than the pace, and not while a provider's Retry-After runs. */
class Pace {
  private nextAt = 0;
  pausedUntil = 0;
  constructor(private readonly intervalMs: number, private readonly signal?: AbortSignal) {}
  async turn(): Promise<void> {
    while (!this.signal?.aborted) {
      const now = Date.now();
      const at = Math.max(this.nextAt, this.pausedUntil);
      if (at <= now) { this.nextAt = now + this.intervalMs; return; }
      await sleep(at - now, this.signal);
    }
  }
  async unpaused(): Promise<void> {
    while (this.pausedUntil > Date.now() && !this.signal?.aborted) await sleep(this.pausedUntil - Date.now(), this.signal);
  }
  pause(ms: number): void { this.pausedUntil = Math.max(this.pausedUntil, Date.now() + ms); }
}

type Failure = { kind: 'rate_limited'; waitMs: number | null } | { kind: 'transient' } | { kind: 'refused'; code: string; message: string } | { kind: 'clash'; err: AppError };

/** What an import's failure means for the row. Anything not a refusal (a database error, a bug) is rethrown. */
function classify(err: unknown): Failure {
  if (err instanceof ProviderError) {
    if (err.code === 'rate_limited') return { kind: 'rate_limited', waitMs: err.retryAfterSeconds !== null ? err.retryAfterSeconds * 1000 : null };
    if (err.transient) return { kind: 'transient' };
    return { kind: 'refused', code: 'provider_unavailable', message: err.message };
  }
  if (!(err instanceof AppError)) throw err;
  const retryAfter = Number(err.details.retryAfterSeconds ?? err.headers['retry-after']);
  const waitMs = Number.isFinite(retryAfter) && retryAfter >= 0 ? retryAfter * 1000 : null;
  if (err.details.providerError === 'rate_limited' || ERROR_CATALOGUE[err.code].status === 429) return { kind: 'rate_limited', waitMs };
  if (err.code === 'provider_unavailable' || err.code === 'try_again') return { kind: 'transient' };
  if (err.code === 'conflicting_connection') return { kind: 'clash', err };
  return { kind: 'refused', code: err.code, message: err.message };
}

/**
 * The row's user: a usr_… id of the application, else the user with this external id, else (for
 * an email) the first with this email; not found, created with the external id or the email. One
 * at a time (the run's dispatcher calls it in row order), so two rows of a new user make one user.
 */
async function resolveUser(core: Core, tenant: Tenant, ref: string, known: Map<string, string>): Promise<{ userId: string } | { error: { code: string; message: string } }> {
  const cached = known.get(ref);
  if (cached) return { userId: cached };
  const appId = tenant.application.id;
  let userId: string | null = null;
  if (looksLikeId('usr', ref)) {
    userId = (await findUser(core.db, appId, ref))?.id ?? null;
    if (!userId) return { error: { code: 'not_found', message: `No user with id ${ref} exists in this application.` } };
  }
  userId ??= (await findUserByExternalId(core.db, appId, ref))?.id ?? null;
  const email = ref.includes('@');
  if (!userId && email) userId = (await findUserByEmail(core.db, appId, ref))?.id ?? null;
  if (!userId) {
    if (email && !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(ref)) return { error: { code: 'validation_failed', message: `${ref} is neither a user's external id nor an email address.` } };
    if (!email && ref.length > 255) return { error: { code: 'validation_failed', message: 'An external id is at most 255 characters.' } };
    try {
      userId = (await createUser(core, tenant, email ? { email: ref } : { externalId: ref })).id;
    } catch (err) {
      // Created meanwhile by another run of the same batch.
      if (!(err instanceof AppError) || err.code !== 'external_id_taken') throw err;
      userId = (await findUserByExternalId(core.db, appId, ref))!.id;
    }
  }
  known.set(ref, userId);
  return { userId };
}

interface RunState {
  core: Core;
  tenant: Tenant;
  batch: ImportBatchRow;
  pace: Pace;
  opts: RunOptions;
  /** A Retry-After longer than the run waits: no more rows start, and the run ends saying until when. */
  handOff: Date | null;
}

const refused = (code: string, message: string, userId: string | null): RowOutcome => ({ status: 'failed', userId, connectionId: null, errorCode: code, errorMessage: message });

async function finish(s: RunState, row: ImportRowRow, outcome: RowOutcome): Promise<void> {
  const at = tenantClock(s.core, s.tenant.application).now();
  const counts = await finishRow(s.core.db, s.batch.id, row.rowNumber, outcome, at, s.core.clock.now());
  if (counts) {
    s.opts.onRow?.({
      row: row.rowNumber, user: row.userRef, status: outcome.status, counts,
      error: outcome.errorCode ? { code: outcome.errorCode, message: outcome.errorMessage ?? '' } : null,
    });
  }
}

/** A clash that names this user's connection made from this very token is the row done: imported if this row made it, else skipped. */
async function clashOutcome(s: RunState, userId: string, token: string, attemptedAt: Date, err: AppError): Promise<RowOutcome> {
  const id = err.details.connectionId;
  if (typeof id === 'string') {
    const c = await findConnection(s.core.db, s.tenant.application.id, id);
    if (c && c.userId === userId && c.loginHash === tokenLoginHash(s.core, c.institutionId, token)) {
      return { status: c.createdAt.getTime() >= attemptedAt.getTime() ? 'imported' : 'skipped', userId, connectionId: c.id, errorCode: null, errorMessage: null };
    }
  }
  return refused(err.code, err.message, userId);
}

async function runRow(s: RunState, row: ImportRowRow, userId: string): Promise<void> {
  const token = s.core.cipher.decrypt(row.tokenEnc);
  let limits = 0;
  let transient = 0;
  for (;;) {
    await s.pace.unpaused();
    if (s.handOff || s.opts.signal?.aborted) return; // left pending for the next run
    const attemptedAt = await markRowAttempted(s.core.db, s.batch.id, row.rowNumber, userId, tenantClock(s.core, s.tenant.application).now());
    try {
      const { connection } = await importConnection(s.core, s.tenant, userId, {
        provider: s.batch.provider, accessToken: token, ...(row.institutionId ? { institutionId: row.institutionId } : {}),
      });
      return await finish(s, row, { status: 'imported', userId, connectionId: connection.id, errorCode: null, errorMessage: null });
    } catch (err) {
      const f = classify(err);
      if (f.kind === 'rate_limited' && ++limits <= MAX_RATE_LIMITS_PER_ROW) {
        const ms = f.waitMs ?? Math.min(RATE_LIMIT_BACKOFF_MS.first * 2 ** (limits - 1), RATE_LIMIT_BACKOFF_MS.max);
        const until = new Date(Date.now() + ms);
        if (ms > s.opts.maxWaitMs) {
          const current = s.handOff as Date | null; // other slots set it while this one awaited
          if (!current || until > current) s.handOff = until;
          return;
        }
        s.pace.pause(ms);
        s.opts.onWait?.({ ms, until, reason: err instanceof Error ? err.message : String(err) });
        continue;
      }
      if (f.kind === 'transient' && transient < TRANSIENT_DELAYS_MS.length) {
        await sleep(TRANSIENT_DELAYS_MS[transient++]!, s.opts.signal);
        continue;
      }
      if (f.kind === 'clash') return await finish(s, row, await clashOutcome(s, userId, token, attemptedAt, f.err));
      if (f.kind === 'rate_limited') return await finish(s, row, refused('provider_unavailable', `The provider kept answering that it is rate limited (${limits} times); run the import again later.`, userId));
      const message = f.kind === 'refused' ? f.message : (err as Error).message;
      return await finish(s, row, refused(f.kind === 'refused' ? f.code : 'provider_unavailable', message, userId));
    }
  }
}

/**
 * Runs a batch's pending rows to the end (or until a provider asks for a wait longer than
 * `maxWaitMs`). Safe to call again at any time, from any process: it takes what is still pending.
 * Null when the batch is gone (its application was deleted).
 */
export async function runImportBatch(core: Core, batchId: string, opts: RunOptions): Promise<RunResult | null> {
  const found = await findBatchForRun(core.db, batchId);
  const application = found ? await findApplication(core.db, found.applicationId) : null;
  if (!found || !application) return null; // deleted with its application
  if (found.status === 'completed') return { batch: found, waitUntil: null, stopped: false };
  const tenant: Tenant = { application, ...(found.actor ? { actor: found.actor } : {}) };
  const batch = (await markBatchRunning(core.db, batchId, tenantClock(core, application).now(), core.clock.now())) ?? found;
  const { rowsPerSecond, concurrency } = opts.pace ?? batch;
  const s: RunState = { core, tenant, batch, opts, pace: new Pace(rowsPerSecond > 0 ? 1000 / rowsPerSecond : 0, opts.signal), handOff: null };
  const inFlight = new Set<Promise<void>>();
  const known = new Map<string, string>();
  let fatal: { err: unknown } | null = null;
  let after = 0;
  try {
    await dispatch();
  } finally {
    await Promise.allSettled(inFlight);
  }
  if (fatal) throw (fatal as { err: unknown }).err;
  if (s.handOff) {
    await setBatchWait(core.db, batchId, s.handOff, null, core.clock.now());
    return { batch: (await findBatchForRun(core.db, batchId))!, waitUntil: s.handOff, stopped: false };
  }
  const batchNow = await completeBatchIfDone(core.db, batchId, tenantClock(core, application).now(), core.clock.now());
  return { batch: batchNow, waitUntil: null, stopped: batchNow.status !== 'completed' && opts.signal?.aborted === true };

  /** Starts the pending rows in order, each in a free slot at its turn; stops early on a hand-off or a fatal error. */
  async function dispatch(): Promise<void> {
    for (;;) {
      const rows = await listRows(core.db, batchId, { statuses: ['pending'], afterRow: after, limit: ROWS_PAGE });
      if (rows.length === 0) return;
      for (const row of rows) {
        while (inFlight.size >= Math.max(1, concurrency)) await Promise.race(inFlight);
        if (fatal || s.handOff || opts.signal?.aborted) return;
        await s.pace.turn();
        if (s.handOff || opts.signal?.aborted) return;
        after = row.rowNumber;
        const user = await resolveUser(core, tenant, row.userRef, known);
        if ('error' in user) {
          await finish(s, row, refused(user.error.code, user.error.message, null));
          continue;
        }
        const p: Promise<void> = runRow(s, row, user.userId)
          .catch((err) => { fatal ??= { err }; })
          .finally(() => inFlight.delete(p));
        inFlight.add(p);
      }
    }
  }
}

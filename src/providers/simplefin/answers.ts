/**
 * One request per run. A SimpleFIN answer carries accounts, balances and transactions together, and
 * the bridge allows only about 24 requests a day per access URL (mapping.ts BRIDGE_LIMITS), so the
 * answer fetchAccounts asks for is kept briefly, per access URL and run, and fetchTransactions reads
 * it instead of asking again. (The other way, balances-only for accounts and a dated request for
 * transactions, would spend two of the day's requests on every refresh.)
 *
 * So fetchAccounts asks for the widest window one request may cover: the bridge caps a request's
 * range at 90 days ("Requested date range exceeds limit of 90 days and was capped", securo#919), so
 * it asks from the start of the day 89 days ago. A refresh's range (30 days back from the last sync)
 * lies inside it. Only a range that starts earlier, a first sync of a year or a connection left
 * unsynced for two months, costs more: one request per further 90 days, each with an end-date.
 *
 *   run ──► fetchAccounts ──► GET /accounts?start-date=<today-89d>&pending=1 ──► kept (runKey, 10 min)
 *       └─► fetchTransactions [from, to] ──► the kept answer ─┬─► from ≥ today-89d: done
 *                                                             └─► earlier: GET …&start-date&end-date per 90 days
 */
import { createHash } from 'node:crypto';
import { DAY_MS, isoDay } from '../../domain/clock.js';
import type { SimpleFinClient } from './client.js';
import type { AccessParts } from './token.js';
import type { SfinAccountSet } from './wire.js';

/** Days one request may span (the bridge's cap). */
export const WINDOW_DAYS = 90;
/** How long a run's answer is kept: a run reads accounts and then transactions within seconds; a retry is a new run. */
export const ANSWER_TTL_MS = 10 * 60_000;
/** Answers kept at once, whatever their age: a bound on memory when many runs end without reading theirs. */
const MAX_KEPT = 256;

export interface Window {
  /** Unix seconds, inclusive. */
  start: number;
  /** Unix seconds, exclusive; absent: up to now (pending transactions dated ahead included). */
  end?: number;
}

const midnight = (day: string) => Date.parse(`${day}T00:00:00Z`);

/** The first day the run's main request covers: 89 days before today (UTC), so the range is at most 90 days. */
export function mainWindowStartDay(now: Date): string {
  return isoDay(new Date(midnight(isoDay(now)) - (WINDOW_DAYS - 1) * DAY_MS));
}

/** The further windows, oldest first, of at most WINDOW_DAYS each, that reach from `from` back to the main window's start. */
export function earlierWindows(from: string, mainStartDay: string): Window[] {
  const windows: Window[] = [];
  let start = midnight(from);
  const stop = midnight(mainStartDay);
  while (start < stop) {
    const end = Math.min(start + WINDOW_DAYS * DAY_MS, stop);
    windows.push({ start: start / 1000, end: end / 1000 });
    start = end;
  }
  return windows;
}

export interface Fetch {
  access: AccessParts;
  /** The stored access URL: the cache key is its hash. */
  token: string;
  secrets: readonly string[];
  allowPrivate: boolean;
  now: Date;
  runKey: string;
}

export function createAnswerCache(client: SimpleFinClient, ttlMs = ANSWER_TTL_MS) {
  const kept = new Map<string, { expiresAt: number; answer: Promise<SfinAccountSet> }>();

  function prune(nowMs: number) {
    for (const [key, entry] of kept) if (entry.expiresAt <= nowMs) kept.delete(key);
    while (kept.size >= MAX_KEPT) kept.delete(kept.keys().next().value!);
  }

  return {
    /** The run's main answer (today-89d to now), asked for once per access URL and run. */
    main(f: Fetch): Promise<SfinAccountSet> {
      // Keyed by a hash so the map holds no credentials in its keys; real time, not the run's clock, decides expiry.
      const key = `${createHash('sha256').update(f.token).digest('hex')}\0${f.runKey}`;
      const nowMs = Date.now();
      const hit = kept.get(key);
      if (hit && hit.expiresAt > nowMs) return hit.answer;
      prune(nowMs);
      const start = midnight(mainWindowStartDay(f.now)) / 1000;
      const answer = client.accounts(f.access, f.secrets, { startDate: start }, f.allowPrivate, f.now);
      kept.set(key, { expiresAt: nowMs + ttlMs, answer });
      // A failed request is not kept: the retry (a new run) asks again.
      answer.catch(() => { if (kept.get(key)?.answer === answer) kept.delete(key); });
      return answer;
    },

    /** One further window (never kept: only a long range needs it, once). */
    window(f: Fetch, w: Window): Promise<SfinAccountSet> {
      return client.accounts(f.access, f.secrets, { startDate: w.start, ...(w.end !== undefined ? { endDate: w.end } : {}) }, f.allowPrivate, f.now);
    },

    get size() {
      return kept.size;
    },
  };
}

export type AnswerCache = ReturnType<typeof createAnswerCache>;

/**
 * How a job run writes while its steps run: each provider call through `call` (journaled as it
 * ends, and saving a step's start that is still unsaved when the call is slow), a step's last write
 * carrying its end and the next step's start (`endingWrite`), and every write of the job taking
 * the run's calls not yet journaled (`withJournal`). The steps themselves are in steps.ts.
 */
import { saveSteps, stepsWith, SupersededRunError } from '../../db/repos/jobs.js';
import type { RunFence } from '../../db/repos/data.js';
import type { ProviderCallInsert } from '../../db/repos/provider-calls.js';
import type { Provider, ProviderCallContext } from '../../providers/types.js';
import { callProvider } from './journal.js';
import type { RunState, StepDone } from './steps.js';

/**
 * A step that follows one with no write of its own (verify-credentials) does not save its start
 * before its first provider call: a call that answers within this long leaves the start to the
 * step's own write (the accounts, with their step done), one statement instead of two; a slower
 * call has the start saved while it waits. So a job's steps show the running step at most this
 * late, and a crash meanwhile runs the step before it again, which is safe (every step is idempotent).
 */
export const START_SAVE_AFTER_MS = 100;

/** A provider call of this run, journaled as it ends (sync/journal.ts), saving the step's start if it is slow to answer. */
export function call<T>(s: RunState, operation: string, fn: (provider: Provider, ctx: ProviderCallContext) => Promise<T>): Promise<T> {
  const answer = callProvider(s.scope, operation, fn);
  return s.startUnsaved ? savingStartIfSlow(s, answer) : answer;
}

async function savingStartIfSlow<T>(s: RunState, answer: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const slow = new Promise<boolean>((resolve) => { timer = setTimeout(() => resolve(true), START_SAVE_AFTER_MS); });
  const waiting = await Promise.race([answer.then(() => false, () => false), slow]);
  clearTimeout(timer);
  if (waiting && s.startUnsaved) {
    s.startUnsaved = false;
    // The steps as they stand: the run waits on this call, so nothing else changes them meanwhile.
    await withJournal(s, (calls) => saveSteps(s.core.db, s.job.id, s.runToken, s.steps, s.clock.now(), calls))
      .catch(async (err: unknown) => { await answer.catch(() => {}); throw err; });
  }
  return answer;
}

export const fenceOf = (s: RunState): RunFence => ({ jobId: s.job.id, runToken: s.runToken });

/**
 * The last write of a step that ends with `outcome`: the same statement saves the step done and the
 * next one started, with the run's calls not yet journaled (RunFence.save, db/repos/data.ts): one
 * write per step instead of two. The last step's end is the run's end (sync/run.ts `finish`).
 */
export async function endingWrite<T>(s: RunState, outcome: StepDone, write: (run: RunFence) => Promise<T>): Promise<T> {
  const { name, next } = s.step;
  if (next === null) return write(fenceOf(s));
  const at = s.clock.now();
  const steps = stepsWith(stepsWith(s.steps, name, { status: outcome.kind, resultCode: outcome.resultCode, finishedAt: at.toISOString() }),
    next, { status: 'in_progress', startedAt: at.toISOString(), finishedAt: null, resultCode: null });
  const result = await withJournal(s, (calls) => write({ ...fenceOf(s), save: { steps, at, calls } }));
  s.step.carried = { outcome, steps };
  s.startUnsaved = false;
  return result;
}

/**
 * A write of the job that also journals the run's calls made since its last one (sync/journal.ts).
 * A write that fails leaves them for the next, unless it was one statement that found the run
 * superseded: that statement journaled them (db/repos/jobs.ts). A transaction that fails wrote nothing.
 */
export async function withJournal<T>(s: Pick<RunState, 'scope'>, write: (calls: ProviderCallInsert[]) => Promise<T>, how: 'statement' | 'transaction' = 'statement'): Promise<T> {
  const calls = s.scope.pending?.splice(0) ?? [];
  try {
    return await write(calls);
  } catch (err) {
    if (how === 'transaction' || !(err instanceof SupersededRunError)) s.scope.pending?.unshift(...calls);
    throw err;
  }
}


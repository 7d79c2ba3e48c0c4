/**
 * Start-up steps on stderr, one line each: `Applying 15 database migrations… done in 1.6 s`.
 * Without a terminal (container logs, CI, a pipe) nothing is redrawn: the line's start is written
 * when the step begins and its end when it ends; a step still running after a second ends its line
 * at once (log collectors show a line only once it ends) and says `<step>: done in 20.5 s` on a
 * line of its own when it is done. On a terminal the line counts the seconds while the step runs
 * (PGlite's first initdb holds the event loop for seconds at a time, so a spinner would only
 * stutter; a counter that moves when it can is honest).
 */
import type { StartProgress } from '../runtime.js';

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
/** Without a terminal, a step that runs longer than this gets its start line ended, so logs show what is being waited for. */
const LONG_STEP_MS = 1000;

export function printedProgress(stream: Pick<NodeJS.WriteStream, 'write' | 'isTTY'> = process.stderr, longStepMs = LONG_STEP_MS): StartProgress {
  const tty = stream.isTTY === true;
  return {
    async step(what, run) {
      const started = performance.now();
      stream.write(`${what}…`);
      let ticker: NodeJS.Timeout;
      let lineEnded = false;
      if (tty) {
        ticker = setInterval(() => {
          const ms = performance.now() - started;
          if (ms >= 1000) stream.write(`\r\x1b[2K${what}… ${Math.floor(ms / 1000)} s`);
        }, 250);
      } else {
        ticker = setTimeout(() => { lineEnded = true; stream.write('\n'); }, longStepMs);
      }
      ticker.unref();
      const end = (words: string) => {
        clearInterval(ticker);
        clearTimeout(ticker);
        stream.write(tty ? `\r\x1b[2K${what}… ${words}\n` : lineEnded ? `${what}: ${words}\n` : ` ${words}\n`);
      };
      try {
        const value = await run();
        end(`done in ${seconds(performance.now() - started)}`);
        return value;
      } catch (err) {
        end(`failed after ${seconds(performance.now() - started)}`);
        throw err;
      }
    },
  };
}

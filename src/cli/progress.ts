/**
 * Start-up steps on stderr, one line each: `Applying 15 database migrations… done in 1.6 s`.
 * Without a terminal (container logs, CI, a pipe) the line is written in two parts, its start when
 * the step begins and its end when it ends, with nothing redrawn. On a terminal the line also
 * counts the seconds while the step runs (PGlite's first initdb holds the event loop for seconds
 * at a time, so a spinner would only stutter; a counter that moves when it can is honest).
 */
import type { StartProgress } from '../runtime.js';

export const silentProgress: StartProgress = { step: (_what, run) => run() };

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

export function printedProgress(stream: NodeJS.WriteStream = process.stderr): StartProgress {
  const tty = stream.isTTY === true;
  return {
    async step(what, run) {
      const started = performance.now();
      stream.write(`${what}…`);
      let ticker: NodeJS.Timeout | null = null;
      if (tty) {
        ticker = setInterval(() => {
          const ms = performance.now() - started;
          if (ms >= 1000) stream.write(`\r\x1b[2K${what}… ${Math.floor(ms / 1000)} s`);
        }, 250);
        ticker.unref();
      }
      const end = (words: string) => {
        if (ticker) clearInterval(ticker);
        stream.write(tty ? `\r\x1b[2K${what}… ${words}\n` : ` ${words}\n`);
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

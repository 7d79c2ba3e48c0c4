/**
 * PGlite takes no lock on its data directory, and a second process writing the same files would
 * corrupt it. Causeway holds `causeway.lock` (created with O_EXCL) for as long as it runs. The lock
 * names the holder by pid and, on Linux, the process start time, so a pid reused by an unrelated
 * process after a crash or a reboot is recognised as a stale lock.
 * Known gap: two processes starting in the same instant over a stale lock can both remove it and
 * both take it; stale locks come from crashes, so this needs a crash and a double start at once.
 */
import fs from 'node:fs';
import path from 'node:path';

export class DataDirLockedError extends Error {
  constructor(readonly dataDir: string, readonly pid: number) {
    super(
      `The data directory ${dataDir} is in use by another Causeway process (pid ${pid}). ` +
      'Stop that process first, or point CAUSEWAY_DATA_DIR at another directory. ' +
      `If no such process is running, delete ${path.join(dataDir, 'causeway.lock')}.`,
    );
    this.name = 'DataDirLockedError';
  }
}

/** The kernel's start time of a process (clock ticks since boot), or null where /proc is absent. */
function startTimeOf(pid: number): string | null {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Field 22; the command name (field 2) may contain spaces, so count from its closing parenthesis.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? null;
  } catch {
    return null;
  }
}

function identity(pid: number): string {
  return `${pid}:${startTimeOf(pid) ?? ''}`;
}

function holderIsAlive(content: string): boolean {
  const [pidText, started = ''] = content.split(':');
  const pid = Number.parseInt(pidText ?? '', 10);
  if (!Number.isFinite(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  // Alive: the same process only if it started when the lock was taken (where that can be told).
  const now = startTimeOf(pid);
  return started === '' || now === null || now === started;
}

/** Takes the lock or throws DataDirLockedError; returns the release function. */
export function lockDataDir(dataDir: string): () => void {
  fs.mkdirSync(dataDir, { recursive: true });
  const file = path.join(dataDir, 'causeway.lock');
  const me = identity(process.pid);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = fs.openSync(file, 'wx', 0o600);
      fs.writeSync(fd, me);
      fs.closeSync(fd);
      let released = false;
      const release = () => {
        if (released) return;
        released = true;
        try {
          if (fs.readFileSync(file, 'utf8') === me) fs.unlinkSync(file);
        } catch { /* already gone */ }
      };
      process.once('exit', release);
      return release;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const content = fs.readFileSync(file, 'utf8');
      const pid = Number.parseInt(content, 10);
      if (content !== me && holderIsAlive(content)) throw new DataDirLockedError(dataDir, pid);
      // The holder died without cleaning up (kill -9, power loss): the lock is stale.
      fs.rmSync(file, { force: true });
    }
  }
  throw new Error(`Could not take the lock on ${dataDir}: another process took it at the same moment`);
}

// One running gateway per embedded store directory: `gateway.pid` in the directory names the
// holder. Two gateways would both serve, but sessions and key changes published by one would never
// reach the other (the embedded store's pub/sub is in-process). A pid file left by a crash is
// taken over once its process is gone. Other tools (rotate-keys) may still open the store.
import { readFileSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const LOCK_FILE = 'gateway.pid';

export class DirectoryHeldError extends Error {
  override readonly name = 'DirectoryHeldError';
  constructor(
    readonly dir: string,
    readonly pid: number,
  ) {
    super(`the store directory ${dir} is held by another running gateway (pid ${pid}); stop it, or give this one its own BRIDGE_STORE=embedded:<directory>`);
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: it exists, under another user
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export interface DirectoryLock {
  release(): void;
}

/** Takes `dir` for this process or throws DirectoryHeldError. The directory must exist. */
export function holdDirectory(dir: string, pid = process.pid): DirectoryLock {
  const file = join(dir, LOCK_FILE);
  for (let attempt = 0; ; attempt++) {
    try {
      writeFileSync(file, `${pid}\n`, { flag: 'wx', mode: 0o600 });
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 0) throw e;
    }
    let holder = NaN;
    try {
      holder = Number.parseInt(readFileSync(file, 'utf8'), 10);
    } catch {
      // vanished meanwhile: try again
    }
    if (Number.isInteger(holder) && holder > 0 && holder !== pid && alive(holder)) throw new DirectoryHeldError(dir, holder);
    // stale (crashed holder) or unreadable: take it over
    try {
      unlinkSync(file);
    } catch {
      // another starter took it first; the retry tells
    }
  }
  let released = false;
  return {
    release() {
      if (released) return;
      released = true;
      try {
        if (Number.parseInt(readFileSync(file, 'utf8'), 10) === pid) unlinkSync(file);
      } catch {
        // already gone
      }
    },
  };
}

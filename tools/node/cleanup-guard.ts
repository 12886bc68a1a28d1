/**
 * Cleans up after a CLI that dies mid-write. The export runs synchronously for minutes, and Node
 * runs SIGINT/SIGTERM handlers only between tasks, so a handler would delay Ctrl-C until the export
 * had finished. Instead the signals keep their default (the process ends at once) and a small
 * helper process, detached from the terminal's process group, waits for this one to end (its
 * stdin pipe closes) and then sweeps the given folders (staging.ts: staging folders of the dead
 * pid removed, a previous model set aside put back). A crash or SIGKILL is covered the same way.
 */
import { spawn } from 'node:child_process';
import type { Socket } from 'node:net';
import { join } from 'node:path';

const GUARD_MAIN = join(import.meta.dirname, 'cleanup-guard-main.ts');

/** This process's module loader flags (the TypeScript loader), without others such as --inspect. */
function loaderFlags(): string[] {
  const flags: string[] = [];
  const argv = process.execArgv;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (/^--(import|require|loader|experimental-loader)=/.test(arg)) flags.push(arg);
    else if (/^--(import|require|loader|experimental-loader)$/.test(arg) && i + 1 < argv.length)
      flags.push(arg, argv[++i]!);
  }
  return flags;
}

/** Starts the helper for this process and `dirs`; it costs nothing while this process runs. */
export function startCleanupGuard(dirs: readonly string[]): void {
  const guard = spawn(process.execPath, [...loaderFlags(), GUARD_MAIN, String(process.pid), ...dirs], {
    // Not the caller's folder, which may be gone by the time the guard starts (the loader then
    // hangs); from here a bare `--import tsx` still resolves through the repository's node_modules.
    cwd: import.meta.dirname,
    detached: true,
    stdio: ['pipe', 'ignore', 'ignore'],
  });
  guard.on('error', () => undefined); // no guard means only that the next run sweeps instead
  guard.unref();
  (guard.stdin as Socket).unref();
}

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

/** Starts the helper for this process and `dirs`; it costs nothing while this process runs. */
export function startCleanupGuard(dirs: readonly string[]): void {
  // Same Node flags as this process (they load the TypeScript loader).
  const guard = spawn(process.execPath, [...process.execArgv, GUARD_MAIN, String(process.pid), ...dirs], {
    detached: true,
    stdio: ['pipe', 'ignore', 'ignore'],
  });
  guard.on('error', () => undefined); // no guard means only that the next run sweeps instead
  guard.unref();
  (guard.stdin as Socket).unref();
}

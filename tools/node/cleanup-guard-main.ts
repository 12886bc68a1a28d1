/**
 * The cleanup guard's process (cleanup-guard.ts): `<pid> <dir>…`. Reads stdin until the guarded
 * process ends, then sweeps each folder as if that pid were gone (it may still be a zombie).
 */
import { sweepLeftovers } from './staging.ts';

const [pid, ...dirs] = process.argv.slice(2);
// The terminal's Ctrl-C reaches the whole foreground group; this process is meant to outlive it.
process.on('SIGINT', () => undefined);
process.on('SIGHUP', () => undefined);
process.stdin.on('data', () => undefined);
process.stdin.on('close', () => {
  for (const dir of dirs) {
    try {
      sweepLeftovers(dir, [Number(pid)]);
    } catch {
      // Nobody is left to tell; the next run in this folder sweeps again.
    }
  }
  process.exit(0);
});

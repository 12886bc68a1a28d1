/**
 * How a CLI reports a failure: an `ExpectedError` (the user's to fix) or a Node system error
 * (ENOENT, EACCES, ENOSPC, …: a path the user gave or a full disk) as one line; anything else is
 * a bug, printed with its stack so it can be reported.
 */
import { ExpectedError } from '../src/core/expected-error.ts';

/** The fields Node puts on errors from the filesystem and other system calls. */
interface SystemError extends Error {
  readonly code: string;
  readonly syscall: string;
  readonly path?: string;
  readonly dest?: string;
}

const NEXT_STEP: Readonly<Record<string, string>> = {
  ENOENT: 'check the path',
  ENOTDIR: 'a part of the path is a file, not a folder; check the path',
  EISDIR: 'it is a folder; give a file',
  EACCES: 'check its permissions or choose another path',
  EPERM: 'check its permissions or choose another path',
  EROFS: 'the filesystem is read-only; choose another path',
  ENOSPC: 'the disk is full; free some space and run again',
  EDQUOT: 'the disk quota is used up; free some space and run again',
  EMFILE: 'too many open files; raise the limit (ulimit -n) and run again',
  EIO: 'the device reported an I/O error; check the disk',
};

export function isSystemError(error: unknown): error is SystemError {
  if (!(error instanceof Error)) return false;
  const { code, syscall } = error as Partial<SystemError>;
  return typeof code === 'string' && /^E[A-Z0-9]+$/.test(code) && typeof syscall === 'string';
}

/** "ENOENT: no such file or directory, open '/x'" → "no such file or directory". */
function describe(error: SystemError): string {
  const match = /^E[A-Z0-9]+: ([^,]+)/.exec(error.message);
  return match?.[1] ?? error.message;
}

/** What to do next where the error's own message states only what is wrong (the page says its own remedy). */
const NEXT_STEP_FOR: Readonly<Record<string, string>> = {
  IntegrityError: 'Copy the model folder again, or export it again if the copy you have is damaged.',
};

/** The line to print, and the stack only for errors nobody planned for. */
export function formatCliError(error: unknown): { line: string; stack: string | undefined } {
  if (error instanceof ExpectedError) {
    const next = NEXT_STEP_FOR[error.name];
    return { line: `error: ${error.message}${next === undefined ? '' : ` ${next}`}`, stack: undefined };
  }
  if (isSystemError(error)) {
    const target =
      error.path === undefined ? '' : ` ${error.path}${error.dest === undefined ? '' : ` → ${error.dest}`}`;
    const next = NEXT_STEP[error.code] ?? 'check the path and run again';
    return {
      line: `error: cannot ${error.syscall}${target}: ${describe(error)} (${error.code}); ${next}`,
      stack: undefined,
    };
  }
  if (error instanceof Error) return { line: `error: ${error.message}`, stack: error.stack };
  return { line: `error: ${String(error)}`, stack: undefined };
}

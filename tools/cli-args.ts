/** A small `--flag value` parser for the Node CLIs, with errors a person can act on. */
import { ExpectedError } from '../src/core/expected-error.ts';
import { parseSeed, SeedError } from '../src/core/seed.ts';
import { formatCliError } from './cli-errors.ts';

export class UsageError extends ExpectedError {
  override name = 'UsageError';
}

export interface ParsedArgs {
  readonly values: Map<string, string>;
  /** Switches given (flags without a value, such as --force). */
  readonly switches: Set<string>;
  readonly positional: string[];
}

/**
 * @param takesPositional whether words outside flags mean something to the tool (tokenize's text); elsewhere they are
 * refused: an unquoted `--prompt a red fox` would otherwise draw "a" and drop the rest without a word.
 */
export function parseArgs(
  argv: readonly string[],
  known: readonly string[],
  knownSwitches: readonly string[] = [],
  { takesPositional = false }: { takesPositional?: boolean } = {},
): ParsedArgs {
  const values = new Map<string, string>();
  const switches = new Set<string>();
  const positional: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('--')) {
      if (!takesPositional)
        throw new UsageError(`unexpected "${arg}": a value of several words needs quotes (--prompt "a red fox")`);
      positional.push(arg);
      continue;
    }
    const [flag, inline] = arg.slice(2).split(/=(.*)/s, 2) as [string, string | undefined];
    if (knownSwitches.includes(flag)) {
      if (inline !== undefined) throw new UsageError(`--${flag} takes no value`);
      switches.add(flag);
      continue;
    }
    if (!known.includes(flag))
      throw new UsageError(
        `unknown option --${flag} (known: ${[...known, ...knownSwitches].map((k) => `--${k}`).join(', ')})`,
      );
    const value = inline ?? argv[++i];
    if (value === undefined || (inline === undefined && value.startsWith('--')))
      throw new UsageError(`--${flag} needs a value (one that starts with "--" is written --${flag}=…)`);
    values.set(flag, value);
  }
  return { values, switches, positional };
}

/** Plain decimal digits only: Number() would also take "", "1e3", "0x10" and round past 2^53. */
export function intArg(args: ParsedArgs, flag: string, fallback: number, min = 0): number {
  const raw = args.values.get(flag);
  if (raw === undefined) return fallback;
  const value = /^[0-9]+$/.test(raw) ? Number(raw) : NaN;
  if (!Number.isSafeInteger(value) || value < min)
    throw new UsageError(`--${flag} must be a whole number ≥ ${min}, got "${raw}"`);
  return value;
}

export function numberArg(args: ParsedArgs, flag: string, fallback: number): number {
  const raw = args.values.get(flag);
  if (raw === undefined) return fallback;
  const value = raw.trim() === '' ? NaN : Number(raw);
  if (!Number.isFinite(value)) throw new UsageError(`--${flag} must be a number, got "${raw}"`);
  return value;
}

/** A seed in the shared seed space (src/core/seed.ts), refused rather than rounded. */
export function seedArg(args: ParsedArgs, flag = 'seed'): number {
  const raw = args.values.get(flag);
  if (raw === undefined) return 0;
  try {
    return parseSeed(raw);
  } catch (error) {
    throw error instanceof SeedError ? new UsageError(`--${flag}: ${error.message}`) : error;
  }
}

/** Runs a CLI main; a failure prints one line (a stack only for a bug) and exits non-zero. */
export function runCli(main: () => void | Promise<void>): void {
  Promise.resolve()
    .then(main)
    .catch((error: unknown) => {
      const { line, stack } = formatCliError(error);
      console.error(line);
      if (stack !== undefined) console.error(stack);
      process.exitCode = 1;
    });
}

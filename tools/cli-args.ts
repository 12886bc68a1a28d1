/** A small `--flag value` parser for the Node CLIs, with errors a person can act on. */
export class UsageError extends Error {
  override name = 'UsageError';
}

export interface ParsedArgs {
  readonly values: Map<string, string>;
  readonly positional: string[];
}

export function parseArgs(argv: readonly string[], known: readonly string[]): ParsedArgs {
  const values = new Map<string, string>();
  const positional: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('--')) {
      positional.push(arg);
      continue;
    }
    const [flag, inline] = arg.slice(2).split(/=(.*)/s, 2) as [string, string | undefined];
    if (!known.includes(flag)) throw new UsageError(`unknown option --${flag} (known: ${known.map((k) => `--${k}`).join(', ')})`);
    const value = inline ?? argv[++i];
    if (value === undefined || (inline === undefined && value.startsWith('--'))) throw new UsageError(`--${flag} needs a value`);
    values.set(flag, value);
  }
  return { values, positional };
}

export function intArg(args: ParsedArgs, flag: string, fallback: number, min = 0): number {
  const raw = args.values.get(flag);
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min) throw new UsageError(`--${flag} must be an integer ≥ ${min}, got "${raw}"`);
  return value;
}

export function numberArg(args: ParsedArgs, flag: string, fallback: number): number {
  const raw = args.values.get(flag);
  if (raw === undefined) return fallback;
  const value = Number(raw);
  if (!Number.isFinite(value)) throw new UsageError(`--${flag} must be a number, got "${raw}"`);
  return value;
}

/** Runs a CLI main, printing known errors as one clear line and exiting non-zero. */
export function runCli(main: () => Promise<void>): void {
  main().catch((error: unknown) => {
    const e = error instanceof Error ? error : new Error(String(error));
    console.error(`error: ${e.message}`);
    if (!['UsageError', 'CheckpointError', 'ConfigError', 'HubDownloadError', 'ManifestError'].includes(e.name)) console.error(e.stack);
    process.exitCode = 1;
  });
}

/** Runs the repository's CLIs as a user would (`node --import tsx tools/<name>.ts …`), from any folder. */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';

const ROOT = join(import.meta.dirname, '..', '..');
// Resolved here, so the CLI can run with a temp folder as its working directory.
const TSX = import.meta.resolve('tsx');

export interface CliResult {
  readonly code: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
}

export interface CliOptions {
  readonly cwd?: string;
  readonly env?: Readonly<Record<string, string>>;
  /** Called with the running process and each chunk of stderr (to signal it at a chosen moment). */
  readonly onStderr?: (child: ChildProcess, chunk: string) => void;
}

export function runTool(tool: string, args: readonly string[], options: CliOptions = {}): Promise<CliResult> {
  const child = spawn(process.execPath, ['--import', TSX, join(ROOT, 'tools', `${tool}.ts`), ...args], {
    cwd: options.cwd ?? ROOT,
    env: { ...process.env, ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
    options.onStderr?.(child, chunk);
  });
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

/** The lines a failed run printed, checked to be exactly one `error: …` line with no stack. */
export function oneErrorLine(result: CliResult): string {
  const lines = result.stderr.split('\n').filter((l) => l.trim() !== '');
  if (result.code !== 1 || lines.length !== 1 || !lines[0]!.startsWith('error: ')) {
    throw new Error(`expected exit 1 and one "error:" line, got exit ${result.code} and:\n${result.stderr}`);
  }
  return lines[0]!;
}

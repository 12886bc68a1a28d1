/**
 * Runs one measurement in a fresh Node process (bench-child.ts), so that its peak memory and allocator state are that
 * run's alone: `npm run bench`'s runs, and `npm run bench:browser --native on`'s native runs beside the page's.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import type { ChildJob } from './bench-child.ts';
import type { BenchRun } from './bench-report.ts';

export function runChild(job: ChildJob): BenchRun {
  // The webgpu runtime's process imports onnxruntime-web's WebGPU bundle (tools/node/webgpu-preload.ts).
  const preload =
    job.runtime === 'webgpu' ? ['--import', join(import.meta.dirname, '../tools/node/webgpu-preload.ts')] : [];
  const child = spawnSync(
    process.execPath,
    [
      '--import',
      import.meta.resolve('tsx'),
      ...preload,
      join(import.meta.dirname, 'bench-child.ts'),
      JSON.stringify(job),
    ],
    {
      stdio: ['ignore', 'pipe', 'inherit'],
      encoding: 'utf8',
      maxBuffer: 1 << 20,
    },
  );
  const last = child.stdout.trim().split('\n').pop() ?? '';
  if (child.status !== 0 || !last.startsWith('{'))
    throw new Error(`benchmark run ${JSON.stringify(job)} failed (exit ${child.status ?? child.signal})`);
  return JSON.parse(last) as BenchRun;
}

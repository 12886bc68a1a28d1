/**
 * Resident memory of the Chromium the browser bench launches: its browser process and every process under it (GPU
 * process, renderers with their WASM heaps, utilities), read from `ps` on Linux. On WebGPU the model's weights and
 * buffers live in the GPU process; SwiftShader keeps them in its memory.
 */
import { execFileSync } from 'node:child_process';

export interface ProcessEntry {
  readonly pid: number;
  readonly ppid: number;
  readonly rssKb: number;
  readonly args: string;
}

/** Every process `ps` lists; none where there is no `ps` (the bench then reports no memory). */
export function listProcesses(): ProcessEntry[] {
  let out: string;
  try {
    out = execFileSync('ps', ['-eo', 'pid=,ppid=,rss=,args='], { encoding: 'utf8' });
  } catch {
    return [];
  }
  return out.split('\n').flatMap((line) => {
    const match = /^\s*(\d+)\s+(\d+)\s+(\d+)\s+(.*)$/.exec(line);
    return match ? [{ pid: Number(match[1]), ppid: Number(match[2]), rssKb: Number(match[3]), args: match[4]! }] : [];
  });
}

/** Chromium browser processes: the top of a Chromium tree has no `--type=` (its children all do). */
export function chromiumBrowserPids(processes: readonly ProcessEntry[]): Set<number> {
  return new Set(
    processes.filter((p) => /chrom/i.test(p.args.split(' ')[0] ?? '') && !p.args.includes('--type=')).map((p) => p.pid),
  );
}

/** Resident MB of `root` and all its descendants. */
export function treeRssMb(processes: readonly ProcessEntry[], root: number): number {
  const children = new Map<number, ProcessEntry[]>();
  for (const p of processes) children.set(p.ppid, [...(children.get(p.ppid) ?? []), p]);
  let kb = 0;
  const visit = (pid: number) => {
    for (const child of children.get(pid) ?? []) {
      kb += child.rssKb;
      visit(child.pid);
    }
  };
  kb += processes.find((p) => p.pid === root)?.rssKb ?? 0;
  visit(root);
  return kb / 1024;
}

/** Samples a process tree's resident memory until stopped; `stop` gives the largest reading (MB), null if none. */
export function samplePeakRss(root: number, everyMs = 250): { stop: () => number | null } {
  let peak: number | null = null;
  const read = () => {
    const mb = treeRssMb(listProcesses(), root);
    if (mb > 0) peak = Math.max(peak ?? 0, mb);
  };
  read();
  let timer: ReturnType<typeof setInterval> | undefined = setInterval(read, everyMs);
  return {
    // Idempotent: a second call (the caller's cleanup) neither reads again nor changes the answer.
    stop: () => {
      if (timer !== undefined) {
        clearInterval(timer);
        timer = undefined;
        read();
      }
      return peak === null ? null : Math.round(peak);
    },
  };
}

/**
 * Resident memory of the Chromium the browser bench launches: its browser process and every process under it (GPU
 * process, renderers with their WASM heaps, utilities), read from /proc on Linux (`ps` elsewhere). On WebGPU the
 * model's weights and buffers live in the GPU process; SwiftShader keeps them in its memory.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';

export interface ProcessEntry {
  readonly pid: number;
  readonly ppid: number;
  readonly rssKb: number;
  readonly args: string;
}

/**
 * Every process `ps` lists, with its command line; none where there is no `ps` (the bench then reports no memory).
 * A `ps` costs ≈ 22 ms of CPU: the driver runs it only when Chromium starts (sampling with it every 250 ms took
 * a 9-image step 11–40 % slower on two cores; `readProcessTable` is what the sampler reads).
 */
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

/** One process's parent and resident memory from /proc/<pid>/status (kernel threads have no `VmRSS`: 0). */
function readStatus(pid: number): ProcessEntry | null {
  let status: string;
  try {
    status = readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    return null; // it ended between the listing and the read
  }
  const ppid = /^PPid:\s+(\d+)/m.exec(status);
  const rss = /^VmRSS:\s+(\d+) kB/m.exec(status);
  return ppid ? { pid, ppid: Number(ppid[1]), rssKb: rss ? Number(rss[1]) : 0, args: '' } : null;
}

/**
 * Every process's parent and resident memory, read from /proc without starting a process (≈ 3 ms; no command lines);
 * `ps`'s listing where there is no /proc.
 */
export function readProcessTable(): ProcessEntry[] {
  let pids: number[];
  try {
    pids = readdirSync('/proc')
      .filter((name) => /^\d+$/.test(name))
      .map(Number);
  } catch {
    return listProcesses();
  }
  return pids.flatMap((pid) => readStatus(pid) ?? []);
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
    const mb = treeRssMb(readProcessTable(), root);
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

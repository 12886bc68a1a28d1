/**
 * Download progress: a per-file lifecycle plus totals, speed and time left. `loaded` never
 * decreases and `total` never changes during one download, whatever happens to a file (a server
 * that ignores Range makes a file start over: its bar waits until the new transfer passes it).
 */

export type FileState =
  /** Already complete in storage: counted at once, nothing fetched. */
  | 'stored'
  /** Stored pieces of an interrupted download are read back and re-hashed. */
  | 'checking'
  | 'downloading'
  /** Every byte arrived and the sha256 matched manifest.json. */
  | 'complete';

export interface FileProgress {
  readonly path: string;
  readonly state: FileState;
  readonly loaded: number;
  readonly total: number;
}

export interface DownloadProgress {
  readonly file: FileProgress;
  /** Bytes of the model in storage or received, over `total`: every distinct file (by sha256) of the manifest. */
  readonly loaded: number;
  readonly total: number;
  /** Network throughput over the last few seconds; null until there is enough to measure. */
  readonly bytesPerSecond: number | null;
  readonly secondsLeft: number | null;
}

/** Speed is measured over this much recent time, so it follows changes in the connection. */
const SPEED_WINDOW_MS = 5000;
/** Shorter spans give wild numbers (the first chunks often arrive in a burst). */
const MIN_SPEED_SPAN_MS = 500;

export class ProgressTracker {
  private finishedBytes = 0;
  private current: FileProgress | undefined;
  private receivedBytes = 0;
  private samples: { readonly at: number; readonly received: number }[] = [];

  constructor(
    readonly total: number,
    private readonly emit: (progress: DownloadProgress) => void,
    private readonly now: () => number,
  ) {
    this.samples.push({ at: now(), received: 0 });
  }

  fileStored(path: string, bytes: number): void {
    this.finishedBytes += bytes;
    this.current = undefined;
    this.report({ path, state: 'stored', loaded: bytes, total: bytes });
  }

  fileChecking(path: string, bytes: number): void {
    this.current = { path, state: 'checking', loaded: 0, total: bytes };
    this.report(this.current);
  }

  /** `loaded`: bytes of this file stored or received so far. */
  fileLoaded(path: string, bytes: number, loaded: number): void {
    const before = this.current?.path === path ? this.current.loaded : 0;
    this.current = { path, state: 'downloading', loaded: Math.max(before, loaded), total: bytes };
    this.report(this.current);
  }

  fileComplete(path: string, bytes: number): void {
    this.finishedBytes += bytes;
    this.current = undefined;
    this.report({ path, state: 'complete', loaded: bytes, total: bytes });
  }

  /** Bytes received over the network so far. */
  get networkBytes(): number {
    return this.receivedBytes;
  }

  /** Bytes that came over the network (the speed counts these, not bytes read back from storage). */
  received(bytes: number): void {
    this.receivedBytes += bytes;
    const at = this.now();
    this.samples.push({ at, received: this.receivedBytes });
    while (this.samples.length > 2 && at - this.samples[1]!.at >= SPEED_WINDOW_MS) this.samples.shift();
  }

  private bytesPerSecond(): number | null {
    const first = this.samples[0]!;
    const last = this.samples.at(-1)!;
    const span = last.at - first.at;
    return span >= MIN_SPEED_SPAN_MS ? ((last.received - first.received) * 1000) / span : null;
  }

  private report(file: FileProgress): void {
    const loaded = this.finishedBytes + (this.current?.loaded ?? 0);
    const bytesPerSecond = this.bytesPerSecond();
    const left = this.total - loaded;
    const secondsLeft = left === 0 ? 0 : bytesPerSecond ? left / bytesPerSecond : null;
    this.emit({ file, loaded, total: this.total, bytesPerSecond, secondsLeft });
  }
}

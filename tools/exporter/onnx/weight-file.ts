/**
 * External-data files for one graph, split so no single file passes `maxFileBytes`: static hosts
 * limit file sizes, and the browser's model store downloads, resumes and hashes file by file.
 */
import { createHash } from 'node:crypto';
import { closeSync, openSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import type { WeightSink } from './graph-builder.ts';

/** Offsets are aligned so that runtimes may map tensors straight from the file. */
const ALIGN = 64;
export const DEFAULT_MAX_FILE_BYTES = 64 * 2 ** 20;

export class ExternalDataWriter implements WeightSink {
  private fd: number | null = null;
  private size = 0;
  readonly files: string[] = [];

  constructor(
    private readonly dir: string,
    private readonly baseName: string,
    private readonly maxFileBytes = DEFAULT_MAX_FILE_BYTES,
  ) {}

  private open(): void {
    if (this.fd !== null) closeSync(this.fd);
    const name = this.files.length === 0 ? this.baseName : `${this.baseName}_${this.files.length}`;
    this.fd = openSync(join(this.dir, name), 'w');
    this.files.push(name);
    this.size = 0;
  }

  write(bytes: Uint8Array): { location: string; offset: number; length: number } {
    const padding = (ALIGN - (this.size % ALIGN)) % ALIGN;
    if (this.fd === null || (this.size > 0 && this.size + padding + bytes.length > this.maxFileBytes)) this.open();
    else if (padding > 0) this.append(new Uint8Array(padding));
    const offset = this.size;
    this.append(bytes);
    return { location: this.files[this.files.length - 1]!, offset, length: bytes.length };
  }

  private append(bytes: Uint8Array): void {
    let done = 0;
    while (done < bytes.length) done += writeSync(this.fd!, bytes, done, bytes.length - done);
    this.size += bytes.length;
  }

  close(): void {
    if (this.fd !== null) closeSync(this.fd);
    this.fd = null;
  }
}

type Stored = ReturnType<WeightSink['write']>;

/**
 * One graph's external data shared with a variant of it that has other nodes over the same weights
 * (the VQGAN's Winograd file): `record` stores every blob and remembers where; `reuse` points a blob
 * already stored at its bytes and stores only new ones (the variant's own constants), so the variant
 * adds a graph file and a few KB, not a second copy of the weights.
 */
export class SharedWeights {
  private readonly stored = new Map<string, Stored>();

  constructor(private readonly writer: WeightSink) {}

  readonly record: WeightSink = {
    write: (bytes) => {
      const where = this.writer.write(bytes);
      this.stored.set(digest(bytes), where);
      return where;
    },
  };

  readonly reuse: WeightSink = {
    write: (bytes) => this.stored.get(digest(bytes)) ?? this.record.write(bytes),
  };
}

function digest(bytes: Uint8Array): string {
  return createHash('sha256').update(bytes).digest('hex');
}

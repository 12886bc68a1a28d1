/** A buffered forward reader over a checkpoint's file descriptor, for walking its msgpack structure. */
import { readFully } from '../node/read-fully.ts';
import type { ReadAt } from '../node/read-fully.ts';
import { CheckpointError } from './checkpoint-error.ts';

export class FileCursor {
  private buffer = Buffer.alloc(1 << 16);
  private start = 0; // file offset of buffer[0]
  private end = 0; // file offset one past the valid bytes
  pos = 0;
  /** The tree path being parsed, so a truncation names the tensor it cut. */
  context = '';
  constructor(
    private readonly fd: number,
    readonly size: number,
    readonly file: string,
    private readonly read: ReadAt,
  ) {}

  /** Bytes left between the cursor and the end of the file. */
  get remaining(): number {
    return this.size - this.pos;
  }

  private where(): string {
    return this.context === '' ? 'the top-level map' : `"${this.context}"`;
  }

  truncated(what: string): CheckpointError {
    return new CheckpointError(
      `${this.file}: truncated msgpack in ${this.where()} (${what}, file has ${this.size} bytes); download or re-create the checkpoint`,
    );
  }

  private fill(need: number): void {
    if (this.pos >= this.start && this.pos + need <= this.end) return;
    if (need > this.remaining) throw this.truncated(`needed ${need} bytes at offset ${this.pos}`);
    if (need > this.buffer.length) this.buffer = Buffer.alloc(need);
    const want = Math.min(this.buffer.length, this.remaining);
    const got = readFully(this.read, this.fd, this.buffer, 0, want, this.pos);
    if (got < need) {
      throw new CheckpointError(
        `${this.file}: short read in ${this.where()} (got ${got} of ${need} bytes at offset ${this.pos}): the file changed while being read, or the filesystem failed. Check the file and export again`,
      );
    }
    this.start = this.pos;
    this.end = this.pos + got;
  }
  u8(): number {
    this.fill(1);
    return this.buffer[this.pos++ - this.start]!;
  }
  bytes(n: number): Buffer {
    this.fill(n);
    const offset = this.pos - this.start;
    this.pos += n;
    return Buffer.from(this.buffer.subarray(offset, offset + n));
  }
  uint(n: 1 | 2 | 4 | 8): number {
    const b = this.bytes(n);
    if (n === 1) return b.readUInt8(0);
    if (n === 2) return b.readUInt16BE(0);
    if (n === 4) return b.readUInt32BE(0);
    return Number(b.readBigUInt64BE(0));
  }
  int(n: 1 | 2 | 4 | 8): number {
    const b = this.bytes(n);
    if (n === 1) return b.readInt8(0);
    if (n === 2) return b.readInt16BE(0);
    if (n === 4) return b.readInt32BE(0);
    return Number(b.readBigInt64BE(0));
  }
  skip(n: number): void {
    if (n > this.remaining) throw this.truncated(`a ${n}-byte value at offset ${this.pos} runs past the end`);
    this.pos += n;
  }
}

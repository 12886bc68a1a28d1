/**
 * Positional reads that insist on every byte. `readSync` may return fewer bytes than asked (a
 * network filesystem, a signal, a file shrinking under us); taking the rest of the buffer as read
 * would turn the missing bytes into zeros.
 */
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { ExpectedError } from '../../src/core/expected-error.ts';

/** `readSync`'s shape, so tests can stand in a filesystem that answers in pieces or stops early. */
export type ReadAt = (fd: number, buffer: Uint8Array, offset: number, length: number, position: number) => number;

export const readAt: ReadAt = (fd, buffer, offset, length, position) => readSync(fd, buffer, offset, length, position);

export class ShortReadError extends ExpectedError {
  override name = 'ShortReadError';
  constructor(file: string, what: string) {
    super(
      `${file}: ${what}: the file changed while being read, or the filesystem failed. Check the file and run again.`,
    );
  }
}

/** Reads until `length` bytes are in or the file ends; returns how many arrived. */
export function readFully(
  read: ReadAt,
  fd: number,
  buffer: Uint8Array,
  offset: number,
  length: number,
  position: number,
): number {
  let done = 0;
  while (done < length) {
    const n = read(fd, buffer, offset + done, length - done, position + done);
    if (n <= 0) break;
    done += n;
  }
  return done;
}

/**
 * Calls `onPiece` with the whole file in order, in pieces of at most `pieceBytes` (large files need
 * not sit in memory), and checks that exactly the size it had when opened was read.
 */
export function forEachPiece(
  file: string,
  pieceBytes: number,
  onPiece: (piece: Uint8Array) => void,
  read: ReadAt = readAt,
): number {
  const fd = openSync(file, 'r');
  try {
    const size = fstatSync(fd).size;
    const buffer = Buffer.alloc(Math.min(pieceBytes, Math.max(size, 1)));
    for (let position = 0; position < size;) {
      const want = Math.min(buffer.length, size - position);
      const got = readFully(read, fd, buffer, 0, want, position);
      if (got < want) throw new ShortReadError(file, `read ${got} of ${want} bytes at offset ${position}`);
      onPiece(buffer.subarray(0, got));
      position += got;
    }
    // A file that grew while we read would not match the size recorded for it.
    if (readFully(read, fd, buffer, 0, 1, size) !== 0)
      throw new ShortReadError(file, `it grew past the ${size} bytes it had when opened`);
    return size;
  } finally {
    closeSync(fd);
  }
}

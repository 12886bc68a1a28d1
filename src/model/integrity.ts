/**
 * What can be wrong with a model file, and the two checks every source runs: the size the manifest
 * declares (before anything is buffered) and the sha256 of the bytes (before ONNX Runtime sees them).
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import type { ManifestFile } from './manifest.ts';
import { ExpectedError } from '../core/expected-error.ts';
import { serverTrouble } from '../core/http-status.ts';

/** Raised when a model file's size or sha256 differs from its manifest entry (corrupted or partial download). */
export class IntegrityError extends ExpectedError {
  override name = 'IntegrityError';
  constructor(
    readonly file: string,
    readonly expected: string,
    readonly actual: string,
  ) {
    // Facts only: the remedy depends on who reads it (the page: try again, only this file is fetched; the CLIs: copy
    // or export the folder again). No "delete it": the downloader and the store already drop what fails, and deleting
    // the model would throw away its good files too.
    super(`${file} is corrupted: expected ${expected}, got ${actual}; it was not used.`);
  }
}

/**
 * A file the manifest lists is not there to read: missing, answered with a web page, an HTTP error,
 * a link out of the folder.
 */
export class ModelFileUnavailableError extends ExpectedError {
  override name = 'ModelFileUnavailableError';
  constructor(
    readonly file: string,
    readonly reason: string,
    /** The HTTP status that refused it, when one did (a busy server is not a missing file). */
    readonly status?: number,
  ) {
    super(
      `${file} is not available: ${reason}. ${status !== undefined && serverTrouble(status) ? 'The server may be busy or down: try again later.' : 'Make sure the model folder holds every file its manifest.json lists, then load the model again.'}`,
    );
  }
}

/**
 * Lowercase hex sha256 of bytes in memory, the one helper for every source: Web Crypto where it
 * exists (native, in the browser worker and in Node ≥ 20); plain-http origins have no crypto.subtle,
 * and there the same digest comes from @noble/hashes.
 */
export async function sha256Hex(bytes: Uint8Array<ArrayBuffer>): Promise<string> {
  const subtle = globalThis.crypto?.subtle;
  if (!subtle) return bytesToHex(sha256(bytes));
  return bytesToHex(new Uint8Array(await subtle.digest('SHA-256', bytes)));
}

/** Refuses a size (from stat, Content-Length or bytes received) that is not the one the manifest declares. */
export function checkDeclaredSize(entry: ManifestFile, actualBytes: number, where: string): void {
  if (actualBytes !== entry.bytes) throw new IntegrityError(where, `${entry.bytes} bytes`, `${actualBytes} bytes`);
}

/** For a body or file still going on past the declared size: reading stops there. */
export function overrunError(entry: ManifestFile, where: string): IntegrityError {
  return new IntegrityError(where, `${entry.bytes} bytes`, `more than ${entry.bytes} bytes`);
}

/** Size, then sha256: the whole check of a file's bytes against its manifest entry. */
export async function checkFileBytes(
  entry: ManifestFile,
  bytes: Uint8Array<ArrayBuffer>,
  where: string,
): Promise<void> {
  checkDeclaredSize(entry, bytes.byteLength, where);
  const sha = await sha256Hex(bytes);
  if (sha !== entry.sha256) throw new IntegrityError(where, `sha256 ${entry.sha256}`, `sha256 ${sha}`);
}

/**
 * SHA-256 in two forms. Whole files are hashed incrementally while they stream (crypto.subtle has
 * no streaming digest, and buffering a file to hash it at the end would double its memory).
 * Single pieces use the model's sha256Hex (crypto.subtle where it exists: native and several times
 * faster, and copying one piece for it costs little).
 */
import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';

export interface FileHasher {
  update(bytes: Uint8Array): unknown;
  digest(): Uint8Array;
}

export function createFileHasher(): FileHasher {
  return sha256.create();
}

export function hexDigest(hasher: FileHasher): string {
  return bytesToHex(hasher.digest());
}

/** sha256 of one stored piece: the model's one helper (native where it can be). */
export { sha256Hex as pieceSha256 } from '../model/integrity.ts';

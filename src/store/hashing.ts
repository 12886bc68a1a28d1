/**
 * SHA-256 in two forms. Whole files are hashed incrementally while they stream (crypto.subtle has
 * no streaming digest, and buffering a file to hash it at the end would double its memory).
 * Single pieces are hashed with crypto.subtle where it exists: it is native and several times
 * faster, and copying one piece for it costs little.
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

/** sha256 of one stored piece; noble's where crypto.subtle is missing (plain-http origins have none). */
export async function pieceSha256(piece: Uint8Array<ArrayBuffer>): Promise<string> {
  const subtle = globalThis.crypto?.subtle;
  if (!subtle) return bytesToHex(sha256(piece));
  return bytesToHex(new Uint8Array(await subtle.digest('SHA-256', piece)));
}

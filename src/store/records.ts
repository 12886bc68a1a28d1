/**
 * What the store keeps under which key. Files are content-addressed by their sha256, so a file that
 * two models share (the VQGAN of Mini and Mega, the tokenizer) is stored once. Keys carry a format
 * version: a change of layout gets new keys instead of misreading old entries.
 *
 *   piece:v1:<sha256>:<index>  → Uint8Array, `pieceBytes` long (the last one shorter)
 *   file:v1:<sha256>           → FileRecord
 *   model:v1:<modelId>/<dtype> → ModelRecord
 */
import { NewerFormatError } from '../model/format-version.ts';
import { ManifestError } from '../model/manifest.ts';
import type { ManifestFile } from '../model/manifest.ts';
import { parseStoredManifest } from '../model/stored-manifest.ts';
import type { StoredManifest } from '../model/stored-manifest.ts';

export const PIECE_PREFIX = 'piece:v1:';
export const FILE_PREFIX = 'file:v1:';
export const MODEL_PREFIX = 'model:v1:';

export const piecePrefix = (sha256: string): string => `${PIECE_PREFIX}${sha256}:`;
export const pieceKey = (sha256: string, index: number): string => `${piecePrefix(sha256)}${index}`;
export const fileKey = (sha256: string): string => `${FILE_PREFIX}${sha256}`;
export const modelKey = (storedModelId: string): string => `${MODEL_PREFIX}${storedModelId}`;

/** One model id can be exported in several dtypes; each is stored (and deleted) on its own. */
export const storedModelId = (manifest: StoredManifest): string => `${manifest.modelId}/${manifest.dtype}`;

export interface FileRecord {
  readonly bytes: number;
  /** Piece size this file was split with (kept per file so the default can change without breaking stored files). */
  readonly pieceBytes: number;
  /** sha256 of each stored piece, in order: pieces 0 … length − 1 are stored. Checked when pieces are read back. */
  readonly pieceHashes: readonly string[];
  /** Every piece stored and the whole file's sha256 matched manifest.json. */
  readonly complete: boolean;
}

export interface ModelRecord {
  readonly manifest: StoredManifest;
  readonly savedAt: number;
  /** The folder URL it was downloaded from: how the page finds it again without the network. */
  readonly source?: string;
  /**
   * The complete manifest this one replaced (a new export under the same id), kept with its files until the new
   * one's files are all stored: a stopped or failed update leaves the old version to load, offline included.
   */
  readonly previous?: StoredManifest;
}

export type StoredRecord = FileRecord | ModelRecord;

const isCount = (value: unknown): value is number => typeof value === 'number' && Number.isInteger(value) && value >= 0;

/** Entries come from disk and may be damaged or from another version: anything unexpected reads as absent. */
export function parseFileRecord(value: unknown): FileRecord | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  if (!('bytes' in value && 'pieceBytes' in value && 'pieceHashes' in value && 'complete' in value)) return undefined;
  const { bytes, pieceBytes, pieceHashes, complete } = value;
  if (!isCount(bytes) || !isCount(pieceBytes) || pieceBytes === 0 || typeof complete !== 'boolean') return undefined;
  if (!Array.isArray(pieceHashes) || !pieceHashes.every((hash) => typeof hash === 'string')) return undefined;
  const hashes: readonly string[] = pieceHashes;
  if (hashes.length > piecesOf(bytes, pieceBytes)) return undefined;
  return { bytes, pieceBytes, pieceHashes: hashes, complete };
}

export function parseModelRecord(value: unknown): ModelRecord | undefined {
  if (typeof value !== 'object' || value === null || !('manifest' in value) || !('savedAt' in value)) return undefined;
  const { manifest, savedAt } = value;
  const source = 'source' in value && typeof value.source === 'string' ? { source: value.source } : {};
  if (typeof savedAt !== 'number') return undefined;
  try {
    const record = { manifest: parseStoredManifest(manifest, 'stored manifest'), savedAt, ...source };
    const previous = 'previous' in value ? parsePrevious(value.previous) : undefined;
    return previous ? { ...record, previous } : record;
  } catch (error) {
    if (error instanceof ManifestError || error instanceof NewerFormatError) return undefined;
    throw error;
  }
}

/**
 * The sha256 of every file a stored model record lists (its manifest's and the version it replaces), read loosely: a
 * record another version of the app wrote may not parse here, and its files must not look unused. Undefined when
 * the record lists no files in a form this version can find.
 */
export function listedHashes(value: unknown): string[] | undefined {
  const filesOf = (manifest: unknown): unknown =>
    typeof manifest === 'object' && manifest !== null && 'files' in manifest ? manifest.files : undefined;
  const hashesOf = (files: unknown): string[] =>
    Array.isArray(files)
      ? files.flatMap((file: unknown) =>
          typeof file === 'object' && file !== null && 'sha256' in file && typeof file.sha256 === 'string'
            ? [file.sha256]
            : [],
        )
      : [];
  if (typeof value !== 'object' || value === null || !('manifest' in value)) return undefined;
  const files = filesOf(value.manifest);
  if (!Array.isArray(files)) return undefined;
  const previous = 'previous' in value ? filesOf(value.previous) : undefined;
  return [...hashesOf(files), ...hashesOf(previous)];
}

export function piecesOf(bytes: number, pieceBytes: number): number {
  return Math.ceil(bytes / pieceBytes);
}

/** Bytes of the file held by its stored pieces. */
export function storedBytesOf(record: FileRecord): number {
  return Math.min(record.bytes, record.pieceHashes.length * record.pieceBytes);
}

/** The manifest's files with duplicates (same sha256) listed once: the unit of storage and download. */
export function uniqueFiles(manifest: StoredManifest): ManifestFile[] {
  const bySha = new Map<string, ManifestFile>();
  for (const file of manifest.files) if (!bySha.has(file.sha256)) bySha.set(file.sha256, file);
  return [...bySha.values()];
}

/** A damaged previous manifest only loses the fallback, not the model. */
function parsePrevious(value: unknown): StoredManifest | undefined {
  try {
    return parseStoredManifest(value, 'previous stored manifest');
  } catch (error) {
    if (error instanceof ManifestError || error instanceof NewerFormatError) return undefined;
    throw error;
  }
}

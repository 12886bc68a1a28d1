/**
 * Files stored as pieces under their sha256. A piece and the record that counts it are written in
 * one transaction, so after any interruption the record says exactly which pieces are good. Every
 * piece's own sha256 is kept in the record and checked whenever the piece is read back (loading,
 * resuming): storage corruption surfaces as an IntegrityError, not as a broken ONNX session.
 */
import type { ManifestFile } from '../model/manifest.ts';
import { IntegrityError } from '../model/integrity.ts';
import { FileNotStoredError } from './errors.ts';
import { createFileHasher, pieceSha256 } from './hashing.ts';
import type { FileHasher } from './hashing.ts';
import type { StoreBackend } from './piece-store.ts';
import { FILE_PREFIX, fileKey, parseFileRecord, PIECE_PREFIX, pieceKey, piecePrefix, piecesOf } from './records.ts';
import type { FileRecord } from './records.ts';

/** Where an incomplete file continues: its stored pieces, already fed to the hasher. */
export interface ResumePoint {
  readonly pieceBytes: number;
  readonly pieceHashes: readonly string[];
  readonly hasher: FileHasher;
  /** Bytes held by the stored pieces: the next byte to download. */
  readonly offset: number;
}

/** A stored piece as read back: absent, damaged, or its bytes. */
type PieceCheck =
  | { readonly ok: true; readonly bytes: Uint8Array<ArrayBuffer> }
  | { readonly ok: false; readonly problem: 'missing' | 'corrupted'; readonly actual: string };

export class FileStore {
  constructor(
    private readonly backend: StoreBackend,
    /** Piece size for files downloaded from now on; stored files keep the size they were written with. */
    readonly pieceBytes: number,
  ) {}

  async record(sha256: string): Promise<FileRecord | undefined> {
    return parseFileRecord(await this.backend.get(fileKey(sha256)));
  }

  async isComplete(entry: ManifestFile): Promise<boolean> {
    const record = await this.record(entry.sha256);
    return record !== undefined && record.complete && record.bytes === entry.bytes;
  }

  freshStart(): ResumePoint {
    return { pieceBytes: this.pieceBytes, pieceHashes: [], hasher: createFileHasher(), offset: 0 };
  }

  /**
   * Reads the stored pieces back, checks each against its recorded sha256 and feeds it to a new
   * file hasher (noble's hasher state cannot be saved, so re-hashing is how it survives a restart).
   * The first bad piece and everything after it are dropped from the record.
   */
  async resume(entry: ManifestFile): Promise<ResumePoint> {
    const record = await this.record(entry.sha256);
    if (!record) return this.freshStart();
    if (record.bytes !== entry.bytes) {
      await this.discard(entry.sha256);
      return this.freshStart();
    }
    const hasher = createFileHasher();
    let good = 0;
    for (; good < record.pieceHashes.length; good++) {
      const piece = await this.readPiece(entry.sha256, record, good);
      if (!piece.ok) break;
      hasher.update(piece.bytes);
    }
    const pieceHashes = record.pieceHashes.slice(0, good);
    if (good < record.pieceHashes.length) await this.writeRecord(entry, { ...record, pieceHashes, complete: false });
    return {
      pieceBytes: record.pieceBytes,
      pieceHashes,
      hasher,
      offset: Math.min(entry.bytes, good * record.pieceBytes),
    };
  }

  /** Stores piece number `pieceHashes.length − 1` (whose hash is the last one) together with its record. */
  async writePiece(
    entry: ManifestFile,
    pieceBytes: number,
    pieceHashes: readonly string[],
    piece: Uint8Array<ArrayBuffer>,
  ): Promise<void> {
    const record: FileRecord = { bytes: entry.bytes, pieceBytes, pieceHashes, complete: false };
    await this.backend.put([
      [pieceKey(entry.sha256, pieceHashes.length - 1), piece],
      [fileKey(entry.sha256), record],
    ]);
  }

  /** Called once the whole file's sha256 matched manifest.json. */
  async markComplete(entry: ManifestFile, point: ResumePoint): Promise<void> {
    await this.writeRecord(entry, {
      bytes: entry.bytes,
      pieceBytes: point.pieceBytes,
      pieceHashes: point.pieceHashes,
      complete: true,
    });
  }

  /** Removes a file: its record and every piece stored under its sha256. */
  async discard(sha256: string): Promise<void> {
    const pieces = await this.backend.keys(piecePrefix(sha256));
    await this.backend.delete([fileKey(sha256), ...pieces]);
  }

  /** sha256 of every file with a record or a piece (complete or not). */
  async storedHashes(): Promise<Set<string>> {
    const hashes = new Set<string>();
    for (const key of await this.backend.keys(FILE_PREFIX)) hashes.add(key.slice(FILE_PREFIX.length));
    for (const key of await this.backend.keys(PIECE_PREFIX)) hashes.add(key.slice(PIECE_PREFIX.length).split(':')[0]!);
    return hashes;
  }

  /**
   * The whole file as one Uint8Array, filled piece by piece: memory peaks at the file plus one
   * piece. A damaged piece marks the file incomplete from that piece on, so a new download resumes there.
   */
  async read(entry: ManifestFile): Promise<Uint8Array<ArrayBuffer>> {
    const record = await this.record(entry.sha256);
    if (
      !record?.complete ||
      record.bytes !== entry.bytes ||
      record.pieceHashes.length !== piecesOf(entry.bytes, record.pieceBytes)
    ) {
      throw new FileNotStoredError(entry.path);
    }
    const bytes = new Uint8Array(entry.bytes);
    for (let index = 0; index < record.pieceHashes.length; index++) {
      const piece = await this.readPiece(entry.sha256, record, index);
      if (!piece.ok) {
        await this.writeRecord(entry, { ...record, pieceHashes: record.pieceHashes.slice(0, index), complete: false });
        if (piece.problem === 'missing') throw new FileNotStoredError(entry.path);
        throw new IntegrityError(
          entry.path,
          `sha256 ${record.pieceHashes[index]} for stored piece ${index}`,
          piece.actual,
        );
      }
      bytes.set(piece.bytes, index * record.pieceBytes);
    }
    return bytes;
  }

  private async readPiece(sha256: string, record: FileRecord, index: number): Promise<PieceCheck> {
    const value = await this.backend.get(pieceKey(sha256, index));
    if (!(value instanceof Uint8Array) || !(value.buffer instanceof ArrayBuffer))
      return { ok: false, problem: 'missing', actual: 'no piece' };
    const piece = new Uint8Array(value.buffer, value.byteOffset, value.byteLength);
    const expectedLength = Math.min(record.pieceBytes, record.bytes - index * record.pieceBytes);
    if (piece.byteLength !== expectedLength)
      return { ok: false, problem: 'corrupted', actual: `${piece.byteLength} bytes instead of ${expectedLength}` };
    const actual = await pieceSha256(piece);
    return actual === record.pieceHashes[index]
      ? { ok: true, bytes: piece }
      : { ok: false, problem: 'corrupted', actual: `sha256 ${actual}` };
  }

  private async writeRecord(entry: ManifestFile, record: FileRecord): Promise<void> {
    await this.backend.put([[fileKey(entry.sha256), record]]);
  }
}

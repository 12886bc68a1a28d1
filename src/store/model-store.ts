/**
 * Models on top of the content-addressed files: which models are stored, how complete they are,
 * what they occupy (a file two models share is counted once), and deleting them without taking
 * a file another stored model still uses.
 */
import type { ManifestFile } from '../model/manifest.ts';
import type { StoredManifest } from '../model/stored-manifest.ts';
import { FileStore } from './file-store.ts';
import { withNoDownloads } from './file-lock.ts';
import type { StorageKind, StoreBackend } from './piece-store.ts';
import {
  listedHashes,
  MODEL_PREFIX,
  modelKey,
  parseModelRecord,
  storedBytesOf,
  storedModelId,
  uniqueFiles,
} from './records.ts';
import type { FileRecord, ModelRecord } from './records.ts';
import { browserStorageManager, estimateSpace } from './storage-quota.ts';
import type { StorageManagerLike } from './storage-quota.ts';

/**
 * 1 MiB: an interrupted download loses at most one piece and resumes from there, checking a piece
 * read back costs little, and a 400 MB model is a few hundred IndexedDB values, which every engine
 * handles well.
 */
export const DEFAULT_PIECE_BYTES = 2 ** 20;

export interface ModelStatus {
  /** Size of the model: every distinct file (by sha256) of its manifest. */
  readonly bytes: number;
  readonly storedBytes: number;
  readonly missingBytes: number;
  /** Every file stored and verified: the model can load without the network. */
  readonly complete: boolean;
}

export interface StoredModelInfo extends ModelStatus {
  /** `<modelId>/<dtype>`: the key to delete or load it by. */
  readonly id: string;
  readonly modelId: string;
  readonly dtype: StoredManifest['dtype'];
  readonly savedAt: number;
  /** Part of `storedBytes` in files other stored models use too: deleting this model keeps them. */
  readonly sharedBytes: number;
  /** The folder URL it was downloaded from, when known. */
  readonly source?: string;
}

export interface StorageUsage {
  readonly kind: StorageKind;
  /** Bytes of all stored models, shared files counted once. */
  readonly modelBytes: number;
  /** The browser's figures for the whole site (IndexedDB only; approximate by design). */
  readonly usage?: number;
  readonly quota?: number;
}

export interface ModelStoreOptions {
  readonly pieceBytes?: number;
  /** navigator.storage by default; undefined in memory mode, where the browser's quota does not apply. */
  readonly storage?: StorageManagerLike | undefined;
}

export class ModelStore {
  readonly files: FileStore;
  readonly storage: StorageManagerLike | undefined;

  constructor(
    readonly backend: StoreBackend,
    options: ModelStoreOptions = {},
  ) {
    this.files = new FileStore(backend, options.pieceBytes ?? DEFAULT_PIECE_BYTES);
    this.storage =
      'storage' in options ? options.storage : backend.kind === 'indexeddb' ? browserStorageManager() : undefined;
  }

  get kind(): StorageKind {
    return this.backend.kind;
  }

  /**
   * Records the model (before its files arrive, so partial downloads show up and can be deleted).
   * A replaced manifest with other files stays as `previous`, its files kept, until `settleModel`.
   * @param source the folder URL it comes from, so `manifestFrom(source)` finds it offline.
   */
  async saveModel(manifest: StoredManifest, source?: string): Promise<void> {
    const id = storedModelId(manifest);
    const replaced = parseModelRecord(await this.backend.get(modelKey(id)));
    // Offline, the whole old version loads while an update is half stored: the record and its files stay as they are.
    if (replaced?.previous && sameFiles(replaced.previous, manifest)) return;
    // Other files, also an update that only adds some: until they are in, the replaced version is the whole one.
    const changed = replaced !== undefined && !sameFiles(replaced.manifest, manifest);
    const replacedWhole = changed && (await this.status(replaced.manifest)).complete;
    const previous = replacedWhole ? replaced.manifest : replaced?.previous;
    const record: ModelRecord = {
      manifest,
      savedAt: Date.now(),
      ...(source === undefined ? {} : { source }),
      ...(previous === undefined ? {} : { previous }),
    };
    await this.backend.put([[modelKey(id), record]]);
    // The replaced version's own files were never whole (no fallback there): they go now.
    if (changed && !replacedWhole) await this.removeUnusedFiles();
  }

  /** Every file of `manifest` is stored: the version it replaced goes, with the files nothing else lists. */
  async settleModel(manifest: StoredManifest): Promise<void> {
    const id = storedModelId(manifest);
    const record = parseModelRecord(await this.backend.get(modelKey(id)));
    if (!record?.previous || !sameFiles(record.manifest, manifest)) return;
    const { manifest: current, savedAt, source } = record;
    await this.backend.put([
      [modelKey(id), { manifest: current, savedAt, ...(source === undefined ? {} : { source }) }],
    ]);
    await this.removeUnusedFiles();
  }

  async manifest(id: string): Promise<StoredManifest | undefined> {
    return parseModelRecord(await this.backend.get(modelKey(id)))?.manifest;
  }

  /** The newest stored manifest downloaded from the folder `source`: what loads when the network is gone. */
  async manifestFrom(source: string): Promise<StoredManifest | undefined> {
    const record = (await this.manifests()).filter((r) => r.source === source).pop();
    // An update that did not finish: the version it replaced is still whole.
    if (record?.previous && !(await this.status(record.manifest)).complete) return record.previous;
    return record?.manifest;
  }

  async status(manifest: StoredManifest): Promise<ModelStatus> {
    return statusOf(uniqueFiles(manifest), await this.fileRecords([manifest]));
  }

  readFile(entry: ManifestFile): Promise<Uint8Array<ArrayBuffer>> {
    return this.files.read(entry);
  }

  async listModels(): Promise<StoredModelInfo[]> {
    const manifests = await this.manifests();
    const records = await this.fileRecords(manifests.map((m) => m.manifest));
    const users = new Map<string, number>();
    for (const { manifest } of manifests)
      for (const file of uniqueFiles(manifest)) users.set(file.sha256, (users.get(file.sha256) ?? 0) + 1);
    return manifests.map(({ manifest, savedAt, source }) => {
      const files = uniqueFiles(manifest);
      const shared = files.filter((file) => (users.get(file.sha256) ?? 0) > 1);
      const sharedBytes = statusOf(shared, records).storedBytes;
      const info = {
        id: storedModelId(manifest),
        modelId: manifest.modelId,
        dtype: manifest.dtype,
        savedAt,
        sharedBytes,
        ...statusOf(files, records),
      };
      return source === undefined ? info : { ...info, source };
    });
  }

  async usage(): Promise<StorageUsage> {
    const modelBytes = await this.modelBytes();
    const estimate = this.kind === 'indexeddb' ? await estimateSpace(this.storage) : undefined;
    return estimate
      ? { kind: this.kind, modelBytes, usage: estimate.usage, quota: estimate.quota }
      : { kind: this.kind, modelBytes };
  }

  /**
   * Deletes the model and the files no other stored model uses; resolves to the bytes freed. Refused (StoreBusyError)
   * while another tab of the site downloads, as `deleteAll` is.
   */
  deleteModel(id: string): Promise<number> {
    return withNoDownloads(this.kind === 'indexeddb', async () => {
      const before = await this.modelBytes();
      await this.backend.delete([modelKey(id)]);
      await this.removeUnusedFiles();
      return before - (await this.modelBytes());
    });
  }

  deleteAll(): Promise<void> {
    return withNoDownloads(this.kind === 'indexeddb', () => this.backend.clear());
  }

  /** Stored bytes of every stored model's files, each file once. */
  private async modelBytes(): Promise<number> {
    const records = await this.fileRecords((await this.manifests()).flatMap(manifestsOf));
    let bytes = 0;
    for (const record of records.values()) bytes += storedBytesOf(record);
    return bytes;
  }

  private async manifests(): Promise<ModelRecord[]> {
    const keys = await this.backend.keys(MODEL_PREFIX);
    const records = await Promise.all(keys.map(async (key) => parseModelRecord(await this.backend.get(key))));
    return records.filter((record) => record !== undefined).sort((a, b) => a.savedAt - b.savedAt);
  }

  /** File records of the manifests' files, by sha256 (each read once). */
  private async fileRecords(manifests: readonly StoredManifest[]): Promise<Map<string, FileRecord>> {
    const records = new Map<string, FileRecord>();
    for (const manifest of manifests) {
      for (const file of manifest.files) {
        if (records.has(file.sha256)) continue;
        const record = await this.files.record(file.sha256);
        if (record && record.bytes === file.bytes) records.set(file.sha256, record);
      }
    }
    return records;
  }

  /**
   * Files (complete or partial) that no stored model lists: left by deletes, replaced exports or
   * interrupted cleanups.
   */
  private async removeUnusedFiles(): Promise<void> {
    const used = new Set<string>();
    for (const key of await this.backend.keys(MODEL_PREFIX)) {
      // A record this version cannot read may be a newer version's (another tab, updated first): its files stay.
      // One that lists no files this version can find keeps every file: only "Delete all" clears it.
      const hashes = listedHashes(await this.backend.get(key));
      if (hashes === undefined) return;
      for (const sha256 of hashes) used.add(sha256);
    }
    for (const sha256 of await this.files.storedHashes()) if (!used.has(sha256)) await this.files.discard(sha256);
  }
}

function sameFiles(a: StoredManifest, b: StoredManifest): boolean {
  const files = (m: StoredManifest): string => [...new Set(m.files.map((file) => file.sha256))].sort().join();
  return files(a) === files(b);
}

/** The manifests whose files a record keeps: its own, and the one it is replacing. */
function manifestsOf(record: ModelRecord): StoredManifest[] {
  return record.previous ? [record.manifest, record.previous] : [record.manifest];
}

function statusOf(files: readonly ManifestFile[], records: ReadonlyMap<string, FileRecord>): ModelStatus {
  let bytes = 0;
  let storedBytes = 0;
  let complete = true;
  for (const file of files) {
    const record = records.get(file.sha256);
    bytes += file.bytes;
    storedBytes += record ? storedBytesOf(record) : 0;
    complete &&= record?.complete === true;
  }
  return { bytes, storedBytes, missingBytes: bytes - storedBytes, complete };
}

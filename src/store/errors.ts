/**
 * Errors the model store raises; each message says what went wrong and what to do next. Their
 * fields are plain numbers and strings so they survive the worker boundary as error details.
 * A file whose bytes differ from manifest.json raises the existing `IntegrityError` (src/model/integrity.ts).
 */
import { ExpectedError } from '../core/expected-error.ts';
import { serverTrouble } from '../core/http-status.ts';

/** "1.5 GB", "340.2 MB", "12.0 kB": decimal units, as browsers' storage settings show them. */
export function formatBytes(bytes: number): string {
  if (bytes >= 1e9) return `${(bytes / 1e9).toFixed(2)} GB`;
  if (bytes >= 1e6) return `${(bytes / 1e6).toFixed(1)} MB`;
  if (bytes >= 1e3) return `${(bytes / 1e3).toFixed(1)} kB`;
  return `${bytes} bytes`;
}

/**
 * The model does not fit in the storage this browser grants the site: raised before a download
 * when `navigator.storage.estimate()` says so, or mid-way when a write fails with QuotaExceededError
 * (completed files are kept then, so the download resumes once space is freed).
 */
export class StorageQuotaError extends ExpectedError {
  override name = 'StorageQuotaError';
  constructor(
    readonly modelId: string,
    /** Bytes of the model not stored yet. */
    readonly neededBytes: number,
    /** Bytes more than the browser allows: what has to be freed. */
    readonly missingBytes: number,
    readonly when: 'before-download' | 'during-download',
  ) {
    const stop =
      when === 'before-download'
        ? 'Nothing was downloaded'
        : 'Completed files are kept and the download resumes where it stopped';
    super(
      `Not enough storage for ${modelId}: ${formatBytes(neededBytes)} still to store, ${formatBytes(missingBytes)} more than this browser allows the site. ` +
        `${stop}. Free disk space or delete stored models in the storage panel, then download again.`,
    );
  }
}

/**
 * A file the model needs is not (completely) in storage: it was never downloaded, was interrupted,
 * or failed a check.
 */
export class FileNotStoredError extends ExpectedError {
  override name = 'FileNotStoredError';
  constructor(readonly file: string) {
    super(
      `${file} is not completely stored. Download the model again: completed files are kept and only the missing part is fetched.`,
    );
  }
}

/** The server answered a file request with an error status or with something that is not the file. */
export class DownloadHttpError extends ExpectedError {
  override name = 'DownloadHttpError';
  constructor(
    readonly file: string,
    readonly url: string,
    readonly detail: string,
    /** The HTTP status, when the server answered with an error one. */
    readonly status?: number,
  ) {
    super(
      `Downloading ${file} from ${url} failed: ${detail}. ${status !== undefined && serverTrouble(status) ? 'The server may be busy or down: try again later (what arrived is kept).' : 'Check that the model URL points at an exported model folder, then try again.'}`,
    );
  }
}

/** The connection dropped or the body ended early. Stored pieces are kept: retrying resumes. */
export class DownloadInterruptedError extends ExpectedError {
  override name = 'DownloadInterruptedError';
  constructor(
    readonly file: string,
    readonly receivedBytes: number,
    readonly expectedBytes: number,
    detail: string,
  ) {
    super(
      `The download of ${file} stopped at ${formatBytes(receivedBytes)} of ${formatBytes(expectedBytes)} (${detail}). Try again: it resumes from the last stored piece.`,
    );
  }
}

/** The caller's AbortSignal fired. */
export class DownloadCancelledError extends ExpectedError {
  override name = 'DownloadCancelledError';
  constructor() {
    super('The download was cancelled. Completed pieces are kept: starting it again resumes where it stopped.');
  }
}

/** A delete while another tab of the site downloads or loads a model: its files could go from under it. */
export class StoreBusyError extends ExpectedError {
  override name = 'StoreBusyError';
  constructor() {
    super('Another tab of this site is downloading or loading a model. Delete once it has finished or been stopped.');
  }
}

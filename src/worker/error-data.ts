/**
 * Errors ⇄ plain data across the worker boundary. Structured clone keeps only `Error`'s own message,
 * so the class is sent by name and rebuilt from a registry: `instanceof IntegrityError` still works
 * on the main thread, and fields like `file` survive as details.
 */
import { IntegrityError, ModelFileUnavailableError } from '../model/integrity.ts';
import { ManifestError } from '../model/manifest.ts';
import { GenerationCancelledError } from '../pipeline/errors.ts';
import { NonFiniteLogitsError, SamplingSettingsError } from '../pipeline/sampler.ts';
import { SeedError } from '../core/seed.ts';
import { CatalogError } from '../model/catalog.ts';
import { NewerFormatError } from '../model/format-version.ts';
import { ConfigError } from '../model/config.ts';
import { PromptError } from '../text/prompt-checks.ts';
import {
  DownloadCancelledError,
  DownloadHttpError,
  DownloadInterruptedError,
  FileNotStoredError,
  StorageQuotaError,
  StoreBusyError,
} from '../store/errors.ts';
import {
  DeviceLostError,
  GpuMemoryError,
  InvalidRequestError,
  ModelAlreadyLoadedError,
  ModelNotLoadedError,
  OutOfMemoryError,
  RankerNotLoadedError,
  WebGPUUnavailableError,
  WorkerCrashedError,
} from './errors.ts';
import type { ErrorData } from './protocol.ts';

type ErrorClass = abstract new (...args: never[]) => Error;

/**
 * Every error class that may cross the worker boundary, keyed by its `name` (the object's keys are
 * the class names as written, which minifiers keep). A test checks each key against the class's own
 * name and that every ExpectedError subclass in src/ is listed here.
 */
export const BOUNDARY_ERRORS = {
  CatalogError,
  NewerFormatError,
  ConfigError,
  ManifestError,
  IntegrityError,
  ModelFileUnavailableError,
  PromptError,
  SeedError,
  SamplingSettingsError,
  NonFiniteLogitsError,
  GenerationCancelledError,
  InvalidRequestError,
  WebGPUUnavailableError,
  ModelNotLoadedError,
  RankerNotLoadedError,
  ModelAlreadyLoadedError,
  DeviceLostError,
  GpuMemoryError,
  OutOfMemoryError,
  WorkerCrashedError,
  StorageQuotaError,
  StoreBusyError,
  FileNotStoredError,
  DownloadHttpError,
  DownloadInterruptedError,
  DownloadCancelledError,
  TypeError,
  RangeError,
} satisfies Record<string, ErrorClass>;

const KNOWN_ERRORS: ReadonlyMap<string, ErrorClass> = new Map<string, ErrorClass>(Object.entries(BOUNDARY_ERRORS));

const OWN_FIELDS = new Set(['name', 'message', 'stack', 'cause']);

export function toErrorData(error: unknown): ErrorData {
  if (!(error instanceof Error)) return { name: 'Error', message: String(error) };
  const details: Record<string, string | number | boolean> = {};
  for (const [key, value] of Object.entries(error)) {
    if (OWN_FIELDS.has(key)) continue;
    if (typeof value === 'string' || typeof value === 'number' || typeof value === 'boolean') details[key] = value;
  }
  return Object.keys(details).length > 0
    ? { name: error.name, message: error.message, details }
    : { name: error.name, message: error.message };
}

/** Rebuilds the error's class without running its constructor (constructors take different arguments). */
export function fromErrorData(data: ErrorData): Error {
  const errorClass = KNOWN_ERRORS.get(data.name) ?? Error;
  const error = Reflect.construct(Error, [data.message], errorClass) as Error;
  Object.defineProperty(error, 'name', { value: data.name, writable: true, configurable: true, enumerable: false });
  if (data.details) Object.assign(error, data.details);
  return error;
}

/**
 * An error in the page's language. Errors from the worker and the pipeline carry English messages
 * that already say what to do; for the kinds a visitor meets, the message files hold the page's own
 * sentence (`errorNames.<class name>`, with the original as `{{detail}}`), so a Chinese page is not
 * left with an English error, and remedies can name the page's controls rather than URL parameters.
 */
import { i18n, t } from './i18n.ts';
import { useAppStore } from './store.ts';
import type { WorkerCrashedError } from '../worker/errors.ts';

const TRANSLATED = [
  'PromptError',
  'WebGPUUnavailableError',
  'DeviceLostError',
  'WorkerCrashedError',
  'OutOfMemoryError',
  'GpuMemoryError',
  'ModelNotLoadedError',
  'RankerNotLoadedError',
  'ManifestError',
  'NewerFormatError',
  'FileNotStoredError',
  'StorageQuotaError',
  'StoreBusyError',
  'DownloadHttpError',
  'DownloadInterruptedError',
  'IntegrityError',
  'ModelFileUnavailableError',
  'NonFiniteLogitsError',
  'SamplingSettingsError',
] as const;
type TranslatedError = (typeof TRANSLATED)[number];

function isTranslated(name: string): name is TranslatedError {
  return (TRANSLATED as readonly string[]).includes(name);
}

/** How a script of this page's version fails to start once it is gone: a worker's, or a chunk's import. */
const SCRIPT_GONE = /dynamically imported module|Importing a module script failed|error loading dynamically imported/i;

export function describeError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  // After another tab's update this page's own files may be gone: a reload, not a retry, is the way on. Only for a
  // worker that never said a word (its script may not have loaded) or a part whose import failed: a worker that died
  // mid-drawing keeps its own advice.
  const neverStarted = error.name === 'WorkerCrashedError' && (error as WorkerCrashedError).beforeFirstMessage;
  const gone = neverStarted || SCRIPT_GONE.test(error.message);
  if (gone && useAppStore.getState().versionReplaced) return t('errors.versionReplaced', { detail: error.message });
  if (!isTranslated(error.name) || !i18n.exists(`errorNames.${error.name}`)) return error.message;
  return t(`errorNames.${error.name}`, { detail: error.message });
}

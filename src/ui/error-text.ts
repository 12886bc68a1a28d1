/**
 * An error in the page's language. Errors from the worker and the pipeline carry English messages
 * that already say what to do; for the kinds a visitor meets, the message files hold the page's own
 * sentence (`errorNames.<class name>`, with the original as `{{detail}}`), so a Chinese page is not
 * left with an English error, and remedies can name the page's controls rather than URL parameters.
 */
import { i18n, t } from './i18n.ts';

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

export function describeError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  if (!isTranslated(error.name) || !i18n.exists(`errorNames.${error.name}`)) return error.message;
  return t(`errorNames.${error.name}`, { detail: error.message });
}

/**
 * The model picker, the consent panel before a large download, and the download's progress per
 * file: a visitor always sees what is being fetched, from where, and how big it is.
 */
import { useTranslation } from 'react-i18next';
import { formatBytes } from '../store/errors.ts';
import type { Controller } from './controller.ts';
import { modelWithoutDownload, storedCatalogIds } from './model-choice.ts';
import { useAppStore } from './store.ts';
import type { DownloadView } from './store.ts';

function ModelPicker({ controller, catalogUrl }: { readonly controller: Controller; readonly catalogUrl: string }) {
  const { t } = useTranslation();
  const catalog = useAppStore((s) => s.catalog);
  const selected = useAppStore((s) => s.selectedModel);
  const unavailable = useAppStore((s) => s.unavailable);
  const report = useAppStore((s) => s.storageReport);
  const busy = useAppStore((s) => s.phase === 'generating' || s.download !== null);
  if (catalog.length === 0) return null;
  const stored = storedCatalogIds(catalog, report, catalogUrl);
  const current = catalog.find((m) => m.id === selected);
  return (
    <div className="model-picker">
      <label>
        <span>{t('model.label')}</span>
        <select
          data-testid="model.select"
          value={selected ?? ''}
          disabled={busy}
          onChange={(e) => void controller.selectModel(e.target.value)}
        >
          {catalog.map((model) => {
            const notes = [
              model.bytes === undefined ? null : formatBytes(model.bytes),
              stored.has(model.id) ? t('model.stored') : null,
              unavailable[model.id] ? t('model.notOnDevice') : null,
            ];
            return (
              <option key={model.id} value={model.id}>
                {[model.name, ...notes.filter((n) => n !== null)].join(' · ')}
              </option>
            );
          })}
        </select>
      </label>
      {current && (
        <p className="model-description" data-testid="model.description">
          {current.description}
        </p>
      )}
    </div>
  );
}

function ConsentPanel({ controller }: { readonly controller: Controller }) {
  const { t } = useTranslation();
  const offer = useAppStore((s) => s.offer);
  const storage = useAppStore((s) => s.storage);
  const fallback = useAppStore((s) => modelWithoutDownload(s.catalog, s.unavailable));
  if (!offer) return null;
  const partial = offer.missingBytes < offer.bytes;
  // Offered again after a Stop, though every file is stored: nothing to download, only to load.
  const stored = offer.missingBytes === 0;
  return (
    <section className="panel consent" data-testid="consent.panel" aria-labelledby="consent-title">
      <h2 id="consent-title">{t(stored ? 'consent.loadTitle' : 'consent.title', { model: offer.model.name })}</h2>
      <p>
        {stored
          ? t('consent.stored')
          : partial
            ? t('consent.partial', {
                missing: formatBytes(offer.missingBytes),
                total: formatBytes(offer.bytes),
                host: offer.host,
              })
            : t('consent.whole', { total: formatBytes(offer.bytes), host: offer.host })}{' '}
        {stored ? null : storage?.kind === 'memory' ? t('consent.memory') : t('consent.kept')} {t('consent.private')}
      </p>
      {offer.spaceProblem && (
        <p className="error" role="alert" data-testid="consent.space">
          {offer.spaceProblem}
        </p>
      )}
      <div className="actions">
        <button
          data-testid="consent.accept"
          className="primary"
          type="button"
          // The panel appears in answer to picking a model: the keyboard lands on its answer.
          autoFocus
          disabled={offer.spaceProblem !== null}
          onClick={() => void controller.acceptDownload()}
        >
          {stored ? t('consent.load') : t('consent.accept', { bytes: formatBytes(offer.missingBytes) })}
        </button>
        {/* Offered again after a Stop or a failure, the fallback may be this very model: no "use it instead" then. */}
        {fallback && fallback.id !== offer.model.id && (
          <button
            data-testid="consent.decline"
            className="secondary"
            type="button"
            onClick={() => void controller.declineDownload()}
          >
            {t('consent.decline', { model: fallback.name })}
          </button>
        )}
      </div>
    </section>
  );
}

function DownloadPanel({ controller, download }: { readonly controller: Controller; readonly download: DownloadView }) {
  const { t } = useTranslation();
  const files = Object.values(download.files);
  return (
    <section className="panel download" data-testid="download.panel" aria-label={t('download.label')}>
      <ul className="files">
        {files.map((file) => (
          <li key={file.path} data-testid="download.file">
            <span className="file-name">{file.path}</span>
            <progress
              max={file.total}
              value={file.loaded}
              aria-label={t('download.file', {
                file: file.path,
                loaded: formatBytes(file.loaded),
                total: formatBytes(file.total),
              })}
            />
            <span className="file-bytes">
              {file.state === 'complete' || file.state === 'stored'
                ? t('download.done')
                : `${formatBytes(file.loaded)} / ${formatBytes(file.total)}`}
            </span>
          </li>
        ))}
      </ul>
      <button data-testid="download.cancel" type="button" onClick={() => controller.cancelDownload()}>
        {t('download.stop')}
      </button>
    </section>
  );
}

/** A model that could not be checked (its host unreachable, not published yet, the worker stopped): try again. */
function RetryButton({ controller }: { readonly controller: Controller }) {
  const { t } = useTranslation();
  const model = useAppStore((s) =>
    s.phase === 'failed' && s.offer === null && s.selectedModel !== null && !(s.selectedModel in s.unavailable)
      ? s.selectedModel
      : null,
  );
  if (model === null) return null;
  return (
    <div className="retry">
      <button data-testid="model.retry" type="button" onClick={() => void controller.selectModel(model)}>
        {t('model.retry')}
      </button>
    </div>
  );
}

/**
 * The consent question and the download's progress, without the picker (the embed widget's model comes from its URL).
 */
export function ModelDownload({ controller }: { readonly controller: Controller }) {
  const download = useAppStore((s) => s.download);
  return (
    <>
      <ConsentPanel controller={controller} />
      <RetryButton controller={controller} />
      {download && <DownloadPanel controller={controller} download={download} />}
    </>
  );
}

export function ModelPanel({
  controller,
  catalogUrl,
}: {
  readonly controller: Controller;
  readonly catalogUrl: string;
}) {
  return (
    <>
      <ModelPicker controller={controller} catalogUrl={catalogUrl} />
      <ModelDownload controller={controller} />
    </>
  );
}

/**
 * The model picker, the consent panel before a large download, and the download's progress per
 * file: a visitor always sees what is being fetched, from where, and how big it is.
 */
import { formatBytes } from '../store/errors.ts';
import type { Controller } from './controller.ts';
import { storedCatalogIds } from './model-choice.ts';
import { useAppStore } from './store.ts';
import type { DownloadView } from './store.ts';

function ModelPicker({ controller, catalogUrl }: { readonly controller: Controller; readonly catalogUrl: string }) {
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
        <span>Model</span>
        <select
          data-testid="model.select"
          value={selected ?? ''}
          disabled={busy}
          onChange={(e) => void controller.selectModel(e.target.value)}
        >
          {catalog.map((model) => {
            const notes = [
              model.bytes === undefined ? null : formatBytes(model.bytes),
              stored.has(model.id) ? 'stored' : null,
              unavailable[model.id] ? 'not on this device' : null,
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
  const offer = useAppStore((s) => s.offer);
  const storage = useAppStore((s) => s.storage);
  if (!offer) return null;
  const partial = offer.missingBytes < offer.bytes;
  return (
    <section className="panel consent" data-testid="consent.panel" aria-labelledby="consent-title">
      <h2 id="consent-title">Download {offer.model.name}?</h2>
      <p>
        {partial
          ? `${formatBytes(offer.missingBytes)} of ${formatBytes(offer.bytes)} are still to download`
          : `${formatBytes(offer.bytes)} will be downloaded`}{' '}
        from {offer.host}.{' '}
        {storage?.kind === 'memory'
          ? 'This browser does not let the site store it, so it is kept in memory for this visit only.'
          : 'It is kept in this browser, so later visits start at once and work offline.'}{' '}
        Everything runs on your device; nothing you type is sent anywhere.
      </p>
      {offer.spaceProblem && (
        <p className="error" role="alert" data-testid="consent.space">
          {offer.spaceProblem}
        </p>
      )}
      <div className="actions">
        <button
          data-testid="consent.accept"
          type="button"
          disabled={offer.spaceProblem !== null}
          onClick={() => void controller.acceptDownload()}
        >
          Download {formatBytes(offer.missingBytes)}
        </button>
      </div>
    </section>
  );
}

function DownloadPanel({ controller, download }: { readonly controller: Controller; readonly download: DownloadView }) {
  const files = Object.values(download.files);
  return (
    <section className="panel download" data-testid="download.panel" aria-label="Download progress">
      <ul className="files">
        {files.map((file) => (
          <li key={file.path} data-testid="download.file">
            <span className="file-name">{file.path}</span>
            <progress
              max={file.total}
              value={file.loaded}
              aria-label={`${file.path}: ${formatBytes(file.loaded)} of ${formatBytes(file.total)}`}
            />
            <span className="file-bytes">
              {file.state === 'complete' || file.state === 'stored'
                ? 'done'
                : `${formatBytes(file.loaded)} / ${formatBytes(file.total)}`}
            </span>
          </li>
        ))}
      </ul>
      <button data-testid="download.cancel" type="button" onClick={() => controller.cancelDownload()}>
        Stop download
      </button>
    </section>
  );
}

/** The consent question and the download's progress, without the picker (the embed widget's model comes from its URL). */
export function ModelDownload({ controller }: { readonly controller: Controller }) {
  const download = useAppStore((s) => s.download);
  return (
    <>
      <ConsentPanel controller={controller} />
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

/**
 * Stored models and their sizes (shared files counted once), deletes, the site's usage and quota, and the
 * memory-mode notice.
 */
import { formatBytes } from '../store/errors.ts';
import type { Controller } from './controller.ts';
import { useAppStore } from './store.ts';

/** Inside a frame whose storage is blocked, the full page (its own tab) can keep the model. */
const embedded = typeof window !== 'undefined' && window.top !== window;

export function StorageNotice() {
  const storage = useAppStore((s) => s.storage);
  if (storage?.kind !== 'memory') return null;
  return (
    <p className="notice" role="status" data-testid="storage.notice">
      {storage.notice}{' '}
      {embedded && (
        <a href={location.href} target="_blank" rel="noopener">
          Open the full page
        </a>
      )}
    </p>
  );
}

export function StoragePanel({ controller }: { readonly controller: Controller }) {
  const report = useAppStore((s) => s.storageReport);
  const busy = useAppStore((s) => s.download !== null || s.phase === 'loading');
  const persistent = useAppStore((s) => s.persistent);
  if (!report || report.storage.kind === 'memory') return null;
  const { usage, models } = report;
  return (
    <details className="panel storage" data-testid="storage.panel">
      <summary>
        {models.length === 0
          ? 'No model stored in this browser yet'
          : `Stored models: ${formatBytes(usage.modelBytes)}`}
        {usage.quota !== undefined && ` (the site may use up to ${formatBytes(usage.quota)})`}
      </summary>
      {persistent !== null && (
        <p data-testid="storage.persistence">
          {persistent
            ? 'Persistent storage: the browser keeps stored models until you delete them.'
            : 'Best-effort storage: the browser may delete stored models when the disk runs low (it did not grant persistent storage).'}
        </p>
      )}
      {models.length === 0 ? (
        <p>No model is stored yet.</p>
      ) : (
        <ul>
          {models.map((model) => (
            <li key={model.id} data-testid="storage.model">
              <span>
                {model.modelId} ({model.dtype}) · {formatBytes(model.storedBytes)}
                {!model.complete && ` of ${formatBytes(model.bytes)}, incomplete`}
                {model.sharedBytes > 0 && ` · ${formatBytes(model.sharedBytes)} shared with other models`}
              </span>
              <button
                type="button"
                data-testid="storage.delete"
                disabled={busy}
                onClick={() => void controller.deleteStored(model.id)}
              >
                Delete
              </button>
            </li>
          ))}
        </ul>
      )}
      {models.length > 1 && (
        <button
          type="button"
          data-testid="storage.delete-all"
          disabled={busy}
          onClick={() => void controller.deleteStored(null)}
        >
          Delete all
        </button>
      )}
    </details>
  );
}

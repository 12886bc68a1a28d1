/**
 * Stored models and their sizes (shared files counted once), deletes, the site's usage and quota, and the
 * memory-mode notice.
 */
import { useTranslation } from 'react-i18next';
import { formatBytes } from '../store/errors.ts';
import type { Controller } from './controller.ts';
import { MAX_HISTORY, recordBytes } from './history/records.ts';
import { useRankingStore } from './ranking-store.ts';
import { useAppStore } from './store.ts';

/** Inside a frame whose storage is blocked, the full page (its own tab) can keep the model. */
const embedded = typeof window !== 'undefined' && window.top !== window;

export function StorageNotice() {
  const { t } = useTranslation();
  const storage = useAppStore((s) => s.storage);
  if (storage?.kind !== 'memory') return null;
  return (
    <p className="notice" role="status" data-testid="storage.notice">
      {storage.notice}{' '}
      {embedded && (
        <a href={location.href} target="_blank" rel="noopener">
          {t('storage.openFullPage')}
        </a>
      )}
    </p>
  );
}

export function StoragePanel({ controller }: { readonly controller: Controller }) {
  const { t } = useTranslation();
  const report = useAppStore((s) => s.storageReport);
  const loading = useAppStore((s) => s.download !== null || s.phase === 'loading');
  // Deleting files a load is writing or reading (the model's, or CLIP's while ranking loads) would fail that load.
  const busy = useRankingStore((s) => s.status === 'loading') || loading;
  const persistent = useAppStore((s) => s.persistent);
  const history = useAppStore((s) => s.history);
  if (!report || report.storage.kind === 'memory') return null;
  const { usage, models } = report;
  return (
    <details className="panel storage" data-testid="storage.panel">
      <summary>
        {models.length === 0 ? t('storage.noneYet') : t('storage.stored', { bytes: formatBytes(usage.modelBytes) })}
        {usage.quota !== undefined && t('storage.quota', { bytes: formatBytes(usage.quota) })}
      </summary>
      {persistent !== null && (
        <p data-testid="storage.persistence">{persistent ? t('storage.persistent') : t('storage.bestEffort')}</p>
      )}
      {models.length === 0 ? (
        <p>{t('storage.noModel')}</p>
      ) : (
        <ul>
          {models.map((model) => (
            <li key={model.id} data-testid="storage.model">
              <span>
                {model.modelId} ({model.dtype}) · {formatBytes(model.storedBytes)}
                {!model.complete && t('storage.incomplete', { bytes: formatBytes(model.bytes) })}
                {model.sharedBytes > 0 && t('storage.shared', { bytes: formatBytes(model.sharedBytes) })}
              </span>
              <button
                type="button"
                data-testid="storage.delete"
                disabled={busy}
                onClick={() => void controller.deleteStored(model.id)}
              >
                {t('storage.delete')}
              </button>
            </li>
          ))}
        </ul>
      )}
      {history.length > 0 && (
        <p data-testid="storage.history">
          {t('history.size', {
            count: history.length,
            bytes: formatBytes(history.reduce((sum, record) => sum + recordBytes(record), 0)),
            max: MAX_HISTORY,
          })}
        </p>
      )}
      {models.length > 1 && (
        <button
          type="button"
          data-testid="storage.delete-all"
          disabled={busy}
          onClick={() => void controller.deleteStored(null)}
        >
          {t('storage.deleteAll')}
        </button>
      )}
    </details>
  );
}

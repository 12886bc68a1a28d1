/**
 * In a cross-site frame the browser may block the site's storage: the widget then runs from memory
 * (the model downloads again on every visit) and says so in one line, with the full page one click
 * away. Where the browser has the Storage Access API, a button asks for storage; once granted, a
 * fresh worker probes storage again. Browsers that grant only cookies (and keep frames' IndexedDB
 * apart) leave it in memory, and the notice says that too.
 */
import { useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import type { Controller } from '../controller.ts';
import { useAppStore } from '../store.ts';

type Access = 'unsupported' | 'ask' | 'asking' | 'refused' | 'granted-no-storage';

function storageAccessApi(): boolean {
  return typeof document.requestStorageAccess === 'function' && typeof document.hasStorageAccess === 'function';
}

export function EmbedStorageNotice({
  controller,
  fullPageUrl,
}: {
  readonly controller: Controller;
  readonly fullPageUrl: string;
}) {
  const { t } = useTranslation();
  const memory = useAppStore((s) => s.storage?.kind === 'memory');
  const [access, setAccess] = useState<Access>(() => (storageAccessApi() ? 'ask' : 'unsupported'));

  useEffect(() => {
    if (!memory || !storageAccessApi()) return;
    let current = true;
    // Already granted yet still in memory: asking again cannot help.
    void document.hasStorageAccess().then(
      (has) => current && has && setAccess('granted-no-storage'),
      () => undefined,
    );
    return () => {
      current = false;
    };
  }, [memory]);

  if (!memory) return null;

  const ask = async (): Promise<void> => {
    setAccess('asking');
    try {
      await document.requestStorageAccess();
    } catch {
      setAccess('refused');
      return;
    }
    await controller.reopenStore();
    if (useAppStore.getState().storage?.kind === 'memory') setAccess('granted-no-storage');
  };

  return (
    <div className="notice embed-notice" role="status" data-testid="embed.storage">
      <p>{t('embed.memory')}</p>
      <p className="embed-notice-actions">
        <a href={fullPageUrl} target="_blank" rel="noopener">
          {t('storage.openFullPage')}
        </a>
        {(access === 'ask' || access === 'asking') && (
          <button
            type="button"
            className="link-button"
            data-testid="embed.storage-access"
            disabled={access === 'asking'}
            onClick={() => void ask()}
          >
            {t('embed.allowStorage')}
          </button>
        )}
      </p>
      {access === 'refused' && <p data-testid="embed.storage-refused">{t('embed.storageRefused')}</p>}
      {access === 'granted-no-storage' && (
        <p data-testid="embed.storage-partitioned">{t('embed.storagePartitioned')}</p>
      )}
    </div>
  );
}

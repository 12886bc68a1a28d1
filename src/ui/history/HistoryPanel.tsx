/** Past drawings, newest first: thumbnails, prompt, time, seed and model; draw again or delete. */
import { useTranslation } from 'react-i18next';
import { useAppStore } from '../store.ts';
import type { HistoryActions } from './history-actions.ts';
import type { HistoryRecord } from './records.ts';

function HistoryItem({ record, history }: { readonly record: HistoryRecord; readonly history: HistoryActions }) {
  const { t, i18n } = useTranslation();
  // Drawing again may pick another model: not while a drawing runs or a model loads (it would stop the download).
  const busy = useAppStore((s) => s.phase === 'generating' || s.phase === 'loading' || s.download !== null);
  const time = new Intl.DateTimeFormat(i18n.language, { dateStyle: 'medium', timeStyle: 'short' }).format(record.time);
  return (
    <li className="history-item" data-testid="history.item">
      <div className="thumbnails" aria-hidden="true">
        {record.thumbnails.slice(0, 4).map((src, i) => (
          <img key={i} src={src} alt="" width={48} height={48} decoding="async" loading="lazy" />
        ))}
      </div>
      <div className="history-text">
        <p className="history-prompt">{record.prompt}</p>
        <p className="hint">
          <time dateTime={new Date(record.time).toISOString()}>{time}</time> ·{' '}
          {t('history.details', { seed: record.seed, count: record.count, model: record.modelId })}
        </p>
      </div>
      <div className="history-buttons">
        <button
          type="button"
          data-testid="history.reopen"
          disabled={busy}
          aria-label={t('history.reopenLabel', { prompt: record.prompt })}
          onClick={() => void history.reopen(record)}
        >
          {t('history.reopen')}
        </button>
        <button
          type="button"
          data-testid="history.delete"
          aria-label={t('history.deleteLabel', { prompt: record.prompt })}
          onClick={() => void history.remove(record.id)}
        >
          {t('history.delete')}
        </button>
      </div>
    </li>
  );
}

export function HistoryPanel({ history }: { readonly history: HistoryActions }) {
  const { t } = useTranslation();
  const records = useAppStore((s) => s.history);
  const storage = useAppStore((s) => s.historyStorage);
  return (
    <section className="panel history" data-testid="history.panel" aria-labelledby="history-title">
      <h2 id="history-title">{t('history.title')}</h2>
      {storage?.kind === 'memory' && (
        <p className="notice" role="status" data-testid="history.notice">
          {t('history.memory', { reason: storage.reason })}
        </p>
      )}
      {records.length === 0 ? (
        <p className="hint">{t('history.empty')}</p>
      ) : (
        <>
          <ul className="history-list">
            {records.map((record) => (
              <HistoryItem key={record.id} record={record} history={history} />
            ))}
          </ul>
          <button type="button" data-testid="history.delete-all" onClick={() => void history.clearAll()}>
            {t('history.deleteAll')}
          </button>
        </>
      )}
    </section>
  );
}

/**
 * Past drawings, newest first: thumbnails, prompt, time, seed and model; draw again or delete (all of them after a
 * second question: nothing brings them back).
 */
import { useEffect, useId, useRef, useState } from 'react';
import type { RefObject } from 'react';
import { useTranslation } from 'react-i18next';
import { useAppStore } from '../store.ts';
import type { HistoryActions } from './history-actions.ts';
import type { HistoryRecord } from './records.ts';

interface ItemProps {
  readonly record: HistoryRecord;
  readonly history: HistoryActions;
  /** Where the keyboard focus goes once the item is deleted (its button went with it). */
  readonly focusAfterDelete: RefObject<HTMLElement | null>;
}

function HistoryItem({ record, history, focusAfterDelete }: ItemProps) {
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
          onClick={() => void history.remove(record.id).then((gone) => gone && focusAfterDelete.current?.focus())}
        >
          {t('history.delete')}
        </button>
      </div>
    </li>
  );
}

/** "Delete all history", then the question; the focus starts on the answer that keeps them. */
function DeleteAll({ count, history, focusAfterDelete }: Omit<ItemProps, 'record'> & { readonly count: number }) {
  const { t } = useTranslation();
  const id = useId();
  const [asking, setAsking] = useState(false);
  const ask = useRef<HTMLButtonElement>(null);
  const keep = useRef<HTMLButtonElement>(null);
  const asked = useRef(false);
  useEffect(() => {
    if (asking) keep.current?.focus();
    else if (asked.current) ask.current?.focus();
    asked.current = asking;
  }, [asking]);
  if (!asking) {
    return (
      <button ref={ask} type="button" data-testid="history.delete-all" onClick={() => setAsking(true)}>
        {t('history.deleteAll')}
      </button>
    );
  }
  return (
    <div
      className="confirm"
      role="group"
      aria-labelledby={id}
      onKeyDown={(e) => e.key === 'Escape' && setAsking(false)}
    >
      <p id={id}>{t('history.deleteAllConfirm', { count })}</p>
      <button
        type="button"
        data-testid="history.delete-all-yes"
        onClick={() => void history.clearAll().then((gone) => gone && focusAfterDelete.current?.focus())}
      >
        {t('history.deleteAllYes')}
      </button>
      <button ref={keep} type="button" data-testid="history.delete-all-no" onClick={() => setAsking(false)}>
        {t('history.deleteAllNo')}
      </button>
    </div>
  );
}

export function HistoryPanel({ history }: { readonly history: HistoryActions }) {
  const { t } = useTranslation();
  const records = useAppStore((s) => s.history);
  const storage = useAppStore((s) => s.historyStorage);
  const unreadable = useAppStore((s) => s.historyUnreadable);
  const heading = useRef<HTMLHeadingElement>(null);
  return (
    <section className="panel history" data-testid="history.panel" aria-labelledby="history-title">
      <h2 id="history-title" ref={heading} tabIndex={-1}>
        {t('history.title')}
      </h2>
      {storage?.kind === 'memory' && (
        <p className="notice" role="status" data-testid="history.notice">
          {storage.problem.kind === 'unavailable' && t('history.memoryUnavailable')}
          {storage.problem.kind === 'timeout' && t('history.memoryTimeout', { seconds: storage.problem.seconds })}
          {storage.problem.kind === 'refused' && t('history.memoryRefused', { detail: storage.problem.detail })}
        </p>
      )}
      {unreadable > 0 && (
        <p className="hint" data-testid="history.unreadable">
          {t('history.unreadable', { count: unreadable })}
        </p>
      )}
      {records.length === 0 ? (
        <p className="hint">{t('history.empty')}</p>
      ) : (
        <ul className="history-list">
          {records.map((record) => (
            <HistoryItem key={record.id} record={record} history={history} focusAfterDelete={heading} />
          ))}
        </ul>
      )}
      {records.length + unreadable > 0 && (
        <DeleteAll count={records.length + unreadable} history={history} focusAfterDelete={heading} />
      )}
    </section>
  );
}

/** CLIP ranking settings: on/off, candidates per prompt, the ranker's status, consent for its download. */
import { useTranslation } from 'react-i18next';
import { MAX_CANDIDATES } from '../worker/protocol.ts';
import type { Controller } from './controller.ts';
import { setCandidates, useRankingStore } from './ranking-store.ts';
import { useAppStore } from './store.ts';

export function RankingPanel({ controller }: { readonly controller: Controller }) {
  const { t } = useTranslation();
  const ranker = useRankingStore((s) => s.ranker);
  const enabled = useRankingStore((s) => s.enabled);
  const candidates = useRankingStore((s) => s.candidates);
  const offReason = useRankingStore((s) => s.offReason);
  const status = useRankingStore((s) => s.status);
  const detail = useRankingStore((s) => s.detail);
  const shown = useAppStore((s) => s.settings.count);
  const generating = useAppStore((s) => s.phase === 'generating');
  if (!ranker) return null;
  return (
    <section className="ranking" aria-label={t('ranking.label')}>
      <label>
        <input
          data-testid="ranking.enabled"
          type="checkbox"
          checked={enabled}
          disabled={generating}
          onChange={(e) => void controller.ranking.setEnabled(e.target.checked)}
        />
        <span>{t('ranking.enable', { shown })}</span>
      </label>
      {enabled && (
        <label>
          <span>{t('ranking.candidates')}</span>
          <input
            data-testid="ranking.candidates"
            type="number"
            min={shown}
            max={MAX_CANDIDATES}
            value={candidates}
            disabled={generating}
            onChange={(e) => setCandidates(Number(e.target.value))}
          />
        </label>
      )}
      {!enabled && offReason !== null && (
        <p data-testid="ranking.off-reason" className="note">
          {offReason}
        </p>
      )}
      {enabled && detail !== null && (
        <p data-testid="ranking.status" className={status === 'failed' ? 'note error' : 'note'} role="status">
          {detail}
        </p>
      )}
      {enabled && status === 'consent' && (
        <button data-testid="ranking.download" type="button" onClick={() => void controller.ranking.acceptDownload()}>
          {t('ranking.download', { name: ranker.name })}
        </button>
      )}
    </section>
  );
}

/** CLIP ranking settings: on/off, candidates per prompt, the ranker's status, consent for its download. */
import { useTranslation } from 'react-i18next';
import type { Controller } from './controller.ts';
import { NumberField } from './NumberField.tsx';
import { rankingEnabled, useRankingStore } from './ranking-store.ts';
import { useAppStore } from './store.ts';

export function RankingPanel({ controller }: { readonly controller: Controller }) {
  const { t } = useTranslation();
  const ranker = useRankingStore((s) => s.ranker);
  const rank = useAppStore((s) => s.settings.rank);
  const offReason = useRankingStore((s) => s.offReason);
  const status = useRankingStore((s) => s.status);
  const detail = useRankingStore((s) => s.detail);
  const shown = useAppStore((s) => s.settings.count);
  const candidates = useAppStore((s) => s.settings.candidates);
  const generating = useAppStore((s) => s.phase === 'generating');
  if (!ranker) return null;
  const enabled = rankingEnabled(rank, { ranker, offReason });
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
        <NumberField
          name="candidates"
          value={candidates}
          label={t('ranking.candidates')}
          hint={t('ranking.candidatesHint', { shown })}
          disabled={generating}
        />
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
      {enabled && status === 'loading' && (
        <button data-testid="ranking.stop" type="button" onClick={() => controller.ranking.cancelDownload()}>
          {t('download.stop')}
        </button>
      )}
      {enabled && status === 'consent' && (
        <button data-testid="ranking.download" type="button" onClick={() => void controller.ranking.acceptDownload()}>
          {t('ranking.download', { name: ranker.name })}
        </button>
      )}
    </section>
  );
}

/** CLIP ranking settings: on/off, candidates per prompt, the ranker's status, consent for its download. */
import { MAX_CANDIDATES } from '../worker/protocol.ts';
import type { Controller } from './controller.ts';
import { setCandidates, useRankingStore } from './ranking-store.ts';
import { useAppStore } from './store.ts';

export function RankingPanel({ controller }: { readonly controller: Controller }) {
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
    <section className="ranking" aria-label="CLIP ranking">
      <label>
        <input
          data-testid="ranking.enabled"
          type="checkbox"
          checked={enabled}
          disabled={generating}
          onChange={(e) => void controller.ranking.setEnabled(e.target.checked)}
        />
        <span>Rank with CLIP: draw more, show the best {shown}</span>
      </label>
      {enabled && (
        <label>
          <span>Candidates</span>
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
          Download {ranker.name}
        </button>
      )}
    </section>
  );
}

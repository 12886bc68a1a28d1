/**
 * The grid: one slot per image asked for, reserved from the moment Draw is pressed (no layout jump
 * as images arrive); forming previews fill the slots, and a finished image opens large on click or
 * Enter. Above it, the drawing's share link and the whole grid as one PNG.
 */
import { useEffect, useRef } from 'react';
import { useTranslation } from 'react-i18next';
import { copyShareLink, downloadGrid, openViewer } from './image-actions.ts';
import { gridColumns } from './image-files.ts';
import { useAppStore } from './store.ts';
import { useRankingStore } from './ranking-store.ts';

export function ImageCanvas({
  rgba,
  imageSize,
  label,
  testId,
}: {
  readonly rgba: Uint8ClampedArray;
  readonly imageSize: number;
  readonly label: string;
  readonly testId: string;
}) {
  const canvas = useRef<HTMLCanvasElement>(null);
  useEffect(() => {
    const context = canvas.current?.getContext('2d');
    // A copy only to satisfy ImageData's type (Uint8ClampedArray<ArrayBuffer>); the pixels are ours already.
    context?.putImageData(new ImageData(new Uint8ClampedArray(rgba), imageSize, imageSize), 0, 0);
  }, [rgba, imageSize]);
  return (
    <canvas data-testid={testId} ref={canvas} width={imageSize} height={imageSize} aria-label={label} role="img" />
  );
}

function GridActions() {
  const { t } = useTranslation();
  return (
    <div className="grid-actions">
      <button type="button" data-testid="grid.copy-link" onClick={() => void copyShareLink()}>
        {t('actions.copyLink')}
      </button>
      <button type="button" data-testid="grid.download" onClick={() => void downloadGrid()}>
        {t('actions.downloadGrid')}
      </button>
    </div>
  );
}

export function ImageGrid() {
  const { t } = useTranslation();
  const images = useAppStore((s) => s.images);
  const scores = useRankingStore((s) => s.scores);
  const candidates = useRankingStore((s) => s.indices);
  const imageSize = useAppStore((s) => s.imageSize);
  const count = useAppStore((s) => s.drawing?.count ?? 0);
  const generating = useAppStore((s) => s.phase === 'generating');
  const done = useAppStore((s) => s.phase !== 'generating' && s.drawing !== null && s.tokens.length === count);
  const slots = Math.max(count, images.length);
  if (slots === 0) return null;
  return (
    <section className="results" aria-label={t('grid.label')}>
      {done && <GridActions />}
      <ul
        className="grid"
        data-testid="grid"
        // Busy while images form; a cancelled drawing's partial grid is final, not still loading.
        aria-busy={generating}
        style={{ gridTemplateColumns: `repeat(${gridColumns(slots)}, minmax(0, ${imageSize}px))` }}
      >
        {Array.from({ length: slots }, (_, i) => {
          const rgba = images[i];
          const score = scores[i];
          const candidate = candidates[i];
          // Ranked drawings: the CLIP score, shown on hover and keyboard focus (app.css), and read out with the image.
          const scoreText =
            score !== undefined && candidate !== undefined
              ? t('ranking.score', { score: score.toFixed(2), rank: i + 1, candidate: candidate + 1 })
              : undefined;
          const label = scoreText ? `${t('grid.image', { n: i + 1 })}, ${scoreText}` : t('grid.image', { n: i + 1 });
          return (
            <li key={i} className={scoreText ? 'slot ranked' : 'slot'} title={scoreText}>
              {rgba === undefined ? (
                <div className="placeholder" data-testid="grid.placeholder" aria-label={label} role="img" />
              ) : done ? (
                <button
                  type="button"
                  className="image-button"
                  data-testid="grid.open"
                  // A button's content is not read out: its name carries the score the canvas's label holds.
                  aria-label={
                    scoreText ? `${t('grid.open', { n: i + 1 })}, ${scoreText}` : t('grid.open', { n: i + 1 })
                  }
                  onClick={() => openViewer(i)}
                >
                  <ImageCanvas rgba={rgba} imageSize={imageSize} label={label} testId="grid.image" />
                </button>
              ) : (
                <ImageCanvas rgba={rgba} imageSize={imageSize} label={label} testId="grid.image" />
              )}
              {scoreText && score !== undefined && (
                <span className="score" data-testid="grid.score" aria-hidden="true">
                  {score.toFixed(2)}
                </span>
              )}
            </li>
          );
        })}
      </ul>
    </section>
  );
}

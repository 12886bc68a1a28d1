/** The progress as a screen reader hears it (StatusPanel's live region). */
import type { TFunction } from 'i18next';
import type { Progress } from './store.ts';

/**
 * What a screen reader hears of the progress: each label without a share or at its start or end ("Encoding the
 * prompt…", "Done in 4.1 s"), and a drawing's or download's share by quarters in between: the visible label
 * changes at every step, 256 times a drawing.
 */
export function announcedProgress(progress: Progress | null, t: TFunction): string {
  if (!progress) return '';
  const { fraction, label } = progress;
  if (fraction === null || fraction <= 0 || fraction >= 1) return label;
  const quarter = Math.floor(fraction * 4);
  return quarter === 0 ? '' : t('status.share', { percent: quarter * 25 });
}

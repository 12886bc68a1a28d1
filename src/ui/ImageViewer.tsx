/**
 * One image large, in a modal dialog: ← and → step through the grid, Escape closes, and focus goes
 * back to the image now shown in the grid. Download, copy, and "draw again from this seed" here.
 */
import { useEffect, useRef } from 'react';
import type { KeyboardEvent } from 'react';
import { useTranslation } from 'react-i18next';
import type { Controller } from './controller.ts';
import { closeViewer, copyImage, downloadImage, stepViewer } from './image-actions.ts';
import { ImageCanvas } from './ImageGrid.tsx';
import { useAppStore } from './store.ts';

export function ImageViewer({
  controller,
  drawAgainOnce = false,
}: {
  readonly controller: Controller;
  /** The widget: "draw again" applies to that one drawing (it has no seed control to unlock the seed again). */
  readonly drawAgainOnce?: boolean;
}) {
  const { t } = useTranslation();
  const dialog = useRef<HTMLDialogElement>(null);
  const index = useAppStore((s) => s.viewer);
  const rgba = useAppStore((s) => (s.viewer === null ? undefined : s.images[s.viewer]));
  const count = useAppStore((s) => s.images.length);
  const seed = useAppStore((s) => s.drawing?.seed);
  const imageSize = useAppStore((s) => s.imageSize);
  const open = index !== null && rgba !== undefined;

  useEffect(() => {
    const element = dialog.current;
    if (!element) return;
    if (open && !element.open) element.showModal();
    if (!open && element.open) element.close();
  }, [open]);

  const onClose = (): void => {
    const shown = useAppStore.getState().viewer;
    closeViewer();
    if (shown !== null) document.querySelectorAll<HTMLElement>('[data-testid="grid.open"]')[shown]?.focus();
  };
  const onKeyDown = (event: KeyboardEvent): void => {
    if (event.key === 'ArrowRight') stepViewer(1);
    else if (event.key === 'ArrowLeft') stepViewer(-1);
    else return;
    event.preventDefault();
  };

  return (
    <dialog
      ref={dialog}
      className="viewer"
      data-testid="viewer"
      aria-labelledby="viewer-title"
      onClose={onClose}
      onKeyDown={onKeyDown}
    >
      {open && (
        <>
          <h2 id="viewer-title">{t('viewer.title', { n: index + 1, count })}</h2>
          <ImageCanvas
            rgba={rgba}
            imageSize={imageSize}
            label={t('grid.image', { n: index + 1 })}
            testId="viewer.image"
          />
          <div className="viewer-nav">
            <button type="button" data-testid="viewer.previous" onClick={() => stepViewer(-1)}>
              ← {t('viewer.previous')}
            </button>
            <button type="button" data-testid="viewer.next" onClick={() => stepViewer(1)}>
              {t('viewer.next')} →
            </button>
          </div>
          <div className="viewer-actions">
            <button type="button" data-testid="viewer.download" onClick={() => void downloadImage(index)}>
              {t('actions.downloadPng')}
            </button>
            <button type="button" data-testid="viewer.copy" onClick={() => void copyImage(index)}>
              {t('actions.copyImage')}
            </button>
            <button
              type="button"
              data-testid="viewer.redraw"
              aria-describedby="viewer-redraw-hint"
              onClick={() => {
                dialog.current?.close();
                void controller.drawAgainFrom(index, { once: drawAgainOnce });
              }}
            >
              {t('actions.drawAgain')}
            </button>
            <button type="button" data-testid="viewer.close" onClick={() => dialog.current?.close()}>
              {t('viewer.close')}
            </button>
          </div>
          <p id="viewer-redraw-hint" className="hint">
            {t(drawAgainOnce ? 'actions.drawAgainOnceHint' : 'actions.drawAgainHint', { seed, n: index + 1 })}
          </p>
        </>
      )}
    </dialog>
  );
}

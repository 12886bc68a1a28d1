import { useEffect, useRef } from 'react';
import { useTranslation } from 'react-i18next';
import { useAppStore } from './store.ts';

function ImageCanvas({
  rgba,
  imageSize,
  index,
}: {
  readonly rgba: Uint8ClampedArray;
  readonly imageSize: number;
  readonly index: number;
}) {
  const { t } = useTranslation();
  const canvas = useRef<HTMLCanvasElement>(null);
  useEffect(() => {
    const context = canvas.current?.getContext('2d');
    // A copy only to satisfy ImageData's type (Uint8ClampedArray<ArrayBuffer>); the pixels are ours already.
    context?.putImageData(new ImageData(new Uint8ClampedArray(rgba), imageSize, imageSize), 0, 0);
  }, [rgba, imageSize]);
  return (
    <canvas
      data-testid="grid.image"
      ref={canvas}
      width={imageSize}
      height={imageSize}
      aria-label={t('grid.image', { n: index + 1 })}
      role="img"
    />
  );
}

export function ImageGrid() {
  const images = useAppStore((s) => s.images);
  const imageSize = useAppStore((s) => s.imageSize);
  if (images.length === 0) return null;
  const columns = Math.ceil(Math.sqrt(images.length));
  return (
    <section className="grid" style={{ gridTemplateColumns: `repeat(${columns}, minmax(0, ${imageSize}px))` }}>
      {images.map((rgba, i) => (
        <ImageCanvas key={i} rgba={rgba} imageSize={imageSize} index={i} />
      ))}
    </section>
  );
}

import { useEffect, useRef } from 'react';
import { useAppStore } from './store.ts';
import { useRankingStore } from './ranking-store.ts';

function ImageCanvas({
  rgba,
  imageSize,
  index,
}: {
  readonly rgba: Uint8ClampedArray;
  readonly imageSize: number;
  readonly index: number;
}) {
  const score = useRankingStore((s) => s.scores[index]);
  const candidate = useRankingStore((s) => s.indices[index]);
  const canvas = useRef<HTMLCanvasElement>(null);
  useEffect(() => {
    const context = canvas.current?.getContext('2d');
    // A copy only to satisfy ImageData's type (Uint8ClampedArray<ArrayBuffer>); the pixels are ours already.
    context?.putImageData(new ImageData(new Uint8ClampedArray(rgba), imageSize, imageSize), 0, 0);
  }, [rgba, imageSize]);
  const ranked = score !== undefined && candidate !== undefined;
  const scoreText = ranked ? `CLIP score ${score.toFixed(2)} (rank ${index + 1}, candidate ${candidate + 1})` : '';
  const image = (
    <canvas
      data-testid="grid.image"
      ref={canvas}
      width={imageSize}
      height={imageSize}
      aria-label={ranked ? `Generated image ${index + 1}, ${scoreText}` : `Generated image ${index + 1}`}
      role="img"
    />
  );
  if (!ranked) return image;
  // The score shows on hover and on keyboard focus (the figure is focusable).
  return (
    <figure className="ranked" tabIndex={0} title={scoreText}>
      {image}
      <figcaption data-testid="grid.score">{score.toFixed(2)}</figcaption>
    </figure>
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

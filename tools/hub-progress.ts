/** How the export CLI shows a hub download: one updating line on stderr. */
import { formatBytes } from '../src/store/errors.ts';
import type { HubProgress } from './exporter/hub-download.ts';

/** e.g. `flax_model.msgpack  123.4 MB / 1.75 GB  7%`; just the loaded size when the total is unknown. */
export function formatProgressLine(p: HubProgress): string {
  if (p.total === undefined) return `${p.file}  ${formatBytes(p.loaded)}`;
  // Floor, so 100% means done rather than "nearly done".
  const percent = p.total === 0 ? 100 : Math.floor((p.loaded / p.total) * 100);
  return `${p.file}  ${formatBytes(p.loaded)} / ${formatBytes(p.total)}  ${percent}%`;
}

/** Rewrites one progress line on stderr, at most twice a second (and always for a finished file). */
export function hubProgressPrinter(): (p: HubProgress) => void {
  let last = 0;
  return (p) => {
    const now = Date.now();
    if (now - last < 500 && p.loaded !== p.total) return;
    last = now;
    process.stderr.write(`\r${formatProgressLine(p)}\u001b[K`);
  };
}

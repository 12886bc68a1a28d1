/**
 * The ranking status, a slice of its own beside the app store: which CLIP ranker, why ranking is off
 * by default here, the ranker's download/loading status, and the scores of the grid's images. The
 * choices (on/off, candidates) are drawing settings (settings.ts: persisted, in share links). Ranking
 * starts off where the device reports little memory and with the random demo CLIP (the reason is
 * shown) until the visitor or a link (`?rank=on|off`) chooses.
 */
import { create } from 'zustand';
import type { CatalogRanker } from '../model/catalog.ts';
import { formatBytes } from '../store/errors.ts';
import { MAX_CANDIDATES } from '../worker/protocol.ts';
import { t } from './i18n.ts';

export type RankerStatus = 'idle' | 'consent' | 'loading' | 'ready' | 'failed';

export interface RankingState {
  /** Why ranking is off by default on this device; null when it is not. */
  readonly offReason: string | null;
  /** The catalog's CLIP ranker for the chosen model; null when the site offers none. */
  readonly ranker: CatalogRanker | null;
  readonly status: RankerStatus;
  /** Download progress, the consent question or the failure, for the panel. */
  readonly detail: string | null;
  /** Bytes a ranker download would fetch (the consent panel's figure). */
  readonly missingBytes: number;
  /** CLIP scores of the grid's images (best first) when the last drawing was ranked; else empty. */
  readonly scores: readonly number[];
  /** Candidate index (seed stream) of each ranked image. */
  readonly indices: readonly number[];
}

/** Below this much reported memory (navigator.deviceMemory, GiB) ranking starts off. */
export const RANKING_MIN_DEVICE_GIB = 4;

/**
 * Why ranking should start off (null: it starts on): on a device reporting under 4 GB
 * (`navigator.deviceMemory`), and with random-weight rankers, whose scores mean nothing.
 */
export function rankingOffReason(deviceMemoryGib: number | undefined, ranker: CatalogRanker | null): string | null {
  if (ranker?.randomWeights) return t('ranking.offRandom');
  if (deviceMemoryGib === undefined || deviceMemoryGib >= RANKING_MIN_DEVICE_GIB) return null;
  return ranker && ranker.memoryBytes > 0
    ? t('ranking.offMemory', { gib: deviceMemoryGib, bytes: formatBytes(ranker.memoryBytes) })
    : t('ranking.offMemoryUnknown', { gib: deviceMemoryGib });
}

/** Whether drawings are ranked: the visitor's choice (settings.rank), else the device's default; needs a ranker. */
export function rankingEnabled(rank: boolean | null, state: Pick<RankingState, 'ranker' | 'offReason'>): boolean {
  return state.ranker !== null && (rank ?? state.offReason === null);
}

export function clampCandidates(candidates: number, shown: number): number {
  return Math.min(MAX_CANDIDATES, Math.max(shown, Math.round(candidates)));
}

export const INITIAL_RANKING: RankingState = {
  offReason: null,
  ranker: null,
  status: 'idle',
  detail: null,
  missingBytes: 0,
  scores: [],
  indices: [],
};

export const useRankingStore = create<RankingState>()(() => INITIAL_RANKING);

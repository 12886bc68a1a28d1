/**
 * Past drawings as stored: what draws them again (prompt, seed, count, sampling, model, ranking), when, and
 * small thumbnails. Pure: records are checked on the way in from storage (another version, a
 * corrupt entry) and bounded so the history cannot fill the disk.
 */
import { checkSamplingSettings } from '../../pipeline/sampler.ts';
import type { SamplingSettings } from '../../pipeline/sampler.ts';
import { isValidSeed } from '../../core/seed.ts';
import { MAX_PROMPT_CHARS } from '../../text/prompt-checks.ts';
import { MAX_IMAGES } from '../../worker/protocol.ts';
import { isValidNumber, NUMBER_RULES } from '../settings.ts';
import type { Drawing } from '../store.ts';

/** The newest this many drawings are kept; older ones go when a new one arrives. */
export const MAX_HISTORY = 100;

export interface HistoryRecord extends Drawing {
  /** The storage key: unique, and sorting the keys sorts by time. */
  readonly id: string;
  /** When it was drawn, ms since 1970. */
  readonly time: number;
  /** One small JPEG data URL per image (may be fewer when thumbnails could not be made). */
  readonly thumbnails: readonly string[];
}

export function recordId(time: number, random: number): string {
  return `drawing:${String(time).padStart(15, '0')}-${random.toString(36).padStart(8, '0').slice(0, 8)}`;
}

export function newRecord(drawing: Drawing, time: number, thumbnails: readonly string[]): HistoryRecord {
  return { ...drawing, id: recordId(time, Math.floor(Math.random() * 36 ** 8)), time, thumbnails: [...thumbnails] };
}

function isSampling(value: unknown): value is SamplingSettings {
  if (typeof value !== 'object' || value === null) return false;
  const s = value as Record<string, unknown>;
  const numbers = ['conditionScale', 'topK', 'topP', 'temperature'].every((k) => typeof s[k] === 'number');
  if (!numbers) return false;
  try {
    checkSamplingSettings(s as unknown as SamplingSettings);
    return true;
  } catch {
    return false;
  }
}

const THUMBNAIL = /^data:image\/(jpeg|png|webp);base64,[A-Za-z0-9+/=]+$/;

/** Whether a thumbnail will be read back (an empty canvas's `data:` would make its whole record unreadable). */
export function isThumbnail(value: string): boolean {
  return THUMBNAIL.test(value);
}

/** Whether a stored value is meant to be a drawing (the storage probe's leftovers are not), readable or not. */
export function isDrawingEntry(value: unknown): boolean {
  return typeof value === 'object' && value !== null && 'id' in value && String(value.id).startsWith('drawing:');
}

/** A stored value as a record, or null when it is not one (it is then left out of the list). */
export function readRecord(value: unknown): HistoryRecord | null {
  if (typeof value !== 'object' || value === null) return null;
  const r = value as Record<string, unknown>;
  const ok =
    typeof r.id === 'string' &&
    r.id.startsWith('drawing:') &&
    typeof r.time === 'number' &&
    Number.isFinite(r.time) &&
    typeof r.prompt === 'string' &&
    r.prompt.trim() !== '' &&
    [...r.prompt].length <= MAX_PROMPT_CHARS &&
    typeof r.seed === 'number' &&
    isValidSeed(r.seed) &&
    typeof r.count === 'number' &&
    Number.isInteger(r.count) &&
    r.count >= 1 &&
    r.count <= MAX_IMAGES &&
    isSampling(r.sampling) &&
    (r.model === null || typeof r.model === 'string') &&
    (r.candidates === undefined || isValidNumber(NUMBER_RULES.candidates, r.candidates)) &&
    typeof r.modelId === 'string' &&
    Array.isArray(r.thumbnails) &&
    r.thumbnails.length <= MAX_IMAGES &&
    r.thumbnails.every((t) => typeof t === 'string' && THUMBNAIL.test(t));
  if (!ok) return null;
  const { conditionScale, topK, topP, temperature } = r.sampling as SamplingSettings;
  return {
    id: r.id as string,
    time: r.time as number,
    prompt: r.prompt as string,
    seed: r.seed as number,
    count: r.count as number,
    sampling: { conditionScale, topK, topP, temperature },
    model: r.model as string | null,
    modelId: r.modelId as string,
    ...(typeof r.candidates === 'number' ? { candidates: r.candidates } : {}),
    thumbnails: [...(r.thumbnails as string[])],
  };
}

export function newestFirst(records: readonly HistoryRecord[]): HistoryRecord[] {
  return [...records].sort((a, b) => b.time - a.time || (a.id < b.id ? 1 : -1));
}

/** The ids past the newest MAX_HISTORY: the ones to delete. */
export function overflow(records: readonly HistoryRecord[], max = MAX_HISTORY): string[] {
  return newestFirst(records)
    .slice(max)
    .map((r) => r.id);
}

/** About how many bytes a record takes in storage (its JSON; thumbnails are most of it). */
export function recordBytes(record: HistoryRecord): number {
  return JSON.stringify(record).length;
}

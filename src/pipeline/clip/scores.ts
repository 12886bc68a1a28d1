/**
 * CLIP's image–text score and the ranking built on it. score = cosine(text, image) × exp(logit_scale),
 * which is CLIP's `logits_per_image` (dalle-mini's notebook sorts its candidates by it). The scale
 * comes from the model's manifest (clip-manifest.ts); it makes scores comparable to Python's, the
 * order does not depend on it.
 */

export function cosineSimilarity(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length)
    throw new RangeError(`embeddings of ${a.length} and ${b.length} values cannot be compared`);
  let dot = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < a.length; i++) {
    dot += a[i]! * b[i]!;
    aa += a[i]! * a[i]!;
    bb += b[i]! * b[i]!;
  }
  const norms = Math.sqrt(aa) * Math.sqrt(bb);
  return norms === 0 ? 0 : dot / norms;
}

export function clipScore(text: Float32Array, image: Float32Array, logitScale: number): number {
  return cosineSimilarity(text, image) * Math.exp(logitScale);
}

export interface ScoredCandidate {
  /** The candidate's index in the drawing: it sampled from seed stream `index`. */
  readonly index: number;
  readonly score: number;
}

/** Best first; equal scores keep drawing order, so the ranking is deterministic. */
export function rankCandidates<T extends ScoredCandidate>(candidates: readonly T[]): T[] {
  return [...candidates].sort((a, b) => b.score - a.score || a.index - b.index);
}

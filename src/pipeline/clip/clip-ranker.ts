/**
 * CLIP as the pipeline's last stage: one text embedding per prompt, image embeddings per batch of
 * finished images, scores = cosine × exp(logit_scale). The models and the tokenizer are
 * transformers.js' (CLIPTextModelWithProjection, CLIPVisionModelWithProjection, AutoTokenizer);
 * the pixels are prepared by preprocess.ts (Pillow-exact, see there). Files come from any
 * ModelSource of a CLIP manifest: the model store in the worker, a folder in the CLI and tests.
 */
import type { ClipManifest } from '../../model/clip-manifest.ts';
import type { ModelSource } from '../../model/model-source.ts';
import type { BackendName } from '../session-options.ts';
import { parseClipImageSettings } from './image-settings.ts';
import type { ClipImageSettings } from './image-settings.ts';
import { preprocessClipImage } from './preprocess.ts';
import { clipScore } from './scores.ts';
import { loadTransformers, registerClipFiles } from './transformers-runtime.ts';
import type { ClipOrt } from './transformers-runtime.ts';

/** CLIP's text context: longer prompts are cut (after the start token, with the end token kept). */
export const CLIP_MAX_TEXT_TOKENS = 77;

export interface ClipRanker {
  readonly manifest: ClipManifest;
  readonly imageSettings: ClipImageSettings;
  /** CLIP's ids for a prompt: start token, content, end token, at most 77 (content is cut, the end token kept). */
  textIds(prompt: string): number[];
  /** The prompt as the visitor typed it, truncated to 77 tokens; call once per prompt. */
  embedText(prompt: string): Promise<Float32Array>;
  /** RGBA images, `size` × `size` each, as the VQGAN produced them. */
  embedImages(images: readonly Uint8ClampedArray[], size: number): Promise<Float32Array[]>;
  /** Releases both sessions. */
  dispose(): Promise<void>;
}

/** Scores of `images` against a text embedding (from `embedText`). */
export async function scoreImages(
  ranker: ClipRanker,
  text: Float32Array,
  images: readonly Uint8ClampedArray[],
  size: number,
): Promise<number[]> {
  const embeddings = await ranker.embedImages(images, size);
  return embeddings.map((image) => clipScore(text, image, ranker.manifest.logitScale));
}

/** Rows of a [n, d] float32 output as separate vectors. */
function rows(data: Float32Array, n: number): Float32Array[] {
  const d = data.length / n;
  return Array.from({ length: n }, (_, i) => data.slice(i * d, (i + 1) * d));
}

function readJson(bytes: Uint8Array): unknown {
  return JSON.parse(new TextDecoder().decode(bytes)) as unknown;
}

export async function loadClipRanker(
  ort: ClipOrt,
  source: ModelSource<ClipManifest>,
  backend: BackendName,
): Promise<ClipRanker> {
  const transformers = await loadTransformers(ort);
  const imageSettings = parseClipImageSettings(
    readJson(await source.readFile('preprocessor_config.json')),
    'preprocessor_config.json',
  );
  const files = registerClipFiles(source);
  const options = {
    dtype: source.manifest.dtype,
    // transformers.js knows no devices when it is handed a runtime; the providers are named directly.
    device: 'auto',
    session_options: { executionProviders: [backend] },
  } as const;
  try {
    const tokenizer = await transformers.AutoTokenizer.from_pretrained(files.name);
    const textModel = await transformers.CLIPTextModelWithProjection.from_pretrained(files.name, options);
    let visionModel;
    try {
      visionModel = await transformers.CLIPVisionModelWithProjection.from_pretrained(files.name, options);
    } catch (error) {
      await textModel.dispose();
      throw error;
    }
    const vision = visionModel;
    /**
     * Cut by hand: transformers.js (4.3) truncates after adding the special tokens and so drops the
     * end token, which CLIP pools at; Python's tokenizer keeps it, and so do we.
     */
    const textIds = (prompt: string): number[] => {
      const ids = (tokenizer(prompt).input_ids.tolist() as bigint[][])[0]!.map(Number);
      return ids.length <= CLIP_MAX_TEXT_TOKENS
        ? ids
        : [...ids.slice(0, CLIP_MAX_TEXT_TOKENS - 1), ids[ids.length - 1]!];
    };
    return {
      manifest: source.manifest,
      imageSettings,
      textIds,
      async embedText(prompt) {
        const ids = textIds(prompt);
        const input_ids = new transformers.Tensor('int64', BigInt64Array.from(ids, BigInt), [1, ids.length]);
        const attention_mask = new transformers.Tensor('int64', new BigInt64Array(ids.length).fill(1n), [
          1,
          ids.length,
        ]);
        const { text_embeds } = (await textModel({ input_ids, attention_mask })) as {
          text_embeds: { data: Float32Array };
        };
        return Float32Array.from(text_embeds.data);
      },
      async embedImages(images, size) {
        if (images.length === 0) return [];
        const { cropHeight, cropWidth } = imageSettings;
        const plane = 3 * cropHeight * cropWidth;
        const pixels = new Float32Array(images.length * plane);
        images.forEach((image, i) => pixels.set(preprocessClipImage(image, size, size, imageSettings), i * plane));
        const input = new transformers.Tensor('float32', pixels, [images.length, 3, cropHeight, cropWidth]);
        const { image_embeds } = (await vision({ pixel_values: input })) as { image_embeds: { data: Float32Array } };
        return rows(Float32Array.from(image_embeds.data), images.length);
      },
      async dispose() {
        await Promise.all([textModel.dispose(), vision.dispose()]);
      },
    };
  } finally {
    files.release();
  }
}

/**
 * Shapes of the synthetic checkpoints: tiny for tests, mini and mega exactly as released
 * (docs/model-format.md#released-hyper-parameters).
 */
import type { DalleBartConfig, VqganConfig } from '../../src/model/config.ts';
import { DEFAULT_MERGE_COUNT, FIRST_MERGE_ID } from './toy-vocab.ts';

export const PRESETS = ['tiny', 'mini', 'mega'] as const;
export type PresetName = (typeof PRESETS)[number];

export interface Preset {
  readonly dalleBart: DalleBartConfig;
  readonly vqgan: VqganConfig;
  /** init_std of the released config, used for DalleBart kernels and embeddings. */
  readonly initStd: number;
}

const RELEASED_VQGAN: VqganConfig = {
  ch: 128,
  chMult: [1, 1, 2, 2, 4],
  numResBlocks: 2,
  attnResolutions: [16],
  resolution: 256,
  zChannels: 256,
  embedDim: 256,
  nEmbed: 16384,
  outCh: 3,
};

export const PRESET_SHAPES: Record<PresetName, Preset> = {
  tiny: {
    dalleBart: {
      dModel: 32,
      encoderLayers: 2,
      decoderLayers: 2,
      encoderHeads: 2,
      decoderHeads: 2,
      encoderFfnDim: 64,
      decoderFfnDim: 64,
      encoderVocabSize: FIRST_MERGE_ID + DEFAULT_MERGE_COUNT,
      imageVocabSize: 16384,
      maxTextLength: 64,
      imageLength: 256,
      decoderStartTokenId: 16384,
    },
    // Full 16×16 → 256×256 structure with few channels, so the CLI still writes real-size images.
    vqgan: { ...RELEASED_VQGAN, ch: 32, numResBlocks: 0, zChannels: 32, embedDim: 16 },
    initStd: 0.02,
  },
  mini: {
    dalleBart: {
      dModel: 1024,
      encoderLayers: 12,
      decoderLayers: 12,
      encoderHeads: 16,
      decoderHeads: 16,
      encoderFfnDim: 2730,
      decoderFfnDim: 2730,
      encoderVocabSize: 50264,
      imageVocabSize: 16384,
      maxTextLength: 64,
      imageLength: 256,
      decoderStartTokenId: 16384,
    },
    vqgan: RELEASED_VQGAN,
    initStd: 0.02,
  },
  mega: {
    dalleBart: {
      dModel: 2048,
      encoderLayers: 24,
      decoderLayers: 24,
      encoderHeads: 32,
      decoderHeads: 32,
      encoderFfnDim: 4096,
      decoderFfnDim: 4096,
      encoderVocabSize: 50272,
      imageVocabSize: 16415,
      maxTextLength: 64,
      imageLength: 256,
      decoderStartTokenId: 16384,
    },
    vqgan: RELEASED_VQGAN,
    initStd: 0.01,
  },
};

/**
 * preprocessor_config.json of a CLIP model: the CLIPImageProcessor settings the ranker follows.
 * Both spellings the hub uses are read (`size: 224` or `{shortest_edge: 224}`, `crop_size: 224` or
 * `{height, width}`); a setting we do not implement (another resample filter, no centre crop) is
 * refused rather than silently changed.
 */
import { ManifestError } from '../../model/manifest.ts';
import { JsonField } from '../../model/validate.ts';

export interface ClipImageSettings {
  /** The shorter side is resized to this (bicubic), keeping the aspect ratio. */
  readonly shortestEdge: number;
  readonly cropHeight: number;
  readonly cropWidth: number;
  /** Pixel values (0 … 255) are multiplied by this before normalising. */
  readonly rescaleFactor: number;
  readonly mean: readonly [number, number, number];
  readonly std: readonly [number, number, number];
}

/** PIL's BICUBIC, the filter CLIP's processor uses (`resample: 3`). */
const PIL_BICUBIC = 3;
const HINT = 'The CLIP model folder has a preprocessor_config.json this app does not support.';

function side(field: JsonField, key: 'shortest_edge' | 'height' | 'width'): number {
  const bounds = { min: 1, max: 4096 };
  return typeof field.value === 'number' ? field.int(bounds) : field.field(key).int(bounds);
}

function triple(field: JsonField): [number, number, number] {
  const items = field.items({ min: 3, max: 3 }).map((item) => {
    const value = item.number();
    if (!Number.isFinite(value)) item.fail('must be a finite number');
    return value;
  });
  return [items[0]!, items[1]!, items[2]!];
}

export function parseClipImageSettings(json: unknown, source = 'preprocessor_config.json'): ClipImageSettings {
  const root = JsonField.root(json, { source, error: ManifestError, hint: HINT }).object();
  for (const flag of ['do_resize', 'do_center_crop', 'do_normalize'] as const) {
    if (root.field(flag).optional((f) => f.boolean()) === false) root.field(flag).fail('must be true');
  }
  const resample = root.field('resample').optional((f) => f.int({ min: 0, max: 5 })) ?? PIL_BICUBIC;
  if (resample !== PIL_BICUBIC) root.field('resample').fail(`must be ${PIL_BICUBIC} (bicubic)`);
  const crop = root.field('crop_size');
  const doRescale = root.field('do_rescale').optional((f) => f.boolean()) ?? true;
  const rescale = root.field('rescale_factor').optional((f) => f.number()) ?? 1 / 255;
  const std = triple(root.field('image_std'));
  if (std.some((s) => s <= 0)) root.field('image_std').fail('must be positive');
  return {
    shortestEdge: side(root.field('size'), 'shortest_edge'),
    cropHeight: side(crop, 'height'),
    cropWidth: side(crop, 'width'),
    rescaleFactor: doRescale ? rescale : 1,
    mean: triple(root.field('image_mean')),
    std,
  };
}

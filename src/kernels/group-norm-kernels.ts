/**
 * GroupNorm (and the swish after it) over a map stored channels last, as WebAssembly written for one layer's shape:
 * `channelSums` sums each channel's x − shift and its square over the pixels (row by row, then into the totals, so a
 * 256 × 256 map sums in float32 without losing the small terms), and `normalize` writes (x − mean) · scale + bias per
 * channel, through swish where asked. Maps are read and written through a row stride, so they can sit inside the padded
 * buffers the Winograd convolutions read (src/kernels/winograd-conv.ts).
 */
import { pushExp } from './attention-kernel.ts';
import { FunctionBody } from './wasm-binary.ts';

/**
 * channelSums(x, xRow, shift, sums, rowSums, c0, c1): for every channel c in the byte range [c0, c1) of a pixel,
 * Σ (x − shift[c]) into sums[c] and Σ (x − shift[c])² into sums[C + c] (float32; `rowSums` 2C floats of scratch).
 * `size` × `size` pixels of `channels`.
 */
export function channelSumsFunction(size: number, channels: number): FunctionBody {
  if (channels % 4 !== 0) throw new Error('GroupNorm takes channels in fours');
  const bytes = 4 * channels;
  const f = new FunctionBody(['x', 'xRow', 'shift', 'sums', 'rowSums', 'c0', 'c1']);
  for (const name of ['r', 'p', 'c', 'at']) f.local(name, 'i32');
  f.local('d', 'v128');
  // `into`[c] += `from`[c] over this range's sums and squares (or = 0 without `from`).
  const addAll = (into: string, from?: string) =>
    f.forRange(
      'c',
      'c1',
      16,
      () => {
        for (const half of [0, bytes]) {
          f.get(into).get('c').op('add');
          if (from) {
            f.get(into).get('c').op('add').simd('v128.load', half);
            f.get(from).get('c').op('add').simd('v128.load', half).simd('f32x4.add');
          } else f.f32x4(0);
          f.simd('v128.store', half);
        }
      },
      'c0',
    );
  addAll('sums');
  f.forRange('r', size, 1, () => {
    addAll('rowSums');
    f.forRange('p', size, 1, () => {
      f.get('x').get('r').get('xRow').op('mul').op('add').get('p').i32(bytes).op('mul').op('add').set('at');
      f.forRange(
        'c',
        'c1',
        16,
        () => {
          f.get('at').get('c').op('add').simd('v128.load', 0);
          f.get('shift').get('c').op('add').simd('v128.load', 0).simd('f32x4.sub').set('d');
          f.get('rowSums').get('c').op('add');
          f.get('rowSums').get('c').op('add').simd('v128.load', 0).get('d').simd('f32x4.add');
          f.simd('v128.store', 0);
          f.get('rowSums').get('c').op('add');
          f.get('rowSums').get('c').op('add').simd('v128.load', bytes);
          f.get('d').get('d').simd('f32x4.mul').simd('f32x4.add');
          f.simd('v128.store', bytes);
        },
        'c0',
      );
    });
    // This row's partial sums into the totals.
    addAll('sums', 'rowSums');
  });
  return f;
}

/**
 * normalize(x, xRow, y, yRow, coefficients, row0, row1): for map rows [row0, row1), y = (x − mean[c]) · scale[c] +
 * bias[c] (mean, scale and bias C floats each from coefficients; centred first, so a large mean cancels exactly), then
 * swish (y · sigmoid(y)) when `swish`; y may be x.
 */
export function normalizeFunction(size: number, channels: number, swish: boolean): FunctionBody {
  if (channels % 4 !== 0) throw new Error('GroupNorm takes channels in fours');
  const bytes = 4 * channels;
  const f = new FunctionBody(['x', 'xRow', 'y', 'yRow', 'coefficients', 'row0', 'row1']);
  for (const name of ['row', 'p', 'c', 'from', 'to']) f.local(name, 'i32');
  // z, and pushExp's r and k.
  for (const name of ['z', 'r', 'k']) f.local(name, 'v128');
  const coefficient = (n: number) =>
    f
      .get('coefficients')
      .get('c')
      .op('add')
      .simd('v128.load', n * bytes);
  f.forRange(
    'row',
    'row1',
    1,
    () => {
      f.forRange('p', size, 1, () => {
        f.get('x').get('row').get('xRow').op('mul').op('add').get('p').i32(bytes).op('mul').op('add').set('from');
        f.get('y').get('row').get('yRow').op('mul').op('add').get('p').i32(bytes).op('mul').op('add').set('to');
        f.forRange('c', bytes, 16, () => {
          f.get('from').get('c').op('add').simd('v128.load', 0);
          coefficient(0).simd('f32x4.sub');
          coefficient(1).simd('f32x4.mul');
          coefficient(2).simd('f32x4.add').set('z');
          f.get('to').get('c').op('add');
          if (swish) {
            // z / (1 + e^−z): e^−z saturates at e^88 for z < −88 (then ≈ 0), and at e^−87 for z > 87 (≈ z).
            f.get('z');
            f.f32x4(0).get('z').simd('f32x4.sub');
            pushExp(f);
            f.f32x4(1).simd('f32x4.add').simd('f32x4.div');
          } else f.get('z');
          f.simd('v128.store', 0);
        });
      });
    },
    'row0',
  );
  return f;
}

/**
 * The attention kernels of our own decoder step, WebAssembly SIMD128 (docs/performance.md): the cache they read is
 * 16-bit integers, one scale per slot of each head (attention.ts keeps it), so a late step reads half the bytes a
 * float32 cache would. `scores` is q·K for one row and head, exact in integers (`i32x4.dot_i16x8_s`, 4 slots per
 * pass) and scaled per slot; `weighted` is p·V, the values widened to float32 (a head of 64 channels 16 slots at a
 * time, smaller heads 16 channels per pass over the slots); `softmax` the whole softmax, its exponentials by `pushExp`
 * (WebAssembly has no exp instruction: a polynomial, to float32's precision).
 */
import { SWAP_HALVES, SWAP_PAIRS } from './row-kernels.ts';
import { FunctionBody } from './wasm-binary.ts';

/** Slots per pass of `scores`: callers round their count up to it (the extra scores are never read). */
export const SCORE_BLOCK = 4;
/** Channels per pass of `weighted` over the slots for heads under WIDE_HEAD: the head size must be a multiple of it. */
export const CHANNEL_BLOCK = 16;

/** The i8x16.shuffle bytes taking int32 lanes `lanes` of two vectors (0–3 the first, 4–7 the second). */
const int32Lanes = (...lanes: number[]): number[] => lanes.flatMap((l) => [4 * l, 4 * l + 1, 4 * l + 2, 4 * l + 3]);

/** Pushes shuffle(x, y, first) + shuffle(x, y, second) as float32s, the shuffles taking int32 lanes (int32Lanes). */
function pairSums(f: FunctionBody, x: string, y: string, first: number[], second: number[]): void {
  f.get(x)
    .get(y)
    .bytes16('i8x16.shuffle', int32Lanes(...first));
  f.get(x)
    .get(y)
    .bytes16('i8x16.shuffle', int32Lanes(...second))
    .simd('f32x4.add');
}

/**
 * scores(q, k, scales, out, count, hd): out[j] = scales[j] · Σ_c q[c] · k[j · hd + c] for j < count rounded up to 4,
 * q and k int16 ([slots, hd] keys: a slot's channels together), each lane's sum in int32 (callers bound the levels so
 * it cannot overflow), the four lanes added in float32; hd a multiple of 8.
 */
export function scoresFunction(): FunctionBody {
  const f = new FunctionBody(['q', 'k', 'scales', 'out', 'count', 'hd']);
  for (const name of ['j', 'c', 'row', 'k0', 'k1', 'k2', 'k3']) f.local(name, 'i32');
  for (const name of ['x', 'a0', 'a1', 'a2', 'a3', 'low', 'high']) f.local(name, 'v128');
  f.get('hd').i32(1).op('shl').set('row');
  f.get('k').set('k0');
  f.i32(0).set('j');
  f.whileNot(
    () => f.get('j').get('count').op('ge_u'),
    () => {
      for (let a = 0; a < 4; a++) f.i32x4(0).set(`a${a}`);
      for (let a = 1; a < 4; a++)
        f.get(`k${a - 1}`)
          .get('row')
          .op('add')
          .set(`k${a}`);
      f.i32(0).set('c');
      f.whileNot(
        () => f.get('c').get('row').op('ge_u'),
        () => {
          f.get('q').get('c').op('add').simd('v128.load', 0).set('x');
          for (let a = 0; a < 4; a++)
            f.get(`a${a}`)
              .get('x')
              .get(`k${a}`)
              .get('c')
              .op('add')
              .simd('v128.load', 0)
              .simd('i32x4.dot_i16x8_s')
              .simd('i32x4.add')
              .set(`a${a}`);
          f.get('c').i32(16).op('add').set('c');
        },
      );
      // The four slots' lane sums in float32 (each lane fits int32; their sum might not): pairs of lanes, then pairs
      // of pairs, into [Σa0, Σa1, Σa2, Σa3].
      for (let a = 0; a < 4; a++) f.get(`a${a}`).simd('f32x4.convert_i32x4_s').set(`a${a}`);
      pairSums(f, 'a0', 'a1', [0, 1, 4, 5], [2, 3, 6, 7]);
      f.set('low');
      pairSums(f, 'a2', 'a3', [0, 1, 4, 5], [2, 3, 6, 7]);
      f.set('high');
      f.get('out').get('j').i32(2).op('shl').op('add');
      pairSums(f, 'low', 'high', [0, 2, 4, 6], [1, 3, 5, 7]);
      f.get('scales').get('j').i32(2).op('shl').op('add').simd('v128.load', 0).simd('f32x4.mul');
      f.simd('v128.store', 0);
      f.get('k3').get('row').op('add').set('k0');
      f.get('j').i32(SCORE_BLOCK).op('add').set('j');
    },
  );
  return f;
}

/** Slots `weighted` takes at a time for a head of WIDE_HEAD channels, all of them before the next slots (2 KiB). */
export const WEIGHTED_SLOTS = 16;
/**
 * The head size `weighted` takes that way (DALL·E Mini's and Mega's), and the largest the kernels take
 * (attention-share.ts's MAX_HEAD_SIZE); smaller heads: a pass over the slots per 16 channels.
 */
export const WIDE_HEAD = 64;
const HALF_HEAD = WIDE_HEAD / 2;

/**
 * weighted(p, v, out, count, hd): out[c] = Σ_{j < count} p[j] · v[j · hd + c] in float32, v int16 [slots, hd] (its
 * scales already folded into p by the caller), hd a multiple of 16 up to WIDE_HEAD. A head of WIDE_HEAD goes
 * WEIGHTED_SLOTS slots at a time, within them its first half of channels, then its second (the sums so far kept in
 * `out` between), so the cache streams from memory in order; whole passes over the slots for 16 channels each read
 * every row in pieces, 4 times over (a (row, head) pair of 128 slots read cold: ≈ 1.5–1.7 against 2.5 µs; the same
 * chunks with the two halves in a loop rather than written out lost it all; docs/performance.md#pv-16-slots-at-a-time).
 * Each channel adds its slots in the same order either way, so the floats are the same.
 */
export function weightedFunction(): FunctionBody {
  const f = new FunctionBody(['p', 'v', 'out', 'count', 'hd']);
  for (const name of ['cb', 'vp', 'pp', 'end', 'row', 'chunkEnd', 'pChunk', 'vChunk']) f.local(name, 'i32');
  f.local('x', 'v128');
  for (let a = 0; a < HALF_HEAD / 4; a++) f.local(`a${a}`, 'v128');
  f.get('hd').i32(1).op('shl').set('row');
  f.get('p').get('count').i32(2).op('shl').op('add').set('end');
  /**
   * Slots [pp, last) times `channels` of their values from byte `at` of each row (vp at the first slot's row) into
   * accumulators a0…, which `start` sets first.
   */
  const slots = (
    channels: number,
    at: number,
    last: string,
    start: (a: number) => void,
    store: (a: number) => void,
  ) => {
    const accumulators = channels / 4;
    for (let a = 0; a < accumulators; a++) start(a);
    f.whileNot(
      () => f.get('pp').get(last).op('ge_u'),
      () => {
        // One slot: its probability times the channels' values, widened from int16.
        f.get('pp').simd('v128.load32_splat', 0).set('x');
        for (let a = 0; a < accumulators; a++)
          f.get(`a${a}`)
            .get('x')
            .get('vp')
            .simd('v128.load16x4_s', at + 8 * a)
            .simd('f32x4.convert_i32x4_s')
            .simd('f32x4.mul')
            .simd('f32x4.add')
            .set(`a${a}`);
        f.get('vp').get('row').op('add').set('vp');
        f.get('pp').i32(4).op('add').set('pp');
      },
    );
    for (let a = 0; a < accumulators; a++) store(a);
  };
  // hd ≥ WIDE_HEAD is hd = WIDE_HEAD: callers refuse larger heads (MAX_HEAD_SIZE).
  f.get('hd')
    .i32(WIDE_HEAD)
    .op('ge_u')
    .ifThen(() => {
      for (let a = 0; a < WIDE_HEAD / 4; a++)
        f.get('out')
          .f32x4(0)
          .simd('v128.store', 16 * a);
      f.get('p').set('pChunk');
      f.get('v').set('vChunk');
      f.whileNot(
        () => f.get('pChunk').get('end').op('ge_u'),
        () => {
          // chunkEnd = min(pChunk + WEIGHTED_SLOTS floats, end)
          f.get('pChunk')
            .i32(4 * WEIGHTED_SLOTS)
            .op('add')
            .set('chunkEnd');
          f.get('chunkEnd').get('end').get('chunkEnd').get('end').op('lt_u').op('select').set('chunkEnd');
          // Written out, not looped: a loop over the two halves lost what the chunks gain.
          for (const half of [0, 1]) {
            f.get('vChunk').set('vp');
            f.get('pChunk').set('pp');
            const outAt = (a: number) => 4 * HALF_HEAD * half + 16 * a;
            slots(
              HALF_HEAD,
              2 * HALF_HEAD * half,
              'chunkEnd',
              (a) => void f.get('out').simd('v128.load', outAt(a)).set(`a${a}`),
              (a) => void f.get('out').get(`a${a}`).simd('v128.store', outAt(a)),
            );
          }
          f.get('vChunk').get('row').i32(WEIGHTED_SLOTS).op('mul').op('add').set('vChunk');
          f.get('pChunk')
            .i32(4 * WEIGHTED_SLOTS)
            .op('add')
            .set('pChunk');
        },
      );
    });
  f.get('hd')
    .i32(WIDE_HEAD)
    .op('lt_u')
    .ifThen(() => {
      f.i32(0).set('cb');
      f.whileNot(
        () => f.get('cb').get('row').op('ge_u'),
        () => {
          f.get('v').get('cb').op('add').set('vp');
          f.get('p').set('pp');
          const outAt = () => f.get('out').get('cb').i32(1).op('shl').op('add');
          slots(
            CHANNEL_BLOCK,
            0,
            'end',
            (a) => void f.f32x4(0).set(`a${a}`),
            (a) =>
              void outAt()
                .get(`a${a}`)
                .simd('v128.store', 16 * a),
          );
          f.get('cb')
            .i32(2 * CHANNEL_BLOCK)
            .op('add')
            .set('cb');
        },
      );
    });
  return f;
}

/** e^r by its Taylor series to r⁷ for |r| ≤ ln 2 / 2: relative error ≤ 6e-9. */
const EXP_TAYLOR = [1, 1, 1 / 2, 1 / 6, 1 / 24, 1 / 120, 1 / 720, 1 / 5040];
/** ln 2 in two parts (Cody and Waite): k · LN2_HIGH is exact for the k here, so r keeps float32's precision. */
const LN2_HIGH = 0.693359375;
const LN2_LOW = -2.1219444e-4;
/** The smallest argument: e^−87.33 ≈ 2^−126, float32's smallest normal number. */
const EXP_MIN = -87.33;
/** The largest: e^88 < float32's largest number (2^k stays a valid exponent). */
const EXP_MAX = 88;

/**
 * Leaves e^(top of stack) on the stack, for arguments ≤ 0 (the softmax's, shifted by its maximum): e^k·ln2 · e^r, k the
 * nearest integer to the argument / ln 2. Arguments below −87.33 give ≈ 2^−126, those above 88 e^88. Uses the v128
 * locals `r` and `k`.
 */
export function pushExp(f: FunctionBody): void {
  f.f32x4(EXP_MIN).simd('f32x4.max').f32x4(EXP_MAX).simd('f32x4.min').set('r');
  f.get('r').f32x4(Math.LOG2E).simd('f32x4.mul').simd('f32x4.nearest').set('k');
  f.get('r').get('k').f32x4(LN2_HIGH).simd('f32x4.mul').simd('f32x4.sub');
  f.get('k').f32x4(LN2_LOW).simd('f32x4.mul').simd('f32x4.sub').set('r');
  f.f32x4(EXP_TAYLOR[7]!);
  for (let n = 6; n >= 0; n--) f.get('r').simd('f32x4.mul').f32x4(EXP_TAYLOR[n]!).simd('f32x4.add');
  // 2^k as float32 bits: (k + 127) << 23.
  f.get('k').simd('i32x4.trunc_sat_f32x4_s').i32x4(127).simd('i32x4.add').i32(23).simd('i32x4.shl');
  f.simd('f32x4.mul');
}

/** Every vector of `count` floats at `x` (count rounded up to 4): `body` with the byte offset in local `j`. */
function eachVector(f: FunctionBody, count: string, body: () => void): void {
  f.get(count).i32(3).op('add').i32(-4).op('and').i32(2).op('shl').set('end');
  f.i32(0).set('j');
  f.whileNot(
    () => f.get('j').get('end').op('ge_u'),
    () => {
      body();
      f.get('j').i32(16).op('add').set('j');
    },
  );
}

/** What a hidden slot's score becomes: finite, so that with every slot hidden they all weigh the same. */
export const HIDDEN_SCORE = -1e30;

/**
 * softmax(x, out, count, params, weights, mask): the softmax of x[j] · scale (scale the float32 at `params`) over
 * j < count, each times weights[j], into out: a row's attention weights with the values' scales folded in. The caller
 * fills x past count up to the next multiple of 4 with −Infinity (those lanes weigh ≈ 2^−126 in the sum, lost against
 * ≥ 1). With `mask` (float32 [count rounded up to 4], 1 past count; 0 for none) slots whose mask is not 1 take
 * HIDDEN_SCORE, as the exported graphs add the float32 minimum: ≈ 2^−126 of the weight, or with none visible all
 * alike.
 */
export function softmaxFunction(): FunctionBody {
  const f = new FunctionBody(['x', 'out', 'count', 'params', 'weights', 'mask']);
  for (const name of ['j', 'end']) f.local(name, 'i32');
  for (const name of ['scale', 'shift', 'r', 'k', 'max', 'sum']) f.local(name, 'v128');
  f.get('params').simd('v128.load32_splat', 0).set('scale');
  // Hidden slots take HIDDEN_SCORE after the scale (as the graphs add their minimum to scaled scores, whatever the
  // scale), so the masked scores are stored scaled and the passes below scale by 1.
  f.get('mask').ifThen(() => {
    eachVector(f, 'count', () => {
      f.get('x').get('j').op('add');
      f.get('x').get('j').op('add').simd('v128.load', 0).get('scale').simd('f32x4.mul').f32x4(HIDDEN_SCORE);
      f.get('mask').get('j').op('add').simd('v128.load', 0).f32x4(1).simd('f32x4.eq');
      f.simd('v128.bitselect').simd('v128.store', 0);
    });
    f.f32x4(1).set('scale');
  });
  f.f32x4(-Infinity).set('max');
  eachVector(f, 'count', () =>
    f.get('max').get('x').get('j').op('add').simd('v128.load', 0).simd('f32x4.max').set('max'),
  );
  for (const lanes of [SWAP_HALVES, SWAP_PAIRS])
    f.get('max').get('max').get('max').bytes16('i8x16.shuffle', lanes).simd('f32x4.max').set('max');
  f.get('max').get('scale').simd('f32x4.mul').set('shift');
  f.f32x4(0).set('sum');
  eachVector(f, 'count', () => {
    f.get('out').get('j').op('add');
    f.get('x').get('j').op('add').simd('v128.load', 0).get('scale').simd('f32x4.mul').get('shift').simd('f32x4.sub');
    pushExp(f);
    f.set('r').get('r').simd('v128.store', 0);
    f.get('sum').get('r').simd('f32x4.add').set('sum');
  });
  for (const lanes of [SWAP_HALVES, SWAP_PAIRS])
    f.get('sum').get('sum').get('sum').bytes16('i8x16.shuffle', lanes).simd('f32x4.add').set('sum');
  f.f32x4(1).get('sum').simd('f32x4.div').set('sum');
  eachVector(f, 'count', () => {
    f.get('out').get('j').op('add');
    f.get('out').get('j').op('add').simd('v128.load', 0).get('sum').simd('f32x4.mul');
    f.get('weights').get('j').op('add').simd('v128.load', 0).simd('f32x4.mul');
    f.simd('v128.store', 0);
  });
  return f;
}

/** msgpack pieces, enough to hand-build what flax writes (and what it never would). */
export const str = (s: string): Buffer => {
  const bytes = Buffer.from(s);
  return Buffer.concat([
    bytes.length < 32 ? Buffer.from([0xa0 | bytes.length]) : Buffer.from([0xd9, bytes.length]),
    bytes,
  ]);
};

export const map = (n: number): Buffer => Buffer.from([0x80 | n]);

export function ndarray(shape: number[], dtype: string, bytes: Uint8Array): Buffer {
  const bin = Buffer.concat([Buffer.from([0xc4, bytes.length]), bytes]);
  const payload = Buffer.concat([Buffer.from([0x93, 0x90 | shape.length, ...shape]), str(dtype), bin]);
  return Buffer.concat([Buffer.from([0xc7, payload.length, 1]), payload]);
}

export function float32Array(values: number[]): Buffer {
  return ndarray([values.length], 'float32', new Uint8Array(Float32Array.from(values).buffer));
}

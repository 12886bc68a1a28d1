/**
 * Streams a tree to a file in flax's `serialization.msgpack_serialize` layout, for synthetic
 * checkpoints: float32 leaves as ext type 1, keys in insertion order.
 */
import { writeSync } from 'node:fs';

const EXT_NDARRAY = 1;

/** A tree to serialize: nested records whose leaves produce their float32 data on demand. */
export interface LeafSpec {
  readonly shape: readonly number[];
  readonly fill: () => Float32Array;
}
export type TreeSpec = { readonly [key: string]: TreeSpec | LeafSpec };

function isLeafSpec(node: TreeSpec | LeafSpec): node is LeafSpec {
  return 'fill' in node && typeof node.fill === 'function';
}

/** Writes `tree` to the open file `fd`, leaf data streamed one tensor at a time. */
export function writeFlaxMsgpack(fd: number, tree: TreeSpec): void {
  const write = (buf: Uint8Array): void => {
    let done = 0;
    while (done < buf.length) done += writeSync(fd, buf, done, buf.length - done);
  };
  const header = (small: number, base8: number, n: number): Buffer => {
    if (n < 16) return Buffer.from([small | n]);
    const b = Buffer.alloc(5);
    b[0] = base8;
    b.writeUInt32BE(n, 1);
    return b;
  };
  const str = (s: string): Buffer => {
    const bytes = Buffer.from(s, 'utf8');
    const head = bytes.length < 32 ? Buffer.from([0xa0 | bytes.length]) : Buffer.from([0xd9, bytes.length]);
    return Buffer.concat([head, bytes]);
  };
  const uint = (n: number): Buffer => {
    if (n < 128) return Buffer.from([n]);
    const b = Buffer.alloc(5);
    b[0] = 0xce;
    b.writeUInt32BE(n, 1);
    return b;
  };
  const visit = (node: TreeSpec | LeafSpec): void => {
    if (!isLeafSpec(node)) {
      const keys = Object.keys(node);
      write(header(0x80, 0xdf, keys.length));
      for (const key of keys) {
        write(str(key));
        visit(node[key]!);
      }
      return;
    }
    const data = node.fill();
    const expected = node.shape.reduce((a, b) => a * b, 1);
    if (data.length !== expected)
      throw new Error(`leaf of shape [${node.shape.join(', ')}] filled with ${data.length} values`);
    const shape = Buffer.concat([header(0x90, 0xdd, node.shape.length), ...node.shape.map(uint)]);
    const dtype = str('float32');
    const binHead = Buffer.alloc(5);
    binHead[0] = 0xc6;
    binHead.writeUInt32BE(data.byteLength, 1);
    const payloadLength = 1 + shape.length + dtype.length + binHead.length + data.byteLength;
    const extHead = Buffer.alloc(6);
    extHead[0] = 0xc9;
    extHead.writeUInt32BE(payloadLength, 1);
    extHead[5] = EXT_NDARRAY;
    write(Buffer.concat([extHead, Buffer.from([0x93]), shape, dtype, binHead]));
    write(new Uint8Array(data.buffer, data.byteOffset, data.byteLength));
  };
  visit(tree);
}

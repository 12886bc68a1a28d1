"""Writes a param tree the way flax.serialization.to_bytes does: a msgpack map whose array leaves
are ext type 1 holding msgpack [shape, dtype name, raw little-endian C-order bytes]."""
import msgpack
import numpy as np


def _pack(tree):
    if isinstance(tree, dict):
        return {k: _pack(v) for k, v in tree.items()}
    a = np.ascontiguousarray(tree, dtype="<f4")
    payload = msgpack.packb([list(a.shape), "float32", a.tobytes()], use_bin_type=True)
    return msgpack.ExtType(1, payload)


def write(path, tree):
    with open(path, "wb") as f:
        f.write(msgpack.packb(_pack(tree), use_bin_type=True))

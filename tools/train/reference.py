"""Reads a checkpoint folder back into the PyTorch modules and writes reference outputs the TypeScript
test (tests/demo-model.test.ts) compares with the exported ONNX graphs: the PyTorch forward pass and
the exporter's graphs must compute the same function from the same Flax tensors.

    python3 tools/train/reference.py [checkpoint folder]"""
import json
import os
import sys

import msgpack
import numpy as np

# Threads that wait by spinning stall each other on a shared machine (20× slower here); sleep instead.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
import torch  # noqa: E402

sys.path.insert(0, os.path.dirname(__file__))
import text  # noqa: E402
from dallebart import DalleBart, flax_params as dalle_params  # noqa: E402
from vqgan import VQGAN, flax_params as vqgan_params  # noqa: E402

CAPTION = "a red circle on a blue background"
STEPS = [0, 1, 17, 128, 255]


def read_flax(path):
    def ext(code, data):
        assert code == 1
        shape, dtype, raw = msgpack.unpackb(data, raw=False)
        return np.frombuffer(raw, dtype=np.dtype(dtype).newbyteorder("<")).reshape(shape).astype(np.float32)

    with open(path, "rb") as f:
        return msgpack.unpackb(f.read(), ext_hook=ext, raw=False, strict_map_key=False)


def flatten(tree, prefix=""):
    if isinstance(tree, dict):
        out = {}
        for k, v in tree.items():
            out.update(flatten(v, f"{prefix}/{k}" if prefix else k))
        return out
    return {prefix: tree}


def load_into(model, to_flax, tree):
    """Copies Flax leaves into `model` through the same mapping the writer uses (so it checks it too)."""
    target = flatten(tree)
    assert flatten(to_flax(model)).keys() == target.keys(), sorted(set(flatten(to_flax(model))) ^ set(target))
    # Mark-and-find: fill one torch tensor with its own indices (+0.5), see where they land in the
    # Flax tree, and copy the checkpoint's values back through that mapping.
    with torch.no_grad():
        for name, p in model.state_dict().items():
            p.fill_(-1.0)
            base = flatten(to_flax(model))
            p.copy_(torch.arange(p.numel(), dtype=torch.float32).reshape(p.shape) + 0.5)
            probe = flatten(to_flax(model))
            hits = [k for k, v in probe.items() if not np.array_equal(v, base[k])]
            assert hits, name
            for k in hits:
                marked, value = probe[k], target[k]
                mask = marked != base[k]
                # values 0.5, 1.5, … name the flat torch index that landed at each marked flax position
                index = (marked[mask] - 0.5).astype(np.int64)
                flat = p.reshape(-1).clone()
                flat[torch.from_numpy(index)] = torch.from_numpy(value[mask])
                p.copy_(flat.reshape(p.shape))


def main():
    folder = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "demo-checkpoint")
    torch.set_num_threads(2)
    config = json.load(open(os.path.join(folder, "dalle", "config.json")))
    vconfig = json.load(open(os.path.join(folder, "vqgan", "config.json")))
    dalle, vqgan = DalleBart(config), VQGAN(vconfig)
    load_into(dalle, dalle_params, read_flax(os.path.join(folder, "dalle", "flax_model.msgpack")))
    load_into(vqgan, vqgan_params, read_flax(os.path.join(folder, "vqgan", "flax_model.msgpack")))
    vocab = json.load(open(os.path.join(folder, "dalle", "vocab.json")))
    rng = np.random.default_rng(7)
    codes = torch.from_numpy(rng.integers(0, vconfig["n_embed"], size=256))
    inputs = torch.cat([torch.tensor([config["decoder_start_token_id"]]), codes[:-1]])[None]
    rows = {}
    with torch.no_grad():
        for label, caption in (("cond", CAPTION), ("uncond", "")):
            ids, mask = (torch.tensor([t]) for t in text.encode(vocab, caption))
            logits = dalle(ids, mask, inputs)[0]
            rows[label] = {str(s): [round(float(x), 5) for x in logits[s]] for s in STEPS}
        pixels = vqgan.decode_codes(codes.reshape(1, 16, 16))[0]
    sample = [(c, y, x) for c in range(3) for y, x in ((0, 0), (37, 201), (128, 128), (255, 255), (90, 13))]
    reference = {
        "caption": CAPTION,
        "codes": codes.tolist(),
        "logits": rows,
        "pixels": {f"{c},{y},{x}": round(float(pixels[c, y, x]), 5) for c, y, x in sample},
        "pixelMean": round(float(pixels.mean()), 6),
    }
    with open(os.path.join(folder, "reference.json"), "w") as f:
        json.dump(reference, f)
    print("wrote", os.path.join(folder, "reference.json"))


if __name__ == "__main__":
    main()

"""Draws positioned captions with a trained DalleBart in PyTorch (super-conditioning at the demo's suggested
condition scale, top-k sampling, as the app does) and scores where the object lands: the share of images
whose named corner is nearer the object's colour than every other corner (tests/demo-model.test.ts asserts
the same on the ONNX export). Codes are scored through the codebook's colours, so no VQGAN decode is needed.

    python3 tools/train/evaluate.py [checkpoint folder]"""
import json
import os
import sys

import numpy as np

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
import torch  # noqa: E402

sys.path.insert(0, os.path.dirname(__file__))
import scenes  # noqa: E402
import text  # noqa: E402
from dallebart import DalleBart, flax_params as dalle_params  # noqa: E402
from reference import load_into, read_flax  # noqa: E402
from vqgan import VQGAN, flax_params as vqgan_params  # noqa: E402
import vq_autoencoder as vq  # noqa: E402

# Held-out colour × shape pairs in each corner (the four the tests draw, and one more per corner).
POSITION_PROMPTS = [
    ("yellow", "circle", "in the top left", "blue"),
    ("purple", "square", "in the bottom right", "white"),
    ("red", "star", "in the top right", "green"),
    ("blue", "triangle", "in the bottom left", "yellow"),
    ("green", "ring", "in the top left", "black"),
    ("red", "star", "in the bottom right", "blue"),
]
CORNERS = {  # 16×16 code cells around scenes.POSITIONS (±20 px ≈ cells 3..5 and 10..12)
    "in the top left": (slice(3, 6), slice(3, 6)),
    "in the top right": (slice(3, 6), slice(10, 13)),
    "in the bottom left": (slice(10, 13), slice(3, 6)),
    "in the bottom right": (slice(10, 13), slice(10, 13)),
}


def suggested_scale():
    """The condition scale the site's catalog suggests for the demo (what the app and the tests draw at)."""
    catalog = os.path.join(os.path.dirname(__file__), "..", "..", "public", "models", "catalog.json")
    demo = next(m for m in json.load(open(catalog))["models"] if m["id"] == "demo")
    return float(demo.get("sampling", {}).get("conditionScale", 10))


@torch.no_grad()
def sample(model, vocab, caption, count, seed, scale=None, top_k=50):
    """codes [count, 256]: cond and uncond rows, logits = u + scale·(c − u) (scale: the demo's suggested one),
    top-k sampling (no cache)."""
    scale = suggested_scale() if scale is None else scale
    cfg = model.config
    n_codes = cfg["image_vocab_size"]
    ids, mask = (torch.tensor([t]) for t in text.encode(vocab, caption))
    e_ids, e_mask = (torch.tensor([t]) for t in text.encode(vocab, ""))
    ids = torch.cat([ids.repeat(count, 1), e_ids.repeat(count, 1)])
    mask = torch.cat([mask.repeat(count, 1), e_mask.repeat(count, 1)])
    enc, cross_bias = model.encode(ids, mask)
    gen = torch.Generator().manual_seed(seed)
    tokens = torch.full((2 * count, 1), cfg["decoder_start_token_id"])
    for _ in range(cfg["image_length"]):
        logits = model.decode(enc, cross_bias, tokens)[:, -1, :n_codes]
        cond, uncond = logits[:count], logits[count:]
        mixed = uncond + scale * (cond - uncond)
        top = mixed.topk(top_k, dim=-1)
        pick = torch.multinomial(torch.softmax(top.values, -1), 1, generator=gen)
        code = top.indices.gather(1, pick)
        tokens = torch.cat([tokens, code.repeat(2, 1)], 1)
    return tokens[:count, 1:]


def position_score(model, vocab, code_colours, count=4, seeds=(0, 1)):
    """(hits, total) over POSITION_PROMPTS × seeds × count images."""
    hits = total = 0
    for colour, shape, where, background in POSITION_PROMPTS:
        target = torch.tensor(scenes.COLOURS[colour], dtype=torch.float32)
        caption = f"{scenes.article(colour)} {colour} {shape} {where} on {scenes.article(background)} {background} background"
        for seed in seeds:
            codes = sample(model, vocab, caption, count, seed).reshape(-1, 16, 16)
            rgb = code_colours[codes]  # [n, 16, 16, 3]
            for image in rgb:
                away = {k: (image[r, c].reshape(-1, 3).mean(0) - target).norm().item() for k, (r, c) in CORNERS.items()}
                hits += all(away[where] < v for k, v in away.items() if k != where)
                total += 1
    return hits, total


def main():
    folder = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "demo-checkpoint")
    torch.set_num_threads(int(os.environ.get("TRAIN_THREADS", "2")))
    config = json.load(open(os.path.join(folder, "dalle", "config.json")))
    model = DalleBart(config)
    load_into(model, dalle_params, read_flax(os.path.join(folder, "dalle", "flax_model.msgpack")))
    vocab = json.load(open(os.path.join(folder, "dalle", "vocab.json")))
    vqgan = VQGAN(json.load(open(os.path.join(folder, "vqgan", "config.json"))))
    load_into(vqgan, vqgan_params, read_flax(os.path.join(folder, "vqgan", "flax_model.msgpack")))
    code_colours = vq.code_colours(vqgan)
    print("positions", position_score(model, vocab, code_colours))


if __name__ == "__main__":
    main()

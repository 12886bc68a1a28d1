"""Trains the demo CLIP contrastively on synthetic captioned scenes (scenes.py; the held-out colour ×
shape pairs never appear) and writes it in the layout of a hub CLIP folder with Flax weights:
<out>/{config.json, flax_model.msgpack, vocab.json, merges.txt}, plus report.json, reference.json
(ids and embeddings for the ONNX check) and the evaluation scenes the tests score (evaluation.json +
evaluation.rgb.gz: uint8 [N, 256, 256, 3]; captions of held-out pairs, and of seen pairs to compare).

    nice -n 10 python3 tools/train/train_clip.py [--quick] [--out tools/train/clip-checkpoint]

Seeded; sized to finish on a 2-core CPU in a few minutes (see README "Retrain the demo model")."""
import argparse
import gzip
import json
import math
import os
import sys
import time

import numpy as np

# Threads that wait by spinning stall each other on a shared machine; sleep instead.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from PIL import Image  # noqa: E402

sys.path.insert(0, os.path.dirname(__file__))
import flax_msgpack  # noqa: E402
import scenes  # noqa: E402
from clip import MEAN, STD, Clip, Tokenizer, flax_params  # noqa: E402

SEED = 4321
CROP = 224
SHAPE_WEIGHT = 0.5
POOL_BATCHES = 80
BLOCK = 16  # the demo VQGAN paints each 16×16 patch one colour: half the training images look like that
LOG_START = time.time()


def log(*args):
    print(f"[{time.time() - LOG_START:7.1f}s]", *args, flush=True)


def clip_config(vocab_size, start_id, end_id):
    tower = dict(hidden_act="quick_gelu", layer_norm_eps=1e-5, projection_dim=64)
    return {
        "architectures": ["CLIPModel"],
        "model_type": "clip",
        "projection_dim": 64,
        "logit_scale_init_value": 2.6592,
        "text_config": {
            **tower,
            "model_type": "clip_text_model",
            "hidden_size": 64,
            "intermediate_size": 256,
            "num_attention_heads": 2,
            "num_hidden_layers": 2,
            "max_position_embeddings": 77,
            "vocab_size": vocab_size,
            "bos_token_id": start_id,
            "eos_token_id": end_id,
            "pad_token_id": 1,
        },
        "vision_config": {
            **tower,
            "model_type": "clip_vision_model",
            "hidden_size": 64,
            "intermediate_size": 256,
            "num_attention_heads": 2,
            "num_hidden_layers": 2,
            "image_size": CROP,
            "patch_size": 16,
            "num_channels": 3,
        },
        "_name_or_path": "dalle-mini-web demo CLIP (tools/train)",
    }


def blockify(image):
    """Each 16×16 patch painted with its mean colour, as the demo VQGAN draws."""
    s = scenes.SIZE // BLOCK
    means = image.reshape(s, BLOCK, s, BLOCK, 3).mean((1, 3)).round().astype(np.uint8)
    return np.repeat(np.repeat(means, BLOCK, 0), BLOCK, 1)


def resized(images):
    """Pillow bicubic to 224 (for 256×256 images the crop is then the whole image): uint8 [N, 3, 224, 224]."""
    out = np.stack([np.asarray(Image.fromarray(im).resize((CROP, CROP), Image.BICUBIC)) for im in images])
    return torch.from_numpy(out).permute(0, 3, 1, 2).contiguous()


def normalized(u8):
    x = u8.float() / 255.0
    return (x - torch.tensor(MEAN).view(1, 3, 1, 1)) / torch.tensor(STD).view(1, 3, 1, 1)


def pixels(images):
    """CLIPImageProcessor on 256×256 images: resize, rescale, normalise."""
    return normalized(resized(images))


def text_batch(tokenizer, captions):
    encoded = [tokenizer.encode(c) for c in captions]
    width = max(len(e) for e in encoded)
    ids = torch.tensor([e + [0] * (width - len(e)) for e in encoded])
    return ids, torch.tensor([len(e) - 1 for e in encoded])


def seen_pair(colour, shape):
    return (colour, shape) not in scenes.HELD_OUT


def scene_group(rng):
    """One object, then the same scene with another shape and with another colour: negatives that differ in one word."""
    background = str(rng.choice(list(scenes.COLOURS)))
    colour, shape, size = scenes.sample_object(rng, False, {background}, ["small", None, "big"])
    positioned = None
    if size != "big" and rng.random() < 0.5:
        positioned = list(scenes.POSITIONS)[1 + int(rng.integers(4))]
    other_shape = str(rng.choice([s for s in scenes.SHAPES if s != shape and seen_pair(colour, s)]))
    other_colour = str(
        rng.choice([c for c in scenes.COLOURS if c not in (colour, background) and seen_pair(c, shape)])
    )
    mention = rng.random() < 0.85
    group = []
    for c, s in [(colour, shape), (colour, other_shape), (other_colour, shape)]:
        objects = [(c, s, size, scenes.POSITIONS[positioned])]
        group.append((scenes.render(objects, background), scenes.caption(objects, background, positioned, mention)))
    return group


def training_batch(rng, size):
    """Half scenes.py's scenes (one or two objects), half groups of three that differ in one word."""
    pairs = [scenes.sample_scene(rng) for _ in range(size // 2)]
    while len(pairs) < size:
        pairs += scene_group(rng)
    pairs = pairs[:size]
    images = [blockify(image) if rng.random() < 0.5 else image for image, _ in pairs]
    return images, [caption for _, caption in pairs]


def shape_labels(captions):
    """The shape of one-object captions (index in scenes.SHAPES), −1 for two objects."""
    labels = []
    for caption in captions:
        named = [scenes.SHAPES.index(w) for w in caption.split() if w in scenes.SHAPES]
        labels.append(named[0] if len(named) == 1 else -1)
    return torch.tensor(labels)


def evaluation_set(rng, per_pair, pairs):
    """Captions of `pairs`, each with its scene, the same shape in another colour, the same colour as another shape."""
    cases, images = [], []
    for colour, shape in pairs:
        for _ in range(per_pair):
            background = str(rng.choice([c for c in scenes.COLOURS if c != colour]))
            size = [None, "big"][int(rng.integers(2))]
            other_colour = str(rng.choice([c for c in scenes.COLOURS if c not in (colour, background)]))
            other_shape = str(rng.choice([s for s in scenes.SHAPES if s != shape]))
            scene = [(colour, shape, size, scenes.POSITIONS[None])]
            cases.append(
                {
                    "caption": scenes.caption(scene, background, None, True),
                    "images": [len(images), len(images) + 1, len(images) + 2],
                    "distractors": [f"{other_colour} {shape}", f"{colour} {other_shape}"],
                }
            )
            for c, s in [(colour, shape), (other_colour, shape), (colour, other_shape)]:
                images.append(scenes.render([(c, s, size, scenes.POSITIONS[None])], background))
    return cases, np.stack(images)


def evaluation_sets(held_out_per_pair, seen_per_pair):
    """Cases for the held-out pairs, and the same test on five pairs seen in training, to compare with."""
    cases, images = evaluation_set(np.random.default_rng(SEED + 1), held_out_per_pair, sorted(scenes.HELD_OUT))
    seen_pairs = [(c, s) for c in scenes.COLOURS for s in scenes.SHAPES if seen_pair(c, s)][::11]
    seen_cases, seen_images = evaluation_set(np.random.default_rng(SEED + 3), seen_per_pair, seen_pairs)
    return cases, images, seen_cases, seen_images


def write_evaluation(out, cases, images, seen_cases, seen_images):
    """evaluation.json (each case's caption, its three image indices, whether its pair was held out) and the images."""
    shifted = [{**c, "images": [i + len(images) for i in c["images"]]} for c in seen_cases]
    every = [{**c, "heldOut": True} for c in cases] + [{**c, "heldOut": False} for c in shifted]
    write_json(os.path.join(out, "evaluation.json"), {"imageSize": scenes.SIZE, "cases": every})
    with gzip.GzipFile(os.path.join(out, "evaluation.rgb.gz"), "wb", mtime=0) as f:
        f.write(np.concatenate([images, seen_images]).tobytes())


@torch.no_grad()
def evaluate(model, tokenizer, cases, images):
    """Shares of cases whose own scene scores above both distractors, above the other colour, above the other shape."""
    image_embeds = model.embed_images(pixels(images))
    text_embeds = model.embed_text(*text_batch(tokenizer, [c["caption"] for c in cases]))
    scores = torch.stack([image_embeds[c["images"]] @ text_embeds[i] for i, c in enumerate(cases)])
    beats = scores[:, :1] > scores[:, 1:]
    return {
        "both": beats.all(1).float().mean().item(),
        "otherColour": beats[:, 0].float().mean().item(),
        "otherShape": beats[:, 1].float().mean().item(),
    }


def percent(shares):
    return ", ".join(f"{k} {v:.3f}" for k, v in shares.items())


@torch.no_grad()
def retrieval(model, tokenizer, images, captions):
    """Caption → image top-1 among a batch of seen-pair training-style scenes (chance 1/len)."""
    sims = model.embed_text(*text_batch(tokenizer, captions)) @ model.embed_images(pixels(images)).T
    return (sims.argmax(1) == torch.arange(len(captions))).float().mean().item()


def write_json(path, value):
    with open(path, "w") as f:
        f.write(json.dumps(value, indent=2) + "\n")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "clip-checkpoint"))
    parser.add_argument("--quick", action="store_true", help="a few steps, to check the pipeline")
    parser.add_argument("--threads", type=int, default=int(os.environ.get("TRAIN_THREADS", "2")))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(SEED)
    rng = np.random.default_rng(SEED)
    steps = 5 if args.quick else int(os.environ.get("CLIP_STEPS", 240))
    batch = int(os.environ.get("CLIP_BATCH", 64))
    lr = 2e-3

    tokenizer = Tokenizer(scenes.WORDS)
    config = clip_config(len(tokenizer.vocab), tokenizer.vocab["<|startoftext|>"], tokenizer.vocab["<|endoftext|>"])
    model = Clip(config)
    # A training-only head: which shape a one-object scene shows, from the image embedding. Colour is
    # learned from the contrastive loss alone within a few steps, shape is not; this head is not exported.
    shape_head = torch.nn.Linear(config["projection_dim"], len(scenes.SHAPES))
    params = list(model.parameters()) + list(shape_head.parameters())
    opt = torch.optim.AdamW(params, lr=lr, weight_decay=0.05, betas=(0.9, 0.98))
    cases, eval_images, seen_cases, seen_case_images = evaluation_sets(2 if args.quick else 8, 2 if args.quick else 4)
    seen_images, seen_captions = training_batch(np.random.default_rng(SEED + 2), 64)
    # Batches drawn once and cycled through (drawing and resizing cost as much as a step on a busy machine).
    pool = []
    for _ in range(min(steps, POOL_BATCHES)):
        images, captions = training_batch(rng, batch)
        pool.append((resized(images), captions))
    log(f"drew {len(pool)} batches of {batch} scenes")
    for step in range(steps):
        u8, captions = pool[step % len(pool)]
        image_embeds = model.embed_images(normalized(u8))
        text_embeds = model.embed_text(*text_batch(tokenizer, captions))
        logits = model.logit_scale.exp() * text_embeds @ image_embeds.T
        # Identical captions in a batch are not negatives of each other.
        same = torch.tensor([[a == b for b in captions] for a in captions])
        target = same.float() / same.sum(1, keepdim=True)
        loss = (F.cross_entropy(logits, target) + F.cross_entropy(logits.T, target)) / 2
        loss = loss + SHAPE_WEIGHT * F.cross_entropy(shape_head(image_embeds * 10), shape_labels(captions), ignore_index=-1)
        for g in opt.param_groups:
            g["lr"] = lr * min(1, (step + 1) / 40) * (0.05 + 0.95 * (1 + math.cos(math.pi * step / steps)) / 2)
        opt.zero_grad()
        loss.backward()
        opt.step()
        with torch.no_grad():
            model.logit_scale.clamp_(0, math.log(100))
        if step % 25 == 0 or step == steps - 1:
            log(f"clip step {step}/{steps} loss {loss.item():.4f} scale {model.logit_scale.exp().item():.1f}")
        if step % 100 == 99 or step == steps - 1:
            model.eval()
            log(f"  held-out accuracy {percent(evaluate(model, tokenizer, cases, eval_images))}; seen pairs "
                f"{percent(evaluate(model, tokenizer, seen_cases, seen_case_images))}; "
                f"seen-scene retrieval {retrieval(model, tokenizer, seen_images, seen_captions):.3f}")
            model.train()

    model.eval()
    held_out = evaluate(model, tokenizer, cases, eval_images)
    seen_accuracy = evaluate(model, tokenizer, seen_cases, seen_case_images)
    seen = retrieval(model, tokenizer, seen_images, seen_captions)
    os.makedirs(args.out, exist_ok=True)
    write_json(os.path.join(args.out, "config.json"), config)
    tokenizer.write(args.out)
    flax_msgpack.write(os.path.join(args.out, "flax_model.msgpack"), flax_params(model))
    write_evaluation(args.out, cases, eval_images, seen_cases, seen_case_images)
    with torch.no_grad():
        captions = [c["caption"] for c in cases[:3]] + ["a red circle and a green square on a white background"]
        ids = [tokenizer.encode(c) for c in captions]
        texts = [model.text_projection(model.text_model(torch.tensor([i]), torch.tensor([len(i) - 1])))[0] for i in ids]
        imgs = model.visual_projection(model.vision_model(pixels(eval_images[:3])))
    write_json(
        os.path.join(args.out, "reference.json"),
        {
            "captions": [{"caption": c, "ids": i, "textEmbeds": [round(v, 6) for v in t.tolist()]} for c, i, t in zip(captions, ids, texts)],
            "imageEmbeds": [[round(v, 6) for v in e.tolist()] for e in imgs],
        },
    )
    write_json(
        os.path.join(args.out, "report.json"),
        {
            "seed": SEED,
            "steps": steps,
            "batch": batch,
            "heldOutPairs": sorted(" ".join(p) for p in scenes.HELD_OUT),
            "heldOutAccuracy": {k: round(v, 3) for k, v in held_out.items()},
            "heldOutCases": len(cases),
            "seenPairAccuracy": {k: round(v, 3) for k, v in seen_accuracy.items()},
            "seenPairCases": len(seen_cases),
            "seenRetrievalTop1Of64": round(seen, 3),
            "logitScale": round(model.logit_scale.item(), 4),
            "seconds": round(time.time() - LOG_START),
            "cpuSeconds": round(time.process_time()),
        },
    )
    log(f"held-out accuracy {percent(held_out)} over {len(cases)} captions, seen retrieval {seen:.3f}; wrote {args.out}")


if __name__ == "__main__":
    main()

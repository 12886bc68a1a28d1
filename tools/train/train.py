"""Trains the demo model (a VQGAN, then a DalleBart on its codes) on synthetic captioned scenes and
writes it in the official Flax checkpoint layout: <out>/vqgan/{config.json, flax_model.msgpack} and
<out>/dalle/{config.json, flax_model.msgpack, vocab.json, merges.txt}, plus <out>/report.json.

    nice -n 10 python3 tools/train/train.py [--quick] [--out tools/train/demo-checkpoint]

Seeded; sized to finish on a 2-core CPU (see README "Retrain the demo model")."""
import argparse
import json
import math
import os
import sys
import time

import numpy as np

# Threads that wait by spinning stall each other on a shared machine (20× slower here); sleep instead.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
import torch  # noqa: E402
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(__file__))
import flax_msgpack  # noqa: E402
import scenes  # noqa: E402
import text  # noqa: E402
from dallebart import DalleBart, flax_params as dalle_params  # noqa: E402
from construct import construct, kmeans, patch_means  # noqa: E402
from vqgan import flax_params as vqgan_params  # noqa: E402

VQGAN_CONFIG = dict(
    ch=64, ch_mult=[1, 1, 1, 1, 1], num_res_blocks=0, attn_resolutions=[], resolution=256,
    z_channels=8, embed_dim=4, n_embed=128, out_ch=3, double_z=False, dropout=0.0, resamp_with_conv=True,
)
SEED = 1234
LOG_START = time.time()


def log(*args):
    print(f"[{time.time() - LOG_START:7.1f}s]", *args, flush=True)


def to_tensor(images):
    return torch.from_numpy(images).permute(0, 3, 1, 2).float() / 255.0


def psnr(a, b):
    mse = ((a.clamp(0, 1) - b) ** 2).mean().item()
    return 10 * math.log10(1 / mse)


def fit_vqgan(images):
    """The VQGAN of construct.py, its codebook fitted by k-means to the patch colours of `images`."""
    points = patch_means(images).reshape(-1, 3)
    codebook = kmeans(points, VQGAN_CONFIG["n_embed"], 12, torch.Generator().manual_seed(SEED))
    return construct(VQGAN_CONFIG, codebook)


@torch.no_grad()
def encode_images(model, images):
    """Codes [N, 256]: nearest code to each patch mean, which is what model.encode computes (checked in main)."""
    book = model.quantize.embedding.weight[:, :3]
    codes = [torch.cdist(patch_means(images[i : i + 256]).reshape(-1, 3), book).argmin(1) for i in range(0, len(images), 256)]
    return torch.cat(codes).reshape(-1, 256)


def dalle_config(vocab_size, size):
    d, enc_layers, dec_layers, ffn = size
    return {
        "architectures": ["DalleBart"],
        "d_model": d,
        "encoder_layers": enc_layers,
        "decoder_layers": dec_layers,
        "encoder_attention_heads": d // 64,
        "decoder_attention_heads": d // 64,
        "encoder_ffn_dim": ffn,
        "decoder_ffn_dim": ffn,
        "encoder_vocab_size": vocab_size,
        "image_vocab_size": VQGAN_CONFIG["n_embed"],
        "max_text_length": text.MAX_TEXT,
        "image_length": 256,
        "decoder_start_token_id": VQGAN_CONFIG["n_embed"],
        "bos_token_id": VQGAN_CONFIG["n_embed"] + 1,
        "eos_token_id": VQGAN_CONFIG["n_embed"] + 1,
        "pad_token_id": VQGAN_CONFIG["n_embed"] + 1,
        "activation_function": "gelu",
        "ln_type": "layernorm",
        "ln_positions": "normformer",
        "use_glu": True,
        "use_bias": False,
        "force_ln_scale": False,
        "scale_embedding": False,
        "use_head_scale": False,
        "use_cosine_attention": False,
        "use_swin_position_embeddings": False,
        "use_deepnet_scaling": False,
        "use_alibi": False,
        "use_final_ln_encoder": True,
        "use_final_ln_decoder": True,
        "sinkhorn_iters": 1,
        "use_absolute_position_embeddings": True,
        "tie_word_embeddings": False,
        "normalize_text": True,
        "use_scan": True,
        "init_std": 0.02,
        "_name_or_path": "dalle-mini-web demo (tools/train)",
    }


def train_dalle(config, vocab, captions, codes, steps, batch, rng, save, drop=0.15):
    model = DalleBart(config)
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.01, betas=(0.9, 0.98))
    encoded = [text.encode(vocab, c) for c in captions]
    ids = torch.tensor([e[0] for e in encoded])
    masks = torch.tensor([e[1] for e in encoded])
    empty_ids, empty_mask = (torch.tensor(t) for t in text.encode(vocab, ""))
    start = torch.full((len(codes), 1), config["decoder_start_token_id"])
    inputs = torch.cat([start, codes[:, :-1]], 1)
    for step in range(steps):
        idx = torch.from_numpy(rng.integers(len(codes), size=batch))
        b_ids, b_mask = ids[idx].clone(), masks[idx].clone()
        dropped = torch.from_numpy(rng.random(batch) < drop)
        b_ids[dropped], b_mask[dropped] = empty_ids, empty_mask  # condition dropout: the empty caption
        logits = model(b_ids, b_mask, inputs[idx])
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), codes[idx].reshape(-1))
        for g in opt.param_groups:
            g["lr"] = 3e-3 * min(1, (step + 1) / 60) * (0.05 + 0.95 * (1 + math.cos(math.pi * step / steps)) / 2)
        opt.zero_grad()
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        if step % 25 == 0 or step == steps - 1:
            log(f"dalle step {step}/{steps} loss {loss.item():.4f}")
        if step % 150 == 149 and step < steps - 1:
            save(model)  # a usable checkpoint early, should the run be cut short
    return model


def write_json(path, value):
    with open(path, "w") as f:
        f.write(json.dumps(value, indent=2) + "\n")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "demo-checkpoint"))
    parser.add_argument("--quick", action="store_true", help="a few steps of each stage, to check the pipeline")
    parser.add_argument("--threads", type=int, default=int(os.environ.get("TRAIN_THREADS", "2")))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(SEED)
    rng = np.random.default_rng(SEED)
    quick = args.quick
    vq_pool = 64 if quick else 200
    n_train = 64 if quick else int(os.environ.get("N_TRAIN", 3000))
    db_steps = 10 if quick else int(os.environ.get("DB_STEPS", 450))
    size = tuple(int(x) for x in os.environ.get("DB_SIZE", "64,1,2,128").split(","))

    vqgan = fit_vqgan(scenes.dataset(SEED, vq_pool)[0])
    vqgan.eval()
    held_images, held_captions = scenes.dataset(SEED + 2, 16 if quick else 64, held_out=True)
    with torch.no_grad():
        held = to_tensor(held_images)
        z, model_codes = vqgan.encode(held[:8])
        agree = (model_codes.reshape(-1, 256) == encode_images(vqgan, held_images[:8])).float().mean().item()
        assert agree > 0.99, f"the VQGAN encoder disagrees with its patch-mean shortcut on {1 - agree:.1%} of codes"
        rec = torch.cat([vqgan.decode_codes(c.reshape(-1, 16, 16)) for c in encode_images(vqgan, held_images).split(16)])
    vq_psnr = psnr(rec, held)
    log(f"vqgan PSNR on {len(held)} held-out images: {vq_psnr:.2f} dB (encoder agrees with the shortcut on {agree:.2%})")

    images, captions = scenes.dataset(SEED + 1, n_train)
    codes = encode_images(vqgan, images)
    log(f"encoded {n_train} training images; codes used {len(codes.unique())}/{VQGAN_CONFIG['n_embed']}")
    del images

    vocab, merges = text.build_vocab(scenes.WORDS)
    config = dalle_config(len(vocab), size)
    for sub in ("dalle", "vqgan"):
        os.makedirs(os.path.join(args.out, sub), exist_ok=True)
    write_json(os.path.join(args.out, "vqgan", "config.json"), VQGAN_CONFIG)
    flax_msgpack.write(os.path.join(args.out, "vqgan", "flax_model.msgpack"), vqgan_params(vqgan))
    write_json(os.path.join(args.out, "dalle", "config.json"), config)
    text.write_vocab(os.path.join(args.out, "dalle"), vocab, merges)

    def save(model):
        flax_msgpack.write(os.path.join(args.out, "dalle", "flax_model.msgpack"), dalle_params(model))
        log("wrote", args.out)

    dalle = train_dalle(config, vocab, captions, codes, db_steps, 32, rng, save)
    save(dalle)
    write_json(
        os.path.join(args.out, "report.json"),
        {
            "seed": SEED,
            "vqganCodebookImages": vq_pool,
            "dalleBartSteps": db_steps,
            "trainingImages": n_train,
            "vqganHeldOutPsnrDb": round(vq_psnr, 2),
            "heldOutPairs": sorted(" ".join(p) for p in scenes.HELD_OUT),
            "colours": {name: list(rgb) for name, rgb in scenes.COLOURS.items()},
            "shapes": scenes.SHAPES,
            "dalleBartSize": dict(zip(["dModel", "encoderLayers", "decoderLayers", "ffnDim"], size)),
            "seconds": round(time.time() - LOG_START),
        },
    )
    log("wrote", args.out)


if __name__ == "__main__":
    main()

"""Trains the demo model (a VQGAN, then a DalleBart on its codes) on synthetic captioned scenes and
writes it in the official Flax checkpoint layout: <out>/vqgan/{config.json, flax_model.msgpack} and
<out>/dalle/{config.json, flax_model.msgpack, vocab.json, merges.txt}, plus <out>/report.json.

    nice -n 10 python3 tools/train/train.py [--quick] [--stage all|vqgan|dalle] [--out tools/train/demo-checkpoint]

The two stages are independent given the codebook (k-means, seeded): --stage dalle trains the DalleBart
on the codebook of <out>/vqgan, --stage vqgan redoes only the VQGAN; each stage seeds its own RNGs, so
a stage run alone gives what it gives in a whole run. --resume STEP goes on with a DalleBart run that was
stopped after its checkpoint at STEP (saved every 150 steps), from those weights with a fresh optimizer.

Seeded; sized to finish on a 2-core CPU (see README "Retrain the demo model")."""
import argparse
import copy
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
import evaluate  # noqa: E402
from dallebart import DalleBart, flax_params as dalle_params  # noqa: E402
import vq_autoencoder as vq  # noqa: E402
from construct import construct, kmeans, patch_means  # noqa: E402
from reference import load_into, read_flax  # noqa: E402
from vqgan import VQGAN, flax_params as vqgan_params  # noqa: E402

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


def encode_images(model, images):
    """Codes [N, 256] of uint8 images [N, 256, 256, 3], through the encoder's 64 px shortcut (checked in train_vqgan)."""
    return torch.cat([vq.encode_codes(model, vq.cell_means(images[i : i + 512])) for i in range(0, len(images), 512)])


@torch.no_grad()
def held_out_psnr(model, images):
    codes = encode_images(model, images).reshape(-1, 16, 16)
    small = torch.cat([vq.decode_small(model, model.lookup(c)) for c in codes.split(16)])
    return psnr(vq.upsample(small), to_tensor(images))


@torch.no_grad()
def check_shortcuts(model, images):
    """The 64 px shortcuts compute what the whole encoder and decoder compute."""
    z, codes = model.encode(to_tensor(images))
    z_small = vq.encode_small(model, vq.cell_means(images))
    assert (z - z_small).abs().max() < 1e-4, f"the encoder's 64 px shortcut is {(z - z_small).abs().max()} from its whole graph"
    agree = (codes == vq.quantize(model, z_small)[0]).float().mean()
    assert agree > 0.99, f"the encoder's 64 px shortcut picks other codes on {1 - agree:.1%} of the cells"
    small = vq.decode_small(model, model.lookup(codes))
    gap = (vq.upsample(small) - model.decode_codes(codes)).abs().max().item()
    assert gap < 1e-3, f"the decoder's 64 px shortcut is {gap} from its whole graph"


def train_vqgan(out, quick):
    """Constructs the VQGAN, trains it as a VQ autoencoder (its decoder only, unless VQ_PARTS=all), writes the
    better of the two."""
    torch.manual_seed(SEED)
    pool = 64 if quick else 200
    steps = 4 if quick else int(os.environ.get("VQ_STEPS", 1000))
    parts = os.environ.get("VQ_PARTS", "decoder")
    assert parts in ("decoder", "all"), f"VQ_PARTS is decoder or all, not {parts}"
    constructed = fit_vqgan(scenes.dataset(SEED, pool)[0])
    held_images = scenes.dataset(SEED + 2, 16 if quick else 64, held_out=True)[0]
    check_shortcuts(constructed, held_images[:4])
    constructed_psnr = held_out_psnr(constructed, held_images)
    log(f"constructed vqgan: PSNR on {len(held_images)} held-out images {constructed_psnr:.2f} dB")

    trained = copy.deepcopy(constructed)
    images = scenes.dataset(SEED + 3, 64 if quick else int(os.environ.get("VQ_IMAGES", 400)))[0]
    lr = float(os.environ.get("VQ_LR", 1e-3))
    restarts = vq.train(trained, images, steps, 8, np.random.default_rng(SEED), log, lr, parts == "decoder")
    del images
    check_shortcuts(trained, held_images[:4])
    trained_psnr = held_out_psnr(trained, held_images)
    log(f"trained vqgan: PSNR on {len(held_images)} held-out images {trained_psnr:.2f} dB ({restarts} code restarts)")
    vqgan = trained if trained_psnr > constructed_psnr else constructed
    os.makedirs(os.path.join(out, "vqgan"), exist_ok=True)
    write_json(os.path.join(out, "vqgan", "config.json"), VQGAN_CONFIG)
    flax_msgpack.write(os.path.join(out, "vqgan", "flax_model.msgpack"), vqgan_params(vqgan))
    return {
        "vqganCodebookImages": pool,
        "vqganSteps": steps,
        "vqganTrainedParts": parts,
        "vqganLearningRate": lr,
        "vqganCodeRestarts": restarts,
        "vqganHeldOutPsnrDb": round(max(trained_psnr, constructed_psnr), 2),
        "vqganConstructedPsnrDb": round(constructed_psnr, 2),
        "vqganTrainedPsnrDb": round(trained_psnr, 2),
        "vqganKept": "trained" if vqgan is trained else "constructed",
    }


def read_vqgan(out):
    model = VQGAN(VQGAN_CONFIG)
    load_into(model, vqgan_params, read_flax(os.path.join(out, "vqgan", "flax_model.msgpack")))
    return model


def dalle_config(vocab_size, size, heads):
    d, enc_layers, dec_layers, ffn = size
    return {
        "architectures": ["DalleBart"],
        "d_model": d,
        "encoder_layers": enc_layers,
        "decoder_layers": dec_layers,
        "encoder_attention_heads": heads,
        "decoder_attention_heads": heads,
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


def train_dalle(config, vocab, captions, codes, steps, batch, rng, save, drop=0.15, resume=None):
    """resume: (weights, step) to go on from a checkpoint saved after `step` steps, with a fresh optimizer."""
    model = DalleBart(config)
    first = 0
    if resume is not None:
        load_into(model, dalle_params, resume[0])
        first = resume[1]
        for _ in range(first):  # the batches already seen
            rng.integers(len(codes), size=batch)
            rng.random(batch)
    opt = torch.optim.AdamW(model.parameters(), lr=3e-3, weight_decay=0.01, betas=(0.9, 0.98))
    encoded = [text.encode(vocab, c) for c in captions]
    # Past the longest caption every token is padding, masked out of every attention: training on the
    # first `width` positions computes exactly what the whole 64 would, in a fraction of the time.
    width = max(sum(e[1]) for e in encoded)
    ids = torch.tensor([e[0][:width] for e in encoded])
    masks = torch.tensor([e[1][:width] for e in encoded])
    empty_ids, empty_mask = (torch.tensor(t[:width]) for t in text.encode(vocab, ""))
    start = torch.full((len(codes), 1), config["decoder_start_token_id"])
    inputs = torch.cat([start, codes[:, :-1]], 1)
    for step in range(first, steps):
        idx = torch.from_numpy(rng.integers(len(codes), size=batch))
        b_ids, b_mask = ids[idx].clone(), masks[idx].clone()
        dropped = torch.from_numpy(rng.random(batch) < drop)
        b_ids[dropped], b_mask[dropped] = empty_ids, empty_mask  # condition dropout: the empty caption
        logits = model(b_ids, b_mask, inputs[idx])
        loss = F.cross_entropy(logits.reshape(-1, logits.shape[-1]), codes[idx].reshape(-1))
        for g in opt.param_groups:
            warmup = min(1, (step + 1) / 60, (step - first + 1) / 10)
            g["lr"] = 3e-3 * warmup * (0.05 + 0.95 * (1 + math.cos(math.pi * step / steps)) / 2)
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


def train_dalle_stage(out, quick, resume_step=0):
    """Trains the DalleBart on the codes of <out>/vqgan's codebook; returns report entries."""
    n_train = 64 if quick else int(os.environ.get("N_TRAIN", 6000))
    steps = 10 if quick else int(os.environ.get("DB_STEPS", 1000))
    size = tuple(int(x) for x in os.environ.get("DB_SIZE", "64,1,2,128").split(","))
    heads = int(os.environ.get("DB_HEADS", 2))
    vqgan = read_vqgan(out)
    images, captions = scenes.dataset(SEED + 1, n_train)
    codes = encode_images(vqgan, images)
    log(f"encoded {n_train} training images; codes used {len(codes.unique())}/{VQGAN_CONFIG['n_embed']}")
    del images

    vocab, merges = text.build_vocab(scenes.WORDS)
    config = dalle_config(len(vocab), size, heads)
    os.makedirs(os.path.join(out, "dalle"), exist_ok=True)
    write_json(os.path.join(out, "dalle", "config.json"), config)
    text.write_vocab(os.path.join(out, "dalle"), vocab, merges)

    def save(model):
        flax_msgpack.write(os.path.join(out, "dalle", "flax_model.msgpack"), dalle_params(model))
        log("wrote", out)

    torch.manual_seed(SEED)
    resume = None
    if resume_step:
        resume = (read_flax(os.path.join(out, "dalle", "flax_model.msgpack")), resume_step)
        log(f"resuming the DalleBart after step {resume_step} with a fresh optimizer")
    dalle = train_dalle(config, vocab, captions, codes, steps, 32, np.random.default_rng(SEED), save, resume=resume)
    save(dalle)
    hits, total = evaluate.position_score(dalle, vocab, vq.code_colours(vqgan), *((1, (0,)) if quick else (4, (0, 1))))
    log(f"positions: the named corner nearest the object's colour in {hits}/{total} drawings")
    return {
        "dalleBartSteps": steps,
        "positionsInNamedCorner": f"{hits}/{total}",
        "dalleBartHeads": heads,
        **({"dalleBartResumedAfter": resume_step} if resume_step else {}),
        "trainingImages": n_train,
        "dalleBartSize": dict(zip(["dModel", "encoderLayers", "decoderLayers", "ffnDim"], size)),
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "demo-checkpoint"))
    parser.add_argument("--quick", action="store_true", help="a few steps of each stage, to check the pipeline")
    parser.add_argument("--stage", choices=["all", "vqgan", "dalle"], default="all")
    parser.add_argument(
        "--resume", type=int, default=0, metavar="STEP",
        help="go on from <out>/dalle saved after STEP steps (fresh optimizer; implies --stage dalle)",
    )
    parser.add_argument("--threads", type=int, default=int(os.environ.get("TRAIN_THREADS", "2")))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if args.resume:
        args.stage = "dalle"
    report_path = os.path.join(args.out, "report.json")
    report = json.load(open(report_path)) if args.stage != "all" and os.path.exists(report_path) else {}
    report.update(
        seed=SEED,
        heldOutPairs=sorted(" ".join(p) for p in scenes.HELD_OUT),
        colours={name: list(rgb) for name, rgb in scenes.COLOURS.items()},
        shapes=scenes.SHAPES,
    )
    seconds, loads = {}, {}
    stages = (("vqgan", train_vqgan), ("dalle", lambda out, quick: train_dalle_stage(out, quick, args.resume)))
    for stage, run in stages:
        if args.stage in ("all", stage):
            start = time.time()
            report.update(run(args.out, args.quick))
            seconds[stage] = round(time.time() - start)
            loads[stage] = round(os.getloadavg()[1], 1)  # the machine is shared: times mean little without it
    report["seconds"] = {**report.get("seconds", {}), **seconds} if isinstance(report.get("seconds"), dict) else seconds
    report["loadAverage"] = {**report.get("loadAverage", {}), **loads}
    write_json(report_path, report)
    log("wrote", args.out)


if __name__ == "__main__":
    main()

"""A PyTorch implementation of min-dalle's algorithm, timed on this CPU: the yardstick the issue's
"5× faster than min-dalle" target is measured against (docs/performance.md#against-min-dalles-algorithm).

It is NOT min-dalle (not downloadable here): it is tools/train's DalleBart and VQGAN modules (the
same functions the exported graphs compute, tests/demo-model.test.ts) run the way min-dalle runs
them — float32 throughout, the encoder once on [unconditional, prompt], 2n decoder rows
(n unconditional, n conditional) stepped 256 times with a fixed 256-slot self-attention KV cache
written one slot per step, cross-attention keys/values recomputed from the encoder output at every
step (as min-dalle does), super-conditioning uncond·(1 − s) + cond·s, top-k sampling with
torch.multinomial, then one float32 VQGAN decode of the n images as a batch. Weights: the same
Flax checkpoint folder the exporter reads (npm run export -- --random mini … writes it under
<cache-dir>/checkpoints/).

    python3 bench/torch-reference.py --checkpoint .cache/checkpoints/random-mini-seed1 \\
        --images 1,9 [--steps 256] [--threads 2] [--json out.json]

Prints a table and writes JSON runs shaped like npm run bench's (runtime "torch-min-dalle-algorithm").
"""
import argparse
import json
import os
import platform
import resource
import sys
import time

# Threads that wait by spinning stall each other on a shared machine; sleep instead (as tools/train does).
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
import numpy as np  # noqa: E402
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tools", "train"))
from dallebart import DalleBart  # noqa: E402
from reference import read_flax, flatten  # noqa: E402
from vqgan import VQGAN, _flax_name  # noqa: E402

CONDITION_SCALE = 10.0  # dalle-mini's default, what npm run bench samples with (min-dalle's own default is 16)
TOP_K = 50  # dalle-mini's default (min-dalle's is 256); sampling is a negligible share of a step either way


def load_dalle(folder):
    config = json.load(open(os.path.join(folder, "config.json")))
    model = DalleBart(config)
    flat = flatten(read_flax(os.path.join(folder, "flax_model.msgpack")))
    for name, p in model.named_parameters():
        parts = name.split(".")
        if parts[0] == "lm_head":
            value = flat["lm_head/kernel"]
        elif parts[1] == "layers":
            stack = "FlaxBartEncoderLayers" if parts[0] == "encoder" else "FlaxBartDecoderLayers"
            value = flat["/".join(["model", parts[0], "layers", stack, *parts[3:]])][int(parts[2])]
        else:
            leaf = "embedding" if parts[-1] == "weight" else parts[-1]
            value = flat["/".join(["model", *parts[:-1], leaf])]
        assert tuple(value.shape) == tuple(p.shape), (name, value.shape, p.shape)
        with torch.no_grad():
            p.copy_(torch.from_numpy(np.ascontiguousarray(value)))
    return model.eval(), config


def load_vqgan(folder):
    config = json.load(open(os.path.join(folder, "config.json")))
    model = VQGAN(config)
    flat = flatten(read_flax(os.path.join(folder, "flax_model.msgpack")))
    state = model.state_dict()
    for name in state:
        if name.startswith(("encoder.", "quant_conv.")):
            continue  # generation decodes only
        parts = _flax_name(name)
        if name == "quantize.embedding.weight":
            value = flat["quantize/embedding/embedding"]
        elif parts[-1] == "weight" and state[name].ndim == 4:
            value = flat["/".join([*parts[:-1], "kernel"])].transpose(3, 2, 0, 1)
        elif parts[-1] == "weight":
            value = flat["/".join([*parts[:-1], "scale"])]
        else:
            value = flat["/".join(parts)]
        state[name] = torch.from_numpy(np.ascontiguousarray(value))
    model.load_state_dict(state)
    return model.eval(), config


def attend(attention, q_in, k, v, bias):
    """Multi-head attention of q_in's projection over precomputed keys/values [B, H, S, hd]."""
    b, t, d = q_in.shape
    h = attention.heads
    q = attention.q_proj(q_in).reshape(b, t, h, d // h).transpose(1, 2)
    w = torch.softmax(q @ k.transpose(-1, -2) / (d // h) ** 0.5 + bias, dim=-1)
    return attention.out_proj((w @ v).transpose(1, 2).reshape(b, t, d))


def heads(attention, x):
    b, s, d = x.shape
    return lambda proj: proj(x).reshape(b, s, attention.heads, d // attention.heads).transpose(1, 2)


class Decoding:
    """min-dalle's step: 2n rows, a fixed [layers, 2n, H, 256, hd] cache for keys and for values."""

    def __init__(self, model, config, encoded, cross_bias, n):
        self.model, self.n = model, n
        rows, d, heads_, length = 2 * n, config["d_model"], config["decoder_attention_heads"], config["image_length"]
        self.encoded = encoded.repeat_interleave(n, dim=0)  # [uncond × n, cond × n]
        self.cross_bias = cross_bias.repeat_interleave(n, dim=0)
        shape = (len(model.decoder.layers), rows, heads_, length, d // heads_)
        self.keys, self.values = torch.zeros(shape), torch.zeros(shape)
        self.slots = torch.arange(length)

    def logits(self, position, tokens):
        """[2n, V + 1] for the n previous tokens at `position` (cond and uncond rows alike)."""
        dd = self.model.decoder
        ids = torch.cat([tokens, tokens])[:, None]
        h = dd.layernorm_embedding(dd.embed_tokens(ids) + dd.embed_positions(torch.tensor([position])))
        self_bias = torch.where(self.slots <= position, 0.0, -1e9)
        for i, layer in enumerate(dd.layers):
            a = layer.LayerNorm_0(h)
            split = heads(layer.FlaxBartAttention_0, a)
            self.keys[i, :, :, position : position + 1] = split(layer.FlaxBartAttention_0.k_proj)
            self.values[i, :, :, position : position + 1] = split(layer.FlaxBartAttention_0.v_proj)
            h = h + layer.LayerNorm_1(attend(layer.FlaxBartAttention_0, a, self.keys[i], self.values[i], self_bias))
            c = layer.LayerNorm_2(h)
            cross = heads(layer.FlaxBartAttention_1, self.encoded)  # recomputed every step, as min-dalle does
            k, v = cross(layer.FlaxBartAttention_1.k_proj), cross(layer.FlaxBartAttention_1.v_proj)
            h = h + layer.LayerNorm_3(attend(layer.FlaxBartAttention_1, c, k, v, self.cross_bias))
            h = h + layer.GLU_0(h)
        return self.model.lm_head(dd.final_ln(h))[:, 0]

    def step(self, position, tokens):
        logits = self.logits(position, tokens)[:, : self.model.config["image_vocab_size"]]
        uncond, cond = logits[: self.n], logits[self.n :]
        mixed = uncond * (1 - CONDITION_SCALE) + cond * CONDITION_SCALE
        kth = mixed.topk(TOP_K, dim=-1).values[:, -1:]
        probs = torch.exp(mixed - mixed.max(dim=-1, keepdim=True).values) * (mixed >= kth)
        return torch.multinomial(probs, 1)[:, 0]


def median(values):
    return float(np.median(values)) if values else None


def generate(model, config, vqgan, n, steps):
    length = config["image_length"]
    text = config["max_text_length"]
    ids = torch.ones(2, text, dtype=torch.long)
    ids[0, :2] = torch.tensor([0, 2])  # the unconditional prompt: <s> </s>
    ids[1, :10] = torch.tensor([0, *range(100, 108), 2])
    timings = {}
    started = time.perf_counter()
    encoded, cross_bias = model.encode(ids, (ids != 1).long())
    timings["encoder_ms"] = (time.perf_counter() - started) * 1000
    decoding = Decoding(model, config, encoded, cross_bias, n)
    tokens = torch.full((n,), config["decoder_start_token_id"], dtype=torch.long)
    codes, step_ms = [], []
    for position in range(min(steps, length)):
        t = time.perf_counter()
        tokens = decoding.step(position, tokens)
        codes.append(tokens)
        step_ms.append((time.perf_counter() - t) * 1000)
    full = steps >= length
    if full:
        t = time.perf_counter()
        grid = int(length**0.5)
        pixels = vqgan.decode_codes(torch.stack(codes, dim=1).reshape(n, grid, grid)).clamp(0, 1)
        assert pixels.shape[0] == n
        timings["vqgan_ms_per_image"] = (time.perf_counter() - t) * 1000 / n
    finished = time.perf_counter()
    window = min(8, len(step_ms))
    return {
        **timings,
        "step_ms_first": median(step_ms[:window]),
        "step_ms_median": median(step_ms),
        "step_ms_last": median(step_ms[-window:]),
        "vqgan_ms_per_image": timings.get("vqgan_ms_per_image"),
        "seconds_per_image": (finished - started) / n if full else None,
    }


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--checkpoint", required=True, help="folder with dalle/ and vqgan/ Flax checkpoints")
    parser.add_argument("--images", default="1", help="comma-separated image counts")
    parser.add_argument("--steps", type=int, default=256)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    load_start = list(os.getloadavg())
    model, config = load_dalle(os.path.join(args.checkpoint, "dalle"))
    vqgan, _ = load_vqgan(os.path.join(args.checkpoint, "vqgan"))
    runs = []
    with torch.inference_mode():
        for n in [int(x) for x in args.images.split(",")]:
            generate(model, config, vqgan, n, 2)  # warm-up, as npm run bench does
            before = os.getloadavg()[0]
            run = generate(model, config, vqgan, n, args.steps)
            runs.append(
                {
                    "runtime": "torch-min-dalle-algorithm",
                    "images": n,
                    "threads": args.threads,
                    **run,
                    "first_preview_ms": None,
                    "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
                    "load_avg_start": before,
                    "load_avg_end": os.getloadavg()[0],
                }
            )
            print(json.dumps(runs[-1]), flush=True)
    report = {
        "model_id": os.path.basename(os.path.normpath(args.checkpoint)),
        "dtype": "fp32",
        "steps": args.steps,
        "repeat": 1,
        "versions": {"torch": torch.__version__, "python": platform.python_version()},
        "cpu": {"model": platform.processor() or platform.machine(), "cores": os.cpu_count()},
        "load_average": {"start": load_start, "end": list(os.getloadavg())},
        "date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "runs": runs,
    }
    for r in runs:
        spi = "–" if r["seconds_per_image"] is None else f"{r['seconds_per_image']:.2f}"
        print(
            f"{r['runtime']} {r['images']} img {r['threads']} thr: encoder {r['encoder_ms']:.0f} ms, "
            f"step {r['step_ms_median']:.1f} ms (first {r['step_ms_first']:.1f}, last {r['step_ms_last']:.1f}), "
            f"VQGAN {r['vqgan_ms_per_image'] or 0:.0f} ms/img, {spi} s/img"
        )
    if args.json:
        with open(args.json, "w") as f:
            json.dump(report, f, indent=2)
        print(f"wrote {args.json}")


if __name__ == "__main__":
    main()

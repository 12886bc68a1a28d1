"""A PyTorch implementation of min-dalle's generation algorithm, the CPU baseline our runtimes are compared with
(docs/performance.md#pytorch-baseline). It is not min-dalle itself: it reuses tools/train's DalleBart and VQGAN
modules and reads the same official-layout Flax checkpoint folders the exporter reads (<dir>/dalle, <dir>/vqgan).

Algorithm (min-dalle's): encode [unconditional, prompt] once; decode 256 steps one token at a time with a KV cache
of 256 slots per layer (each step attends over all slots, masked to those written so far); cross attention over the
encoder states (their keys/values computed once per generation); super-conditioning
(1 - scale) * uncond + scale * cond on the image-code logits; top-k sampling (top-k 1 is greedy); then the VQGAN
decoder on the 16x16 codes, all fp32 on the CPU.

    python3 bench/torch_baseline.py --checkpoint <dir> --ids 0,5,9,2 [--images 9] [--steps 256] [--threads n]
        [--top-k 50] [--condition-scale 10] [--seed 0] [--repeat 1] [--no-vqgan]

--ids are the prompt's token ids (<s> … </s>, as `npm run tokenize` prints them). Prints one JSON line:
{"torch": version, "threads": n, "runs": [{"images", "seconds", "secondsPerImage", "stepMsMedian"}], "tokens": [[…] per image]}.
"""
import argparse
import json
import math
import os
import sys
import time

# Threads that wait by spinning stall each other on a shared machine; sleep instead.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools", "train"))
from dallebart import DalleBart  # noqa: E402
from reference import read_flax  # noqa: E402
from vqgan import VQGAN, Decoder, _flax_name  # noqa: E402
from torch import nn  # noqa: E402

PAD_ID = 1


def _get(tree, parts):
    for p in parts:
        tree = tree[p]
    return torch.from_numpy(tree)


def load_dallebart(tree, model):
    """Flax use_scan tree → torch params: per-layer leaves are slices of the stacked [layers, …] tensors."""
    with torch.no_grad():
        for name, p in model.named_parameters():
            parts = name.split(".")
            if parts[-1] == "weight":
                parts[-1] = "embedding"
            if parts[0] == "lm_head":
                value = _get(tree, parts)
            elif parts[1] == "layers":
                scan = "FlaxBartEncoderLayers" if parts[0] == "encoder" else "FlaxBartDecoderLayers"
                value = _get(tree, ["model", parts[0], "layers", scan] + parts[3:])[int(parts[2])]
            else:
                value = _get(tree, ["model"] + parts)
            p.copy_(value.reshape(p.shape))


def load_vqgan(tree, model):
    """The inverse of vqgan.flax_params: conv kernels [kh, kw, in, out] → [out, in, kh, kw]."""
    with torch.no_grad():
        for name, p in model.state_dict().items():
            parts = _flax_name(name)
            if name == "quantize.embedding.weight":
                parts = ["quantize", "embedding", "embedding"]
            elif parts[-1] == "weight" and p.ndim == 4:
                parts[-1] = "kernel"
            elif parts[-1] == "weight":
                parts[-1] = "scale"
            value = _get(tree, parts)
            p.copy_(value.permute(3, 2, 0, 1) if p.ndim == 4 else value)


class VQGANDecoder(nn.Module):
    """tools/train's VQGAN without its encoder, which generation never runs (and which not every shape builds)."""

    lookup, decode_codes = VQGAN.lookup, VQGAN.decode_codes

    def __init__(self, config):
        super().__init__()
        self.decoder = Decoder(config)
        self.post_quant_conv = nn.Conv2d(config["embed_dim"], config["z_channels"], 1)
        self.quantize = nn.Module()
        self.quantize.embedding = nn.Embedding(config["n_embed"], config["embed_dim"])


def split_heads(x, heads):
    b, t, d = x.shape
    return x.reshape(b, t, heads, d // heads).transpose(1, 2)


def attend(q, k, v, bias, heads):
    """q [B, 1, D] over keys/values [B, H, T, D/H] with an additive bias broadcast to [B, H, 1, T]."""
    b, t, d = q.shape
    w = torch.softmax(split_heads(q, heads) @ k.transpose(-1, -2) / math.sqrt(d // heads) + bias, dim=-1)
    return (w @ v).transpose(1, 2).reshape(b, t, d)


class Generator:
    def __init__(self, dalle, vqgan):
        self.dalle, self.vqgan = dalle, vqgan
        self.heads = dalle.config["decoder_attention_heads"]
        self.codes = dalle.config["image_vocab_size"]

    @torch.no_grad()
    def tokens(self, ids, images, steps, top_k, scale, generator):
        d, heads, layers = self.dalle, self.heads, self.dalle.decoder.layers
        text = d.config["max_text_length"]
        row = torch.tensor(ids + [PAD_ID] * (text - len(ids)))
        uncond = torch.tensor([0, 2] + [PAD_ID] * (text - 2))
        rows = torch.stack([uncond, row])
        enc, cross_bias = d.encode(rows, (rows != PAD_ID).long())
        # rows 0..n-1 unconditional, n..2n-1 the prompt (min-dalle's layout)
        enc = enc.repeat_interleave(images, 0)
        cross_bias = cross_bias.repeat_interleave(images, 0)
        cross = [
            (split_heads(l.FlaxBartAttention_1.k_proj(enc), heads), split_heads(l.FlaxBartAttention_1.v_proj(enc), heads))
            for l in layers
        ]
        dim = enc.shape[-1]
        slots = d.config["image_length"]
        k_cache = torch.zeros(len(layers), 2 * images, heads, slots, dim // heads)
        v_cache = torch.zeros_like(k_cache)
        token = torch.full((2 * images, 1), d.config["decoder_start_token_id"])
        out = []
        self.step_seconds = []
        for step in range(steps):
            started = time.perf_counter()
            dd = d.decoder
            h = dd.layernorm_embedding(dd.embed_tokens(token) + dd.embed_positions.weight[step])
            self_bias = torch.where(torch.arange(slots) <= step, 0.0, -math.inf)
            for i, layer in enumerate(layers):
                att = layer.FlaxBartAttention_0
                a = layer.LayerNorm_0(h)
                k_cache[i, :, :, step] = split_heads(att.k_proj(a), heads)[:, :, 0]
                v_cache[i, :, :, step] = split_heads(att.v_proj(a), heads)[:, :, 0]
                h = h + layer.LayerNorm_1(att.out_proj(attend(att.q_proj(a), k_cache[i], v_cache[i], self_bias, heads)))
                c = layer.LayerNorm_2(h)
                cross_att = layer.FlaxBartAttention_1
                ctx = attend(cross_att.q_proj(c), cross[i][0], cross[i][1], cross_bias, heads)
                h = h + layer.LayerNorm_3(cross_att.out_proj(ctx))
                h = h + layer.GLU_0(h)
            logits = d.lm_head(dd.final_ln(h))[:, 0, : self.codes]
            logits = (1 - scale) * logits[:images] + scale * logits[images:]
            if top_k == 1:
                codes = logits.argmax(-1)
            else:
                top = logits.topk(top_k, dim=-1).values
                probs = torch.exp(logits - top[:, :1]) * (logits >= top[:, -1:])
                codes = torch.multinomial(probs, 1, generator=generator)[:, 0]
            out.append(codes)
            token = codes.repeat(2)[:, None]
            self.step_seconds.append(time.perf_counter() - started)
        return torch.stack(out, 1)

    @torch.no_grad()
    def pixels(self, codes):
        side = int(math.isqrt(codes.shape[1]))
        return self.vqgan.decode_codes(codes.reshape(-1, side, side)).clamp(0, 1)


def load(folder):
    config = json.load(open(os.path.join(folder, "dalle", "config.json")))
    vconfig = json.load(open(os.path.join(folder, "vqgan", "config.json")))
    dalle, vqgan = DalleBart(config).eval(), VQGANDecoder(vconfig).eval()
    load_dallebart(read_flax(os.path.join(folder, "dalle", "flax_model.msgpack")), dalle)
    load_vqgan(read_flax(os.path.join(folder, "vqgan", "flax_model.msgpack")), vqgan)
    return Generator(dalle, vqgan)


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--checkpoint", required=True)
    p.add_argument("--ids", required=True, help="prompt token ids, comma-separated")
    p.add_argument("--images", default="1", help="comma-separated image counts, e.g. 1,9")
    p.add_argument("--steps", type=int, default=256)
    p.add_argument("--threads", type=int, default=os.cpu_count())
    p.add_argument("--top-k", type=int, default=50)
    p.add_argument("--condition-scale", type=float, default=10.0)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--repeat", type=int, default=1)
    p.add_argument("--no-vqgan", action="store_true")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    ids = [int(x) for x in a.ids.split(",")]
    gen = load(a.checkpoint)
    runs, tokens = [], None
    for _ in range(a.repeat):
        for images in [int(x) for x in a.images.split(",")]:
            started = time.perf_counter()
            codes = gen.tokens(ids, images, a.steps, a.top_k, a.condition_scale, torch.Generator().manual_seed(a.seed))
            if not a.no_vqgan and a.steps == gen.dalle.config["image_length"]:
                gen.pixels(codes)
            seconds = time.perf_counter() - started
            step_ms = sorted(gen.step_seconds)[len(gen.step_seconds) // 2] * 1000
            runs.append({"images": images, "seconds": seconds, "secondsPerImage": seconds / images, "stepMsMedian": step_ms})
            tokens = codes.tolist()
    print(json.dumps({"torch": torch.__version__, "threads": torch.get_num_threads(), "runs": runs, "tokens": tokens}))


if __name__ == "__main__":
    main()

"""PyTorch implementations of min-dalle's generation algorithm, the CPU baselines our runtimes are compared with
(docs/performance.md#pytorch-baseline). It is not min-dalle itself: it reuses tools/train's DalleBart and VQGAN
modules and reads the same official-layout Flax checkpoint folders the exporter reads (<dir>/dalle, <dir>/vqgan).

Both algorithms encode [unconditional, prompt] once (text padded to max_text_length: 64 for mini and mega); decode
256 steps one token at a time with a KV cache of 256 slots per layer (each step attends over all slots, masked to
those written so far); apply super-conditioning (1 - scale) * uncond + scale * cond to the image-code logits; sample
top-k (top-k 1 is greedy); then run the VQGAN decoder on the 16x16 codes, all fp32 on the CPU (--device cuda: on
an NVIDIA GPU, as min-dalle runs there; the steps are then timed together, GPU work included, and stepMsMedian is
their mean). They differ in the
cross attention:
  min-dalle     (default) as min-dalle does it: every decoder layer projects the encoder states to keys/values
                again at every step; one [keys; values] state tensor per layer, einsum attention, the logits
                sorted in full for top-k.
  cached-cross  a stronger baseline: the cross-attention keys/values are computed once per generation.

    python3 bench/torch_baseline.py --checkpoint <dir> --ids 0,5,9,2 [--images 9] [--steps 256] [--threads n]
        [--algorithm min-dalle|cached-cross] [--top-k 50] [--condition-scale 10] [--seed 0] [--repeat 1] [--no-vqgan]
        [--device cpu|cuda]

--ids are the prompt's token ids (<s> … </s>, as `npm run tokenize` prints them). Prints one JSON line:
{"torch": version, "threads": n, "algorithm": name, "runs": [{"images", "seconds", "secondsPerImage", "stepMsMedian"}],
"tokens": [[…] per image]}.
"""
import argparse
import json
import os
import sys
import time

# Threads that wait by spinning stall each other on a shared machine; sleep instead.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
import torch  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tools", "train"))
from dallebart import DalleBart  # noqa: E402
from reference import read_flax  # noqa: E402
from vqgan import VQGAN, Decoder, _flax_name  # noqa: E402
from torch import nn  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_generate import ALGORITHMS, Generator  # noqa: E402


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
    p.add_argument("--algorithm", choices=ALGORITHMS, default="min-dalle")
    p.add_argument("--top-k", type=int, default=50)
    p.add_argument("--condition-scale", type=float, default=10.0)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--repeat", type=int, default=1)
    p.add_argument("--no-vqgan", action="store_true")
    p.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    ids = [int(x) for x in a.ids.split(",")]
    # Modules, caches and masks are made on the device; the checkpoint's arrays are copied there.
    if a.device != "cpu":
        torch.set_default_device(a.device)  # torch >= 2.0
    sync = torch.cuda.synchronize if a.device == "cuda" else None
    gen = load(a.checkpoint)
    runs, tokens = [], None
    for _ in range(a.repeat):
        for images in [int(x) for x in a.images.split(",")]:
            started = time.perf_counter()
            seed = torch.Generator(a.device).manual_seed(a.seed)
            codes = gen.tokens(ids, images, a.steps, a.top_k, a.condition_scale, seed, a.algorithm, sync)
            if not a.no_vqgan and a.steps == gen.dalle.config["image_length"]:
                gen.pixels(codes)
            if sync:
                sync()
            seconds = time.perf_counter() - started
            step_ms = sorted(gen.step_seconds)[len(gen.step_seconds) // 2] * 1000
            runs.append({"images": images, "seconds": seconds, "secondsPerImage": seconds / images, "stepMsMedian": step_ms})
            tokens = codes.tolist()
    threads = torch.get_num_threads()
    device = torch.cuda.get_device_name() if a.device == "cuda" else "cpu"
    print(json.dumps({"torch": torch.__version__, "threads": threads, "device": device, "algorithm": a.algorithm, "runs": runs, "tokens": tokens}))


if __name__ == "__main__":
    main()
